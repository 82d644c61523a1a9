"""The field processor on hand-built issues: paths, combining, required/default, ADF, timestamps, strictness."""

from jirafields import FieldSpec, compile_mapping, process_issue
from jirafields.adf import adf_to_text


def issue_with(**fields) -> dict:
    return {"id": "10001", "key": "OPS-1", "fields": fields}


def values_and_errors(issue: dict, *specs: FieldSpec) -> tuple[dict, list[dict]]:
    result = process_issue(issue, compile_mapping(list(specs)))
    return result.values, [error.as_dict() for error in result.errors]


def test_combined_sources_are_joined_with_a_space_skipping_empty_ones():
    spec = FieldSpec("access", "text", ("customfield_1", "customfield_2", "customfield_3"))
    values, errors = values_and_errors(
        issue_with(customfield_1="Key under mat", customfield_2=None, customfield_3="gate code 1234"), spec
    )
    assert values["access"] == "Key under mat gate code 1234"
    assert errors == []


def test_combined_sources_can_use_another_separator_or_take_the_first_value():
    issue = issue_with(customfield_1="", customfield_2="second", customfield_3="third")
    joined = FieldSpec("joined", "string", ("customfield_1", "customfield_2", "customfield_3"), separator=" | ")
    first = FieldSpec("first", "string", ("customfield_1", "customfield_2", "customfield_3"), combine="first")
    values, _ = values_and_errors(issue, joined, first)
    assert values == {"joined": "second | third", "first": "second"}


def test_a_required_field_without_a_value_is_an_error_and_the_rest_still_converts():
    values, errors = values_and_errors(
        issue_with(customfield_9=None, customfield_2="42"),
        FieldSpec("order", "string", ("customfield_9",), required=True),
        FieldSpec("rooms", "integer", ("customfield_2",)),
    )
    assert values == {"order": None, "rooms": 42}
    assert errors == [{"field": "order", "source": "customfield_9", "reason": "required field has no value"}]


def test_a_default_fills_an_empty_field_even_when_required():
    values, errors = values_and_errors(
        issue_with(), FieldSpec("rush", "boolean", ("customfield_7",), required=True, default=False)
    )
    assert values["rush"] is False
    assert errors == []


def test_a_value_that_cannot_convert_is_an_error_never_a_silent_null():
    values, errors = values_and_errors(
        issue_with(customfield_5="twelve"), FieldSpec("rooms", "integer", ("customfield_5",))
    )
    assert values["rooms"] is None
    assert errors == [{"field": "rooms", "source": "customfield_5", "reason": "expected an integer, got text 'twelve'"}]


def test_numbers_convert_strictly():
    specs = [
        FieldSpec("a", "integer", ("a",)),
        FieldSpec("b", "integer", ("b",)),
        FieldSpec("c", "decimal", ("c",)),
        FieldSpec("d", "decimal", ("d",)),
        FieldSpec("e", "integer", ("e",)),
    ]
    values, errors = values_and_errors(issue_with(a=23.0, b="7", c="1,250.5", d=True, e=2.5), *specs)
    assert values == {"a": 23, "b": 7, "c": 1250.5, "d": None, "e": None}
    assert [e["field"] for e in errors] == ["d", "e"]


def test_datetimes_with_offsets_are_stored_in_utc():
    specs = [
        FieldSpec("ist", "datetime", ("a",)),
        FieldSpec("pst", "datetime", ("b",)),
        FieldSpec("zulu", "datetime", ("c",)),
        FieldSpec("epoch", "datetime", ("d",)),
    ]
    values, errors = values_and_errors(
        issue_with(
            a="2024-03-10T09:15:00.000+0530",
            b="2024-03-10T09:15:00.000-0800",
            c="2020-07-13T01:22:22.745Z",
            d=1732877091000,
        ),
        *specs,
    )
    assert errors == []
    assert values == {
        "ist": "2024-03-10T03:45:00.000Z",
        "pst": "2024-03-10T17:15:00.000Z",
        "zulu": "2020-07-13T01:22:22.745Z",
        "epoch": "2024-11-29T10:44:51.000Z",
    }


def test_a_datetime_without_offset_or_a_bad_date_is_an_error():
    values, errors = values_and_errors(
        issue_with(a="2019-08-27 19:43:24.193", b="2024-02-30"),
        FieldSpec("a", "datetime", ("a",)),
        FieldSpec("b", "date", ("b",)),
    )
    assert values == {"a": None, "b": None}
    assert "no time zone offset" in errors[0]["reason"]
    assert errors[1]["reason"].startswith("expected a date")


