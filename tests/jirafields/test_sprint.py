"""Sprint values: greenhopper strings read by their structure in every attribute order, the object form, and
how the processor maps them (string, string_list, dot paths) or records a field error — never a wrong name."""

import os
import random
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from jirafields import FieldSpec, compile_mapping, process_issue
from jirafields.schema import suggested_field_type
from jirafields.sprint import KNOWN_ORDERS, Sprint, SprintFormatError, parse_sprint
from tests.support.reference import recorded

LEGACY, GOAL_LAST, GOAL_AFTER_NAME, JIRA8, ALPHABETICAL = KNOWN_ORDERS
FUZZ = settings(
    max_examples=int(os.environ.get("JIRASYNC_FUZZ_EXAMPLES", "150")) * 2,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
BERLIN = timezone(timedelta(hours=1))


def greenhopper(order: tuple[str, ...], **values) -> str:
    """The Java toString() of a sprint with these attributes, in this order (unknown ones from the defaults)."""
    defaults = {
        "id": 266,
        "rapidViewId": 174,
        "state": "ACTIVE",
        "name": "Team Sprint 26",
        "goal": None,
        "startDate": datetime(2026, 2, 3, 9, 10, 57, 810000, BERLIN),
        "endDate": datetime(2026, 2, 17, 9, 10, tzinfo=BERLIN),
        "completeDate": None,
        "activatedDate": datetime(2026, 2, 3, 9, 10, 57, 810000, BERLIN),
        "sequence": 266,
        "autoStartStop": False,
        "incompleteIssuesDestinationId": None,
        "synced": False,
    }
    merged = {**defaults, **values}

    def shown(value) -> str:
        if value is None:
            return "<null>"
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, datetime):
            return value.isoformat(timespec="milliseconds")
        return str(value)

    body = ",".join(f"{name}={shown(merged[name])}" for name in order)
    return f"com.atlassian.greenhopper.service.sprint.Sprint@5f3c0a1b[{body}]"


def test_the_legacy_order_reads_every_attribute_as_its_type():
    sprint = parse_sprint(greenhopper(GOAL_LAST, completeDate=datetime(2026, 2, 17, 10, 7, 14, 478000, BERLIN)))
    assert sprint == Sprint(
        id=266,
        name="Team Sprint 26",
        state="ACTIVE",
        board_id=174,
        goal=None,
        start=datetime(2026, 2, 3, 8, 10, 57, 810000, UTC),
        end=datetime(2026, 2, 17, 8, 10, tzinfo=UTC),
        complete=datetime(2026, 2, 17, 9, 7, 14, 478000, UTC),
        sequence=266,
    )
    assert sprint.start.tzinfo == UTC


@pytest.mark.parametrize("order", KNOWN_ORDERS, ids=["jira6", "goal-last", "goal-after-name", "jira8", "alphabetical"])
@pytest.mark.parametrize(
    ("name", "goal"),
    [
        ("[Billing] Sprint 03", None),
        ("Sprint 7, Team Blue", "Ship the export, then the import"),
        ("Sprint 112", "Move hostname=db01 to the new cluster"),
        ("Sprint 9", "Fix it,name=x"),
        ("rename=done, name=Q3]", "a]b[c],d=e"),
        ("Ops [EU], wave=2 ]", "[x],state=DONE,name=y"),
        ("Sprint, id=5", "Clean up,sequence=12"),
        ("", ""),
        ("Спринт 5 ✓", "目標: ship"),
    ],
)
def test_names_and_goals_with_commas_brackets_and_equals_signs_are_read_whole(order, name, goal):
    sprint = parse_sprint(greenhopper(order, name=name, goal=goal))
    assert sprint.name == name
    if "goal" in order:
        assert sprint.goal == goal
    assert (sprint.id, sprint.board_id, sprint.state) == (266, 174, "ACTIVE")


def test_a_goal_holding_name_before_the_name_in_alphabetical_order_is_not_taken_for_the_name():
    text = greenhopper(ALPHABETICAL, name="Sprint 112", goal="Move hostname=db01 to the new cluster,name=db02")
    assert parse_sprint(text).name == "Sprint 112"


JIRA8_EXAMPLE = (
    "com.atlassian.greenhopper.service.sprint.Sprint@1f39ab9[id=441,rapidViewId=2,state=ACTIVE,name=Week 39 - 2023,"
    "startDate=2023-09-25T00:00:00.000Z,endDate=2023-10-06T00:00:00.000Z,completeDate=<null>,"
    "activatedDate=2023-09-25T08:00:00.000Z,sequence=440,goal=,autoStartStop=false,synced=false,"
    "incompleteIssuesDestinationId=<null>]"
)


