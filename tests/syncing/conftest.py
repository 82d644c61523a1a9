import pytest

from audit.services import COMMAND
from jirasim.testing import TOKEN, USER, running_sim
from projects.models import JiraInstance
from syncing.instance_settings import instance_save


@pytest.fixture(autouse=True)
def quick_retries(settings):
    """Retries back off in milliseconds here, not Atlassian's recommended seconds."""
    settings.JIRASYNC_BACKOFF_BASE = 0.01
    settings.JIRASYNC_MAX_RETRIES = 5


def register(server, slug: str, **fields) -> JiraInstance:
    """An instance pointed at a running simulator, with every discovered project enabled."""
    values = {
        "name": slug.replace("_", " ").title(),
        "slug": slug,
        "base_url": server.url,
        "auth_kind": "basic",
        "username": USER,
        "enable_new_projects": True,
        "request_budget": 1000,
        **fields,
    }
    instance = JiraInstance(**values)
    return instance_save(instance=instance, actor=COMMAND, token=TOKEN)


@pytest.fixture
def cloud_site():
    with running_sim(flavour="cloud", projects=2, issues=60, seed=3, long_history_share=0.05) as server:
        yield server


@pytest.fixture
def dc_site():
    with running_sim(flavour="datacenter", projects=2, issues=60, seed=4, long_history_share=0.05) as server:
        yield server
