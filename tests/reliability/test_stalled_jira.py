"""A Jira that stalls mid-request (issue #12, item 8): a stop and the total deadline cut a request blocked in a
read within seconds, however rarely (or never) the next byte comes; a stopped command says so in its exit code."""

import signal
import threading
import time

import pytest

from jirasim.testing import TOKEN, USER, running_sim
from syncing.jira.client import ConnectionSettings, JiraClient
from syncing.jira.errors import JiraCancelledError, JiraUnavailableError
from syncing.models import SyncRun
from syncing.runs.bookkeeping import StopSignal
from tests.support.processes import sync_jira_running
from tests.support.sites import register
from tests.support.stalling_jira import stalling_jira

pytestmark = pytest.mark.django_db(transaction=True)

SEARCH = "POST /rest/api/3/search/jql"


def stalled_client(url: str, stop=None, total: float = 180.0) -> JiraClient:
    settings = ConnectionSettings(
        name="Sim",
        base_url=url,
        auth_kind="basic",
        username=USER,
        token=TOKEN,
        flavour="cloud",
        read_timeout=60,
        total_timeout=total,
        max_retries=0,
    )
    return JiraClient(settings, stop=stop)


@pytest.mark.parametrize("mode", ["drip", "silent"])
def test_the_total_deadline_cuts_a_request_whose_next_byte_does_not_come(mode):
    with running_sim(flavour="cloud", projects=1, issues=3) as server, stalling_jira(server.url, SEARCH, mode) as stall:
        client = stalled_client(stall.url, total=2)
        began = time.monotonic()
        with pytest.raises(JiraUnavailableError, match="took longer than 2 s"):
            client.request("POST", "/rest/api/3/search/jql", body={"jql": "project = X"})
        assert time.monotonic() - began < 10, "the deadline holds while a read waits (read timeout: 60 s)"


@pytest.mark.parametrize("mode", ["drip", "silent"])
def test_a_stop_cuts_a_request_blocked_in_a_read_within_seconds(mode):
    with running_sim(flavour="cloud", projects=1, issues=3) as server, stalling_jira(server.url, SEARCH, mode) as stall:
        stop = StopSignal(threading.Event())
        client = stalled_client(stall.url, stop=stop)
        outcome: list[BaseException] = []

        def ask() -> None:
            try:
                client.request("POST", "/rest/api/3/search/jql", body={"jql": "project = X"})
            except BaseException as exc:
                outcome.append(exc)

        asking = threading.Thread(target=ask)
        asking.start()
        assert stall.hit.wait(60), "the request never reached the stalling endpoint"
        stop.set()
        began = time.monotonic()
        asking.join(60)
        assert time.monotonic() - began < 5, "a stop must cut a read that waits on a stalled Jira"
        assert len(outcome) == 1 and isinstance(outcome[0], JiraCancelledError), outcome


@pytest.mark.parametrize(("mode", "sent", "code"), [("drip", signal.SIGTERM, 143), ("silent", signal.SIGINT, 130)])
def test_a_signal_stops_sync_jira_stalled_on_jira_within_seconds_and_exits_128_plus_the_signal(
    mode, sent, code, reference_mappings
):
    with (
        running_sim(flavour="cloud", projects=1, issues=20, seed=61) as server,
        stalling_jira(server.url, SEARCH, mode) as stall,
    ):
        instance = register(server, "instance_1", base_url=stall.url)
        with sync_jira_running(instance.slug, "--full") as process:
            deadline = time.monotonic() + 120
            while not stall.hit.wait(0.2):
                assert process.poll() is None and time.monotonic() < deadline, "the sync never reached the search"
            process.send_signal(sent)
            began = time.monotonic()
            _out, err = process.communicate(timeout=120)
            assert time.monotonic() - began < 10, "a signal must stop a sync within seconds, even mid-read"
            assert process.returncode == code, err
            assert f"stopped by {sent.name}" in err
        runs = dict(SyncRun.objects.values_list("project__key", "status"))
        assert set(runs.values()) == {SyncRun.Status.CANCELLED}, runs