def test_the_common_jira_8_string_with_activated_date_reads_every_attribute():
    assert parse_sprint(JIRA8_EXAMPLE) == Sprint(
        id=441,
        name="Week 39 - 2023",
        state="ACTIVE",
        board_id=2,
        goal="",
        start=datetime(2023, 9, 25, tzinfo=UTC),
        end=datetime(2023, 10, 6, tzinfo=UTC),
        complete=None,
        activated=datetime(2023, 9, 25, 8, tzinfo=UTC),
        sequence=440,
    )


@pytest.mark.parametrize(
    ("name", "goal"),
    [
        ("Week 39 - 2023", ""),
        ("Week 39, 2023 [final]", "Ship it,autoStartStop=true"),
        ("Sprint 4,startDate=2023-01-01T00:00:00.000Z", "a]b,synced=true,goal=x"),
        ("name=Falcon,activatedDate=<null>", "Retire,incompleteIssuesDestinationId=12"),
        ("[x],state=DONE,name=y]", "<null>x,sequence=3"),
    ],
)
def test_every_attribute_order_reads_the_same_sprint_with_hostile_names(name, goal):
    """The parser knows attribute names, not orders: in Jira 8's order and the alphabetical one the sprint reads
    whole; shuffled, it reads whole or (when a value holds an attribute the shuffle put next to it) is refused
    as ambiguous — never a wrong name."""
    for order in (JIRA8, ALPHABETICAL):
        sprint = parse_sprint(greenhopper(order, name=name, goal=goal))
        assert (sprint.name, sprint.goal, sprint.id, sprint.sequence) == (name, goal, 266, 266), order
    rng = random.Random(f"{name}|{goal}")
    whole = 0
    for _ in range(40):
        order = list(JIRA8)
        rng.shuffle(order)
        try:
            sprint = parse_sprint(greenhopper(tuple(order), name=name, goal=goal))
        except SprintFormatError as exc:
            assert "ambiguous" in str(exc), (order, exc)
            continue
        assert (sprint.name, sprint.goal, sprint.id, sprint.sequence) == (name, goal, 266, 266), order
        whole += 1
    assert whole >= 10


def test_a_name_holding_an_attribute_its_version_does_not_send_stays_whole():
    """Jira 7 sends no activatedDate: a name holding `,activatedDate=<a date>` is the name, not an attribute."""
    name = "Sprint 4,activatedDate=2026-01-01T00:00:00.000Z"
    assert parse_sprint(greenhopper(GOAL_AFTER_NAME, name=name, goal="g")).name == name
    assert parse_sprint(greenhopper(LEGACY, name=name)).name == name


def test_a_string_with_some_attributes_of_a_known_order_still_reads():
    text = "com.atlassian.greenhopper.service.sprint.Sprint@1a[id=42,rapidViewId=7,state=CLOSED,name=Sprint 11]"
    assert parse_sprint(text) == Sprint(id=42, name="Sprint 11", state="CLOSED", board_id=7)
    name_first = "com.atlassian.greenhopper.service.sprint.Sprint@1a[name=x,id=1,state=CLOSED]"
    assert parse_sprint(name_first) == Sprint(id=1, name="x", state="CLOSED")
    date_only = "com.atlassian.greenhopper.service.sprint.Sprint@1a[id=1,name=S,startDate=2026-09-01]"
    assert parse_sprint(date_only).start == datetime(2026, 9, 1, tzinfo=UTC)


