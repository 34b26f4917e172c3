"""The Helm chart, offline: lint, every profile's manifests against vendored schemas (kubeconform
-strict, nothing skipped), and what the manifests must say about topics, autoscaling, network
access and monitoring."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shared.events import SERVICES
from shared.topics import all_topics
from tests.deploy.conftest import CHART, DEPLOY, PROFILES, RENDERS, Tools, documents, of_kind, run
from trawl.registry import all_specs

SCHEMAS = DEPLOY / "schemas"
SCHEMA_LOCATIONS = [
    f"{SCHEMAS}/kubernetes/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json",
    f"{SCHEMAS}/crds/{{{{ .Group }}}}/{{{{ .ResourceKind }}}}_{{{{ .ResourceAPIVersion }}}}.json",
]


@pytest.mark.parametrize("profile", ["minimal.yaml", "production.yaml"])
def test_helm_lint_strict_passes(tools: Tools, profile: str) -> None:
    linted = run([tools.helm, "lint", "--strict", CHART, "--values", PROFILES / profile])
    # helm lint reports a template's `fail` (e.g. maxReplicas above the partitions) as INFO only.
    assert "Fail:" not in linted.stdout + linted.stderr, linted.stdout + linted.stderr


def kubeconform(tools: Tools, manifest: str) -> dict[str, object]:
    command: list[str | Path] = [tools.kubeconform, "-strict", "-summary", "-output", "json"]
    for location in SCHEMA_LOCATIONS:
        command += ["-schema-location", location]
    result = subprocess.run(
        [str(part) for part in command], input=manifest, capture_output=True, text=True, timeout=120
    )
    report: dict[str, object] = json.loads(result.stdout)
    return report


@pytest.mark.parametrize("profile", list(RENDERS))
def test_every_rendered_resource_is_valid_against_its_vendored_schema(
    tools: Tools, rendered: dict[str, str], profile: str
) -> None:
    report = kubeconform(tools, rendered[profile])
    problems = [
        f"{resource['kind']} {resource['name']}: {resource['status']} {resource.get('msg', '')}"
        for resource in report.get("resources", [])  # type: ignore[attr-defined]
        if resource["status"] != "statusValid"
    ]
    summary = report["summary"]
    assert not problems, f"kubeconform -strict on the {profile} render:\n" + "\n".join(problems)
    assert summary["skipped"] == 0 and summary["invalid"] == 0 and summary["errors"] == 0, summary  # type: ignore[index]
    assert summary["valid"] == len(list(documents(rendered[profile]))), summary  # type: ignore[index]


def test_kubeconform_rejects_an_unknown_field(tools: Tools, rendered: dict[str, str]) -> None:
    """The check above is only worth something if -strict refuses what the schemas do not know."""
    broken = rendered["production"].replace(
        "revisionHistoryLimit: 5", "revisionHistoryLimit: 5\n  replicaz: 3", 1
    )
    report = kubeconform(tools, broken)
    assert report["summary"]["invalid"] == 1, report["summary"]  # type: ignore[index]


def topic_partitions(manifest: str) -> dict[str, int]:
    return {
        topic["spec"]["topicName"]: topic["spec"]["partitions"] for topic in of_kind(manifest, "KafkaTopic")
    }


@pytest.mark.parametrize("profile", list(RENDERS))
def test_every_topic_the_services_use_has_a_kafka_topic(rendered: dict[str, str], profile: str) -> None:
    topics = of_kind(rendered[profile], "KafkaTopic")
    assert sorted(topic["spec"]["topicName"] for topic in topics) == sorted(all_topics())
    for topic in topics:
        spec = topic["spec"]
        assert spec["replicas"] == 3 and spec["config"]["min.insync.replicas"] == 2, topic["metadata"]["name"]
        assert spec["config"]["retention.ms"] > 0


def scaled_objects(manifest: str) -> list[tuple[str, int, list[str]]]:
    """(deployment, max replicas, the Kafka topics it scales on) of each ScaledObject or HPA."""
    found = []
    for scaled in of_kind(manifest, "ScaledObject"):
        topics = [t["metadata"]["topic"] for t in scaled["spec"]["triggers"] if t["type"] == "kafka"]
        found.append((scaled["spec"]["scaleTargetRef"]["name"], scaled["spec"]["maxReplicaCount"], topics))
    for hpa in of_kind(manifest, "HorizontalPodAutoscaler"):
        found.append((hpa["spec"]["scaleTargetRef"]["name"], hpa["spec"]["maxReplicas"], []))
    return found


@pytest.mark.parametrize("profile", list(RENDERS))
def test_autoscaling_never_goes_past_the_partitions_it_consumes(
    rendered: dict[str, str], profile: str
) -> None:
    manifest = rendered[profile]
    partitions = topic_partitions(manifest)
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    scalers = scaled_objects(manifest)
    assert len(scalers) == len(SERVICES)
    for deployment, max_replicas, topics in scalers:
        service = deployment.removeprefix("trawl-")
        # An HPA scales on CPU: it must respect the partitions of the topics KEDA would use.
        topics = topics or [
            f"trawl.{event}.v1" for event in values["services"][service]["autoscaling"]["scaleOnEvents"]
        ]
        for topic in topics:
            assert max_replicas <= partitions[topic], (
                f"{deployment} may reach {max_replicas} pods, {topic} has {partitions[topic]} partitions"
            )


def test_keda_scales_each_consumer_on_its_own_group(rendered: dict[str, str]) -> None:
    specs = {spec.name: spec for spec in all_specs()}
    for scaled in of_kind(rendered["production"], "ScaledObject"):
        service = scaled["metadata"]["labels"]["app.kubernetes.io/component"]
        consumed = {event.type_name() for event in specs[service].handlers}
        for trigger in scaled["spec"]["triggers"]:
            if trigger["type"] == "kafka":
                assert trigger["metadata"]["consumerGroup"] == service  # shared.kafka.consumer_group
                assert trigger["metadata"]["topic"] in consumed, (
                    f"{service} does not consume {trigger['metadata']['topic']}"
                )
                assert int(trigger["metadata"]["lagThreshold"]) > 0


def test_the_chart_knows_what_each_service_consumes() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    for spec in all_specs():
        chart_consumes = {f"trawl.{event}.v1" for event in values["services"][spec.name]["consumes"]}
        assert chart_consumes == {event.type_name() for event in spec.handlers}, spec.name
    events = {f"trawl.{event}.v1" for event in values["kafka"]["strimzi"]["topics"]["events"]}
    assert events == {topic for topic in all_topics() if not topic.endswith(".dlq")}


def test_each_service_runs_as_its_own_entrypoint_on_its_port(rendered: dict[str, str]) -> None:
    deployments = {
        d["metadata"]["labels"]["app.kubernetes.io/component"]: d
        for d in of_kind(rendered["production"], "Deployment")
    }
    assert sorted(deployments) == sorted(SERVICES)
    for service, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["command"] == ["python", "-m", f"services.{service}"]
        assert container["ports"][0]["containerPort"] == 18100 + SERVICES.index(service)
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert {mount["mountPath"] for mount in container["volumeMounts"]} == {"/tmp", "/var/lib/trawl"}
        assert len(pod["topologySpreadConstraints"]) == 2
        assert "limits" in container["resources"] and "requests" in container["resources"]
    extractor_env = {
        e["name"]: e.get("value")
        for e in deployments["extractor"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert extractor_env["TRAWL_QDRANT_URL"].startswith("http"), "the extractor must use a Qdrant server"


def test_migrations_run_as_a_hook_before_install_and_upgrade(rendered: dict[str, str]) -> None:
    (job,) = of_kind(rendered["production"], "Job")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["trawl", "migrate"]


def test_secrets_are_only_referenced(rendered: dict[str, str]) -> None:
    assert not of_kind(rendered["production"], "Secret")
    for deployment in of_kind(rendered["production"], "Deployment"):
        for env in deployment["spec"]["template"]["spec"]["containers"][0]["env"]:
            if env["name"] in ("TRAWL_PG_DSN", "TRAWL_S3_SECRET_KEY", "TRAWL_INTERNAL_TOKEN"):
                assert "secretKeyRef" in env["valueFrom"], env


def test_helm_test_calls_every_services_readyz(rendered: dict[str, str]) -> None:
    (pod,) = of_kind(rendered["production"], "Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    urls = [arg for arg in pod["spec"]["containers"][0]["command"] if arg.startswith("http")]
    assert urls == [f"http://trawl-{s}:{18100 + i}/readyz" for i, s in enumerate(SERVICES)]


def policies(manifest: str) -> dict[str, dict[str, object]]:
    return {p["metadata"]["name"]: p["spec"] for p in of_kind(manifest, "NetworkPolicy")}


def test_only_ingest_is_reachable_from_outside(rendered: dict[str, str]) -> None:
    for profile in ("minimal", "production"):
        specs = policies(rendered[profile])
        assert specs["trawl-default-deny"]["policyTypes"] == ["Ingress", "Egress"]
        for service in SERVICES:
            for rule in specs[f"trawl-{service}"]["ingress"]:  # type: ignore[attr-defined]
                sources = rule.get("from")
                if sources is None or any("ipBlock" in source for source in sources):
                    assert service == "ingest", f"{profile}: {service} admits traffic from anywhere: {rule}"
    (ingress,) = of_kind(rendered["production"], "Ingress")
    backends = {p["backend"]["service"]["name"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]}
    assert backends == {"trawl-ingest"}


def test_the_extractors_internal_search_admits_only_ingest(rendered: dict[str, str]) -> None:
    rules = policies(rendered["production"])["trawl-extractor"]["ingress"]
    pod_sources = [
        s["podSelector"]["matchLabels"]
        for r in rules
        for s in r["from"]
        if "podSelector" in s and "namespaceSelector" not in s
    ]  # type: ignore[attr-defined]
    components = sorted(labels["app.kubernetes.io/component"] for labels in pod_sources)
    assert components == ["ingest", "test"]  # test: the `helm test` pod's /readyz call


def test_the_crawler_cannot_reach_cluster_private_or_metadata_addresses(rendered: dict[str, str]) -> None:
    egress = policies(rendered["production"])["trawl-crawler"]["egress"]
    blocks = [peer["ipBlock"] for rule in egress for peer in rule["to"] if "ipBlock" in peer]  # type: ignore[attr-defined]
    v4 = next(block for block in blocks if block["cidr"] == "0.0.0.0/0")
    for denied in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",
        "127.0.0.0/8",
        "100.64.0.0/10",
    ):
        assert denied in v4["except"]
    v6 = next(block for block in blocks if block["cidr"] == "::/0")
    assert {"fc00::/7", "fe80::/10", "::1/128"} <= set(v6["except"])


@pytest.mark.parametrize("profile", ["minimal", "production"])
def test_no_policy_opens_the_cloud_metadata_address_to_the_crawler(
    rendered: dict[str, str], profile: str
) -> None:
    """NetworkPolicies add up: the dependencies' peers reach the crawler too."""
    metadata = ipaddress.ip_address("169.254.169.254")
    for policy in of_kind(rendered[profile], "NetworkPolicy"):
        selected = policy["spec"]["podSelector"].get("matchLabels", {})
        if selected.get("app.kubernetes.io/component", "crawler") != "crawler":
            continue
        for rule in policy["spec"].get("egress", []):
            for peer in rule.get("to", []):
                block = peer.get("ipBlock")
                if block and metadata in ipaddress.ip_network(block["cidr"]):
                    excepted = any(metadata in ipaddress.ip_network(cidr) for cidr in block.get("except", []))
                    assert excepted, (
                        f"{policy['metadata']['name']} lets the crawler reach {metadata}: {block}"
                    )


