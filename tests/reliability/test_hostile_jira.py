"""A hostile Jira (issue #12, items 7-10): poisoned issues, bodies that trickle, answers of the wrong shape,
URLs that are not Jira. Each costs its own row or fails with a clear error, never a project, a hang or a 500."""

import http.server
import signal
import threading
import time
from contextlib import contextmanager
from functools import partial

import pytest
import requests
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditLog
from issues.models import Issue
from jirasim.faults import FaultPlan, FaultRule
from jirasim.testing import TOKEN, USER, running_sim
from projects.models import JiraInstance
from syncing.jira.client import ConnectionSettings, JiraClient
from syncing.jira.errors import JiraUnavailableError
from syncing.models import IssueRetry, SyncRun
from syncing.runs.runner import RunOptions, sync_instance
from tests.support.ports import url_dead
from tests.support.processes import sync_jira_running
from tests.support.sites import poisoned, register
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_answer_that_trickles_is_cut_off_at_the_total_deadline_and_retried():
    faults = FaultPlan([FaultRule("trickle", endpoint="GET /rest/api/2/serverInfo")])
    with running_sim(flavour="cloud", projects=1, issues=3, faults=faults) as server:
        client = JiraClient(
            ConnectionSettings(
                name="Sim",
                base_url=server.url,
                auth_kind="basic",
                username=USER,
                token=TOKEN,
                read_timeout=5,
                total_timeout=2,
                max_retries=1,
                backoff_base=0.01,
            )
        )
        began = time.monotonic()
        with pytest.raises(JiraUnavailableError, match="took longer than 2 s"):
            client.site_info()
        assert time.monotonic() - began < 12  # two attempts of ~2 s, not two minutes of trickle


def test_sigterm_stops_a_sync_waiting_on_a_trickling_jira_within_seconds(reference_mappings):
    faults = FaultPlan([FaultRule("trickle", endpoint="POST /rest/api/3/search/jql")])
    with running_sim(flavour="cloud", projects=1, issues=20, seed=61, faults=faults) as server:
        instance = register(server, "instance_1")
        with sync_jira_running(instance.slug, "--full") as process:

            def trickling() -> bool:
                assert process.poll() is None, "the sync ended before its search answer trickled"
                return bool(server.sim.faults.inflicted["trickle"])

            wait_for(trickling, what="the sync's search answer to trickle in")
            process.send_signal(signal.SIGTERM)
            began = time.monotonic()
            _out, err = process.communicate(timeout=120)
            assert time.monotonic() - began < 15, "SIGTERM must stop a sync within seconds, even mid-request"
            assert process.returncode == 128 + signal.SIGTERM, err
        run = SyncRun.objects.get(project__isnull=False)
        assert run.status == SyncRun.Status.CANCELLED


def test_a_poisoned_issue_costs_exactly_its_own_row_whatever_poisons_it(reference_mappings):
    deep: object = "bottom"
    for _ in range(300):
        deep = {"nested": deep}
    with running_sim(flavour="cloud", projects=1, issues=25, seed=62) as server:
        data = server.sim.data
        sample = server.sim.r.issue(data.live()[0], "3", None, set(), None)
        variants = [
            poisoned(sample, 1, lambda f: f.update(summary="half an emoji: \ud83d")),  # a lone surrogate
            poisoned(sample, 2, lambda f: f.update(customfield_10501=deep)),  # nesting past 254 levels
            poisoned(sample, 3, lambda f: f.update(priority={"id": "9", "name": "P" * 150})),  # longer than its column
            poisoned(sample, 4, lambda f: f["status"].update(id="9" * 40)),  # a status id longer than its column
        ]
        for issue in variants:
            data.add_replayed(issue)
        instance = register(server, "instance_1")
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.PARTIAL, run.error
        poisoned_keys = {issue["key"] for issue in variants}
        stored = set(Issue.objects.filter(instance=instance).values_list("key", flat=True))
        assert len(stored) == 25 and not stored & poisoned_keys, "exactly the poisoned rows are missing"
        explained = dict(AuditLog.objects.filter(action="sync_row_failed").values_list("object_repr", "summary"))
        assert set(explained) == poisoned_keys
        assert "cannot be kept as JSON" in explained[variants[0]["key"]]
        assert "longer than" in explained[variants[2]["key"]]
        assert set(IssueRetry.objects.values_list("key", flat=True)) == poisoned_keys  # asked for again later
        again = sync_instance(instance.pk, RunOptions())
        assert again.status == SyncRun.Status.PARTIAL and all(key in again.error for key in poisoned_keys)
        assert IssueRetry.objects.get(key=variants[0]["key"]).attempts == 2


@pytest.fixture
def operator(client):
    admin = User.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    return client


def connection_tested(operator, instance: JiraInstance):
    return operator.post(
        "/admin/projects/jirainstance/",
        {"action": "test_connection", "_selected_action": [instance.pk]},
        follow=True,
    )


@pytest.mark.parametrize(
    ("endpoint", "body", "said"),
    [
        ("GET /rest/api/2/serverInfo", [1, 2, 3], "expected a JSON object"),
        ("GET /rest/api/2/serverInfo", {"hello": "world"}, "not a Jira serverInfo"),
        (
            "GET /rest/api/3/project/search",
            {"values": [{"id": "10000", "name": "no key"}], "isLast": True},
            "without an id or key",
        ),
        ("GET /rest/api/3/field", {"not": "a list"}, "expected a list"),
    ],
)
def test_answers_of_the_wrong_shape_are_a_clear_error_naming_the_endpoint(
    endpoint, body, said, operator, reference_mappings
):
    with running_sim(flavour="cloud", projects=1, issues=5, seed=63) as server:
        instance = register(server, "instance_1")
        requests.post(
            f"{server.url}/_sim/override", json={"endpoint": endpoint, "status": 200, "body": body}, timeout=30
        )
        page = connection_tested(operator, instance)
        assert page.status_code == 200
        text = page.content.decode()
        assert said in text and endpoint.split(" ")[1].split("{")[0].rstrip("/") in text, text[-3000:]
        with pytest.raises(CommandError, match=said):
            call_command("check_jira", instance.slug)
        if "serverInfo" in endpoint or "project" in endpoint:
            run = sync_instance(instance.pk, RunOptions(full=True))
            assert run.status == SyncRun.Status.FAILED and said in run.error


@contextmanager
def not_jira():
    """A web server that is not Jira: HTML pages, 404s."""
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(django_settings.BASE_DIR / "templates"))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@pytest.mark.parametrize("where", ["dead", "not-jira"])
def test_test_connection_to_a_dead_url_or_not_jira_answers_within_10_seconds_saying_what_is_wrong(
    where, operator, reference_mappings
):
    with not_jira() as site:
        url = url_dead() if where == "dead" else site
        instance = JiraInstance(name="Wrong", slug="wrong", base_url=url, auth_kind="bearer", username="")
        instance.set_token("t0ken-value-long-enough")
        instance.save()
        began = time.monotonic()
        page = connection_tested(operator, instance)
        assert time.monotonic() - began < 10
        text = page.content.decode()
        expected = "connection was refused" if where == "dead" else "not a Jira REST root"
        assert expected in text, text[-2000:]