def test_the_object_form_reads_the_same_fields():
    sprint = parse_sprint(
        {
            "id": 37,
            "name": "Sprint 4, Team [A]",
            "state": "closed",
            "boardId": 1,
            "goal": "",
            "startDate": "2025-12-29T09:00:00.000Z",
            "endDate": "2026-01-12T09:00:00.000Z",
            "completeDate": "2026-01-12T10:30:00.000+01:00",
        }
    )
    assert sprint == Sprint(
        id=37,
        name="Sprint 4, Team [A]",
        state="closed",
        board_id=1,
        goal="",
        start=datetime(2025, 12, 29, 9, tzinfo=UTC),
        end=datetime(2026, 1, 12, 9, tzinfo=UTC),
        complete=datetime(2026, 1, 12, 9, 30, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("com.atlassian.greenhopper.service.sprint.Sprint@1a[id=1,name=x", "not a greenhopper sprint string"),
        ("com.atlassian.greenhopper.service.sprint.Sprint@1a[foo=1,name=x]", "does not start with a known"),
        ("com.atlassian.greenhopper.service.sprint.Sprint@1a[id=1,state=ACTIVE]", "no id or no name"),
        ("com.atlassian.greenhopper.service.sprint.Sprint@1a[id=x1,name=x]", "no valid reading"),
        ("com.atlassian.greenhopper.service.sprint.Sprint@1a[id=1,state=not one,name=x]", "no valid reading"),
        # An attribute no Jira version we know emits: after a typed value it breaks every reading; after a name
        # or a goal it would be swallowed into it (a wrong name), so it is refused either way.
        ("com.atlassian.greenhopper.service.sprint.Sprint@1a[id=1,state=ACTIVE,boardTeam=4,name=x]", "no valid"),
        ("com.atlassian.greenhopper.service.sprint.Sprint@1a[id=1,name=x,boardTeam=4,state=ACTIVE]", "unknown"),
        ("com.atlassian.greenhopper.service.sprint.Sprint@1a[id=1,goal=g,releaseId=<null>,name=x]", "'releaseId'"),
        # Name "a" and goal "b,goal=c", or name "a,goal=b" and goal "c"? Jira cannot tell us; neither can we.
        ("com.atlassian.greenhopper.service.sprint.Sprint@1a[id=1,name=a,goal=b,goal=c]", "ambiguous"),
        ({"id": 1}, "no name"),
        ({"id": "one", "name": "x"}, "id 'one' is not valid"),
        ({"name": "x"}, "has no id"),
        ({"id": 1, "name": "x", "startDate": "soon"}, "startDate"),
        (17, "a string or an object"),
    ],
)
def test_a_sprint_that_cannot_be_read_unambiguously_is_refused_with_the_reason(value, reason):
    with pytest.raises(SprintFormatError, match=reason):
        parse_sprint(value)


def test_a_huge_hostile_string_is_refused_quickly():
    text = greenhopper(GOAL_LAST, name="x" + ",name=y" * 5000)
    with pytest.raises(SprintFormatError, match="too many"):
        parse_sprint(text)
    long_name = greenhopper(ALPHABETICAL, name="x" * 2_000_000)
    assert len(parse_sprint(long_name).name) == 2_000_000


# --- generated names and goals: read back whole, or refused; never a wrong name ------------------------

NASTY = st.sampled_from(
    [",", "=", "]", "[", ",name=", "name=", ",goal=", ",id=7", ",state=CLOSED", ",sequence=3", ",rapidViewId=1",
     ",startDate=<null>", ",endDate=2026-01-01T00:00:00.000Z", ",synced=true", "<null>", " ", "Sprint", "@", "\n"]
)  # fmt: skip
texts = st.lists(st.one_of(NASTY, st.text(max_size=4)), max_size=8).map("".join)


@FUZZ
@given(
    order=st.sampled_from(KNOWN_ORDERS), name=texts, goal=st.none() | texts, state=st.sampled_from(["FUTURE", "CLOSED"])
)
@example(order=ALPHABETICAL, name="b", goal="a,id=7,name=x", state="ACTIVE")
@example(order=GOAL_AFTER_NAME, name="a,goal=<null>", goal="g", state="ACTIVE")
def test_generated_names_and_goals_read_back_whole_or_are_refused(order, name, goal, state):
    text = greenhopper(order, name=name, goal=goal, state=state)
    try:
        sprint = parse_sprint(text)
    except SprintFormatError as exc:
        unknown = re.search(r",[a-z][A-Za-z0-9]{2,}=", f"{name}{goal}")
        assert "ambiguous" in str(exc) or name == "<null>" or unknown, (text, exc)
        return
    assert sprint.name == name, text
    assert sprint.goal == (goal if "goal" in order and goal != "<null>" else None), text
    assert (sprint.id, sprint.state) == (266, state)


def test_plain_names_never_need_refusing():
    for order in KNOWN_ORDERS:
        for name in ("Sprint 1", "Sprint 7, Team Blue", "[Billing] Sprint 03", "x=y", "a]", "name=b"):
            assert parse_sprint(greenhopper(order, name=name, goal="Goal, with = and ]")).name == name


# --- through the processor ---------------------------------------------------------------------------


def issue_with(**fields) -> dict:
    return {"id": "10001", "key": "OPS-1", "fields": fields}


