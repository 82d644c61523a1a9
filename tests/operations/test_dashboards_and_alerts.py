"""The Grafana dashboard and the alert rules query only metrics the code exports."""

import json
import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from syncing.runs.runner import RunOptions, sync_instance
from tests.support.metrics import scrape
from tests.support.sites import register

DEPLOY = Path(settings.BASE_DIR) / "deploy"
PROMETHEUS_OWN = {"up"}  # made by Prometheus itself, not by an exporter
KEYWORDS = {"group_left", "group_right", "histogram_quantile", "label_values", "clamp_min", "on", "by", "without"}


def alert_expressions() -> dict[str, str]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    return {rule["alert"]: rule["expr"] for group in rules["groups"] for rule in group["rules"]}


def dashboard_expressions() -> dict[str, str]:
    dashboard = json.loads((DEPLOY / "grafana" / "jirasync.json").read_text())
    found = {}
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            found[f"{panel['title']} {target['refId']}"] = target["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            found[f"variable {variable['name']}"] = variable["query"]
    return found


def metric_names(expr: str) -> set[str]:
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    without_labels = re.sub(r"\{[^}]*\}", "{}", without_strings)
    without_ranges = re.sub(r"\[[^\]]*\]", "[]", without_labels)
    names = set(re.findall(r"\b[a-z_][a-z0-9_]*\b", without_ranges))
    return {n for n in names if ("_" in n and n not in KEYWORDS and not n.startswith("label_")) or n == "up"} - {
        "by",
        "le",
        "instance",
        "jira_instance",
        "project",
        "status",
        "state",
        "category",
        "table",
    }


def balanced(expr: str) -> bool:
    depth = 0
    for char in expr:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


@pytest.mark.django_db(transaction=True)
def test_every_metric_the_alerts_and_dashboard_use_is_exported(client, settings, cloud_site, reference_mappings):
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    instance = register(cloud_site, "instance_1")
    sync_instance(instance.pk, RunOptions(full=True))
    exported = set(scrape(client))
    expressions = {**alert_expressions(), **dashboard_expressions()}
    assert len(expressions) >= 20
    used = set()
    for where, expr in expressions.items():
        assert balanced(expr), f"{where}: unbalanced parentheses in {expr}"
        names = metric_names(expr)
        assert names, f"{where}: no metric in {expr}"
        used |= names
        missing = {n for n in names if n not in exported and n not in PROMETHEUS_OWN}
        assert not missing, f"{where} uses metrics nothing exports: {sorted(missing)}"
    # And the alerts the issue asks for are there.
    assert {
        "JirasyncSyncStale",
        "JirasyncSyncFailures",
        "JirasyncRateLimitStorm",
        "JirasyncIncompleteChangelogs",
        "JirasyncCensusMismatch",
    } <= set(alert_expressions())
    assert "jirasync_sync_run_duration_seconds_bucket" in used
