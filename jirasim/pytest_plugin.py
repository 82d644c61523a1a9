"""pytest fixtures for jirasim: `pytest_plugins = ["jirasim.pytest_plugin"]` in a conftest.py.

def test_something(jirasim_factory):
    server = jirasim_factory(flavour="datacenter", projects=2, issues=50)
    ...  # server.url, server.sim (the Python API), request_counts(server)
"""

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from jirasim.server import SimServer
from jirasim.testing import running_sim


@pytest.fixture
def jirasim_factory() -> Iterator[Callable[..., SimServer]]:
    """Start simulators on ephemeral loopback ports (any running_sim options); all stop after the test."""
    with ExitStack() as stack:
        yield lambda **options: stack.enter_context(running_sim(**options))


@pytest.fixture
def jirasim_server(jirasim_factory) -> SimServer:
    """A small Cloud simulator: 2 projects × 20 issues, seed 1."""
    return jirasim_factory(flavour="cloud", projects=2, issues=20)
