"""The alerts, offline: promtool checks the rule file and runs its unit tests; every alert has a
test that fires it and one that does not, a runbook in deploy/README.md, and is deployed as is."""

from __future__ import annotations

import re

import yaml

from tests.deploy.conftest import CHART, DEPLOY, Tools, of_kind, run

RULES = CHART / "files" / "alerts.yaml"
RULE_TESTS = DEPLOY / "monitoring" / "alerts.test.yaml"
RUNBOOKS = DEPLOY / "README.md"


def alert_names() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule["alert"] for group in groups for rule in group["rules"]]


def test_promtool_check_rules_passes(tools: Tools) -> None:
    output = run([tools.promtool, "check", "rules", RULES]).stdout
    assert f"SUCCESS: {len(alert_names())} rules found" in output, output


def test_promtool_unit_tests_pass(tools: Tools) -> None:
    output = run([tools.promtool, "test", "rules", RULE_TESTS]).stdout
    assert "SUCCESS" in output, output


def test_every_alert_has_a_firing_and_a_quiet_unit_test() -> None:
    cases = [
        case for test in yaml.safe_load(RULE_TESTS.read_text())["tests"] for case in test["alert_rule_test"]
    ]
    missing = []
    for alert in alert_names():
        own = [case for case in cases if case["alertname"] == alert]
        if not any(case["exp_alerts"] for case in own):
            missing.append(f"{alert}: no series that fires it")
        if not any(not case["exp_alerts"] for case in own):
            missing.append(f"{alert}: no series that leaves it quiet")
    assert not missing, "deploy/monitoring/alerts.test.yaml lacks:\n" + "\n".join(missing)


def test_every_alert_has_a_runbook() -> None:
    headings = set(re.findall(r"^### (\w+)\s*$", RUNBOOKS.read_text(), re.MULTILINE))
    missing = [alert for alert in alert_names() if alert not in headings]
    assert not missing, f"deploy/README.md has no '### <alert>' runbook for {missing}"


def test_the_prometheus_rule_deploys_the_tested_file(rendered: dict[str, str]) -> None:
    (rule,) = of_kind(rendered["production"], "PrometheusRule")
    deployed = {r["alert"]: r for group in rule["spec"]["groups"] for r in group["rules"]}
    tested = {r["alert"]: r for group in yaml.safe_load(RULES.read_text())["groups"] for r in group["rules"]}
    assert sorted(deployed) == sorted(tested)
    for name, original in tested.items():
        assert deployed[name]["expr"] == original["expr"]
        assert deployed[name].get("for") == original.get("for")
        assert deployed[name]["labels"]["severity"] == original["labels"]["severity"]
        assert deployed[name]["annotations"]["runbook_url"].endswith(f"deploy/README.md#{name.lower()}")
