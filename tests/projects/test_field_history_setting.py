"""JiraInstance.field_history is checked before a save, whatever the door (the admin form, instance_save):
what cannot be a list of field ids and names is refused saying why, and real Jira field names are not."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse

from audit.services import COMMAND
from config.report_view import kept_now_sql
from projects.models import JiraInstance
from syncing.engine.field_history import KeptFields
from syncing.instance_settings import instance_save
from tests.support.formdata import form_saved

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
    "assignee\x07": "control or invisible character (U+0007)",
    "   ": "only blanks: leave it empty",
    "\t": "only blanks: leave it empty",
    "assignee\n": "not semicolons or line breaks",  # at the end too: stripped, it was still typed as a separator
    "assignee\u2028priority": "not semicolons or line breaks",  # Unicode's line separator
    "priority, assignee\u2029": "not semicolons or line breaks",
    "assign\tee": "whitespace other than a plain space (U+0009)",
    "assignee\u00a0x": "whitespace other than a plain space (U+00A0)",
    "assignee\u200b": "control or invisible character (U+200B)",
    "aßignee": "reads as 'assignee' when compared without case",
    "x" * 256: "longer than a Jira field name",
}


def instance(**fields) -> JiraInstance:
    values = {"name": "Acme", "slug": "acme", "base_url": "https://acme.atlassian.net", "username": "ops", **fields}
    return JiraInstance(**values)


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("*", "*"),
        ("", ""),
        ("  *  ", "*"),
        ("assignee", "assignee"),
        (REAL_NAMES, REAL_NAMES),
        ("\tassignee,priority,status", "assignee, priority, status"),  # blanks around a name: any, stripped
        (" Assignee ,\u00a0Fix Version/s\t", "Assignee, Fix Version/s"),
        ("Größe, 👩\u200d💻 Dev", "Größe, 👩\u200d💻 Dev"),  # a joiner is part of an emoji, not noise
    ],
)
def test_every_field_none_and_real_jira_field_names_are_accepted_and_stored_normalised(value, stored):
    saved = instance_save(instance=instance(field_history=value), actor=COMMAND, token="t")
    assert JiraInstance.objects.get(pk=saved.pk).field_history == stored


@pytest.mark.parametrize(("value", "why"), list(REFUSED.items()), ids=list(range(len(REFUSED))))
def test_what_cannot_be_a_list_of_field_names_is_refused_saying_why(value, why):
    with pytest.raises(ValidationError) as refused:
        instance_save(instance=instance(field_history=value), actor=COMMAND, token="t")
    messages = refused.value.message_dict["field_history"]
    assert any(why in message for message in messages), messages
    assert any("separated by commas" in message for message in messages)
    assert not JiraInstance.objects.exists()


def admin_form(client, url: str, **changes: str) -> dict[str, list[str]]:
    """The instance's change form as admin renders it, with these changes: what a browser posts on Save."""
    return form_saved(client.get(url).content.decode(), "jirainstance_form", **changes)


def test_the_admin_form_refuses_it_with_the_message_and_keeps_the_stored_setting(admin_client):
    stored = instance_save(instance=instance(field_history="assignee"), actor=COMMAND, token="t")
    url = reverse("admin:projects_jirainstance_change", args=[stored.pk])
    form = admin_form(admin_client, url, field_history="assignee; priority")
    response = admin_client.post(url, form)
    assert response.status_code == 200
    assert "separate field ids and names with commas, not semicolons" in response.content.decode()
    assert JiraInstance.objects.get(pk=stored.pk).field_history == "assignee"
    form["field_history"] = ["assignee, Fix Version/s"]
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert JiraInstance.objects.get(pk=stored.pk).field_history == "assignee, Fix Version/s"


@pytest.mark.parametrize(("typed", "shown"), [("   ", "only blanks: leave it empty"), ("\t", "only blanks")])
def test_the_admin_form_refuses_blanks_alone_as_every_door_does(admin_client, typed, shown):
    stored = instance_save(instance=instance(field_history="assignee"), actor=COMMAND, token="t")
    url = reverse("admin:projects_jirainstance_change", args=[stored.pk])
    response = admin_client.post(url, admin_form(admin_client, url, field_history=typed))
    assert response.status_code == 200 and shown in response.content.decode()
    assert JiraInstance.objects.get(pk=stored.pk).field_history == "assignee"


def test_the_admin_saves_all_as_a_field_name_and_hints_at_star(admin_client):
    stored = instance_save(instance=instance(field_history="assignee"), actor=COMMAND, token="t")
    url = reverse("admin:projects_jirainstance_change", args=[stored.pk])
    response = admin_client.post(url, admin_form(admin_client, url, field_history="All"), follow=True)
    assert JiraInstance.objects.get(pk=stored.pk).field_history == "All"
    assert "&#x27;All&#x27; keeps the history of a field named &#x27;All&#x27;; write * to keep every field" in (
        response.content.decode()
    )


# Settings at the edges of the syntax, valid or not: whatever door stored one (a save that skipped the validator
# included), Python's KeptFields and the report view's SQL must decide alike which fields are kept.
EDGE_VALUES = [
    "\tassignee,priority,status",
    "assignee\t",
    " ASSIGNEE ",
    "Assignee , priority",
    "assign ee",
    "assign\tee",
    "priority,\u00a0assignee",
    "assignee\u00a0x",
    "aßignee",
    "aſſignee",
    "ASSİGNEE",
    "assignee\u200b",
    "*",
    " * ",
    "priority, *",
    "",
    "   ",
    "\t",
    "assignee\u2028",
    "assignee\u2028priority",
    "assignees, xassignee, assignee_x",
    "%ssignee, _ssignee, a%",
    "Σ Time Spent, assignee",
    "ASSIGNEE,assignee",
    "assignee,,priority",
    "assignee;priority",
    "customfield_10020, Fix Version/s, Status",
    "all",
]
FIELD_IDS = ["assignee", "priority", "status", "customfield_10020", "fix version/s", "ssignee"]


def kept_by_sql(pk: int, field_id: str) -> bool:
    sql = kept_now_sql(field_id, connection.vendor)  # holds LIKE's %: run as the view runs it, without parameters
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT CASE WHEN {sql} THEN 1 ELSE 0 END FROM projects_jirainstance inst WHERE inst.id = {pk:d}"
        )
        return cursor.fetchone()[0] == 1


@pytest.mark.parametrize("value", EDGE_VALUES, ids=[repr(value) for value in EDGE_VALUES])
def test_python_and_the_report_views_sql_agree_on_which_fields_are_kept(value):
    stored = instance(field_history=value)
    stored.save()  # no validator on this door: the stored form is normal all the same
    stored.refresh_from_db()
    assert KeptFields.parse(stored.field_history) == KeptFields.parse(value)  # storing it changed no meaning
    for field_id in FIELD_IDS:
        expected = KeptFields.parse(value).keeps(field_id, field_id)
        assert kept_by_sql(stored.pk, field_id) == expected, (value, stored.field_history, field_id)


def test_the_tab_before_the_assignee_keeps_it_for_the_report_view_too():
    saved = instance_save(instance=instance(field_history="\tassignee,priority,status"), actor=COMMAND, token="t")
    assert KeptFields.parse(saved.field_history).keeps("assignee", "assignee") and kept_by_sql(saved.pk, "assignee")
