"""The commands as an operator runs them: add_jira_instance, check_jira, sync_jira."""

import io
import os
import re
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditLog
from issues.models import Issue
from jirasim.testing import TOKEN, USER, running_sim
from projects.models import JiraInstance
from tests.support.echo_server import echo_server

pytestmark = pytest.mark.django_db(transaction=True)


def add_instance(server, slug="instance_1", **env) -> str:
    out = io.StringIO()
    os.environ["TEST_JIRA_TOKEN"] = TOKEN
    call_command(
        "add_jira_instance",
        slug.title(),
        server.url,
        "--slug",
        slug,
        "--username",
        USER,
        "--token-env",
        "TEST_JIRA_TOKEN",
        "--enable-new-projects",
        stdout=out,
    )
    return out.getvalue()


def test_add_jira_instance_takes_the_token_from_the_environment_or_stdin_never_the_command_line(db):
    with running_sim(flavour="cloud", projects=1, issues=3) as server:
        assert "added Jira instance" in add_instance(server)
        instance = JiraInstance.objects.get(slug="instance_1")
        assert instance.get_token() == TOKEN and instance.enable_new_projects
        assert AuditLog.objects.filter(object_type="projects.jirainstance", action="create").exists()
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": _database_url()}
        piped = subprocess.run(
            [
                sys.executable,
                "manage.py",
                "add_jira_instance",
                "Piped",
                server.url,
                "--slug",
                "piped",
                "--auth",
                "bearer",
                "--token-stdin",
            ],
            input=f"{TOKEN}\n",  # the only source named: --token-env is not given
            text=True,
            capture_output=True,
            cwd=settings.BASE_DIR,
            env=env,
            timeout=60,
        )
        assert piped.returncode == 0, piped.stderr
        assert JiraInstance.objects.get(slug="piped").get_token() == TOKEN
    with pytest.raises(CommandError, match="environment variable NOT_SET_ANYWHERE is empty"):
        call_command(
            "add_jira_instance", "X", "https://x.example.com", "--username", "u", "--token-env", "NOT_SET_ANYWHERE"
        )


def _database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def test_check_jira_reports_flavour_time_zone_projects_and_missing_mapped_fields(reference_mappings):
    with running_sim(
        flavour="datacenter", projects=2, issues=3, account_tz="Europe/Berlin", profile="instance_3"
    ) as server:
        add_instance(server, "instance_2")
        out = io.StringIO()
        call_command("check_jira", "instance_2", stdout=out)
        text = out.getvalue()
        assert "datacenter 9.12.4, account time zone Europe/Berlin" in text
        assert "2 projects visible: OPS, SHOOT" in text
        # instance_3's profile lacks the 12594/12595 fields the instance_2 mappings name.
        assert "mapped fields missing on this instance: customfield_12594, customfield_12595" in text
        assert JiraInstance.objects.get(slug="instance_2").time_zone == "Europe/Berlin"


def test_check_jira_fails_clearly_with_a_wrong_token(db):
    with running_sim(flavour="cloud", projects=1, issues=3) as server:
        add_instance(server)
        instance = JiraInstance.objects.get()
        instance.set_token("wrong")
        instance.save()
        with pytest.raises(CommandError, match="401"):
            call_command("check_jira", "instance_1", stdout=io.StringIO())


def test_sync_jira_prints_a_summary_and_dry_run_writes_nothing(reference_mappings):
    with running_sim(flavour="cloud", projects=2, issues=12) as server:
        add_instance(server)
        out = io.StringIO()
        call_command("sync_jira", "instance_1", "--full", "--dry-run", stdout=out)
        assert Issue.objects.count() == 0
        call_command("sync_jira", "--all", "--project", "ops", stdout=out)
        assert set(Issue.objects.values_list("project__key", flat=True)) == {"OPS"}
        summary = out.getvalue()
        assert "instance_1/OPS" in summary and "succeeded" in summary
        with pytest.raises(CommandError, match="name one or more instances"):
            call_command("sync_jira", stdout=out)


def test_sync_jira_exits_non_zero_when_a_run_failed(reference_mappings):
    with running_sim(flavour="cloud", projects=1, issues=3) as server:
        add_instance(server)
    with pytest.raises(CommandError, match="project discovery failed"):
        call_command("sync_jira", "instance_1", stdout=io.StringIO(), stderr=io.StringIO())


