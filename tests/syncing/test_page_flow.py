"""A page flows one way (issue #16): what is fixed for a run is read once, with its plan, never page by page;
history completion is a stage of its own in the run's stage seconds — against jirasim over HTTP, both flavours.
(The statements of each page are pinned in test_page_statements.)"""

import pytest

from config.models import StatusMilestone
from issues.models import IssueMilestone
from jirasim.testing import running_sim
from projects.models import Project
from syncing.engine.pipeline import page_sync
from syncing.engine.plan import project_pages
from syncing.models import SyncRun
from syncing.runs.runner import RunOptions, project_plan, sync_project
from syncing.site.clients import client_for, instance_discover_projects, site_record
from tests.support.sites import register
from tests.support.statements import labels, statements

committed = pytest.mark.django_db(transaction=True)


def milestone_reads(sent: list[tuple[str, object]]) -> int:
    return labels(sent).count("SELECT config_statusmilestone")


@committed
@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_a_run_reads_the_milestones_with_its_plan_and_never_again_page_by_page(flavour, reference_mappings, settings):
    settings.JIRASYNC_PAGE_SIZE = 5
    with running_sim(flavour=flavour, projects=1, issues=30, seed=16, long_history_share=0.1) as server:
        instance = register(server, "instance_1")
        client = client_for(instance)
        site_record(instance, client)  # as a run learns the site before its plan
        instance_discover_projects(instance, client)
        project = Project.objects.get(instance=instance)
        with statements() as planned:
            plan = project_plan(project, RunOptions())
        assert plan.milestone_ids and milestone_reads(planned) >= 1
        assert plan.worklog_feed is (flavour == "cloud")  # the flavour fixed for the run, not asked page by page

        with statements() as sent:
            run = sync_project(project.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.SUCCEEDED and run.pages >= 6
        # The run's own plan and its census's: the same reads as one plan each, whatever the number of pages.
        census = run.children.get(kind=SyncRun.Kind.CENSUS)
        assert census.status == SyncRun.Status.SUCCEEDED
        assert milestone_reads(sent) == 2 * milestone_reads(planned), labels(sent)


@committed
def test_history_completion_is_booked_as_its_own_stage(reference_mappings):
    with running_sim(flavour="cloud", projects=1, issues=40, seed=17, long_history_share=0.3) as server:
        instance = register(server, "instance_1")
        instance_discover_projects(instance, client_for(instance))
        project = Project.objects.get(instance=instance)
        stages: dict[str, float] = {}
        run = sync_project(project.pk, RunOptions(full=True, stage_seconds=stages))
        assert run.status == SyncRun.Status.SUCCEEDED
        assert {"fetch", "parse", "process", "histories", "store", "derive"} <= set(stages), stages
        assert stages["histories"] > 0  # long histories were completed, and the time it took is booked there
        assert not project.issues.filter(changelog_complete=False).exists()


@committed
@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_a_milestone_deleted_while_a_run_works_costs_the_run_nothing(flavour, reference_mappings, caplog):
    # The plan reads the milestone rows once; those deleted meanwhile (a mapping reload, admin) are not pointed at.
    with running_sim(flavour=flavour, projects=1, issues=30, seed=16) as server:
        instance = register(server, "instance_1")
        client = client_for(instance)
        site_record(instance, client)
        instance_discover_projects(instance, client)
        project = Project.objects.get(instance=instance)
        plan = project_plan(project, RunOptions(full=True))
        kept = StatusMilestone.objects.order_by("pk").last()
        StatusMilestone.objects.exclude(pk=kept.pk).delete()

        results = [page_sync(client, plan, page, run_id=None) for page in project_pages(client, plan)]

        assert sum(r.inserted for r in results) == 30 and not any(r.failed for r in results)
        assert "the milestones changed while the run worked" in caplog.text  # the page was stored again
        assert plan.milestone_ids == {kept.name: kept.pk}
        assert set(IssueMilestone.objects.values_list("milestone_id", flat=True)) <= {kept.pk}
