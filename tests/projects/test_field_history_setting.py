"""JiraInstance.field_history is checked before a save, whatever the door (the admin form, instance_save):
what cannot be a list of field ids and names is refused saying why, and real Jira field names are not."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from audit.services import COMMAND
from projects.models import JiraInstance
from projects.services import instance_save

pytestmark = pytest.mark.django_db

# Names as Jira sends them (the recorded field list and changelogs of shared/jira-reference).
REAL_NAMES = (
    "assignee, priority, customfield_10020, Fix Version/s, Sprint, Example 'URL Field' Field, "
    "[CHART] Time in Status, Σ Time Spent, MJK - Select List 3, Start date, Example Select List (cascading) Field"
)
REFUSED = {
    "assignee; priority": "not semicolons",
    "assignee,, priority": "empty",
    "assignee, priority,": "empty",
    "assignee, *": "stands alone",
    "customfield_*": "no wildcards",
    '"assignee", priority': "without quotes",
    "assignee\npriority": "not semicolons or line breaks",
    "assignee\x07": "control character",
    "x" * 256: "longer than a Jira field name",
}


def instance(**fields) -> JiraInstance:
    values = {"name": "Acme", "slug": "acme", "base_url": "https://acme.atlassian.net", "username": "ops", **fields}
    return JiraInstance(**values)


@pytest.mark.parametrize("value", ["*", "", "  *  ", "assignee", REAL_NAMES])
def test_every_field_none_and_real_jira_field_names_are_accepted(value):
    saved = instance_save(instance=instance(field_history=value), actor=COMMAND, token="t")
    assert JiraInstance.objects.get(pk=saved.pk).field_history == value


@pytest.mark.parametrize(("value", "why"), list(REFUSED.items()), ids=list(range(len(REFUSED))))
def test_what_cannot_be_a_list_of_field_names_is_refused_saying_why(value, why):
    with pytest.raises(ValidationError) as refused:
        instance_save(instance=instance(field_history=value), actor=COMMAND, token="t")
    messages = refused.value.message_dict["field_history"]
    assert any(why in message for message in messages), messages
    assert any("separated by commas" in message for message in messages)
    assert not JiraInstance.objects.exists()


def test_the_admin_form_refuses_it_with_the_message_and_keeps_the_stored_setting(admin_client):
    stored = instance_save(instance=instance(field_history="assignee"), actor=COMMAND, token="t")
    form = {
        "name": "Acme",
        "slug": "acme",
        "base_url": "https://acme.atlassian.net",
        "flavour": "auto",
        "auth_kind": "basic",
        "username": "ops",
        "token": "",
        "enabled": "on",
        "request_budget": "10",
        "max_parallel_projects": "2",
        "jql_filter": "",
        "field_history": "assignee; priority",
        "incremental_every_minutes": "15",
        "full_every_minutes": "0",
        "full_cron": "30 3 * * 0",
        "census_every_minutes": "360",
        "projects-TOTAL_FORMS": "0",
        "projects-INITIAL_FORMS": "0",
    }
    response = admin_client.post(reverse("admin:projects_jirainstance_change", args=[stored.pk]), form)
    assert response.status_code == 200
    assert "separate field ids and names with commas, not semicolons" in response.content.decode()
    assert JiraInstance.objects.get(pk=stored.pk).field_history == "assignee"
    form["field_history"] = "assignee, Fix Version/s"
    response = admin_client.post(reverse("admin:projects_jirainstance_change", args=[stored.pk]), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert JiraInstance.objects.get(pk=stored.pk).field_history == "assignee, Fix Version/s"
