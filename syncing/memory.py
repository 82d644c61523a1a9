"""Giving freed memory back to the system between pages, so a sync's footprint does not grow with the project.

A page of issues is tens of thousands of short-lived objects; glibc keeps the freed heap for reuse, and
after a few hundred pages the process holds far more than it uses (measured: 119 → 158 MB over 30,000
issues, with Python's own allocations flat at ~12 MB). malloc_trim(0) returns it: the same sync then
stays at ~90 MB.
"""

import ctypes
import ctypes.util
from functools import cache


@cache
def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        return libc.malloc_trim if libc is not None and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def free_memory_release() -> None:
    """Return freed heap memory to the system (glibc); nothing where malloc_trim does not exist."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
