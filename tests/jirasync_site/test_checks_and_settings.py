"""System checks and the settings' refusal to start without secrets."""

import os
import subprocess
import sys

from django.conf import settings
from django.test import override_settings

from config.checks import check_encryption_keys, check_mapping_file, check_queue_settings


def test_a_retry_not_exceeding_the_timeout_is_rejected():
    with override_settings(Q_CLUSTER={**settings.Q_CLUSTER, "timeout": 600, "retry": 600}):
        assert [e.id for e in check_queue_settings(None)] == ["jirasync.E001"]
    assert check_queue_settings(None) == []


def test_malformed_encryption_keys_are_rejected():
    with override_settings(JIRASYNC_ENCRYPTION_KEYS=["not-a-key"]):
        errors = check_encryption_keys(None)
    assert [e.id for e in errors] == ["jirasync.E002"]
    assert "key #1" in errors[0].msg
    assert check_encryption_keys(None) == []


def test_an_unreadable_or_invalid_mapping_file_is_rejected(tmp_path):
    with override_settings(JIRASYNC_MAPPING_FILE=tmp_path / "absent.json"):
        assert [e.id for e in check_mapping_file(None)] == ["jirasync.E003"]
    (tmp_path / "bad.json").write_text('{"version": 1}')
    with override_settings(JIRASYNC_MAPPING_FILE=tmp_path / "bad.json"):
        errors = check_mapping_file(None)
    assert [e.id for e in errors] == ["jirasync.E004"] and "$.field_groups: missing" in errors[0].msg
    assert check_mapping_file(None) == []


def run_check(**env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "JIRASYNC_ENCRYPTION_KEYS", "DEBUG"}}
    clean.update(env, DJANGO_SETTINGS_MODULE="jirasync_site.settings")
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_debug_a_missing_secret_stops_start_up_naming_the_variable():
    result = run_check(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr
    result = run_check(DEBUG="0", SECRET_KEY="x" * 50)
    assert "JIRASYNC_ENCRYPTION_KEYS must be set when DEBUG is off" in result.stderr


def test_with_debug_on_development_defaults_let_it_start():
    result = run_check(DEBUG="1")
    assert result.returncode == 0, result.stderr
