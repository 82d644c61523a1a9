"""deploy/: the systemd units verify and their web command serves; log rotation parses; a backup restores."""

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection

from issues.models import Issue
from syncing.runs.runner import RunOptions, sync_instance
from tests.support.ports import port_free
from tests.support.processes import processes_stop, production_env, subprocess_env
from tests.support.sites import register
from tests.support.waiting import wait_for

DEPLOY = Path(settings.BASE_DIR) / "deploy"
WEBHOOK_SECRET = "dc-webhook-secret-in-the-url-1234"


def installed(unit: Path, into: Path) -> Path:
    """The unit as it would be installed here: /opt/jirasync is this checkout."""
    text = unit.read_text().replace("/opt/jirasync", str(settings.BASE_DIR))
    text = text.replace("/etc/jirasync/jirasync.env", str(into / "jirasync.env"))
    target = into / unit.name
    target.write_text(text)
    (into / "jirasync.env").write_text("\n".join(f"{k}={v}" for k, v in production_env(into).items()))
    return target


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
@pytest.mark.parametrize("name", ["jirasync-web.service", "jirasync-qcluster.service"])
def test_the_systemd_units_verify(tmp_path, name):
    result = subprocess.run(
        ["systemd-analyze", "verify", str(installed(DEPLOY / "systemd" / name, tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    problems = [line for line in result.stderr.splitlines() if name in line and "Unknown user" not in line]
    assert not problems, result.stderr


def test_the_web_unit_s_gunicorn_command_serves_the_production_profile(tmp_path):
    unit = (DEPLOY / "systemd" / "jirasync-web.service").read_text()
    command = unit.split("ExecStart=", 1)[1].split("\nExecReload")[0].replace("\\\n", " ")
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "JIRASYNC_ENCRYPTION_KEYS")}
    env |= production_env(tmp_path) | {"DJANGO_SETTINGS_MODULE": "jirasync_site.settings_production"}
    subprocess.run(
        [str(Path(settings.BASE_DIR) / ".venv/bin/python"), "manage.py", "migrate", "--verbosity", "0"],
        cwd=settings.BASE_DIR,
        env=env,
        check=True,
        timeout=600,
    )
    port = port_free()  # after the migration: picked as late as it can be
    args = command.replace("/opt/jirasync", str(settings.BASE_DIR)).replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    log = tmp_path / "gunicorn.log"  # the unit logs to the journal: its stdout and stderr
    server = subprocess.Popen(
        args.split(),
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own group, as the unit's cgroup: stopped whole whatever happens
    )
    base = f"http://127.0.0.1:{port}"

    def healthz() -> requests.Response | None:
        assert server.poll() is None, f"gunicorn exited: {log.read_text()}"
        try:
            return requests.get(f"{base}/healthz", headers={"Host": "jirasync.example.com"}, timeout=60)
        except (requests.ConnectionError, requests.Timeout):
            return None  # its workers are still starting

    try:
        health = wait_for(healthz, what="gunicorn to answer /healthz", poll=0.2)
        assert health.status_code == 200 and health.json() == {"status": "ok"}  # no redirect for probes
        plain = requests.get(
            f"{base}/admin/login/", headers={"Host": "jirasync.example.com"}, allow_redirects=False, timeout=60
        )
        assert plain.status_code == 301 and plain.headers["Location"].startswith("https://jirasync.example.com/")
        secure = requests.get(
            f"{base}/admin/login/",
            headers={"Host": "jirasync.example.com", "X-Forwarded-Proto": "https"},
            timeout=60,
        )
        assert secure.status_code == 200 and "max-age=31536000" in secure.headers["Strict-Transport-Security"]
        assert "secure" in secure.headers.get("Set-Cookie", "").lower()
        assert (
            requests.get(
                f"{base}/metrics", headers={"Host": "jirasync.example.com", "X-Forwarded-Proto": "https"}, timeout=60
            ).status_code
            == 401
        )
        # A Data Center webhook carries its secret in the URL; the access log must not.
        webhook = requests.post(
            f"{base}/webhooks/jira/dc-site/?token={WEBHOOK_SECRET}",
            json={"webhookEvent": "jira:issue_updated", "issue": {"id": "1"}},
            headers={"Host": "jirasync.example.com", "X-Forwarded-Proto": "https"},
            timeout=60,
        )
        assert webhook.status_code == 401
    finally:
        processes_stop([server], grace=120)  # gunicorn gives its workers graceful_timeout (30 s) to finish
    access_log = log.read_text()
    assert '"POST /webhooks/jira/dc-site/ HTTP/1.1" 401' in access_log
    assert WEBHOOK_SECRET not in access_log and "token=" not in access_log


def unit_setting(unit: str, name: str, default: str) -> str:
    """The last value a unit's [Service] section gives a setting, else systemd's default."""
    values = re.findall(rf"^{name}=(.*)$", unit, re.MULTILINE)
    return values[-1].strip() if values else default


@pytest.mark.django_db(transaction=True)
def test_the_queue_unit_s_stop_ends_the_cluster_cleanly_well_within_its_timeout():
    """systemd stops the unit as its KillMode says (default control-group: every process gets KillSignal);
    the cluster must be gone, all its processes, well before TimeoutStopSec would SIGKILL them."""
    unit = (DEPLOY / "systemd" / "jirasync-qcluster.service").read_text()
    kill_mode = unit_setting(unit, "KillMode", "control-group")
    kill_signal = getattr(signal, unit_setting(unit, "KillSignal", "SIGTERM"))
    timeout = float(unit_setting(unit, "TimeoutStopSec", "90"))
    cluster = subprocess.Popen(
        [str(Path(settings.BASE_DIR) / ".venv/bin/python"), "manage.py", "qcluster"],
        cwd=settings.BASE_DIR,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own group, as the unit's cgroup
    )
    try:
        deadline = time.time() + 180  # generous: a loaded machine starts the cluster slowly
        for line in cluster.stdout:
            if "running." in line:
                break
            assert time.time() < deadline, "the cluster did not start"
        if kill_mode == "mixed":
            cluster.send_signal(kill_signal)
        else:
            os.killpg(cluster.pid, kill_signal)
        began = time.time()
        cluster.wait(timeout=timeout / 2)  # a hung stop raises TimeoutExpired here
        took = time.time() - began
        left = subprocess.run(["pgrep", "-g", str(cluster.pid)], capture_output=True, text=True).stdout.split()
        assert not left, f"processes of the cluster outlived its stop: {left}"
        print(f"\nthe cluster stopped {took:.1f} s after {unit_setting(unit, 'KillSignal', 'SIGTERM')} ({kill_mode})")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(cluster.pid, signal.SIGKILL)
        cluster.wait(timeout=120)


def test_nginx_logs_paths_without_query_strings():
    conf = (DEPLOY / "nginx" / "jirasync.conf").read_text()
    formats = re.findall(r"log_format\s+(\w+)\s+((?:'[^']*'\s*)+);", conf)
    assert formats and all(not re.search(r"\$(request\b|request_uri|args|query_string|arg_)", f) for _, f in formats)
    access_logs = re.findall(r"^\s*access_log\s+(\S+)(?:\s+(\w+))?;", conf, re.MULTILINE)
    assert len(access_logs) == conf.count("server {")  # every server block names its log
    assert all(name in {f for f, _ in formats} for _, name in access_logs)
    assert "client_max_body_size 5m;" in conf  # the webhook limit, as jirasync's own


@pytest.mark.skipif(not shutil.which("logrotate"), reason="logrotate is not installed")
def test_the_logrotate_file_parses(tmp_path):
    text = (DEPLOY / "logrotate" / "jirasync").read_text()
    text = text.replace("/var/log/jirasync", str(tmp_path)).replace("su jirasync jirasync", "")
    (tmp_path / "app.log").write_text("x\n")
    config = tmp_path / "jirasync.conf"
    config.write_text(text)
    result = subprocess.run(
        ["logrotate", "-d", "-s", str(tmp_path / "state"), str(config)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0 and "error" not in result.stderr.lower(), result.stderr


@pytest.mark.django_db(transaction=True)
def test_a_backup_restores_into_a_scratch_database_with_equal_counts(tmp_path, cloud_site, reference_mappings):
    if connection.vendor != "postgresql":
        pytest.skip("backups are of PostgreSQL (run the suite with DATABASE_URL=postgres://…)")
    instance = register(cloud_site, "instance_1")
    sync_instance(instance.pk, RunOptions(full=True))
    assert Issue.objects.count() == 120
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    # Named after this suite's test database: another suite on the same server restores beside this one.
    scratch = f"{db['NAME']}_restore_check"
    backup = subprocess.run(
        [str(DEPLOY / "backup" / "backup.sh"), url, str(tmp_path)], capture_output=True, text=True, timeout=600
    )
    assert backup.returncode == 0, backup.stderr
    dump = backup.stdout.strip()
    check = subprocess.run(
        [str(DEPLOY / "backup" / "restore_check.sh"), dump, url, scratch],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "every row count equal" in check.stdout
    Issue.objects.filter(pk=Issue.objects.first().pk).delete()  # the source moves on: the check must notice
    check = subprocess.run(
        [str(DEPLOY / "backup" / "restore_check.sh"), dump, url, scratch],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode != 0 and "issues_issue" in check.stderr
