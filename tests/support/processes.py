"""Real processes for tests: the environments they start with, qcluster workers on the test database, stopped for
sure."""

import contextlib
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import connection

from projects.crypto import generate_key


def qcluster_start(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


@contextlib.contextmanager
def reaped(process: subprocess.Popen) -> Iterator[subprocess.Popen]:
    """The process, killed if it still runs when the block ends (an assertion failed while it worked): a sync
    left running would go on writing into the test database under the tests that run after this one."""
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=120)


@contextlib.contextmanager
def sync_jira_running(*args: str, stderr: int = subprocess.PIPE) -> Iterator[subprocess.Popen]:
    """`manage.py sync_jira ARGS` in a process of its own on the test database (output piped, as text; stderr
    may be subprocess.STDOUT), killed if it still runs when the block ends."""
    command = [sys.executable, "manage.py", "sync_jira", *args]
    env = subprocess_env()
    with reaped(
        subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
    ) as process:
        yield process


def processes_stop(processes: list[subprocess.Popen], grace: float = 30) -> None:
    """SIGTERM to each leader, then SIGKILL to whatever is left of its process group.

    Only the leader is asked to stop, as systemd's KillMode=mixed does: a qcluster whose worker, pusher and
    monitor processes receive SIGTERM too hangs in its stop until killed, instead of stopping in seconds.
    """
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the leader if it hung, and any orphan left behind
        process.wait(timeout=120)  # reaping a killed process: immediate when idle, slow only on a loaded machine


def subprocess_env() -> dict[str, str]:
    """This environment, pointed at the test database with tests.settings, small pages and quick retries."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        url = f"sqlite:///{db['NAME']}"
    else:
        url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "JIRASYNC_PAGE_SIZE": "5",
        "JIRASYNC_BACKOFF_BASE": "0.01",
    }


def production_env(folder: Path) -> dict[str, str]:
    """Settings as a production host has them (fresh secrets, DEBUG off), on a SQLite file of its own in folder.

    The test's own folder, not one in the checkout: CI's SQLite and PostgreSQL suites share the checkout, and two
    migrations of one file at once fail (each plans the same migrations, the later finds their tables made).
    """
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "JIRASYNC_ENCRYPTION_KEYS": generate_key(),
        "ALLOWED_HOSTS": "jirasync.example.com",
        "DATABASE_URL": f"sqlite:///{folder / 'deploy-check.sqlite3'}",
    }
