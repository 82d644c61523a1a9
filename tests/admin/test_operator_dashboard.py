"""Issue #17 items 8, 9 and 12: the dashboard says why things fail, a sync with nothing enabled is no success,
dry runs are marked and count nowhere, errors name their instance once, a skipped run links its holder."""

import io
import re
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils.html import strip_tags

from jirasim.faults import FaultPlan, FaultRule
from jirasim.testing import running_sim
from projects.models import Project
from syncing.models import RunLogLine, SyncRun
from syncing.runs.claims import project_claim
from syncing.runs.runner import RunOptions, sync_instance, sync_project
from tests.support.metrics import scrape
from tests.support.sites import register

pytestmark = pytest.mark.django_db(transaction=True)


def card_of(client, slug: str) -> str:
    """The instance's card on the dashboard, its own div's class included."""
    page = client.get(reverse("admin:index")).content.decode()
    start = page.rindex('<div class="js-card', 0, page.index(f'id="instance-{slug}"'))
    end = page.find('<div class="js-card', start + 1)
    return page[start : end if end > 0 else page.index('<div class="js-row"')]


def words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_a_failing_card_names_the_failing_projects_and_their_last_error(admin_client, reference_mappings):
    faults = FaultPlan([FaultRule("500", endpoint="POST /rest/api/2/search")])  # every search fails
    with running_sim(flavour="datacenter", projects=2, issues=10, seed=51, faults=faults) as server:
        instance = register(server, "instance_2", name="Acme DC")
        sync_instance(instance.pk, RunOptions())
    card = card_of(admin_client, "instance_2")
    failing = " ".join(strip_tags(re.search(r'class="js-failing">(.*?)</dd>', card, re.S).group(1)).split())
    for run in SyncRun.objects.filter(parent__isnull=False):
        assert f'href="{reverse("admin:syncing_syncrun_change", args=[run.pk])}"' in card
        assert f"{run.project.key}: POST /rest/api/2/search failed after 6 attempts: 500" in failing
    assert "js-card failing" in card and "Acme DC" not in failing  # the card names the instance already


def test_a_failing_instance_run_shows_its_error_and_the_command_names_the_instance_once(admin_client, db):
    unreachable = register(SimpleNamespace(url="http://127.0.0.1:9"), "instance_3", name="Acme Cloud")
    unreachable.projects.create(jira_id="1", key="GONE", enabled=True)
    with pytest.raises(CommandError) as raised:
        call_command("sync_jira", "instance_3", stdout=io.StringIO())
    error = str(raised.value)
    assert (
        error.startswith("Acme Cloud: project discovery failed: GET /rest/api/2/serverInfo")
        and error.count("Acme Cloud") == 1
    )
    card = words(card_of(admin_client, "instance_3"))
    run = SyncRun.objects.get()
    assert f"Last run #{run.pk} failed: project discovery failed: GET /rest/api/2/serverInfo" in card
    assert card.count("Acme Cloud") == 1  # the card's title


def test_an_instance_with_projects_but_none_enabled_says_so_and_its_sync_is_no_success(
    admin_client, reference_mappings
):
    with running_sim(flavour="cloud", projects=2, issues=5, seed=52) as server:
        instance = register(server, "instance_1", enable_new_projects=False)
        run = sync_instance(instance.pk, RunOptions())
        out, err = io.StringIO(), io.StringIO()
        with pytest.raises(CommandError) as raised:
            call_command("sync_jira", "instance_1", stdout=out, stderr=err)
    assert run.status == SyncRun.Status.SKIPPED
    assert run.error.startswith("nothing to sync: 2 projects discovered, none enabled")
    assert raised.value.returncode == 3
    assert str(raised.value).startswith("Instance 1: nothing to sync: 2 projects discovered, none enabled")
    card = card_of(admin_client, "instance_1")
    assert "js-card warning" in card and "js-card ok" not in card
    assert "2 projects discovered, none enabled: nothing is synced" in words(card)
    assert "Last success never" in words(card)


