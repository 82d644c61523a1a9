"""The sync engine against jirasim over HTTP: full and incremental syncs that never lose or double an issue."""

import pytest
import requests

from audit.models import AuditLog
from issues.models import Issue
from jirasim.testing import running_sim
from projects.models import Project
from syncing.models import SyncRun
from syncing.runs.runner import RunOptions, sync_instance, sync_project
from tests.support.sites import register, search_requests
from tests.support.truth import assert_database_equals_truth

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("site", ["cloud_site", "dc_site"])
def test_a_full_sync_stores_every_issue_once_with_fields_history_and_milestones(site, request, reference_mappings):
    server = request.getfixturevalue(site)
    instance = register(server, "instance_1" if site == "cloud_site" else "instance_2")
    run = sync_instance(instance.pk, RunOptions(full=True))
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.fetched == run.inserted == 120
    assert assert_database_equals_truth(server, instance) == 120
    assert Project.objects.filter(instance=instance, sync_watermark__isnull=False).count() == 2


@pytest.mark.parametrize("site", ["cloud_site", "dc_site"])
def test_an_incremental_sync_after_changes_catches_up_and_a_quiet_one_writes_nothing(site, request, reference_mappings):
    server = request.getfixturevalue(site)
    instance = register(server, "instance_1" if site == "cloud_site" else "instance_2")
    sync_instance(instance.pk, RunOptions(full=True))
    done = server.sim.data.advance(minutes=45, update=0.2, create=7)
    run = sync_instance(instance.pk, RunOptions())
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.inserted == 7 and run.updated >= len(done["updated"])
    assert_database_equals_truth(server, instance)
    server.sim.stats.reset()
    synced_at = dict(Issue.objects.values_list("id", "synced_at"))
    audit_entries = AuditLog.objects.count()
    quiet = sync_instance(instance.pk, RunOptions())
    assert quiet.status == SyncRun.Status.SUCCEEDED
    assert quiet.inserted == quiet.updated == 0
    assert search_requests(server) == 2  # one per project
    assert dict(Issue.objects.values_list("id", "synced_at")) == synced_at
    assert AuditLog.objects.count() == audit_entries + 2  # only the run's start and end


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "America/Los_Angeles"])
def test_an_issue_updated_one_minute_after_the_watermark_is_never_missed(zone, reference_mappings):
    with running_sim(flavour="cloud", projects=1, issues=20, seed=9, account_tz=zone, site_tz=zone) as server:
        instance = register(server, "instance_1")
        sync_instance(instance.pk, RunOptions(full=True))
        project = Project.objects.get(instance=instance)
        assert instance.__class__.objects.get(pk=instance.pk).time_zone == zone
        done = server.sim.data.advance(minutes=1, update=0.05)
        assert done["updated"]
        sync_instance(instance.pk, RunOptions())
        assert_database_equals_truth(server, instance)
        project.refresh_from_db()
        newest = max(row["updated"] for row in server.sim.data.truth())
        assert int(project.sync_watermark.timestamp() * 1000) == newest


def test_an_issue_whose_field_cannot_convert_is_stored_with_its_error(cloud_site, reference_mappings):
    instance = register(cloud_site, "instance_1")
    record = cloud_site.sim.data.by_id[min(cloud_site.sim.data.by_id)]
    record.edits = {"customfield_10040": "lots"}  # Rooms must be an integer
    record.updated_ms += 1
    run = sync_instance(instance.pk, RunOptions(full=True))
    assert run.status == SyncRun.Status.SUCCEEDED
    issue = Issue.objects.get(jira_id=record.id)
    assert issue.has_field_errors and issue.fields["rooms"] is None
    assert issue.field_errors == [
        {"field": "rooms", "source": "customfield_10040", "reason": "expected an integer, got text 'lots'"}
    ]
    assert issue.fields["order_number"]  # the rest of the issue is stored
    assert Issue.objects.filter(has_field_errors=False).count() == 119


def test_a_required_field_missing_is_an_error_on_that_issue_only(cloud_site, reference_mappings):
    from config.models import FieldMapping

    FieldMapping.objects.filter(name="rush").update(required=True, default=None)
    instance = register(cloud_site, "instance_1")
    sync_instance(instance.pk, RunOptions(full=True))
    missing = Issue.objects.filter(fields__rush=None)
    assert missing.exists()
    assert all(
        i.field_errors == [{"field": "rush", "source": "customfield_10041", "reason": "required field has no value"}]
        for i in missing
    )
    assert Issue.objects.count() == 120


