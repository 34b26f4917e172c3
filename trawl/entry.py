"""The `trawl` executable. `trawl extract` is dispatched before the rest of the command line is
imported (Kafka, S3 and database clients take over a second to import), so that it starts as
fast as the `trafilatura` command; every other command goes to `trawl.cli`."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:2] == ["extract"]:
        from trawl.extract import app

        app(args=sys.argv[2:], prog_name="trawl extract")
    else:
        from trawl.cli import main as full_cli

        full_cli()
