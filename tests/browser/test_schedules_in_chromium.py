"""An instance's schedules in Chromium (#17 item 6): the operator edits the intervals and the cron on the
instance's page, pauses from the page, resumes from the list, and sees the next runs each time; adding an
instance that cannot connect shows why and saves only when the operator insists (#17 item 5)."""

import re

import pytest
from django.urls import reverse
from django_q.models import Schedule

from jirasim.testing import TOKEN, USER
from projects.models import JiraInstance
from tests.support.browser import pick_action, run_action
from tests.support.sites import register

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "schedules-browser-password"


def log_in(page, base: str) -> None:
    page.goto(f"{base}/admin/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click('input[type="submit"]')
    page.wait_for_selector("#jirasync-dashboard")


def schedules_table(page) -> dict[str, list[str]]:
    """The instance page's schedule table: purpose → [how often, next run, when]."""
    rows = page.locator("table.js-schedules tr").all_inner_texts()[1:]
    return {cells[0]: cells[1:] for cells in (re.split(r"\t", row.strip()) for row in rows)}


def next_run(instance: JiraInstance, purpose: str) -> str:
    instance.refresh_from_db()
    return Schedule.objects.get(pk=instance.schedule_ids[purpose]).next_run.strftime("%Y-%m-%d %H:%M UTC")


def test_an_operator_edits_pauses_and_resumes_the_schedules_and_sees_the_next_runs(
    live_server, page, screenshots, django_user_model, cloud_site
):
    django_user_model.objects.create_superuser("operator", "op@example.com", PASSWORD)
    instance = register(cloud_site, "instance_1")
    base = live_server.url
    log_in(page, base)
    page.goto(f"{base}{reverse('admin:projects_jirainstance_change', args=[instance.pk])}")
    shown = schedules_table(page)
    assert shown["incremental"][:2] == ["every 15 min", next_run(instance, "incremental")]
    assert shown["full"][0] == "cron 30 3 * * 0"

    page.fill("#id_incremental_every_minutes", "10")
    page.fill("#id_full_cron", "0 4 * * 1")
    page.fill("#id_census_every_minutes", "0")
    with page.expect_navigation():
        page.click('input[name="_continue"]')
    page.wait_for_selector(".messagelist .success")
    shown = schedules_table(page)
    assert set(shown) == {"incremental", "full"}  # the census is off
    assert shown["incremental"][:2] == ["every 10 min", next_run(instance, "incremental")]
    assert re.fullmatch(r"in (9|10) minutes", shown["incremental"][2]), shown
    assert shown["full"][:2] == ["cron 0 4 * * 1", next_run(instance, "full")]
    page.screenshot(path=screenshots / "instance-schedules.png", full_page=True)

    run_action(page, "Pause schedules")
    assert "Schedules of 1 instance paused" in page.inner_text(".messagelist")
    assert {cells[2] for cells in schedules_table(page).values()} == {"paused"}

    page.goto(f"{base}{reverse('admin:projects_jirainstance_changelist')}")
    assert "incremental: paused" in page.inner_text("#result_list td.field-next_runs")
    pick_action(page, "Resume schedules")
    listed = page.inner_text("#result_list td.field-next_runs")
    assert re.search(r"incremental: in (9|10) minutes\s+full: in \d+ (hours?|days?)", listed), listed
    page.screenshot(path=screenshots / "instance-list-next-runs.png", full_page=True)


def test_adding_an_instance_that_cannot_connect_says_why_and_saves_when_the_operator_insists(
    live_server, page, django_user_model, cloud_site
):
    django_user_model.objects.create_superuser("operator", "op@example.com", PASSWORD)
    base = live_server.url
    log_in(page, base)
    page.goto(f"{base}{reverse('admin:projects_jirainstance_add')}")
    page.fill("#id_slug", "acme")
    page.fill("#id_name", "Acme")
    page.fill("#id_base_url", cloud_site.url)
    page.fill("#id_username", USER)
    page.fill("#id_token", "a-wrong-token-123")
    with page.expect_navigation():
        page.click('input[name="_save"]')
    problem = page.inner_text("ul.errorlist.nonfield")
    assert "The connection test failed" in problem and "401" in problem, problem
    assert "a-wrong-token-123" not in page.content() and not JiraInstance.objects.exists()
    page.fill("#id_token", TOKEN)  # a password box is emptied on a refused form: typed again
    with page.expect_navigation():
        page.click('input[name="_save"]')
    assert "authenticated; cloud" in page.inner_text(".messagelist")
    assert JiraInstance.objects.get(slug="acme").detected_flavour == "cloud"
    page.goto(f"{base}{reverse('admin:projects_jirainstance_add')}")
    page.fill("#id_slug", "down")
    page.fill("#id_name", "Down for now")
    page.fill("#id_base_url", "http://127.0.0.1:9")
    page.fill("#id_username", USER)
    page.fill("#id_token", TOKEN)
    page.check("#id_save_anyway")
    with page.expect_navigation():
        page.click('input[name="_save"]')
    assert JiraInstance.objects.filter(slug="down").exists()
