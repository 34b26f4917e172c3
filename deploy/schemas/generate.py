"""Regenerate the JSON schemas kubeconform validates the chart against, from sources reachable
offline (the package registries), and record where each came from in deploy/schemas/SOURCES.json.

kubeconform normally downloads schemas from GitHub at run time; CI cannot, and a validator whose
schemas change under it is no check. So the schemas are converted once, committed, and only
regenerated when a pinned version below changes:

* Kubernetes core kinds: the PyPI package kubernetes-validate, which ships the Kubernetes
  OpenAPI converted to JSON Schema ("local-strict": additionalProperties false). Its kinds
  point into one shared _definitions.json; each kind we use is made standalone here.
* KEDA ScaledObject: config/crd/bases of the Go module
  github.com/kedacore/keda/v2 (the CRDs KEDA publishes), from the Go module proxy.
* ServiceMonitor / PrometheusRule: example/prometheus-operator-crd of the Go module
  github.com/prometheus-operator/prometheus-operator, from the Go module proxy.
* Strimzi KafkaTopic / KafkaUser: Strimzi's CRDs are written at build time by its own CRD
  generator from its API model; both are on Maven Central (io.strimzi:api, io.strimzi:crd-generator)
  and are run here with the arguments of Strimzi's api/pom.xml (needs Java 21+: JAVA_HOME, else
  the newest JDK under /usr/lib/jvm).

A CRD's openAPIV3Schema becomes a strict JSON schema the way kubeconform's own
openapi2jsonschema does it: additionalProperties false on every object that lists its properties
(unless it preserves unknown fields), nullable as a "null" type, int-or-string as either.

Usage: .venv/bin/python deploy/schemas/generate.py
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
KUBERNETES_DIR = HERE / "kubernetes"
CRD_DIR = HERE / "crds"
SOURCES_FILE = HERE / "SOURCES.json"

KUBERNETES_VALIDATE_VERSION = "1.37.0"
KUBERNETES_VERSION = "v1.37.0"
KEDA_MODULE = "github.com/kedacore/keda/v2@v2.21.0"
PROMETHEUS_OPERATOR_MODULE = "github.com/prometheus-operator/prometheus-operator@v0.85.0"
STRIMZI_POM = HERE / "sources" / "strimzi-crd-generator.pom.xml"

# The core kinds the chart renders (file names follow kubeconform's {kind}{-group-version}).
KUBERNETES_KINDS = (
    "configmap-v1",
    "pod-v1",
    "secret-v1",
    "service-v1",
    "serviceaccount-v1",
    "deployment-apps-v1",
    "job-batch-v1",
    "horizontalpodautoscaler-autoscaling-v2",
    "ingress-networking-v1",
    "networkpolicy-networking-v1",
    "poddisruptionbudget-policy-v1",
)

KEDA_CRDS = ("keda.sh_scaledobjects.yaml",)
PROMETHEUS_OPERATOR_CRDS = (
    "monitoring.coreos.com_servicemonitors.yaml",
    "monitoring.coreos.com_prometheusrules.yaml",
)
STRIMZI_KINDS = {
    "KafkaTopic": "io.strimzi.api.kafka.model.topic.KafkaTopic",
    "KafkaUser": "io.strimzi.api.kafka.model.user.KafkaUser",
}

# Kinds point into the shared file ("/api/_definitions.json#/$defs/X"),
# definitions into themselves ("#/$defs/X").
_DEFINITIONS_REF = re.compile(r"^(?:/api/_definitions\.json)?#/\$defs/(.+)$")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def strip_descriptions(node: Any) -> Any:
    """Descriptions are most of a schema's bytes and validate nothing."""
    if isinstance(node, dict):
        return {
            key: strip_descriptions(value)
            for key, value in node.items()
            if not (key == "description" and isinstance(value, str))
        }
    if isinstance(node, list):
        return [strip_descriptions(item) for item in node]
    return node


def write_schema(path: Path, schema: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")


# -- Kubernetes core kinds ------------------------------------------------------------------------


def standalone(kind_schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """The kind's schema with the definitions it reaches copied in under $defs."""
    needed: dict[str, Any] = {}

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                match = _DEFINITIONS_REF.match(value) if key == "$ref" and isinstance(value, str) else None
                if match:
                    name = match.group(1)
                    out[key] = f"#/$defs/{name}"
                    if name not in needed:
                        needed[name] = None  # placeholder against cycles
                        needed[name] = rewrite(definitions[name])
                else:
                    out[key] = rewrite(value)
            return out
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        return node

    result = rewrite(kind_schema)
    result.pop("$id", None)
    result["$defs"] = dict(sorted(needed.items()))
    return strip_descriptions(result)  # type: ignore[no-any-return]


def kubernetes_schemas(work: Path) -> dict[str, Any]:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--dest",
            str(work),
            f"kubernetes-validate=={KUBERNETES_VALIDATE_VERSION}",
        ],
        check=True,
    )
    (wheel,) = work.glob("kubernetes_validate-*.whl")
    prefix = f"kubernetes_validate/kubernetes-json-schema/{KUBERNETES_VERSION}-local-strict/"
    with zipfile.ZipFile(wheel) as archive:
        definitions = json.loads(archive.read(prefix + "_definitions.json"))["$defs"]
        for kind in KUBERNETES_KINDS:
            kind_schema = json.loads(archive.read(f"{prefix}{kind}.json"))
            write_schema(KUBERNETES_DIR / f"{kind}.json", standalone(kind_schema, definitions))
    return {
        "kinds": list(KUBERNETES_KINDS),
        "from": f"PyPI kubernetes-validate=={KUBERNETES_VALIDATE_VERSION}, {prefix}",
        "kubernetes": KUBERNETES_VERSION,
        "sha256": sha256(wheel),
    }


