"""An instance's schedules in admin (#17 item 6): edited on the instance's page, checked, paused and resumed
from the list and the page (audited, change permission only), the next runs shown on the list and the page."""

import re

import pytest
from django.urls import reverse
from django_q.models import Schedule

from audit.models import AuditLog
from projects.models import JiraInstance
from syncing.models import SyncRun
from tests.support.formdata import form_fields, form_saved
from tests.support.sites import register

pytestmark = pytest.mark.django_db(transaction=True)


def submit(client, url: str, **changes: str):
    """The instance's form as rendered, with changes, saved."""
    return client.post(url, form_saved(client.get(url).content.decode(), "jirainstance_form", **changes))


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()).replace("\xa0", " "))


def schedules_of(instance: JiraInstance) -> dict[str, Schedule]:
    instance.refresh_from_db()
    return {purpose: Schedule.objects.get(pk=pk) for purpose, pk in instance.schedule_ids.items()}


def shown(schedule: Schedule) -> str:
    return schedule.next_run.strftime("%Y-%m-%d %H:%M UTC")


def test_the_schedule_is_edited_on_the_instance_page_and_the_next_runs_are_shown(admin_client, cloud_instance):
    change = reverse("admin:projects_jirainstance_change", args=[cloud_instance.pk])
    page = text_of(admin_client.get(change))
    before = schedules_of(cloud_instance)
    assert "incremental every 15 min " + shown(before["incremental"]) in page
    assert "full cron 30 3 * * 0 " + shown(before["full"]) in page
    assert "census every 360 min " + shown(before["census"]) in page

    saved = submit(
        admin_client,
        change,
        incremental_every_minutes="5",
        full_cron=" 0  2 * * 1-5",
        census_every_minutes="120",
    )
    assert saved.status_code == 302, text_of(saved)[:3000]
    after = schedules_of(cloud_instance)
    assert (after["incremental"].minutes, after["full"].cron, after["census"].minutes) == (5, "0 2 * * 1-5", 120)
    assert set(after) == set(before) and all(after[p].pk == before[p].pk for p in after)  # edited, not doubled
    entry = AuditLog.objects.filter(object_type="projects.jirainstance", action="update").latest("id")
    assert entry.actor == "admin" and entry.changes == {
        "incremental_every_minutes": [15, 5],
        "full_cron": ["30 3 * * 0", "0 2 * * 1-5"],
        "census_every_minutes": [360, 120],
    }
    page = text_of(admin_client.get(change))
    assert re.search(re.escape(f"incremental every 5 min {shown(after['incremental'])} in ") + "[45] minutes", page)
    assert "full cron 0 2 * * 1-5 " + shown(after["full"]) in page

    # A full-sync interval takes the place of the cron; 0 turns the incremental schedule off.
    assert submit(admin_client, change, full_every_minutes="1440", incremental_every_minutes="0").status_code == 302
    after = schedules_of(cloud_instance)
    assert set(after) == {"full", "census"} and after["full"].minutes == 1440 and after["full"].cron is None
    listed = text_of(admin_client.get(reverse("admin:projects_jirainstance_changelist")))
    assert re.search(r"full: in (23 hours|1 day) census: in (1 hour|2 hours)", listed), listed[:3000]


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("full_cron", "30 3 31 2 *", "Not a cron that comes round"),  # 31 February
        ("full_cron", "61 3 * * 0", "Not a cron that comes round"),
        ("full_cron", "30 3 * *", "A cron has five fields"),
        ("full_cron", "30 3 * * 0 15", "A cron has five fields"),  # croniter would read seconds
        ("incremental_every_minutes", "40000", "At most 32767 minutes"),
        ("census_every_minutes", "-5", "greater than or equal to 0"),
    ],
)
def test_a_schedule_that_cannot_run_is_refused_with_the_reason(admin_client, field, value, why, cloud_instance):
    before = {p: (s.minutes, s.cron, s.next_run) for p, s in schedules_of(cloud_instance).items()}
    response = submit(
        admin_client, reverse("admin:projects_jirainstance_change", args=[cloud_instance.pk]), **{field: value}
    )
    assert response.status_code == 200 and why in text_of(response)
    assert {p: (s.minutes, s.cron, s.next_run) for p, s in schedules_of(cloud_instance).items()} == before


