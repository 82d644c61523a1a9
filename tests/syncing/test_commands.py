"""The commands as an operator runs them: add_jira_instance, check_jira, sync_jira."""

import io
import os
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
