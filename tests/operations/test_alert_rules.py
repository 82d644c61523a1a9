"""The shipped alert rules, evaluated by Prometheus' own promtool on series from a real /metrics scrape."""

import os
import shutil
import subprocess
from datetime import timedelta

import pytest
import yaml
from django.conf import settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from syncing.models import SyncRun
from syncing.runs.runner import RunOptions, sync_instance
from tests.support.sites import register

pytestmark = pytest.mark.django_db(transaction=True)

ALERTS = settings.BASE_DIR / "deploy" / "prometheus" / "alerts.yml"
TARGET = {"job": "jirasync", "instance": "127.0.0.1:8000"}  # the labels Prometheus adds to every scraped series
STALE_AFTER = 3 * 3600


def _apt_install_promtool() -> str:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "promtool is missing and apt needs root: apt-get install prometheus"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "prometheus"]
    if subprocess.run(install, env=env, capture_output=True, timeout=900).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=900)
        if subprocess.run(install, env=env, capture_output=True, timeout=900).returncode != 0:
            return "could not install Debian's prometheus package (for promtool)"
    return ""


@pytest.fixture(scope="session")
def promtool() -> str:
    """Debian's promtool, installed the way bin/test installs chromium: with apt when allowed, else skipped."""
    problem = "" if shutil.which("promtool") else _apt_install_promtool()
    if problem or not shutil.which("promtool"):
        if os.environ.get("JIRASYNC_REQUIRE_PROMTOOL"):
            pytest.fail(problem or "promtool is missing")
        pytest.skip(problem or "promtool is missing: apt-get install prometheus")
    return shutil.which("promtool")


def scraped_series(client, names: set[str]) -> list[tuple[dict, float]]:
    response = client.get("/metrics")
    assert response.status_code == 200
    found = []
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            if sample.name in names:
                found.append(({"__name__": sample.name, **sample.labels}, sample.value))
    return found


def series_text(labels: dict) -> str:
    name = labels["__name__"]
    pairs = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()) if key != "__name__")
    return f"{name}{{{pairs}}}"


def humanize_duration(seconds: int) -> str:
    """Prometheus' humanizeDuration, for whole seconds of a minute or more."""
    days, hours, minutes, rest = seconds // 86400, seconds // 3600 % 24, seconds // 60 % 60, seconds % 60
    if days:
        return f"{days}d {hours}h {minutes}m {rest}s"
    return f"{hours}h {minutes}m {rest}s" if hours else f"{minutes}m {rest}s"


def test_the_stale_sync_alert_fires_for_an_old_last_success_and_not_for_a_quiet_recent_one(
    client, settings, cloud_site, reference_mappings, promtool, tmp_path
):
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    instance = register(cloud_site, "instance_1")
    sync_instance(instance.pk, RunOptions(full=True))
    stale, quiet = instance.projects.order_by("key")
    # The stale project's syncs last succeeded five hours ago; the quiet one synced just now, but its
    # newest issue is old (the simulator's clock): its data lag is hours, and that is no alarm.
    five_hours_ago = timezone.now() - timedelta(hours=5)
    SyncRun.objects.filter(project=stale).update(started_at=five_hours_ago, finished_at=five_hours_ago)

    used = {"jirasync_last_success_age_seconds", "jirasync_project_enabled", "jirasync_data_lag_seconds"}
    samples = scraped_series(client, used)
    ages = {labels["project"]: value for labels, value in samples if labels["__name__"].endswith("age_seconds")}
    lags = {labels["project"]: value for labels, value in samples if labels["__name__"] == "jirasync_data_lag_seconds"}
    assert ages[stale.key] > STALE_AFTER > ages[quiet.key]
    assert lags[quiet.key] > STALE_AFTER  # what the old rule alerted on
    assert all("instance" not in labels for labels, _ in samples)  # no clash with the target's label

    minutes = 30
    input_series = []
    for labels, value in samples:
        growth = 60 if labels["__name__"] != "jirasync_project_enabled" else 0  # ages grow a minute a minute
        input_series.append({"series": series_text({**labels, **TARGET}), "values": f"{int(value)}+{growth}x{minutes}"})
    fired_at = 20  # minutes: past the rule's `for: 15m`
    stale_age = int(ages[stale.key]) + 60 * fired_at
    expected = {
        "exp_labels": {"severity": "warning", "jira_instance": "instance_1", "project": stale.key, **TARGET},
        "exp_annotations": {
            "summary": f"instance_1/{stale.key} has not synced successfully for {humanize_duration(stale_age)}"
        },
    }
    spec = {
        "rule_files": [str(ALERTS)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": input_series,
                "alert_rule_test": [
                    {"eval_time": "5m", "alertname": "JirasyncSyncStale", "exp_alerts": []},  # pending
                    {"eval_time": f"{fired_at}m", "alertname": "JirasyncSyncStale", "exp_alerts": [expected]},
                ],
            }
        ],
    }
    path = tmp_path / "stale_test.yml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    result = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_shipped_rules(promtool):
    result = subprocess.run([promtool, "check", "rules", str(ALERTS)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
