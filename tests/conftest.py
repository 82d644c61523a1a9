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
