"""The shape of the code, checked from its imports (every import, module- or function-level).

* no import cycle anywhere in shared/, services/ and trawl/;
* shared/ imports neither a service nor trawl/: it is the library they all use;
* a service imports no other service, and never trawl/ (they meet only through events and
  HTTP); trawl/ is the one package that may import several;
* a service's domain/ is pure: it imports its own domain, the event contracts and third-party
  code, never the store, handlers, commands, I/O adapters or shared's I/O modules;
* no module over 500 lines.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from shared.config import REPO_ROOT

PACKAGES = ("shared", "services", "trawl")
DOMAIN_MAY_IMPORT_FROM_SHARED = ("shared.events", "shared.search_api")
MAX_LINES = 500


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (REPO_ROOT / package).rglob("*.py"):
            parts = path.relative_to(REPO_ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imports(module: str, path: Path) -> Iterator[str]:
    """Project modules `module` imports; `from a import b` names a.b when b is a module."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names
            ]
        else:
            continue
        for target in targets:
            if target.split(".")[0] in PACKAGES:
                yield target


GRAPH = {module: set(_imports(module, path)) - {module} for module, path in MODULES.items()}


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    return found


def _service_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "services" and len(parts) > 1 else None


def test_the_walk_sees_the_project() -> None:
    assert {"shared.uow", "services.ingest.commands", "services.crawler.app", "trawl.cli"} <= MODULES.keys()
    assert "shared.uow" in GRAPH["shared.consumer"]
    assert "services.ingest.commands" in GRAPH["services.ingest.handlers"]


def test_there_is_no_import_cycle() -> None:
    assert _cycles() == []


def test_the_cycle_finder_finds_one() -> None:
    GRAPH["shared.config"].add("shared.uow")  # uow -> db -> config -> uow
    try:
        assert any({"shared.config", "shared.uow"} <= set(cycle) for cycle in _cycles())
    finally:
        GRAPH["shared.config"].discard("shared.uow")


def test_shared_imports_no_service_and_not_the_command_line() -> None:
    wrong = {
        (module, target)
        for module, targets in GRAPH.items()
        if module.startswith("shared")
        for target in targets
        if not target.startswith("shared")
    }
    assert wrong == set()


def test_a_service_imports_no_other_service_and_not_the_command_line() -> None:
    wrong = {
        (module, target)
        for module, targets in GRAPH.items()
        if (service := _service_of(module)) is not None
        for target in targets
        if target.startswith("trawl") or _service_of(target) not in (None, service)
    }
    assert wrong == set()


def test_domain_code_is_pure() -> None:
    wrong = set()
    for module, targets in GRAPH.items():
        service = _service_of(module)
        if service is None or ".domain" not in module:
            continue
        own_domain = f"services.{service}.domain"
        for target in targets:
            if not (target.startswith(own_domain) or target.startswith(DOMAIN_MAY_IMPORT_FROM_SHARED)):
                wrong.add((module, target))
    assert wrong == set()


def test_no_module_is_over_500_lines() -> None:
    long = {
        str(path.relative_to(REPO_ROOT)): n
        for path in MODULES.values()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}
