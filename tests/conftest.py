"""The suite's cast of fixtures, one definition each: a fresh cache and quick retries for every test, the simulated
Jira sites, instances (one as an operator adds it, one registered on the Cloud site), the reference mappings, a
queue worker and a staff client holding exactly some permissions. Subfolders' conftest files keep only what is
theirs alone (the simulator's module-scoped sites, the browser)."""

import os
import subprocess
from collections.abc import Callable, Iterator

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.test import Client

from audit.services import COMMAND
from config.services import mappings_load_file
from jirasim.testing import running_sim
from projects.models import JiraInstance
from tests.support.database import other_sessions_end
from tests.support.mappings import REFERENCE_MAPPINGS
from tests.support.processes import processes_stop, qcluster_start, subprocess_env
from tests.support.sites import register

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


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker) -> Iterator[None]:
    """pytest-django's test database; at the end the sessions the tests' processes left on it are ended first, so
    it can be dropped (else PostgreSQL refuses: 'being accessed by other users', and the database stays)."""
    yield
    with django_db_blocker.unblock():
        other_sessions_end()


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """Cached lookups (the issue statuses) must not leak from one test's data into the next."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def quick_retries(settings) -> None:
    """Retries back off in milliseconds here, not Atlassian's recommended seconds."""
    settings.JIRASYNC_BACKOFF_BASE = 0.01
    settings.JIRASYNC_MAX_RETRIES = 5


@pytest.fixture
def cloud_site():
    """A simulated Jira Cloud on loopback: 2 projects, 60 issues (seed 3), for this test alone."""
    with running_sim(flavour="cloud", projects=2, issues=60, seed=3, long_history_share=0.05) as server:
        yield server


@pytest.fixture
def dc_site():
    """A simulated Jira Data Center on loopback: 2 projects, 60 issues (seed 4), for this test alone."""
    with running_sim(flavour="datacenter", projects=2, issues=60, seed=4, long_history_share=0.05) as server:
        yield server


@pytest.fixture
def cloud_instance(db, cloud_site) -> JiraInstance:
    """An instance registered on cloud_site (slug instance_1), every project it discovers enabled."""
    return register(cloud_site, "instance_1")


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
    worker = qcluster_start({**subprocess_env(), "Q_WORKERS": "2", "JIRASYNC_PAGE_SIZE": "50"})
    yield worker
    processes_stop([worker])


@pytest.fixture
def staff_with(django_user_model) -> Callable[..., Client]:
    """A maker of logged-in staff clients holding exactly the given permissions ("app.codename")."""
    made = []

    def make(*permissions: str, name: str | None = None) -> Client:
        user = django_user_model.objects.create_user(f"{name or 'staff'}{len(made)}", password="x", is_staff=True)
        for dotted in permissions:
            app_label, codename = dotted.split(".", 1)
            user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        client = Client()
        client.force_login(user)
        made.append(user)
        return client

    return make
