"""What the operator reads after pressing a button: the instance named once, each error said once, no link
to a missing page, and the press recorded with who made it."""

import re
from html.parser import HTMLParser

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from audit.models import AuditLog
from jirasim.testing import running_sim
from syncing.models import SyncRun
from syncing.runs.runner import RunOptions, sync_instance
from tests.support.sites import register

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued_tasks(monkeypatch) -> list:
    calls = []
    monkeypatch.setattr("syncing.tasks.async_task", lambda *args, **kwargs: calls.append(args))
    return calls


def post_action(client, model: str, action: str, ids: list[int]):
    return client.post(reverse(f"admin:{model}_changelist"), {"action": action, "_selected_action": ids}, follow=True)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def refused_instance(server):
    """An instance whose token Jira refuses."""
    instance = register(server, "instance_1", name="Acme Cloud")
    instance.set_token("a-revoked-token")
    instance.save()
    return instance


def test_a_failed_test_connection_names_the_instance_once_and_is_audited_with_the_user(admin_client, admin_user):
    with running_sim(flavour="cloud", projects=1, issues=1) as server:
        instance = refused_instance(server)
        response = post_action(admin_client, "projects_jirainstance", "test_connection", [instance.pk])
        (message,) = messages_of(response)
        assert message.count("Acme Cloud") == 1, message
        assert "401" in message or "refused" in message.lower() or "authentic" in message.lower()
        response = post_action(admin_client, "projects_jirainstance", "discover_projects", [instance.pk])
        (message,) = messages_of(response)
        assert message.count("Acme Cloud") == 1, message
        page = admin_client.get(reverse("admin:projects_jirainstance_fields", args=[instance.pk])).content.decode()
        problem = re.search(r'id="fields-problem">([^<]*)<', page).group(1)
        assert "Acme Cloud" not in problem  # the page is about the instance already
    entry = AuditLog.objects.get(action="test_connection")
    assert (entry.actor, entry.actor_user, entry.instance_slug) == ("admin", admin_user, "instance_1")
    assert "failed" in entry.summary and entry.summary.count("Acme Cloud") == 1


def test_check_jira_says_its_error_once(capsys):
    with running_sim(flavour="cloud", projects=1, issues=1) as server:
        refused_instance(server)
        with pytest.raises(CommandError) as raised:
            call_command("check_jira", "instance_1")
    printed = capsys.readouterr()
    error = str(raised.value)
    assert error.startswith("Acme Cloud: ") and error.count("Acme Cloud") == 1
    problem = error.removeprefix("Acme Cloud: ")
    assert problem not in printed.out + printed.err  # said by the error alone


def test_sync_now_and_census_are_audited_with_the_user_who_pressed(admin_client, admin_user, queued_tasks):
    with running_sim(flavour="cloud", projects=1, issues=1) as server:
        instance = register(server, "instance_1")
    for action, kind in (("sync_incremental", "incremental"), ("sync_full", "full"), ("census", "census")):
        post_action(admin_client, "projects_jirainstance", action, [instance.pk])
        run = SyncRun.objects.filter(kind=kind).get()
        entry = AuditLog.objects.get(action="sync_request", sync_run=run)
        assert (entry.actor, entry.actor_user, entry.instance_slug) == ("admin", admin_user, "instance_1")
        assert kind in entry.summary
    project = instance.projects.create(jira_id="1", key="OPS", enabled=True)
    post_action(admin_client, "projects_project", "sync_incremental", [project.pk])
    entry = AuditLog.objects.filter(action="sync_request").order_by("-id").first()
    assert entry.sync_run.project == project and entry.actor_user == admin_user


@pytest.mark.django_db(transaction=True)
def test_the_audit_list_filters_configuration_apart_from_syncs(admin_client, reference_mappings, cloud_instance):

    sync_instance(cloud_instance.pk, RunOptions(full=True))
    url = reverse("admin:audit_auditlog_changelist")

    def actions(kind: str) -> set[str]:
        page = admin_client.get(url, {"kind": kind})
        return {entry.action for entry in page.context["cl"].queryset}

    assert actions("sync") == {"sync_start", "sync_end"}
    configuration = actions("configuration")
    assert configuration == {"create"} and "sync_start" not in actions("not_sync")
    assert AuditLog.objects.filter(action="sync_start").exists()
    page = admin_client.get(url).content.decode()
    assert "configuration changes" in page and "sync start and end" in page


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href")
        if tag == "a" and href and href.startswith("/") and "logout" not in href:
            self.hrefs.append(href)


def test_no_link_of_the_admin_header_or_index_leads_to_a_missing_page(admin_client):
    page = admin_client.get(reverse("admin:index"))
    assert "View site" not in page.content.decode()
    links = _Links()
    links.feed(page.content.decode())
    assert len(links.hrefs) > 10
    for href in set(links.hrefs):
        assert admin_client.get(href, follow=True).status_code == 200, href
    assert admin_client.get("/", follow=True).redirect_chain[-1][0] == reverse("admin:index")