def test_pause_and_resume_from_the_list_and_the_page_are_audited_and_show(admin_client, cloud_site, staff_with):
    instance = register(cloud_site, "instance_1")
    other = register(cloud_site, "instance_2")
    changelist = reverse("admin:projects_jirainstance_changelist")
    change = reverse("admin:projects_jirainstance_change", args=[instance.pk])
    next_runs = {p: s.next_run for p, s in schedules_of(instance).items()}

    answer = admin_client.post(
        changelist, {"action": "pause_schedules", "_selected_action": [instance.pk], "index": 0}, follow=True
    )
    assert "Schedules of 1 instance paused" in text_of(answer)
    assert {s.repeats for s in schedules_of(instance).values()} == {0}
    assert {s.repeats for s in schedules_of(other).values()} == {-1}
    listed = text_of(admin_client.get(changelist))
    assert "incremental: paused full: paused census: paused" in listed
    assert "Next scheduled run paused" in text_of(admin_client.get(reverse("admin:index")))
    assert "incremental every 15 min " + shown(schedules_of(instance)["incremental"]) + " paused" in text_of(
        admin_client.get(change)
    )
    # Sync now still works while paused: only the schedules stop.
    admin_client.post(changelist, {"action": "sync_incremental", "_selected_action": [instance.pk], "index": 0})
    assert SyncRun.objects.filter(instance=instance, trigger="admin").count() == 1

    # Resumed from the instance's own page: the times it had are kept.
    page = form_fields(admin_client.get(change).content.decode(), "jirainstance_form")
    page.update({"CHANGE_FORM-action": ["resume_schedules"], "_selected_action": [str(instance.pk)]})
    answer = admin_client.post(change, page, follow=True)
    assert "Schedules of 1 instance resumed" in text_of(answer)
    resumed = schedules_of(instance)
    assert {s.repeats for s in resumed.values()} == {-1}
    assert {p: s.next_run for p, s in resumed.items()} == next_runs
    entries = AuditLog.objects.filter(object_type="projects.jirainstance", object_id=str(instance.pk), action="update")
    assert list(entries.order_by("id").values_list("actor", "summary", "changes")) == [
        ("admin", "paused the schedules of Instance 1", {"schedules_paused": [False, True]}),
        ("admin", "resumed the schedules of Instance 1", {"schedules_paused": [True, False]}),
    ]

    # Pausing is a change of the instance's settings: whoever may only look or start syncs cannot.
    operator = staff_with("projects.view_jirainstance", "projects.sync_jirainstance")
    assert 'value="pause_schedules"' not in operator.get(changelist).content.decode()
    for action, paused in (("pause_schedules", False), ("resume_schedules", True)):
        JiraInstance.objects.filter(pk=instance.pk).update(schedules_paused=paused)
        operator.post(changelist, {"action": action, "_selected_action": [instance.pk], "index": 0})
        assert JiraInstance.objects.get(pk=instance.pk).schedules_paused is paused
    assert entries.count() == 2


def test_the_instance_list_shows_the_next_runs_in_a_fixed_number_of_queries(
    admin_client, cloud_site, django_assert_max_num_queries
):
    changelist = reverse("admin:projects_jirainstance_changelist")
    register(cloud_site, "instance_1")
    with django_assert_max_num_queries(100) as one:
        admin_client.get(changelist)
    for slug in ("instance_2", "instance_3", "instance_4"):
        register(cloud_site, slug)
    with django_assert_max_num_queries(len(one.captured_queries)):
        listed = text_of(admin_client.get(changelist))
    assert listed.count("incremental: in ") == 4 and listed.count("census: in ") == 4