def test_empty_charts_say_no_runs_yet_and_counts_of_one_are_singular(admin_client, instance):
    card = words(card_of(admin_client, "instance_1"))
    assert "Issues/s: no runs yet" in card and "Run duration: no runs yet" in card
    assert "No project discovered yet" in card
    SyncRun.objects.create(instance=instance, kind="incremental", trigger="schedule", status="failed", failed_rows=1)
    card = words(card_of(admin_client, "instance_1"))
    assert "1 failed run ·" in card and "1 failed row ·" in card and "runs" not in card.split("Last 24 h")[1][:20]


def test_a_dry_run_is_marked_and_counts_in_no_last_success_chart_or_metric(admin_client, reference_mappings, settings):
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    with running_sim(flavour="cloud", projects=1, issues=8, seed=53) as server:
        register(server, "instance_1")
        out = io.StringIO()
        call_command("sync_jira", "instance_1", "--full", "--dry-run", stdout=out)
        assert "dry run: nothing is written" in out.getvalue() and "succeeded (dry)" in out.getvalue()
        assert set(SyncRun.objects.values_list("dry_run", flat=True)) == {True}
        listing = admin_client.get(reverse("admin:syncing_syncrun_changelist")).content.decode()
        assert listing.count("(dry run)") == SyncRun.objects.count() == 2
        card = words(card_of(admin_client, "instance_1"))
        assert "Last success never" in card and "Issues/s: no runs yet" in card
        samples = scrape(admin_client)
        assert not samples.get("jirasync_sync_runs_total")
        assert not samples.get("jirasync_last_success_timestamp_seconds")
        assert sum(samples["jirasync_jira_requests_total"].values()) == 0
        call_command("sync_jira", "instance_1", stdout=out)  # a real sync counts
    samples = scrape(admin_client)
    assert sum(samples["jirasync_sync_runs_total"].values()) == 1
    assert len(samples["jirasync_last_success_timestamp_seconds"]) == 1
    assert "Last success never" not in words(card_of(admin_client, "instance_1"))


def test_a_skipped_run_links_to_the_run_that_holds_its_project(admin_client, reference_mappings):
    with running_sim(flavour="cloud", projects=1, issues=3, seed=54) as server:
        instance = register(server, "instance_1")
        sync_instance(instance.pk, RunOptions())
        project = Project.objects.get(instance=instance)
        holder = SyncRun.objects.create(
            instance=instance, project=project, kind="full", trigger="schedule", status="running", owner="w:1:abcd"
        )
        assert project_claim(project.pk, "w:1:abcd")
        skipped = sync_project(project.pk, RunOptions())
    assert skipped.status == SyncRun.Status.SKIPPED
    link = f'<a href="{reverse("admin:syncing_syncrun_change", args=[holder.pk])}">run #{holder.pk}</a>'
    page = admin_client.get(reverse("admin:syncing_syncrun_change", args=[skipped.pk])).content.decode()
    assert link in page
    listing = admin_client.get(reverse("admin:syncing_syncrun_changelist")).content.decode()
    assert link in listing


def test_an_instance_named_like_a_token_keeps_its_http_methods_in_errors_and_run_logs(admin_client, reference_mappings):
    faults = FaultPlan([FaultRule("500", endpoint="GET /rest/api/3/project/search")])
    with running_sim(flavour="cloud", projects=1, issues=3, seed=55, faults=faults) as server:
        instance = register(server, "instance_1", name="Acme token")
        run = sync_instance(instance.pk, RunOptions())
    assert run.status == SyncRun.Status.FAILED and "GET /rest/api/3/project/search" in run.error
    logged = " ".join(RunLogLine.objects.filter(run=run).values_list("message", flat=True))
    assert "Acme token: GET /rest/api/3/project/search -> 500" in logged
    page = admin_client.get(reverse("admin:syncing_syncrun_change", args=[run.pk])).content.decode()
    assert "GET /rest/api/3/project/search" in page and "View site" not in page
