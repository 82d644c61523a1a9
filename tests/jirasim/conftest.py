import pytest
import requests

from jirasim.testing import TOKEN, USER, running_sim


@pytest.fixture(scope="module")
def cloud_sim():
    with running_sim(flavour="cloud", projects=2, issues=120, seed=7, long_history_share=0.05) as server:
        yield server


@pytest.fixture(scope="module")
def dc_sim():
    with running_sim(flavour="datacenter", projects=2, issues=120, seed=7, long_history_share=0.05) as server:
        yield server


@pytest.fixture
def jira_session() -> requests.Session:
    session = requests.Session()
    session.auth = (USER, TOKEN)
    return session
