"""The production profile passes Django's deployment checks and refuses to start half-configured."""

import os
import subprocess
import sys

from django.conf import settings

from tests.support.processes import production_env


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    # Tests set some of these in their own environment.
    dropped = (
        "DEBUG",
        "ALLOWED_HOSTS",
        "DATABASE_URL",
        "SECRET_KEY",
        "JIRASYNC_ENCRYPTION_KEYS",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    )
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**clean, "DJANGO_SETTINGS_MODULE": "jirasync_site.settings_production", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_reports_nothing(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "DEBUG", **production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_it_refuses_to_start_without_allowed_hosts_or_with_debug(tmp_path):
    env = production_env(tmp_path)
    env.pop("ALLOWED_HOSTS")
    result = manage("check", **env)
    assert result.returncode != 0 and "ALLOWED_HOSTS must name the host" in result.stderr
    result = manage("check", **production_env(tmp_path), DEBUG="1")
    assert result.returncode != 0 and "DEBUG must be off in production" in result.stderr
    env = production_env(tmp_path)
    env.pop("SECRET_KEY")
    result = manage("check", **env)
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr
