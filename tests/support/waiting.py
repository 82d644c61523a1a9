"""Waiting in tests: on a condition, with a deadline generous enough for a machine busy with other suites.

A wait returns as soon as its condition holds, so a long deadline costs nothing on an idle machine; only a
condition that never holds waits it out, and then fails naming what it waited for.
"""

import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connections

# Seconds a test waits for something that takes a second or two on an idle machine: two other suites running
# beside this one (CI's SQLite and PostgreSQL suites, a developer's) have made such waits take a minute.
GENEROUS = 180.0


def wait_for[T](condition: Callable[[], T], seconds: float = GENEROUS, what: str = "condition", poll: float = 0.1) -> T:
    """The condition's first truthy value, asked every `poll` seconds; AssertionError after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {seconds:.0f} s waiting for {what}"
        time.sleep(poll)


def eventually[T](check: Callable[[], T], seconds: float = GENEROUS, poll: float = 0.25) -> T:
    """What check() returns once it stops raising AssertionError, asked every `poll` seconds; after `seconds`, its
    last AssertionError (so the failure says what was still wrong, not just that time ran out)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() >= deadline:
                raise
        time.sleep(poll)


def in_background(function: Callable[..., Any], *args: Any) -> tuple[threading.Thread, list]:
    """Run function(*args) in a daemon thread; its result is appended to the list when it returns."""
    result: list = []

    def run() -> None:
        try:
            result.append(function(*args))
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result