# -- CRDs ---------------------------------------------------------------------------------------


def strict(node: Any) -> Any:
    """kubeconform's openapi2jsonschema conversion of one openAPIV3Schema node."""
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: strict(value) for key, value in node.items()}
    if out.pop("nullable", False) and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if out.get("x-kubernetes-int-or-string") and "anyOf" not in out and "oneOf" not in out:
        out.pop("type", None)
        out["oneOf"] = [{"type": "string"}, {"type": "integer"}]
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def crd_schemas(crd_file: Path) -> list[tuple[str, str, str]]:
    """Write one schema per served version of the CRD; returns (group, kind, version)."""
    written = []
    for crd in yaml.safe_load_all(crd_file.read_text()):
        if not crd or crd.get("kind") != "CustomResourceDefinition":
            continue
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if not version.get("served", True):
                continue
            schema = strict(strip_descriptions(copy.deepcopy(version["schema"]["openAPIV3Schema"])))
            schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
            schema["properties"]["apiVersion"] = {"type": "string", "enum": [f"{group}/{version['name']}"]}
            schema["properties"]["kind"] = {"type": "string", "enum": [kind]}
            write_schema(CRD_DIR / group / f"{kind.lower()}_{version['name']}.json", schema)
            written.append((group, kind, version["name"]))
    return written


def go_module_dir(module: str) -> Path:
    answer = subprocess.run(
        ["go", "mod", "download", "-json", module], check=True, capture_output=True, text=True
    )
    return Path(json.loads(answer.stdout)["Dir"])


def go_module_crds(module: str, folder: str, files: tuple[str, ...]) -> dict[str, Any]:
    root = go_module_dir(module)
    kinds = []
    digests = {}
    for name in files:
        path = root / folder / name
        kinds += [f"{group}/{kind}/{version}" for group, kind, version in crd_schemas(path)]
        digests[f"{folder}/{name}"] = sha256(path)
    return {"from": f"Go module {module}, {folder}", "kinds": kinds, "sha256": digests}


def java_21_or_newer() -> str:
    candidates = [os.environ["JAVA_HOME"]] if os.environ.get("JAVA_HOME") else []
    candidates += sorted((str(p) for p in Path("/usr/lib/jvm").glob("*")), reverse=True)
    for home in candidates:
        java = Path(home) / "bin" / "java"
        if not java.exists():
            continue
        version = subprocess.run([str(java), "-version"], capture_output=True, text=True).stderr
        found = re.search(r'version "(\d+)', version)
        if found and int(found.group(1)) >= 21:
            return str(java)
    raise SystemExit("Strimzi's CRD generator needs Java 21 or newer: set JAVA_HOME")


def strimzi_crds(work: Path) -> dict[str, Any]:
    classpath_file = work / "strimzi.classpath"
    subprocess.run(
        [
            "mvn",
            "--quiet",
            "--batch-mode",
            "-f",
            str(STRIMZI_POM),
            "dependency:build-classpath",
            f"-Dmdep.outputFile={classpath_file}",
        ],
        check=True,
    )
    outputs = {kind: work / f"strimzi-{kind}.yaml" for kind in STRIMZI_KINDS}
    subprocess.run(
        [
            java_21_or_newer(),
            "-cp",
            classpath_file.read_text().strip(),
            "io.strimzi.crdgenerator.CrdGenerator",
            "--target-kube",
            "1.16+",
            "--crd-api-version",
            "v1",
            "--api-versions",
            "v1",
            "--storage-version",
            "v1",
            "--yaml",
            *(f"{STRIMZI_KINDS[kind]}={path}" for kind, path in outputs.items()),
        ],
        check=True,
    )
    kinds = []
    for path in outputs.values():
        kinds += [f"{group}/{kind}/{version}" for group, kind, version in crd_schemas(path)]
    version = re.search(r"<strimzi.version>([^<]+)<", STRIMZI_POM.read_text())
    assert version is not None
    return {
        "from": f"Maven Central io.strimzi:api:{version.group(1)} run through io.strimzi:crd-generator:"
        f"{version.group(1)} (as in Strimzi's api/pom.xml, generate-crd-co-install-v1)",
        "kinds": kinds,
    }


def main() -> None:
    for folder in (KUBERNETES_DIR, CRD_DIR):
        for old in folder.rglob("*.json"):
            old.unlink()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        sources = {
            "kubernetes": kubernetes_schemas(work),
            "keda": go_module_crds(KEDA_MODULE, "config/crd/bases", KEDA_CRDS),
            "prometheus-operator": go_module_crds(
                PROMETHEUS_OPERATOR_MODULE, "example/prometheus-operator-crd", PROMETHEUS_OPERATOR_CRDS
            ),
            "strimzi": strimzi_crds(work),
        }
    SOURCES_FILE.write_text(json.dumps(sources, indent=2) + "\n")
    print(json.dumps(sources, indent=2))


if __name__ == "__main__":
    main()