def test_add_jira_instance_tests_the_connection_first_and_saves_nothing_that_fails_unless_no_check(monkeypatch):
    monkeypatch.setenv("TEST_JIRA_TOKEN", TOKEN)
    with echo_server(status=404) as not_jira:
        args = ["add_jira_instance", "Acme", not_jira.url, "--username", USER, "--token-env", "TEST_JIRA_TOKEN"]
        with pytest.raises(CommandError, match=r"connection test failed: .*not a Jira REST root.*--no-check"):
            call_command(*args, stdout=io.StringIO())
        assert not JiraInstance.objects.exists()
        asked = len(not_jira.received)
        call_command(*args, "--no-check", stdout=io.StringIO())
        assert len(not_jira.received) == asked
    assert JiraInstance.objects.get(slug="acme").get_token() == TOKEN
    created = AuditLog.objects.get(object_type="projects.jirainstance", action="create")
    assert created.summary == "created Jira instance Acme (saved without a connection test)"
    with running_sim(flavour="datacenter", projects=2, issues=3) as server:
        said = add_instance(server, "instance_2")
    assert "✓ authenticated; datacenter" in said and "2 projects visible" in said
    assert JiraInstance.objects.get(slug="instance_2").detected_flavour == "datacenter"
    created = AuditLog.objects.filter(object_type="projects.jirainstance", action="create").latest("id")
    assert "(connection tested: datacenter " in created.summary


def test_schedules_are_set_when_adding_and_shown_changed_paused_and_resumed_by_schedule_jira(db):
    from django_q.models import Schedule

    def schedules() -> dict[str, Schedule]:
        ids = JiraInstance.objects.get(slug="instance_1").schedule_ids
        return {purpose: Schedule.objects.get(pk=pk) for purpose, pk in ids.items()}

    def schedule_jira(*args: str) -> str:
        out = io.StringIO()
        call_command("schedule_jira", "instance_1", *args, stdout=out)
        return out.getvalue()

    os.environ["TEST_JIRA_TOKEN"] = TOKEN
    with running_sim(flavour="cloud", projects=1, issues=3) as server:
        call_command(
            "add_jira_instance",
            "Instance 1",
            server.url,
            "--slug=instance_1",
            f"--username={USER}",
            "--token-env=TEST_JIRA_TOKEN",
            "--incremental-every=30",
            "--full-cron=0 1 * * 6",
            "--census-every=0",
            "--pause",
            stdout=io.StringIO(),
        )
    added = schedules()
    assert set(added) == {"incremental", "full"}  # the census is off
    assert (added["incremental"].minutes, added["full"].cron) == (30, "0 1 * * 6")
    assert {s.repeats for s in added.values()} == {0}
    shown = schedule_jira()
    assert "Instance 1: schedules paused" in shown
    when = f"{added['incremental'].next_run:%Y-%m-%d %H:%M} UTC"
    assert re.search(rf"incremental +every 30 min +next {when} +\(paused\)", shown), shown

    shown = schedule_jira("--resume", "--census-every", "120", "--full-every", "1440")
    changed = schedules()
    assert {s.repeats for s in changed.values()} == {-1} and changed["census"].minutes == 120
    assert changed["full"].minutes == 1440 and changed["incremental"].next_run == added["incremental"].next_run
    assert "schedules running" in shown and re.search(r"census +every 120 min +next .* \(in 1 hour\)", shown), shown
    entry = AuditLog.objects.filter(object_type="projects.jirainstance", action="update").latest("id")
    assert (entry.actor, entry.changes) == (
        "command",
        {"full_every_minutes": [0, 1440], "census_every_minutes": [0, 120], "schedules_paused": [True, False]},
    )

    for bad, why in (("--full-cron=30 3 31 2 *", "Not a cron that comes round"), ("--census-every=99999", "32767")):
        with pytest.raises(CommandError, match=why):
            schedule_jira(bad)
    assert {p: (s.minutes, s.cron) for p, s in schedules().items()} == {
        p: (s.minutes, s.cron) for p, s in changed.items()
    }
    with pytest.raises(CommandError, match="no Jira instance 'nope'"):
        call_command("schedule_jira", "nope", stdout=io.StringIO())
