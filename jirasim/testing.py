"""Helpers to run jirasim in-process for tests: start on an ephemeral loopback port, stop afterwards."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from jirasim.dataset import SimConfig
from jirasim.faults import FaultPlan
from jirasim.server import JiraSim, SimServer

USER, TOKEN = "demo@example.com", "demo-token"


@contextmanager
def running_sim(
    *,
    rate_limit: float = 0,
    burst: float | None = None,
    faults: FaultPlan | None = None,
    legacy_search: bool = False,
    tls: bool = False,
    replay: list[str] | None = None,
    captcha_after: int = 0,
    cloud_tokens: str = "snapshot",
    **config: Any,
) -> Iterator[SimServer]:
    """A started simulator; config goes to SimConfig (flavour, projects, issues, seed, site_tz, ...)."""
    sim = JiraSim(
        SimConfig(**config),
        user=USER,
        token=TOKEN,
        rate_limit=rate_limit,
        burst=burst,
        faults=faults,
        legacy_search=legacy_search,
        replay=replay,
        captcha_after=captcha_after,
        cloud_tokens=cloud_tokens,
    )
    server = SimServer(sim, tls=tls).start()
    try:
        yield server
    finally:
        server.stop()


def request_counts(server: SimServer) -> dict[str, dict[str, int]]:
    """What /_sim/stats says: {"GET /rest/api/3/search/jql": {"200": 3}, ...}."""
    return requests.get(f"{server.url}/_sim/stats", timeout=10).json()["requests"]
