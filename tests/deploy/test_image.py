"""The container image's inputs. The image itself is built with podman and checked by
deploy/image/build.sh (`make image`, run by CI before `make test`)."""

from __future__ import annotations

import re
import tomllib

from tests.deploy.conftest import DEPLOY

REPO = DEPLOY.parent
DOCKERFILE = DEPLOY / "Dockerfile"


def build_stage_copies() -> list[str]:
    """The repository paths the build stage COPYs (`COPY src... dest`)."""
    build = DOCKERFILE.read_text().split(" AS runtime")[0]
    paths = []
    for line in re.findall(r"^COPY (?!--from)(.+)$", build, re.MULTILINE):
        paths += line.split()[:-1]
    return paths


def test_the_build_stage_copies_what_the_install_script_reads() -> None:
    """deploy/image/build.sh builds and checks the image itself (`make image`, CI); here, cheaply,
    that the Dockerfile sends into the build what install-app.sh and the package need."""
    copied = {path.rstrip("/") for path in build_stage_copies()}
    assert {
        "deploy/image/requirements.lock",
        "deploy/image/install-app.sh",
        "pyproject.toml",
        "README.md",
    } <= copied
    packages = {"shared", "services", "trawl"}
    assert packages <= copied, f"the package directories {packages - copied} are not copied"
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert all(f"!{path}" in ignored or f"!{path}/" in ignored for path in copied), ignored


def test_every_locked_dependency_is_pinned() -> None:
    lines = [
        line
        for line in (DEPLOY / "image" / "requirements.lock").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert lines and all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[A-Za-z0-9_.+\-]+", line) for line in lines), (
        lines
    )


def test_every_dependency_of_the_project_is_in_the_lock() -> None:
    """The image installs the lock with --no-deps, then `pip check`s: a dependency added to
    pyproject.toml but not locked (deploy/image/lock.sh) fails the image build."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    locked = {
        _normalised(line.split("==")[0])
        for line in (DEPLOY / "image" / "requirements.lock").read_text().splitlines()
        if line and not line.startswith("#")
    }
    wanted = {
        _normalised(re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0])
        for requirement in project["dependencies"]
    }
    assert not wanted - locked, f"not in deploy/image/requirements.lock: {sorted(wanted - locked)}"


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
