"""The Jira client against jirasim: typed errors, rate-limit headers, the Data Center moving window."""

import time

import pytest

from jirasim.faults import FaultPlan, FaultRule
from jirasim.testing import TOKEN, USER, running_sim
from syncing.jira.budget import LocalBudget
from syncing.jira.client import ConnectionSettings, JiraClient, RequestCounters
from syncing.jira.errors import (
    JiraAuthenticationError,
    JiraBadRequestError,
    JiraEndpointRemovedError,
    JiraNotFoundError,
    JiraUnavailableError,
)


def client_for(server, *, flavour="auto", token=TOKEN, sleeps=None, budget=None, **settings) -> JiraClient:
    """A client whose waits really happen, and are recorded in sleeps."""
    recorded = sleeps if sleeps is not None else []

    def sleep(seconds: float) -> None:
        recorded.append(seconds)
        time.sleep(seconds)

    connection = ConnectionSettings(
        name="Sim",
        base_url=server.url,
        auth_kind="basic",
        username=USER,
        token=token,
        flavour=flavour,
        backoff_base=0.001,
        **settings,
    )
    return JiraClient(connection, counters=RequestCounters(), sleep=sleep, budget=budget)


def test_errors_are_typed_and_name_the_instance_the_request_and_jiras_text():
    with running_sim(flavour="cloud", projects=1, issues=3) as server:
        with pytest.raises(JiraAuthenticationError, match=r"^Sim: GET /rest/api/2/serverInfo → 401: Client must") as e:
            client_for(server, token="wrong-secret").site_info()
        assert "wrong-secret" not in str(e.value)
        jira = client_for(server)
        with pytest.raises(JiraNotFoundError, match="Issue does not exist"):
            jira.issue("NOPE-1")
        with pytest.raises(JiraBadRequestError, match="Error in the JQL Query"):
            list(jira.search_pages("project = OPS jql", ["summary"]))
        old_api = client_for(server, flavour="datacenter")
        with pytest.raises(JiraEndpointRemovedError, match="410: The requested API has been removed"):
            list(old_api.search_pages("project = OPS", ["summary"]))


def test_retry_after_is_honoured_and_429s_are_counted():
    with running_sim(flavour="cloud", projects=1, issues=3, rate_limit=1, burst=1) as server:
        sleeps: list[float] = []
        jira = client_for(server, sleeps=sleeps)
        for _ in range(3):
            jira.request("GET", "/rest/api/3/serverInfo")
        assert jira.counters.rate_limited >= 1 and jira.counters.retries >= 1
        assert any(wait >= 1.0 for wait in sleeps)  # Retry-After: 1, never less


def test_a_quota_429_pauses_the_whole_instance():
    faults = FaultPlan([FaultRule("503", endpoint="GET /rest/api/3/myself", times=1)])
    with running_sim(flavour="cloud", projects=1, issues=3, faults=faults) as server:
        budget = LocalBudget(100)
        jira = client_for(server, budget=budget)

        class QuotaResponse:
            headers = {"Retry-After": "2", "RateLimit-Reason": "jira-quota-tenant-based"}

        jira.sleep = lambda seconds: None  # the two seconds need not pass here
        jira._wait_for_rate_limit(QuotaResponse(), 0, "Sim: GET /x")
        assert budget.paused_until > 0
        assert jira.request("GET", "/rest/api/3/myself")["accountId"]  # the 503 was retried


def test_a_run_of_failures_ends_in_unavailable_saying_the_last_problem():
    faults = FaultPlan([FaultRule("502", times=100)])
    with (
        running_sim(flavour="cloud", projects=1, issues=3, faults=faults) as server,
        pytest.raises(JiraUnavailableError, match=r"failed after 3 attempts: 502"),
    ):
        client_for(server, max_retries=2).request("GET", "/rest/api/3/serverInfo")


def test_data_center_seek_paging_never_reaches_the_result_window(monkeypatch):
    from jirasim import server as sim_server

    monkeypatch.setattr(sim_server, "DC_RESULT_WINDOW", 120)  # a startAt past 120 would be refused
    with running_sim(flavour="datacenter", projects=1, issues=500, seed=2) as server:
        jira = client_for(server)
        keys = [
            issue["key"]
            for page in jira.search_pages("project = OPS", ["updated"], changelog=False, page_size=50)
            for issue in page
        ]
        assert len(keys) == len(set(keys)) == 500
        answers = server.sim.stats.snapshot()["POST /rest/api/2/search"]
        assert set(answers) == {"200"}  # never the 400 of a start past the window
        assert answers["200"] <= 500 // 50 + 1  # one request per page, and one that finds nothing new
