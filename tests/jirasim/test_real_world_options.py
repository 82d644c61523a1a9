"""jirasim's real-world options: hostile sprints, rich ADF, fields named like Status — seeded, off by default."""

import pytest
import requests

from jirafields.adf import adf_to_text
from jirafields.sprint import parse_sprint
from jirasim import catalog
from jirasim.__main__ import parse_args
from jirasim.dataset import Dataset, SimConfig
from jirasim.render import Renderer
from jirasim.sprints import FORMATS, site_sprints, sprint_value
from jirasim.testing import TOKEN, USER, running_sim

OPTIONAL_FIELDS = {catalog.SHOOT_BRIEF.id, catalog.STATUS_LOOKALIKE.id, catalog.WORKFLOW_STATUS_LOOKALIKE.id}


def renderer(**options) -> Renderer:
    return Renderer(Dataset(SimConfig(projects=1, issues=30, **options)), "http://sim.test")


def test_default_sites_keep_their_shape():
    for flavour in ("cloud", "datacenter"):
        render = renderer(flavour=flavour)
        assert not OPTIONAL_FIELDS & {field["id"] for field in render.field_list()}
        row = render.data.truth()[0]
        assert "rich_text" not in row
        record = next(r for r in render.data.live() if render.data.sprints_of(r))
        sprints = render.issue_fields(record, "2", {"customfield_10020"})["customfield_10020"]
        # Plain names; Data Center 9 sends them as greenhopper strings, Cloud as objects.
        assert isinstance(sprints[0], dict if flavour == "cloud" else str)
        assert parse_sprint(sprints[0]).name.startswith("Shoot sprint ")
        items = [item for event in render.data.history(record) for item in event.items]
        assert not any(item[1] == "custom" and "Status" in item[0] for item in items)


def test_the_options_are_reproducible_from_the_seed():
    def snapshot():
        render = renderer(flavour="datacenter", sprints=True, rich_adf=True, status_lookalike_fields=True)
        issues = [render.issue(r, "2", None, {"changelog"}, None) for r in render.data.live()]
        return issues, render.data.truth()

    assert snapshot() == snapshot()


@pytest.mark.parametrize("seed", range(1, 9))
@pytest.mark.parametrize("form", [f for f in FORMATS if f != "auto"])
def test_every_sprint_the_site_serves_reads_back_whole(seed, form):
    render = renderer(flavour="datacenter", seed=seed)
    for sprint in site_sprints(seed, render.data.now_ms):
        value = sprint_value(sprint, form, render.zone)
        parsed = parse_sprint(value)
        assert (parsed.id, parsed.name, parsed.goal or None) == (sprint.id, sprint.name, sprint.goal or None), value


def test_a_board_holds_names_that_break_naive_parsers():
    names = [sprint.name + (sprint.goal or "") for sprint in site_sprints(1, 0)]
    for needle in (",", "]", "[", "name=", "="):
        assert any(needle in name for name in names), needle


def test_rich_documents_use_every_node_kind_and_their_parts_are_what_a_reader_sees():
    render = renderer(flavour="cloud", rich_adf=True)
    record = render.data.live()[0]
    fields = render.issue_fields(record, "3", {"description", catalog.SHOOT_BRIEF.id})
    kinds: set[str] = set()

    def walk(node: dict) -> None:
        kinds.add(node["type"])
        for mark in node.get("marks", []):
            kinds.add(f"mark:{mark['type']}")
        for child in node.get("content", []):
            walk(child)

    walk(fields["description"])
    documented = {"doc", "paragraph", "text", "heading", "mention", "date", "emoji", "status", "hardBreak",
                  "inlineCard", "placeholder", "panel", "orderedList", "bulletList", "listItem", "taskList",
                  "taskItem", "decisionList", "decisionItem", "table", "tableRow", "tableHeader", "tableCell",
                  "codeBlock", "blockquote", "rule", "expand", "nestedExpand", "mediaSingle", "media", "caption",
                  "mediaGroup", "mediaInline", "inlineExtension", "blockCard", "embedCard", "layoutSection",
                  "layoutColumn", "extension", "bodiedExtension", "mark:link", "mark:strong"}  # fmt: skip
    assert documented <= kinds
    truth = render.data.truth()[0]["rich_text"]
    for field_id in ("description", catalog.SHOOT_BRIEF.id):
        flattened = adf_to_text(fields[field_id])
        position = 0
        for part in truth[field_id]["parts"]:
            position = flattened.index(part, position) + len(part)
        assert all(hidden not in flattened for hidden in truth[field_id]["absent"])
    plain = renderer(flavour="datacenter", rich_adf=True)
    assert plain.issue_fields(plain.data.live()[0], "2", {"description"})["description"].startswith("Description: ")


def test_lookalike_items_carry_a_custom_field_id_on_cloud_and_none_on_data_center():
    for flavour in ("cloud", "datacenter"):
        with running_sim(flavour=flavour, projects=1, issues=20, status_lookalike_fields=True) as server:
            version = "3" if flavour == "cloud" else "2"
            found = []
            for row in requests.get(f"{server.url}/_sim/truth", timeout=60).json()["issues"]:
                page = requests.get(
                    f"{server.url}/rest/api/{version}/issue/{row['key']}/changelog", auth=(USER, TOKEN), timeout=60
                ).json()
                found += [i for h in page["values"] for i in h["items"] if i["field"] in ("Status", "Workflow Status")]
            assert found and all(item["fieldtype"] == "custom" for item in found)
            if flavour == "cloud":
                assert {item["fieldId"] for item in found} == {"customfield_10043", "customfield_10044"}
            else:
                assert not any("fieldId" in item for item in found)
            fields = requests.get(f"{server.url}/rest/api/{version}/field", auth=(USER, TOKEN), timeout=60).json()
            assert {"Status", "Workflow Status"} <= {f["name"] for f in fields if f["custom"]}


def test_server_info_reports_the_data_center_version_and_the_cli_takes_the_options():
    with running_sim(flavour="datacenter", projects=1, issues=1, dc_version="7.13.0") as server:
        info = requests.get(f"{server.url}/rest/api/2/serverInfo", auth=(USER, TOKEN), timeout=60).json()
        assert (info["version"], info["versionNumbers"]) == ("7.13.0", [7, 13, 0])
    args = parse_args(["--sprints", "--sprint-format", "legacy", "--rich-adf", "--status-lookalike-fields"])
    assert (args.sprints, args.sprint_format, args.rich_adf, args.status_lookalike_fields) == (
        True,
        "legacy",
        True,
        True,
    )
    with pytest.raises(ValueError, match="sprint_format"):
        SimConfig(sprint_format="yaml")
