"""Loopback ports for tests that name a port before something binds it (a subprocess, a dead URL).

Picked below the kernel's ephemeral range (Linux: 32768 on), where the ports the OS hands out — to every
simulator started on port 0 and every client socket of the suites running beside — never land: a port
picked there could be taken by one of those between picking it and binding it.
"""

import random
import sys
from pathlib import Path

from django.conf import settings

sys.path.insert(0, str(Path(settings.BASE_DIR) / "bin"))
from _demo import free_port

LOW, HIGH = 20_000, 32_000


def port_free(start: int | None = None) -> int:
    """A loopback port nothing is bound to now, from start (a random one between LOW and HIGH) on."""
    return free_port(random.randint(LOW, HIGH) if start is None else start)


def url_dead() -> str:
    """An http URL of loopback where nothing listens (and no OS-assigned port will)."""
    return f"http://127.0.0.1:{port_free()}"