def test_two_workers_asked_to_sync_the_same_project_at_once_exactly_one_does(cloud_site, reference_mappings):
    from syncing.runs.claims import new_owner, project_claim, project_claim_release

    instance = register(cloud_site, "instance_1")
    sync_instance(instance.pk, RunOptions(full=True, project_keys=("NONE",)))  # discover projects only
    project = Project.objects.filter(instance=instance).first()
    other = new_owner()
    assert project_claim(project.pk, other)
    skipped = sync_project(project.pk, RunOptions(full=True))
    assert skipped.status == SyncRun.Status.SKIPPED and other in skipped.error
    assert Issue.objects.count() == 0
    project_claim_release(project.pk, other)
    assert sync_project(project.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED


def test_a_sync_records_requests_and_a_wrong_token_fails_cleanly_naming_the_instance(cloud_site, reference_mappings):
    instance = register(cloud_site, "instance_1")
    instance.set_token("not-the-token")
    instance.save()
    run = sync_instance(instance.pk, RunOptions())
    assert run.status == SyncRun.Status.FAILED
    assert "Instance 1: GET /rest/api/2/serverInfo → 401" in run.error
    assert "not-the-token" not in run.error
    assert requests.get(f"{cloud_site.url}/_sim/stats", timeout=60).status_code == 200


def test_status_changes_are_counted_once_each(cloud_site, reference_mappings):
    from issues.models import StatusChange

    instance = register(cloud_site, "instance_1")
    first = sync_instance(instance.pk, RunOptions(full=True))
    assert first.status_changes == StatusChange.objects.exclude(history_id=0).count() > 0
    cloud_site.sim.data.advance(minutes=5, update=0.1)
    again = sync_instance(instance.pk, RunOptions(full=True))
    assert again.status_changes == StatusChange.objects.exclude(history_id=0).count() - first.status_changes


def test_one_project_failing_leaves_the_others_synced_and_the_instance_run_partial(
    cloud_site, reference_mappings, monkeypatch
):
    instance = register(cloud_site, "instance_1")
    sync_instance(instance.pk, RunOptions(full=True, project_keys=("NONE",)))  # discover both projects
    cloud_site.sim.data.projects[1].hidden = True  # the account loses SHOOT after discovery...
    monkeypatch.setattr("syncing.site.clients.instance_discover_projects", lambda instance, client: [])  # ...unnoticed
    run = sync_instance(instance.pk, RunOptions(full=True))
    assert run.status == SyncRun.Status.PARTIAL
    assert "SHOOT (full):" in run.error and "does not exist for the field 'project'" in run.error
    assert Issue.objects.filter(project__key="OPS").count() == 60
    assert not Issue.objects.filter(project__key="SHOOT").exists()


def test_changed_mapped_fields_are_audited_old_to_new(cloud_site, reference_mappings):
    instance = register(cloud_site, "instance_1")
    sync_instance(instance.pk, RunOptions(full=True))
    record = cloud_site.sim.data.by_id[min(cloud_site.sim.data.by_id)]
    before = Issue.objects.get(jira_id=record.id).fields["rooms"]
    record.edits = {"customfield_10040": float(before % 9 + 1)}
    record.updated_ms = cloud_site.sim.data.now_ms
    sync_instance(instance.pk, RunOptions())
    entry = AuditLog.objects.get(action="sync_update", object_repr=cloud_site.sim.data.key_of(record))
    assert entry.changes == {"rooms": [before, before % 9 + 1]}
    assert entry.actor == "sync" and entry.sync_run_id is not None


def test_two_workers_started_together_on_one_project_one_syncs_and_one_skips(cloud_site, reference_mappings):
    import threading

    from django.db import connections

    instance = register(cloud_site, "instance_1")
    sync_instance(instance.pk, RunOptions(full=True, project_keys=("NONE",)))
    project = Project.objects.get(instance=instance, key="OPS")
    cloud_site.sim.faults.replace([], latency_ms=50)  # each sync takes long enough to overlap the other
    barrier = threading.Barrier(2)
    outcomes = []

    def worker():
        barrier.wait()
        try:
            outcomes.append(sync_project(project.pk, RunOptions(full=True)).status)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [SyncRun.Status.SKIPPED, SyncRun.Status.SUCCEEDED]
    assert Issue.objects.filter(project=project).count() == 60


def test_nul_characters_from_jira_are_dropped_not_fatal(cloud_site, reference_mappings):
    instance = register(cloud_site, "instance_1")
    record = cloud_site.sim.data.by_id[min(cloud_site.sim.data.by_id)]
    record.edits = {"customfield_10501": "NDPU\x00-7", "customfield_10700": "gate\x00code"}
    run = sync_instance(instance.pk, RunOptions(full=True))
    assert run.status == SyncRun.Status.SUCCEEDED and run.failed_rows == 0
    issue = Issue.objects.get(jira_id=record.id)
    assert issue.fields["order_number"] == "NDPU-7" and issue.fields["access_instructions"] == "gatecode"


def test_a_row_the_database_refuses_costs_one_row_and_leaves_a_recorded_error(reference_mappings, tmp_path):
    import json

    with running_sim(flavour="cloud", projects=1, issues=5, seed=41) as donor:
        good = donor.sim.r.issue(donor.sim.data.by_id[min(donor.sim.data.by_id)], "3", None, {"changelog"}, 40)
    bad = json.loads(json.dumps(good))
    bad["id"], bad["key"] = "-5", "OPS-900"  # Jira ids are positive: the table's check constraint refuses it
    (tmp_path / "bad.json").write_text(json.dumps({"issues": [bad]}))
    with running_sim(flavour="cloud", projects=1, issues=8, seed=41, replay=[str(tmp_path / "bad.json")]) as server:
        instance = register(server, "instance_1")
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.PARTIAL
        assert run.failed_rows == 1 and "OPS-900" in run.error
        assert Issue.objects.count() == 8  # every other issue of the batch stored
        entry = AuditLog.objects.get(action="sync_row_failed")
        assert entry.object_repr == "OPS-900" and "could not be stored" in entry.summary


def test_an_issue_id_beyond_64_bits_is_an_unstorable_issue_not_a_crash(reference_mappings, tmp_path):
    import json

    with running_sim(flavour="cloud", projects=1, issues=3, seed=42) as donor:
        good = donor.sim.r.issue(donor.sim.data.by_id[min(donor.sim.data.by_id)], "3", None, {"changelog"}, 40)
    bad = {**good, "id": "99999999999999999999", "key": "OPS-901"}
    (tmp_path / "bad.json").write_text(json.dumps({"issues": [bad]}))
    with running_sim(flavour="cloud", projects=1, issues=3, seed=42, replay=[str(tmp_path / "bad.json")]) as server:
        instance = register(server, "instance_1")
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.failed_rows == 1 and "not a 64-bit number" in run.error
        assert Issue.objects.count() == 3
