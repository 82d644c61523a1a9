"""Real processes for tests: qcluster workers on the test database, stopped for sure."""

import os
import signal
import subprocess
import sys

from django.conf import settings


def qcluster_start(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def processes_stop(processes: list[subprocess.Popen], grace: float = 15) -> None:
    """SIGTERM to every process group, then SIGKILL to those still running after the grace period."""
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
