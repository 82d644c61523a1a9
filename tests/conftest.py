import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from audit.services import COMMAND
from config.services import mappings_load_file
from projects.models import JiraInstance
from tests.processes import processes_stop, qcluster_start

pytest_plugins = ["jirasim.pytest_plugin"]

# Tests that use no database of the suite's (the simulator's own, the demo on its own SQLite file): the result is
# the same on either database, so CI runs them in the SQLite suite only (JIRASYNC_SKIP_ANY_DATABASE=1 beside it).
ANY_DATABASE = ("tests/jirasim/", "tests/operations/test_demo.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(ANY_DATABASE):
            item.add_marker(pytest.mark.any_database)
    if os.environ.get("JIRASYNC_SKIP_ANY_DATABASE") == "1":
        chosen = [item for item in items if not item.get_closest_marker("any_database")]
        config.hook.pytest_deselected(items=[item for item in items if item.get_closest_marker("any_database")])
        items[:] = chosen


REFERENCE_MAPPINGS = Path(settings.BASE_DIR) / "config" / "field_mappings.json"


@pytest.fixture
def reference_mappings(db):
    """The bundled reference mapping file, loaded."""
    return mappings_load_file(path=REFERENCE_MAPPINGS, actor=COMMAND)


@pytest.fixture
def instance(db) -> JiraInstance:
    """A Cloud instance with a token, as an operator would add it."""
    jira = JiraInstance(
        name="Instance one",
        slug="instance_1",
        base_url="https://example.atlassian.net",
        auth_kind="basic",
        username="ops@example.com",
    )
    jira.set_token("s3cr3t-token-value")
    jira.save()
    return jira


@pytest.fixture
def qcluster() -> Iterator[subprocess.Popen]:
    """A real queue worker process on the test database."""
    from tests.syncing.test_resilience import subprocess_env

    worker = qcluster_start({**subprocess_env(), "Q_WORKERS": "2", "JIRASYNC_PAGE_SIZE": "50"})
    yield worker
    processes_stop([worker])
