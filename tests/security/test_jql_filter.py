"""Item 11 of #12: an instance's JQL filter cannot escape the project it is ANDed to."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from issues.models import Issue
from jirasim.testing import TOKEN, USER, request_counts
from projects.jql_filter import jql_filter_problems
from projects.models import JiraInstance, Project
from syncing.models import SyncRun
from syncing.runs.runner import RunOptions, sync_instance
from tests.support.formdata import instance_form
from tests.support.sites import register

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    "jql",
    [
        "created > -30d) OR (project = OTHER",
        "(created > -30d",
        'summary ~ "unclosed',
        "created > -30d ORDER BY key",
        "((a = 1)))",
        # Jira reads \" inside an unquoted word as part of the word: the ) OR ( after it is code to Jira
        'labels = a\\" ) OR ( project = OTHER OR summary ~ "b\\" x"',
        "labels = a\\' ) OR ( project = OTHER OR summary ~ 'b\\' x'",
        "labels = a\\u0029 OR project = OTHER",
    ],
)
def test_unbalanced_or_ordering_filters_are_refused(jql):
    assert jql_filter_problems(jql)


@pytest.mark.parametrize(
    "jql", ["issuetype != Epic", "(a = 1 OR b = 2) AND c = 3", 'summary ~ "a ) b"', "summary ~ 'it\\'s (ok'"]
)
def test_balanced_filters_pass_whatever_their_strings_hold(jql):
    assert jql_filter_problems(jql) == []


def test_the_admin_refuses_an_escaping_filter_locally_and_asks_jira_s_parser_on_cloud(admin_client, cloud_site):
    instance = register(cloud_site, "instance_1")
    change = reverse("admin:projects_jirainstance_change", args=[instance.pk])
    escaping = admin_client.post(change, instance_form(instance, jql_filter="updated > 0) OR (project = PB"))
    assert "closes a parenthesis the filter did not open" in escaping.content.decode()
    unknown = admin_client.post(change, instance_form(instance, jql_filter="issuetype != Epic"))
    assert "Jira&#x27;s JQL parser refuses it" in unknown.content.decode()
    assert request_counts(cloud_site)["POST /rest/api/3/jql/parse"] == {"200": 1}  # only the balanced one asked
    good = admin_client.post(change, instance_form(instance, jql_filter="updated >= -3650d"))
    assert good.status_code == 302
    assert JiraInstance.objects.get(pk=instance.pk).jql_filter == "updated >= -3650d"


def test_data_center_has_no_parser_and_is_checked_locally(admin_client, dc_site):
    instance = register(dc_site, "instance_2", flavour="datacenter")
    change = reverse("admin:projects_jirainstance_change", args=[instance.pk])
    assert admin_client.post(change, instance_form(instance, jql_filter="updated >= -3650d")).status_code == 302
    refused = admin_client.post(change, instance_form(instance, jql_filter="updated > 0) OR (project = PB"))
    assert refused.status_code == 200
    assert "POST /rest/api/3/jql/parse" not in request_counts(dc_site)


def test_the_command_checks_the_filter_before_saving(cloud_site, monkeypatch):
    monkeypatch.setenv("JIRA_TOKEN", TOKEN)
    base = ["add_jira_instance", "Cloud", cloud_site.url, "--username", USER, "--token-env", "JIRA_TOKEN"]
    with pytest.raises(CommandError, match="closes a parenthesis"):
        call_command(*base, "--jql-filter", "updated > 0) OR (project = PB", stdout=io.StringIO())
    with pytest.raises(CommandError, match="Jira's JQL parser refuses it"):
        call_command(*base, "--jql-filter", "issuetype != Epic", stdout=io.StringIO())
    assert not JiraInstance.objects.exists()
    call_command(*base, "--jql-filter", "updated >= -3650d", stdout=io.StringIO())
    assert JiraInstance.objects.get().jql_filter == "updated >= -3650d"


def test_a_sync_refuses_an_escaping_filter_that_reached_the_database(cloud_site, reference_mappings):
    instance = register(cloud_site, "instance_1", enable_new_projects=False)
    sync_instance(instance.pk, RunOptions())  # discovers PA and PB, both disabled
    Project.objects.filter(instance=instance, key=Project.objects.order_by("key").first().key).update(enabled=True)
    other = Project.objects.filter(instance=instance, enabled=False).get()
    # Saved around every check (an old row, the shell): `project = PA AND (x) OR (project = PB)`.
    JiraInstance.objects.filter(pk=instance.pk).update(jql_filter=f"updated > 0) OR (project = {other.key}")
    run = sync_instance(instance.pk, RunOptions(full=True))
    assert run.status == SyncRun.Status.FAILED and "JQL filter is refused" in run.error
    assert Issue.objects.count() == 0  # the other project was not pulled in
