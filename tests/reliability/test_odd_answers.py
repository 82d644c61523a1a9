"""Odd answers and slow phases (issue #12, items 8 and 10): a run keeps its lease through discovery, an
answer of the wrong shape is a typed error naming its endpoint (never a traceback, a run left running or a
500), and a core date-time that cannot be read is never stored as a silent NULL."""

import threading

import pytest
import requests
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections

from issues.models import Issue
from jirasim.faults import FaultPlan, FaultRule
from jirasim.testing import running_sim
from projects.models import Project
from syncing.models import IssueRetry, SyncRun
from syncing.runs.bookkeeping import runs_abandoned_close
from syncing.runs.runner import RunOptions, sync_instance
from tests.support.sites import poisoned, register
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

PROJECTS = "GET /rest/api/3/project/search"


def override(server, endpoint: str, body) -> None:
    answer = requests.post(
        f"{server.url}/_sim/override", json={"endpoint": endpoint, "status": 200, "body": body}, timeout=30
    )
    answer.raise_for_status()


def test_an_instance_run_keeps_its_lease_through_a_slow_discovery(settings, reference_mappings):
    settings.JIRASYNC_CLAIM_LEASE_SECONDS = 4  # renewed every second
    faults = FaultPlan([FaultRule("trickle", endpoint=PROJECTS)])  # the project list takes a minute to arrive
    with running_sim(flavour="cloud", projects=1, issues=3, faults=faults) as server:
        instance = register(server, "instance_1")
        stop = threading.Event()
        ended: list[SyncRun] = []

        def sync() -> None:
            try:
                ended.append(sync_instance(instance.pk, RunOptions(stop=stop)))
            finally:
                connections.close_all()

        worker = threading.Thread(target=sync)
        worker.start()
        try:
            wait_for(lambda: SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exists(), what="the run to start")
            run = SyncRun.objects.get()
            wait_for(
                lambda: (SyncRun.objects.get(pk=run.pk).heartbeat_at - run.started_at).total_seconds() > 6,
                seconds=40,
                what="a heartbeat during discovery",
            )
            assert not Project.objects.exists(), "still discovering"
            assert runs_abandoned_close() == 0, "a live run in discovery is not abandoned"
            assert SyncRun.objects.get(pk=run.pk).status == SyncRun.Status.RUNNING
        finally:
            stop.set()
            worker.join(60)
        assert not worker.is_alive(), "a stop ends discovery within seconds"
        assert ended[0].status == SyncRun.Status.CANCELLED, ended[0].error


@pytest.fixture
def operator(client):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def discover(operator, instance):
    return operator.post(
        "/admin/projects/jirainstance/",
        {"action": "discover_projects", "_selected_action": [instance.pk]},
        follow=True,
    )


def test_a_project_without_a_name_is_named_by_its_key_and_keeps_a_name_it_had(operator, reference_mappings):
    with running_sim(flavour="cloud", projects=1, issues=5, seed=71) as server:
        instance = register(server, "instance_1")
        page = discover(operator, instance)
        assert page.status_code == 200
        project = Project.objects.get()
        named = project.name
        listed = {"id": project.jira_id, "key": project.key, "name": None}
        override(server, PROJECTS, {"values": [listed, {"id": "99001", "key": "NEW", "name": None}], "isLast": True})
        page = discover(operator, instance)
        assert page.status_code == 200 and "2 projects visible" in page.content.decode()
        assert dict(Project.objects.values_list("key", "name")) == {project.key: named, "NEW": "NEW"}
        call_command("sync_jira", instance.slug, "--project", project.key)
        assert not SyncRun.objects.filter(status__in=SyncRun.ACTIVE).exists()
        assert set(SyncRun.objects.values_list("status", flat=True)) == {SyncRun.Status.SUCCEEDED}


