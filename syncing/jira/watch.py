"""A request's watch: ends a request blocked in a read when its run is stopped or its deadline passes.

requests and urllib3 block in recv() for up to the read timeout between two bytes and check nothing
meanwhile, so a Jira that sends one byte every 40 s (or nothing at all) would hold a stopped run, or a request
past its total deadline, for as long as it pleases. The watch holds the connections its request took from the
pool and, from its own thread, shuts their sockets down: the blocked recv() returns at once, the request fails
as a broken connection, and the client says why from `fired` (STOPPED or DEADLINE).

A connection still connecting cannot be interrupted this way; the connect timeout bounds that wait.
"""

import contextlib
import socket
import threading
import time

from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from syncing.jira.stop import Stop

STOPPED, DEADLINE = "stopped", "deadline"
POLL_SECONDS = 0.25  # how often the watch looks at the stop and the clock

_current = threading.local()  # the watch of the request this thread is making, if any


class RequestWatch:
    """Use as a context manager around one request, sent and read whole, in the thread that makes it.

    stop: the run's stop (None: none). seconds: the request's total deadline from entering the watch.
    After the block, `fired` is "" (nothing happened), STOPPED or DEADLINE.
    """

    def __init__(self, stop: Stop | None, seconds: float) -> None:
        self.stop, self.deadline = stop, time.monotonic() + seconds
        self.fired = ""
        self._connections: list = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="jirasync-request-watch", daemon=True)

    def __enter__(self) -> "RequestWatch":
        _current.watch = self
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        _current.watch = None
        with self._lock:  # a watch that fires after this would cut a connection back in the pool
            self._done.set()
        self._thread.join()

    def adopt(self, connection) -> None:
        with self._lock:
            self._connections.append(connection)

    def _loop(self) -> None:
        while not self._done.wait(POLL_SECONDS):
            reason = STOPPED if self.stop is not None and self.stop.is_set() else ""
            if not reason and time.monotonic() > self.deadline:
                reason = DEADLINE
            if reason and self._cut(reason):
                return

    def _cut(self, reason: str) -> bool:
        """Shut down the request's sockets; False while none is connected yet (try again at the next poll)."""
        with self._lock:
            if self._done.is_set():
                return True
            sockets = [sock for sock in (getattr(c, "sock", None) for c in self._connections) if sock is not None]
            if not sockets:
                return False
            self.fired = reason
            for sock in sockets:
                with contextlib.suppress(OSError):  # already closed
                    # The plain socket's shutdown, under TLS too: the SSL layer is left to fail on its own.
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
            return True


def _adopted(connection):
    watch = getattr(_current, "watch", None)
    if watch is not None:
        watch.adopt(connection)
    return connection


class _WatchedHTTPPool(HTTPConnectionPool):
    def _get_conn(self, timeout: float | None = None):
        return _adopted(super()._get_conn(timeout))


class _WatchedHTTPSPool(HTTPSConnectionPool):
    def _get_conn(self, timeout: float | None = None):
        return _adopted(super()._get_conn(timeout))


WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class WatchedAdapter(HTTPAdapter):
    """An HTTPAdapter whose connections a RequestWatch can cut (direct and through an HTTP proxy)."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools are their own classes; left unwatched
            manager.pool_classes_by_scheme = WATCHED_POOLS
        return manager
