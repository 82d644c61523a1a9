"""Real-world field values synced from jirasim over HTTP: sprints in every shape with hostile names, rich ADF
using every node kind, and custom fields named "Status" whose changes are not status changes."""

import json

import pytest
import requests

from audit.services import COMMAND
from config.mapping_file import parse_mapping_text
from config.services import mappings_apply
from issues.models import Issue, StatusChange
from jirasim.testing import running_sim
from syncing.models import SyncRun
from syncing.runs.runner import RunOptions, sync_instance
from tests.support.mappings import REFERENCE_MAPPINGS
from tests.support.sites import register
from tests.support.truth import assert_database_equals_truth

pytestmark = pytest.mark.django_db(transaction=True)

EXTRA_FIELDS = [
    {"name": "sprints", "type": "string_list", "instances": {"*": {"field_id": "customfield_10020"}}},
    {"name": "last_sprint", "type": "string", "instances": {"*": {"path": "customfield_10020.-1"}}},
    {"name": "description_text", "type": "text", "instances": {"*": {"field_id": "description"}}},
    {"name": "shoot_brief", "type": "text", "instances": {"*": {"field_id": "customfield_10042"}}},
]
SITES = {
    "cloud objects": {"flavour": "cloud"},
    "dc 9 alphabetical strings": {"flavour": "datacenter"},
    "dc 6 legacy strings": {"flavour": "datacenter", "dc_version": "6.4.14"},
    "dc 8 server strings (id first, activatedDate)": {"flavour": "datacenter", "dc_version": "8.20.0"},
    "dc forced legacy": {"flavour": "datacenter", "sprint_format": "legacy"},
    "dc 10 objects": {"flavour": "datacenter", "dc_version": "10.3.1"},
}


@pytest.fixture
def field_mappings(db):
    """The reference mappings plus the sprint and rich-text fields."""
    document = json.loads(REFERENCE_MAPPINGS.read_text())
    document["field_groups"].append({"name": "Real world", "fields": EXTRA_FIELDS})
    return mappings_apply(document=parse_mapping_text(json.dumps(document)), actor=COMMAND)


def synced_site(options: dict, **extra):
    return running_sim(projects=2, issues=25, seed=17, sprints=True, rich_adf=True, **options, **extra)


def sync_full(server):
    instance = register(server, "instance_1" if server.sim.config.cloud else "instance_2")
    run = sync_instance(instance.pk, RunOptions(full=True))
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return instance


def http_truth(server) -> dict[int, dict]:
    return {int(row["id"]): row for row in requests.get(f"{server.url}/_sim/truth", timeout=60).json()["issues"]}


def assert_in_order(text: str, parts: list[str], where: str) -> None:
    position = 0
    for part in parts:
        found = text.find(part, position)
        assert found >= 0, f"{where}: {part!r} missing (or out of order) in {text!r}"
        position = found + len(part)


@pytest.mark.parametrize("site", list(SITES))
def test_sprint_names_and_rich_text_are_stored_as_jira_shows_them(site, field_mappings):
    with synced_site(SITES[site]) as server:
        instance = sync_full(server)
        truth = http_truth(server)
        assert_database_equals_truth(server, instance)
        stored = {issue.jira_id: issue for issue in Issue.objects.filter(instance=instance)}
        with_sprints = 0
        for jira_id, row in truth.items():
            issue = stored[jira_id]
            assert not issue.field_errors, (row["key"], issue.field_errors)
            names = row["sprints"]
            with_sprints += bool(names)
            assert issue.fields["sprints"] == (names or None), row["key"]
            assert issue.fields["last_sprint"] == issue.fields["sprint"] == (names[-1] if names else None)
            for target, field_id in (("description_text", "description"), ("shoot_brief", "customfield_10042")):
                expected = row["rich_text"][field_id]
                assert_in_order(issue.fields[target], expected["parts"], f"{row['key']} {target}")
                assert not any(hidden in issue.fields[target] for hidden in expected["absent"])
        assert with_sprints > len(truth) // 2
        assert len({name for row in truth.values() for name in row["sprints"]}) >= 6


def test_the_site_version_decides_the_sprint_shape_and_an_option_forces_another():
    def first_sprint(**options):
        with synced_site(options) as server:
            issue = next(r for r in server.sim.data.live() if server.sim.data.sprints_of(r))
            version = "3" if server.sim.config.cloud else "2"
            return server.sim.r.issue_fields(issue, version, {"customfield_10020"})["customfield_10020"][0]

    assert isinstance(first_sprint(flavour="cloud"), dict)
    assert isinstance(first_sprint(flavour="datacenter", dc_version="10.3.1"), dict)
    alphabetical = first_sprint(flavour="datacenter")
    assert alphabetical.split("[", 1)[1].startswith("activatedDate=")
    legacy = first_sprint(flavour="datacenter", dc_version="8.20.0", sprint_format="legacy")
    assert legacy.split("[", 1)[1].startswith("id=") and legacy.endswith("]")
    assert ",goal=" in legacy.rsplit(",sequence=", 1)[1]  # the goal last
    server = first_sprint(flavour="datacenter", dc_version="8.20.0")
    body = server.split("[", 1)[1]
    assert (
        body.startswith("id=") and ",activatedDate=" in body and body.endswith(",incompleteIssuesDestinationId=<null>]")
    )
    assert body.index(",activatedDate=") < body.rindex(",sequence=") < body.rindex(",goal=") < body.rindex(",synced=")


def test_an_ambiguous_sprint_string_is_a_field_error_on_its_issue_and_nothing_else_is_lost(field_mappings):
    with synced_site({"flavour": "datacenter"}) as server:
        record = server.sim.data.live()[0]
        ambiguous = (
            "com.atlassian.greenhopper.service.sprint.Sprint@7f[id=9,rapidViewId=1,state=ACTIVE,name=a,goal=b,goal=c]"
        )
        record.edits = {"customfield_10020": [ambiguous]}
        instance = sync_full(server)
        issue = Issue.objects.get(instance=instance, jira_id=record.id)
        assert issue.has_field_errors
        errors = {error["field"]: error for error in issue.field_errors}
        # Issue #14: the reference's sprint_names reads the field too, and so do sprint stays (their own error).
        assert set(errors) == {"sprints", "last_sprint", "sprint", "sprint_names", "sprint membership"}
        assert all("ambiguous sprint string" in error["reason"] for error in errors.values())
        assert issue.fields["sprints"] is issue.fields["sprint"] is None
        assert issue.fields["order_number"] == f"NDPU-{record.id:07d}"  # the rest of the issue is stored
        assert Issue.objects.filter(instance=instance, has_field_errors=True).count() == 1


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_changes_of_custom_fields_named_status_are_never_status_changes(flavour, reference_mappings):
    with running_sim(flavour=flavour, projects=2, issues=25, seed=23, status_lookalike_fields=True) as server:
        data = server.sim.data
        lookalikes = [
            (event, item)
            for record in data.live()
            for event in data.history(record)
            for item in event.items
            if item[0] in ("Status", "Workflow Status")
        ]
        riding = [event for event, _ in lookalikes if any(item[2] == "status" for item in event.items)]
        assert len(lookalikes) > 20 and riding, "the site must serve lookalike items, alone and beside transitions"
        instance = sync_full(server)
        real = sum(1 for r in data.live() for e in data.history(r) for item in e.items if item[2] == "status")
        assert StatusChange.objects.filter(issue__instance=instance).exclude(history_id=0).count() == real
        assert_database_equals_truth(server, instance)