def test_dashboards_are_generated_labelled_for_the_sidecar_and_uniquely_identified(
    rendered: dict[str, str],
) -> None:
    generated = subprocess.run(
        [sys.executable, str(DEPLOY / "tools" / "dashboards.py"), "--check"], capture_output=True, text=True
    )
    assert generated.returncode == 0, generated.stderr
    maps = [
        m
        for m in of_kind(rendered["production"], "ConfigMap")
        if m["metadata"]["labels"].get("grafana_dashboard") == "1"
    ]
    boards = [json.loads(body) for m in maps for body in m["data"].values()]
    assert len(boards) == 1 + len(SERVICES)
    uids = [board["uid"] for board in boards]
    assert len(set(uids)) == len(uids), uids
    assert all(len(uid) <= 40 for uid in uids)  # Grafana's limit


def test_a_service_monitor_per_service_selected_by_release_label(rendered: dict[str, str]) -> None:
    monitors = of_kind(rendered["production"], "ServiceMonitor")
    assert sorted(m["metadata"]["labels"]["app.kubernetes.io/component"] for m in monitors) == sorted(
        SERVICES
    )
    for monitor in monitors + of_kind(rendered["production"], "PrometheusRule"):
        assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_kafka_users_may_write_only_their_own_topics(rendered: dict[str, str]) -> None:
    users = {
        u["metadata"]["labels"]["app.kubernetes.io/component"]: u
        for u in of_kind(rendered["production+kafka-users"], "KafkaUser")
    }
    assert sorted(users) == sorted(SERVICES)
    writers: dict[str, set[str]] = {}
    for service, user in users.items():
        for acl in user["spec"]["authorization"]["acls"]:
            if "Write" in acl["operations"]:
                assert acl["resource"]["patternType"] == "literal", acl
                writers.setdefault(acl["resource"]["name"], set()).add(service)
    # Each event topic has one writer, but TaskFailed (any consumer's dead-lettering),
    # run-completed (the crawler's and then ingest's) and llm-task-requested (the extractor's
    # schema extractions, ingest's on-demand tasks).
    shared = {"trawl.task-failed.v1", "trawl.run-completed.v1", "trawl.llm-task-requested.v1"}
    for topic, services in writers.items():
        if not topic.endswith(".dlq") and topic not in shared:
            assert len(services) == 1, f"{topic} is writable by {services}"
    assert "trawl.job-created.v1" not in {name for name, s in writers.items() if "crawler" in s}
