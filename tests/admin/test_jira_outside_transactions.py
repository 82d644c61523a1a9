"""#17 item 4: no Jira request is made inside a database transaction.

Every admin press that asks Jira is made as an operator makes it — from the instance list and from the
instance's own page — (1) while another connection holds a write (SQLite's write lock; on PostgreSQL a
lock on the instance's row): all of the press's Jira requests are answered before the write is let go,
so none of them waited for the database; and (2) with a Jira that answers slowly while another
connection keeps writing: none of those writes waits long, so the press held no transaction open
across a request.
"""

import threading
import time

import pytest
from django.db import transaction
from django.urls import reverse

from jirasim.faults import FaultPlan
from jirasim.testing import request_counts, running_sim
from syncing.site.clients import client_for
from syncing.site.connection_test import instance_check
from syncing.site.transaction_guard import RequestInTransaction
from tests.support.database import LOCKED, OtherConnection
from tests.support.formdata import form_fields
from tests.support.sites import register

pytestmark = pytest.mark.django_db(transaction=True)

LIST, PAGE = "list", "page"
# The last Jira request of each press (Cloud): once it is answered, the press is done with Jira.
PRESSES = {
    "test_connection": "GET /rest/api/3/field",
    "discover_projects": "GET /rest/api/3/project/search",
    "discover_fields": "GET /rest/api/3/field",
}
SAVE = "save with a JQL filter"  # the change form's save: Jira's JQL parser is asked first
JQL_FILTER = "created >= 2020-01-01"
HELD_FOR_AT_MOST = 90.0  # seconds the other connection holds its write while waiting for Jira's answers
SLOW_JIRA_MS = 2500  # each Jira answer takes this long in the slow-Jira test
WRITE_WAIT = 2.0  # seconds another writer may wait for the database meanwhile (the presses' own writes take ms)


def answered(server, endpoint: str) -> int:
    return sum(request_counts(server).get(endpoint, {}).values())


def press(client, instance, action: str, where: str):
    """Press an action (or save the change form) as the browser would post it."""
    page = reverse("admin:projects_jirainstance_change", args=[instance.pk])
    if action == SAVE:
        form = form_fields(client.get(page).content.decode(), "jirainstance_form")
        form = {name: values for name, values in form.items() if not name.startswith("CHANGE_FORM-")}
        return client.post(page, {**form, "jql_filter": JQL_FILTER, "_save": "Save"}, follow=True)
    if where == LIST:
        url, data = reverse("admin:projects_jirainstance_changelist"), {"action": action}
    else:
        url, data = page, {"CHANGE_FORM-action": action}
    return client.post(url, {**data, "_selected_action": [instance.pk]}, follow=True)


def assert_press_answered(response, action: str, instance) -> None:
    assert response.status_code == 200
    page = response.content.decode()
    expected = {
        "test_connection": "authenticated; cloud",
        "discover_projects": "projects visible",
        "discover_fields": 'id="fields-table"',
        SAVE: "was changed successfully",
    }[action]
    assert expected in page, page[:3000]
    if action == SAVE:
        instance.refresh_from_db()
        assert instance.jql_filter == JQL_FILTER


CASES = [(action, where) for action in PRESSES for where in (LIST, PAGE)] + [(SAVE, PAGE)]


@pytest.mark.parametrize(("action", "where"), CASES, ids=[f"{a}-{w}" for a, w in CASES])
def test_a_press_gets_its_jira_answers_while_another_connection_holds_a_write(
    admin_client, reference_mappings, action, where
):
    with running_sim(flavour="cloud", projects=2, issues=3) as server:
        instance = register(server, "instance_1")
        endpoint = PRESSES.get(action, "POST /rest/api/3/jql/parse")
        before = answered(server, endpoint)
        other = OtherConnection(wait_seconds=30)
        other.hold(instance.pk)
        outcome: dict[str, bool] = {}

        def let_go_once_jira_answered() -> None:
            deadline = time.monotonic() + HELD_FOR_AT_MOST
            while time.monotonic() < deadline and answered(server, endpoint) == before:
                time.sleep(0.05)
            outcome["answered while held"] = answered(server, endpoint) > before
            other.release()

        holder = threading.Thread(target=let_go_once_jira_answered)
        holder.start()
        try:
            response = press(admin_client, instance, action, where)
        finally:
            holder.join()
            other.close()
        assert outcome["answered while held"], f"{action} ({where}) asked Jira only once the database was free"
        assert_press_answered(response, action, instance)


@pytest.mark.parametrize(("action", "where"), CASES, ids=[f"{a}-{w}" for a, w in CASES])
def test_a_press_with_a_slow_jira_leaves_the_database_free_for_other_writers(
    admin_client, reference_mappings, action, where
):
    with running_sim(flavour="cloud", projects=2, issues=3, faults=FaultPlan(latency_ms=SLOW_JIRA_MS)) as server:
        instance = register(server, "instance_1")
        other = OtherConnection(wait_seconds=WRITE_WAIT)
        done = threading.Event()
        waits: list[float] = []
        refused: list[BaseException] = []

        def keep_writing() -> None:
            while not done.is_set():
                began = time.monotonic()
                try:
                    other.write(instance.pk)
                except LOCKED as exc:
                    refused.append(exc)
                waits.append(time.monotonic() - began)
                done.wait(0.1)

        writer = threading.Thread(target=keep_writing)
        began = time.monotonic()
        writer.start()
        try:
            response = press(admin_client, instance, action, where)
        finally:
            done.set()
            writer.join()
            other.close()
        took = time.monotonic() - began
        assert took >= SLOW_JIRA_MS / 1000  # Jira was slow while the press ran
        assert not refused, f"{action} ({where}) held the database while Jira answered: {refused[0]}"
        assert len(waits) >= 3 and max(waits) < WRITE_WAIT
        assert_press_answered(response, action, instance)


def test_a_jira_request_inside_a_transaction_is_refused_before_it_is_sent(reference_mappings):
    with running_sim(flavour="cloud", projects=1, issues=1) as server:
        instance = register(server, "instance_1")
        client = client_for(instance, interactive=True)
        with transaction.atomic(), pytest.raises(RequestInTransaction, match="inside a database transaction"):
            client.site_info()
        with transaction.atomic(), pytest.raises(RequestInTransaction):
            instance_check(instance, [])  # not a Jira error to report: the caller's bug surfaces
        assert answered(server, "GET /rest/api/2/serverInfo") == 0
        assert client.site_info().flavour == "cloud"  # outside a transaction: sent
        assert answered(server, "GET /rest/api/2/serverInfo") == 1
