"""The deploy checks' tools and renders.

helm, kubeconform and promtool are built by deploy/tools/install.sh (the Makefile's test target
runs it first) into .trawl/tools/<tool>-<version>/; TRAWL_TOOLS_DIR points elsewhere. A missing
tool fails the test that needs it with the command that installs it, never a skip.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.config import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
CHART = DEPLOY / "helm" / "trawl"
PROFILES = DEPLOY / "helm" / "values"
INSTALL_SCRIPT = DEPLOY / "tools" / "install.sh"
KUBE_VERSION = "1.33.0"

# Each values profile, and the API versions the target cluster serves beyond the core ones
# (`helm template` cannot ask a cluster): production has KEDA, minimal does not (HPA fallback).
# production+kafka-users also renders the optional KafkaUsers so their schema is checked.
RENDERS: dict[str, tuple[list[str], list[str]]] = {
    "minimal": (["minimal.yaml"], []),
    "production": (["production.yaml"], ["keda.sh/v1alpha1/ScaledObject"]),
    "production+kafka-users": (
        ["production.yaml"],
        ["keda.sh/v1alpha1/ScaledObject", "--set", "kafka.strimzi.users.enabled=true"],
    ),
}


@dataclass(frozen=True)
class Tools:
    helm: Path
    kubeconform: Path
    promtool: Path


def _pinned_versions() -> dict[str, str]:
    text = INSTALL_SCRIPT.read_text()
    versions = dict(re.findall(r"^(HELM|KUBECONFORM|PROMETHEUS)_VERSION=(\S+)$", text, re.MULTILINE))
    return {
        "helm": versions["HELM"],
        "kubeconform": versions["KUBECONFORM"],
        "promtool": versions["PROMETHEUS"],
    }


@pytest.fixture(scope="session")
def tools() -> Tools:
    tools_dir = Path(os.environ.get("TRAWL_TOOLS_DIR", REPO_ROOT / ".trawl" / "tools"))
    found = {}
    for name, version in _pinned_versions().items():
        path = tools_dir / f"{name}-{version}" / name
        if not path.is_file():
            pytest.fail(
                f"{name} {version} is not installed at {path}: run deploy/tools/install.sh (make test does)"
            )
        found[name] = path
    return Tools(**found)


def run(
    command: list[str | Path], *, input_text: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a tool; its whole output goes into the failure message when it fails."""
    result = subprocess.run(
        [str(part) for part in command],
        input=input_text,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, command))} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
    return result


def helm_template(tools: Tools, profile: str) -> str:
    files, extra = RENDERS[profile]
    command: list[str | Path] = [tools.helm, "template", "trawl", CHART, "--namespace", "trawl"]
    command += ["--kube-version", KUBE_VERSION]
    for values in files:
        command += ["--values", PROFILES / values]
    args = iter(extra)
    for arg in args:
        command += ["--set", next(args)] if arg == "--set" else ["--api-versions", arg]
    return run(command).stdout


@pytest.fixture(scope="session")
def rendered(tools: Tools) -> dict[str, str]:
    """profile -> the chart rendered with it, as helm template prints it."""
    return {profile: helm_template(tools, profile) for profile in RENDERS}


def documents(manifest: str) -> Iterator[dict[str, Any]]:
    for document in yaml.safe_load_all(manifest):
        if document:
            yield document


def of_kind(manifest: str, kind: str) -> list[dict[str, Any]]:
    return [document for document in documents(manifest) if document["kind"] == kind]
