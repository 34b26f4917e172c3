"""The container image, without a container engine (none runs here): the Dockerfile's install
steps (deploy/image/install-app.sh, which its build stage runs) into a clean venv from a copy
of exactly what the Dockerfile copies, then each service's entrypoint and the `trawl` command."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from shared.events import SERVICES
from tests.deploy.conftest import DEPLOY, run

REPO = DEPLOY.parent
DOCKERFILE = DEPLOY / "Dockerfile"


def build_stage_copies() -> list[str]:
    """The repository paths the build stage COPYs (`COPY src... dest`)."""
    build = DOCKERFILE.read_text().split(" AS runtime")[0]
    paths = []
    for line in re.findall(r"^COPY (?!--from)(.+)$", build, re.MULTILINE):
        paths += line.split()[:-1]
    return paths


def test_the_image_install_steps_work_in_a_clean_venv(tmp_path: Path) -> None:
    context = tmp_path / "src"
    for path in build_stage_copies():
        source = REPO / path.rstrip("/")
        target = context / path.rstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, target)
    venv = tmp_path / "venv"
    run(["sh", context / "deploy" / "image" / "install-app.sh", "all", venv, context])

    python = venv / "bin" / "python"
    # Run from outside the work tree, so that imports resolve to the venv's copy only.
    # Each service's entrypoint imports (python -m services.<name> runs services/<name>/__main__.py).
    modules = ", ".join(f"'services.{service}.__main__'" for service in SERVICES)
    run(
        [
            python,
            "-c",
            f"import importlib.util; assert all(importlib.util.find_spec(m) for m in ({modules},))",
        ],
        cwd=tmp_path,
    )
    run([python, "-c", "; ".join(f"import services.{service}.app" for service in SERVICES)], cwd=tmp_path)
    help_text = run([venv / "bin" / "trawl", "--help"], cwd=tmp_path).stdout
    for job in ("migrate", "reconcile", "dlq"):
        assert job in help_text
    # Installed from the copy, not linked to the work tree.
    location = subprocess.run(
        [python, "-c", "import services, sys; print(services.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout
    assert str(venv) in location, location


def test_every_locked_dependency_is_pinned() -> None:
    lines = [
        line
        for line in (DEPLOY / "image" / "requirements.lock").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert lines and all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[A-Za-z0-9_.+\-]+", line) for line in lines), (
        lines
    )
