"""bin/demo's helpers, in Python so a test can call them: the demo's .env, free ports, the closing summary.

.venv/bin/python bin/_demo.py write-env            # writes .env for the demo unless there is one
.venv/bin/python bin/_demo.py free-port 8000 [AVOID…]  # the first free loopback port from 8000 on
.venv/bin/python bin/_demo.py failed-instances     # instances whose last sync failed (or partly)
.venv/bin/python bin/_demo.py summary URL USER PASSWORD [FAILED_INSTANCES]
"""

import secrets
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1,::1"


def env_write(path: Path) -> str:
    """Write the demo's settings to path, never over an existing file; say what was done."""
    if path.exists():
        return f"keeping your {path.name} (bin/demo never overwrites it)"
    from cryptography.fernet import Fernet

    path.write_text(
        "# Written by bin/demo for the demo (delete it to have a fresh one written): the settings the demo\n"
        "# ran with, so manage.py commands (check_jira, sync_jira, …) work after it. Not for production.\n"
        "DEBUG=1\n"
        f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
        f"JIRASYNC_ENCRYPTION_KEYS={Fernet.generate_key().decode()}\n"
        f"# /metrics answers this machine only\nMETRICS_ALLOWED_IPS={LOOPBACK}\n"
    )
    path.chmod(0o600)  # it holds secrets
    return f"wrote {path.name} with the demo's settings (DEBUG, SECRET_KEY, encryption key, /metrics on loopback)"


def free_port(start: int, avoid: set[int] = frozenset(), tries: int = 50) -> int:
    for port in range(start, start + tries):
        if port in avoid:
            continue
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit(f"no free port from {start} to {start + tries - 1}")


def failed_instances() -> str:
    import os

    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jirasync_site.settings")
    django.setup()
    from projects.models import JiraInstance
    from syncing.models import SyncRun

    failed = []
    for instance in JiraInstance.objects.order_by("slug"):
        last = SyncRun.objects.filter(instance=instance, parent__isnull=True).order_by("-created_at").first()
        if last and last.status in (SyncRun.Status.FAILED, SyncRun.Status.PARTIAL):
            failed.append(instance.slug)
    return ", ".join(failed)


def summary(url: str, user: str, password: str, failed: str = "") -> str:
    lines = [
        "",
        "=" * 72,
        f"jirasync admin:  {url}",
        f"user:            {user}",
        f"password:        {password}"
        if password
        else "password:        (unchanged: it was printed when the user was created)",
        f"forgot it?       .venv/bin/python manage.py changepassword {user}",
        f"metrics:         {url.removesuffix('/admin/')}/metrics  (this machine only)",
    ]
    if failed:
        lines.append(f"sync failed for: {failed} — see admin → Sync runs for why; the rest is served")
    lines += ["Ctrl-C stops it all (the web server, the queue worker and the simulators).", "=" * 72]
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    command, *args = argv
    if command == "write-env":
        print(env_write(ROOT / ".env"))
    elif command == "free-port":
        if not all(arg.isdigit() for arg in args):
            raise SystemExit(f"a port is a number: got {' '.join(args)!r} (PORT, DEMO_CLOUD_PORT, DEMO_DC_PORT)")
        print(free_port(int(args[0]), {int(port) for port in args[1:]}))
    elif command == "failed-instances":
        print(failed_instances())
    elif command == "summary":
        print(summary(*args))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