@pytest.mark.parametrize(
    ("endpoint", "body", "said"),
    [
        (PROJECTS, {"values": [{"id": "10000", "key": "OPS", "name": {"text": "Ops"}}], "isLast": True}, "name"),
        (PROJECTS, {"values": [{"id": 10000, "key": "OPS", "name": "Ops"}], "isLast": True}, "without an id or key"),
        (PROJECTS, {"values": [{"id": "10000", "key": "K" * 80, "name": "Ops"}], "isLast": True}, "longer than 64"),
        ("GET /rest/api/3/myself", {"accountId": "x", "timeZone": {"id": "Europe/Paris"}}, "timeZone"),
        ("GET /rest/api/3/myself", {"accountId": "x", "timeZone": "Mars/Olympus"}, "timeZone"),
        ("GET /rest/api/2/serverInfo", {"deploymentType": "Cloud", "version": [1001, 0]}, "version"),
    ],
)
def test_an_answer_of_the_wrong_shape_fails_discovery_naming_its_endpoint_and_no_run_stays_running(
    endpoint, body, said, operator, reference_mappings
):
    with running_sim(flavour="cloud", projects=1, issues=5, seed=72) as server:
        instance = register(server, "instance_1")
        override(server, endpoint, body)
        page = discover(operator, instance)
        assert page.status_code == 200
        text = page.content.decode()
        path = endpoint.split(" ")[1].rsplit("/", 1)[-1]
        assert said in text and path in text, text[-3000:]
        with pytest.raises(CommandError, match=said) as raised:
            call_command("sync_jira", instance.slug)
        assert raised.value.returncode == 1
        assert not SyncRun.objects.filter(status__in=SyncRun.ACTIVE).exists()
        run = SyncRun.objects.get()
        assert run.status == SyncRun.Status.FAILED and path in run.error and said in run.error


def test_an_error_escaping_a_project_run_ends_it_failed_saying_why(reference_mappings, monkeypatch):
    with running_sim(flavour="cloud", projects=1, issues=5, seed=73) as server:
        instance = register(server, "instance_1")

        def broken_claim(*args, **kwargs):
            raise RuntimeError("the claims table is gone")

        monkeypatch.setattr("syncing.runs.bookkeeping.project_claim", broken_claim)
        run = sync_instance(instance.pk, RunOptions())
        assert not SyncRun.objects.filter(status__in=SyncRun.ACTIVE).exists()
        child = run.children.get()
        assert child.status == SyncRun.Status.FAILED and "the claims table is gone" in child.error
        assert run.status == SyncRun.Status.FAILED


@pytest.mark.parametrize("field", ["updated", "created"])
def test_an_issue_whose_created_or_updated_cannot_be_read_is_a_failed_row_retried_later(field, reference_mappings):
    with running_sim(flavour="cloud", projects=1, issues=6, seed=74) as server:
        data = server.sim.data
        sample = server.sim.r.issue(data.live()[0], "3", None, set(), None)
        odd = poisoned(sample, 1, lambda f: f.update({field: 12345}))
        data.add_replayed(odd)
        instance = register(server, "instance_1")
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.PARTIAL and f"{field} 12345 is not a date-time" in run.error
        assert not Issue.objects.filter(key=odd["key"]).exists()
        assert not Issue.objects.filter(instance=instance, **{f"{field}__isnull": True}).exists()
        assert IssueRetry.objects.filter(key=odd["key"]).exists()


def test_an_unreadable_resolution_date_or_status_is_a_field_error_not_a_silent_empty(reference_mappings):
    with running_sim(flavour="cloud", projects=1, issues=6, seed=75) as server:
        data = server.sim.data
        sample = server.sim.r.issue(data.live()[0], "3", None, set(), None)
        odd = poisoned(sample, 2, lambda f: f.update(resolutiondate=["2024-01-01"], priority="High"))
        data.add_replayed(odd)
        instance = register(server, "instance_1")
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        stored = Issue.objects.get(key=odd["key"])
        assert stored.resolved is None and stored.priority == "" and stored.has_field_errors
        reasons = {error["source"]: error["reason"] for error in stored.field_errors}
        assert "not a date-time" in reasons["resolutiondate"] and "High" in reasons["priority"]