def mapped(issue: dict, *specs: FieldSpec) -> tuple[dict, list[dict]]:
    result = process_issue(issue, compile_mapping(list(specs)))
    return result.values, [error.as_dict() for error in result.errors]


def test_sprint_strings_map_to_their_names_as_string_list_string_and_dot_paths():
    sprints = [
        greenhopper(GOAL_LAST, id=1, name="[Billing] Sprint 03"),
        greenhopper(ALPHABETICAL, id=2, name="Sprint 7, Team Blue", goal="Move hostname=db01,name=x"),
    ]
    values, errors = mapped(
        issue_with(customfield_10020=sprints),
        FieldSpec("sprints", "string_list", ("customfield_10020",)),
        FieldSpec("last_sprint", "string", ("customfield_10020.-1",)),
        FieldSpec("first_sprint_name", "string", ("customfield_10020.0.name",)),
        FieldSpec("sprint_names", "string_list", ("customfield_10020.name",)),
        FieldSpec("last_goal", "text", ("customfield_10020.-1.goal",)),
        FieldSpec("last_board", "integer", ("customfield_10020.-1.boardId",)),
        FieldSpec("last_start", "datetime", ("customfield_10020.-1.startDate",)),
        FieldSpec("all_as_text", "text", ("customfield_10020",)),
    )
    assert errors == []
    assert values == {
        "sprints": ["[Billing] Sprint 03", "Sprint 7, Team Blue"],
        "last_sprint": "Sprint 7, Team Blue",
        "first_sprint_name": "[Billing] Sprint 03",
        "sprint_names": ["[Billing] Sprint 03", "Sprint 7, Team Blue"],
        "last_goal": "Move hostname=db01,name=x",
        "last_board": 174,
        "last_start": "2026-02-03T08:10:57.810Z",
        "all_as_text": "[Billing] Sprint 03\nSprint 7, Team Blue",
    }


def test_the_object_form_maps_the_same_way():
    sprints = [{"id": 3, "name": "Sprint 3, [Ops]", "state": "active", "boardId": 1, "goal": "a,name=b"}]
    values, errors = mapped(
        issue_with(customfield_10020=sprints),
        FieldSpec("sprints", "string_list", ("customfield_10020",)),
        FieldSpec("last_sprint", "string", ("customfield_10020.-1.name",)),
    )
    assert (values, errors) == ({"sprints": ["Sprint 3, [Ops]"], "last_sprint": "Sprint 3, [Ops]"}, [])


@pytest.mark.parametrize("path", ["customfield_10020", "customfield_10020.-1", "customfield_10020.-1.name"])
def test_an_ambiguous_sprint_string_is_a_field_error_on_the_issue_never_a_wrong_name(path):
    ambiguous = "com.atlassian.greenhopper.service.sprint.Sprint@1a[id=1,name=a,goal=b,goal=c]"
    field_type = "string_list" if path == "customfield_10020" else "string"
    values, errors = mapped(
        issue_with(customfield_10020=[ambiguous], summary="fine"),
        FieldSpec("sprint", field_type, (path,)),
        FieldSpec("summary", "string", ("summary",)),
    )
    assert values == {"sprint": None, "summary": "fine"}
    assert len(errors) == 1 and errors[0]["field"] == "sprint" and errors[0]["source"] == path
    assert errors[0]["reason"].startswith("ambiguous sprint string")


def test_discovered_sprint_fields_are_suggested_as_lists_of_names():
    schema = {"type": "array", "items": "json", "custom": "com.pyxis.greenhopper.jira:gh-sprint", "customId": 10020}
    assert suggested_field_type(schema) == "sprint_list"  # issue #14: the sprint types read both shapes


def test_recorded_sprints_of_both_shapes_give_their_names():
    cloud = recorded("cloud-agile-issue-EE-17-inline-changelog-jsonb-reordered.json")
    objects = cloud["fields"]["customfield_10020"]
    values, errors = mapped(cloud, FieldSpec("sprints", "string_list", ("customfield_10020",)))
    assert errors == [] and values["sprints"] == [sprint["name"] for sprint in objects]
    webhook = recorded("cloud-webhook-issue-created-many-fields-2019.json")["issue"]
    (sprint,) = [parse_sprint(value) for value in webhook["fields"]["customfield_10021"]]
    assert (sprint.name, sprint.goal, sprint.state, sprint.board_id) == ("SCRUM1 Sprint 1", "", "ACTIVE", 2)
    assert sprint.complete is None and sprint.start == datetime(2019, 5, 23, 14, 2, 10, 170000, UTC)
