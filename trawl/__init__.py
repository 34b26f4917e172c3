"""The `trawl` command line, the local no-Docker stack and the demo.

The one package allowed to import several services: it runs them (`run-all`, `demo`), migrates
them, and talks to the public API. Nothing under `shared/` or `services/` imports it.
"""