def test_a_date_of_a_datetime_is_the_day_where_it_happened():
    values, _ = values_and_errors(issue_with(a="2024-03-10T23:30:00.000-0800"), FieldSpec("a", "date", ("a",)))
    assert values["a"] == "2024-03-10"


def test_dot_paths_reach_into_objects_lists_and_top_level_keys():
    issue = issue_with(
        assignee={"accountId": "abc", "displayName": "Ada"},
        customfield_10020=[{"id": 1, "name": "Sprint 1"}, {"id": 2, "name": "Sprint 2"}],
        components=[{"name": "Web"}, {"name": "API"}],
    )
    specs = [
        FieldSpec("who", "string", ("assignee.displayName",)),
        FieldSpec("last_sprint", "string", ("customfield_10020.-1.name",)),
        FieldSpec("first_sprint", "string", ("customfield_10020.0.name",)),
        FieldSpec("components", "string_list", ("components.name",)),
        FieldSpec("issue_key", "string", ("key",)),
        FieldSpec("nothing", "string", ("assignee.emailAddress",)),
    ]
    values, errors = values_and_errors(issue, *specs)
    assert values == {
        "who": "Ada",
        "last_sprint": "Sprint 2",
        "first_sprint": "Sprint 1",
        "components": ["Web", "API"],
        "issue_key": "OPS-1",
        "nothing": None,
    }
    assert errors == []


def test_options_cascading_selects_and_users_of_both_flavours():
    issue = issue_with(
        a={"self": "x", "value": "House", "id": "1"},
        b={"value": "America", "id": "2", "child": {"value": "Costa Rica", "id": "3"}},
        c={"accountId": "5b86", "displayName": "Cloud User"},
        d={"name": "jdoe", "key": "JIRAUSER10100", "displayName": "DC User"},
        e=[{"value": "Photos"}, {"value": "Drone"}],
    )
    specs = [
        FieldSpec("a", "option", ("a",)),
        FieldSpec("b", "option", ("b",)),
        FieldSpec("c", "user", ("c",)),
        FieldSpec("d", "user", ("d",)),
        FieldSpec("e", "string_list", ("e",)),
        FieldSpec("f", "option", ("e",)),
    ]
    values, errors = values_and_errors(issue, *specs)
    assert values["a"] == "House"
    assert values["b"] == "America / Costa Rica"
    assert values["c"] == {"id": "5b86", "name": "Cloud User"}
    assert values["d"] == {"id": "JIRAUSER10100", "name": "DC User"}
    assert values["e"] == ["Photos", "Drone"]
    assert errors[0]["field"] == "f" and "select option" in errors[0]["reason"]


def test_adf_is_flattened_to_readable_text():
    document = {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Access"}]},
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "Gate code ", "marks": [{"type": "strong"}]},
                    {"type": "text", "text": "1234"},
                    {"type": "hardBreak"},
                    {"type": "mention", "attrs": {"id": "1", "text": "@Ada"}},
                    {"type": "text", "text": " has the key "},
                    {"type": "emoji", "attrs": {"shortName": ":key:", "text": "🔑"}},
                ],
            },
            {
                "type": "bulletList",
                "content": [
                    {
                        "type": "listItem",
                        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "dog"}]}],
                    },
                    {
                        "type": "listItem",
                        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "alarm"}]}],
                    },
                ],
            },
            {"type": "paragraph", "content": [{"type": "inlineCard", "attrs": {"url": "https://example.com/x"}}]},
        ],
    }
    assert adf_to_text(document) == "Access\nGate code 1234\n@Ada has the key 🔑\n- dog\n- alarm\nhttps://example.com/x"
    values, _ = values_and_errors(issue_with(description=document), FieldSpec("d", "text", ("description",)))
    assert values["d"].startswith("Access\nGate code")


def test_compiling_rejects_joining_several_sources_of_a_non_text_type():
    import pytest

    with pytest.raises(ValueError, match="cannot join"):
        compile_mapping([FieldSpec("n", "integer", ("a", "b"))])
    assert compile_mapping([FieldSpec("n", "integer", ("a", "b"), combine="first")]).jira_field_ids == {"a", "b"}
