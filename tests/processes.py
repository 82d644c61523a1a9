"""Real processes for tests: qcluster workers on the test database, stopped for sure."""

import contextlib
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
        process.wait(timeout=10)
