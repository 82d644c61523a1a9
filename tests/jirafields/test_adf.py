"""ADF flattening: every node kind Atlassian documents keeps its readable content; unknown kinds keep their text."""

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jirafields import FieldSpec, compile_mapping, process_issue
from jirafields.adf import adf_problems, adf_to_text
from tests.support.reference import recorded


def doc(*blocks: dict) -> dict:
    return {"type": "doc", "version": 1, "content": list(blocks)}


def text(value: str, *marks: dict) -> dict:
    node: dict = {"type": "text", "text": value}
    if marks:
        node["marks"] = list(marks)
    return node


def para(*inline: dict | str) -> dict:
    return {"type": "paragraph", "content": [text(i) if isinstance(i, str) else i for i in inline]}


def link(href: str) -> dict:
    return {"type": "link", "attrs": {"href": href}}


def items(kind: str, *contents: list[dict], **attrs) -> dict:
    node: dict = {"type": kind, "content": [{"type": "listItem", "content": c} for c in contents]}
    if attrs:
        node["attrs"] = attrs
    return node


def flat(*blocks: dict) -> str:
    return adf_to_text(doc(*blocks))


# --- inline nodes ------------------------------------------------------------------------------------


def test_text_and_formatting_marks_give_the_text():
    bold, code = {"type": "strong"}, {"type": "code"}
    assert flat(para(text("Gate ", bold), text("code", code), " 1234")) == "Gate code 1234"


def test_a_date_node_is_an_iso_date_in_utc():
    assert flat(para("Shoot on ", {"type": "date", "attrs": {"timestamp": "1767225600000"}})) == "Shoot on 2026-01-01"
    assert flat(para({"type": "date", "attrs": {"timestamp": 1767311999000}})) == "2026-01-01"  # 23:59:59 UTC
    assert flat(para({"type": "date", "attrs": {"timestamp": "soon"}})) == "soon"


def test_a_mention_is_the_mentioned_name_or_else_the_id():
    named = {"type": "mention", "attrs": {"id": "5b10a2844c20165700ede21g", "text": "@Ada Lovelace"}}
    bare = {"type": "mention", "attrs": {"id": "5b10a2844c20165700ede21g"}}
    assert flat(para("Ask ", named)) == "Ask @Ada Lovelace"
    assert flat(para("Ask ", bare)) == "Ask 5b10a2844c20165700ede21g"


def test_an_emoji_is_its_text_or_else_its_short_name():
    with_text = {"type": "emoji", "attrs": {"shortName": ":key:", "text": "🔑", "id": "1f511"}}
    custom = {"type": "emoji", "attrs": {"shortName": ":party-parrot:", "id": "abc"}}
    assert flat(para("Key ", with_text, " and ", custom)) == "Key 🔑 and :party-parrot:"


def test_a_status_lozenge_is_its_text():
    assert flat(para("State: ", {"type": "status", "attrs": {"text": "IN PROGRESS", "color": "yellow"}})) == (
        "State: IN PROGRESS"
    )


@pytest.mark.parametrize(
    ("marked", "expected"),
    [
        (text("the listing", link("https://listings.example.com/1")), "the listing (https://listings.example.com/1)"),
        (text("https://example.com/x", link("https://example.com/x")), "https://example.com/x"),
        (text(" ", link("https://example.com/y")), "https://example.com/y"),
    ],
)
def test_linked_text_is_followed_by_its_url_when_they_differ(marked, expected):
    assert flat(para("See ", marked, ".")) == f"See {expected}."


def test_one_link_over_several_text_nodes_gives_its_url_once():
    href = link("https://example.com/guide")
    assert flat(para(text("the ", href), text("whole", href, {"type": "strong"}), text(" guide", href), "!")) == (
        "the whole guide (https://example.com/guide)!"
    )


def test_cards_give_their_url_or_the_name_and_url_of_their_data():
    inline = {"type": "inlineCard", "attrs": {"url": "https://acme.atlassian.net/browse/OPS-1"}}
    data = {"type": "inlineCard", "attrs": {"data": {"@type": "Document", "name": "Brief", "url": "https://x.test/b"}}}
    block = {"type": "blockCard", "attrs": {"url": "https://x.test/block"}}
    embed = {"type": "embedCard", "attrs": {"url": "https://x.test/embed", "layout": "center"}}
    assert flat(para("Card ", inline, " and ", data), block, embed) == (
        "Card https://acme.atlassian.net/browse/OPS-1 and Brief (https://x.test/b)\nhttps://x.test/block\nhttps://x.test/embed"
    )


LISTING = text("the listing", link("https://listings.example.com/1"))
CARD = {"type": "inlineCard", "attrs": {"url": "https://acme.atlassian.net/browse/OPS-1"}}


@pytest.mark.parametrize(
    ("inline", "expected"),
    [
        (
            ["See ", LISTING, CARD],
            "See the listing (https://listings.example.com/1) https://acme.atlassian.net/browse/OPS-1",
        ),
        ([CARD, CARD], "https://acme.atlassian.net/browse/OPS-1 https://acme.atlassian.net/browse/OPS-1"),
        (["Card", CARD, "next"], "Card https://acme.atlassian.net/browse/OPS-1 next"),
        ([LISTING, "word"], "the listing (https://listings.example.com/1) word"),
        (["(", CARD, ")."], "(https://acme.atlassian.net/browse/OPS-1)."),
        (
            ['"', LISTING, '", ', CARD, "!"],
            '"the listing (https://listings.example.com/1)", https://acme.atlassian.net/browse/OPS-1!',
        ),
        (["a ", CARD, " b"], "a https://acme.atlassian.net/browse/OPS-1 b"),
        (["plain", "text"], "plaintext"),  # text nodes of a word are not split
    ],
)
def test_a_link_or_a_card_next_to_text_is_kept_apart_by_a_space(inline, expected):
    assert flat(para(*inline)) == expected


def test_a_hard_break_starts_a_new_line():
    assert flat(para("one", {"type": "hardBreak"}, "two")) == "one\ntwo"


def test_placeholders_are_template_hints_and_are_skipped():
    assert flat(para({"type": "placeholder", "attrs": {"text": "Type the address here"}}, "12 Oak St")) == "12 Oak St"


def test_inline_media_and_extensions_give_their_names():
    media = {"type": "mediaInline", "attrs": {"id": "f1", "collection": "", "type": "file", "alt": "floorplan.pdf"}}
    macro = {"type": "inlineExtension", "attrs": {"extensionType": "com.acme", "extensionKey": "price-tag"}}
    texted = {"type": "inlineExtension", "attrs": {"extensionKey": "k", "text": "€ 420"}}
    assert flat(para("See ", media, ", ", macro, ", ", texted)) == "See floorplan.pdf, price-tag, € 420"


# --- blocks -----------------------------------------------------------------------------------------


def test_headings_paragraphs_and_rules_are_lines():
    heading = {"type": "heading", "attrs": {"level": 2}, "content": [text("Access")]}
    assert flat(heading, para("Lockbox"), {"type": "rule"}, para("Alarm")) == "Access\nLockbox\n---\nAlarm"


def test_bullet_and_ordered_lists_with_their_numbering_and_nested_lists_indented():
    nested = items("bulletList", [para("drone")], [para("twilight")])
    ordered = items("orderedList", [para("Photos"), nested], [para("Video")], order=3)
    assert flat(ordered) == "3. Photos\n   - drone\n   - twilight\n4. Video"
    assert flat(items("orderedList", [para("a")], [para("b")])) == "1. a\n2. b"
    deep = items("bulletList", [para("a"), items("bulletList", [para("b"), items("bulletList", [para("c")])])])
    assert flat(deep) == "- a\n  - b\n    - c"


def test_task_and_decision_lists_keep_their_state():
    tasks = {
        "type": "taskList",
        "attrs": {"localId": "t"},
        "content": [
            {"type": "taskItem", "attrs": {"localId": "1", "state": "DONE"}, "content": [text("Book the drone")]},
            {"type": "taskItem", "attrs": {"localId": "2", "state": "TODO"}, "content": [text("Call the agent")]},
            {
                "type": "taskList",
                "attrs": {"localId": "n"},
                "content": [{"type": "taskItem", "attrs": {"state": "TODO"}, "content": [text("Confirm the time")]}],
            },
        ],
    }
    decisions = {
        "type": "decisionList",
        "attrs": {"localId": "d"},
        "content": [
            {"type": "decisionItem", "attrs": {"state": "DECIDED"}, "content": [text("Shoot at dusk")]},
            {"type": "decisionItem", "attrs": {"state": "UNDECIDED"}, "content": [text("Music")]},
        ],
    }
    assert flat(tasks, decisions) == (
        "[x] Book the drone\n[ ] Call the agent\n    [ ] Confirm the time\n[decided] Shoot at dusk\n[undecided] Music"
    )


def test_a_code_block_keeps_its_text_and_its_language():
    code = {
        "type": "codeBlock",
        "attrs": {"language": "python"},
        "content": [text("for room in rooms:\n    shoot(room)")],
    }
    plain = {"type": "codeBlock", "content": [text("ls -l")]}
    assert flat(code, plain) == "```python\nfor room in rooms:\n    shoot(room)\n```\n```\nls -l\n```"


def test_panels_blockquotes_and_layouts_keep_their_content():
    panel = {"type": "panel", "attrs": {"panelType": "warning"}, "content": [para("Dog on premises")]}
    quote = {"type": "blockquote", "content": [para("As the agent said:"), para("keys at the desk")]}
    layout = {
        "type": "layoutSection",
        "content": [
            {"type": "layoutColumn", "attrs": {"width": 50}, "content": [para("Left")]},
            {"type": "layoutColumn", "attrs": {"width": 50}, "content": [para("Right")]},
        ],
    }
    assert flat(panel, quote, layout) == "Dog on premises\n> As the agent said:\n> keys at the desk\nLeft\nRight"


def test_expands_give_their_title_then_their_content():
    nested = {"type": "nestedExpand", "attrs": {"title": "Codes"}, "content": [para("Gate 1234")]}
    expand = {"type": "expand", "attrs": {"title": "Access details"}, "content": [para("Side door"), nested]}
    untitled = {"type": "expand", "attrs": {}, "content": [para("Hidden note")]}
    assert flat(expand, untitled) == "Access details\nSide door\nCodes\nGate 1234\nHidden note"


def test_tables_give_a_line_per_row_with_header_cells_and_nested_content():
    def cell(kind: str, *blocks: dict) -> dict:
        return {"type": kind, "attrs": {}, "content": list(blocks)}

    table = {
        "type": "table",
        "attrs": {"isNumberColumnEnabled": False, "layout": "default"},
        "content": [
            {"type": "tableRow", "content": [cell("tableHeader", para("Room")), cell("tableHeader", para("Shots"))]},
            {"type": "tableRow", "content": [cell("tableCell", para("Kitchen")), cell("tableCell", para("12"))]},
            {
                "type": "tableRow",
                "content": [
                    cell("tableCell", para("Garden")),
                    cell("tableCell", items("bulletList", [para("wide")], [para("detail")])),
                ],
            },
        ],
    }
    assert flat(table) == "Room | Shots\nKitchen | 12\nGarden | - wide - detail"


def test_media_gives_its_alt_text_file_name_or_external_url_and_its_caption():
    single = {
        "type": "mediaSingle",
        "attrs": {"layout": "center"},
        "content": [
            {"type": "media", "attrs": {"id": "a1", "type": "file", "collection": "", "alt": "front.jpg"}},
            {"type": "caption", "content": [text("The front door")]},
        ],
    }
    group = {
        "type": "mediaGroup",
        "content": [
            {"type": "media", "attrs": {"id": "b1", "type": "file", "collection": "", "__fileName": "plan.pdf"}},
            {"type": "media", "attrs": {"type": "external", "url": "https://cdn.example.com/tour.mp4"}},
            {"type": "media", "attrs": {"id": "b3", "type": "file", "collection": ""}},  # nothing readable
        ],
    }
    assert flat(single, group) == "front.jpg\nThe front door\nplan.pdf\nhttps://cdn.example.com/tour.mp4"


def test_extensions_give_their_text_or_content_or_else_their_key():
    extension = {"type": "extension", "attrs": {"extensionType": "com.acme", "extensionKey": "floor-plan"}}
    texted = {"type": "extension", "attrs": {"extensionKey": "k", "text": "Floor plan: 3 rooms"}}
    bodied = {"type": "bodiedExtension", "attrs": {"extensionKey": "note"}, "content": [para("Bring a tripod")]}
    assert flat(extension, texted, bodied) == "floor-plan\nFloor plan: 3 rooms\nBring a tripod"


def test_unknown_node_kinds_keep_their_text():
    future_block = {"type": "syncBlock", "attrs": {"id": "x"}, "content": [para("Synced words"), para("more")]}
    future_inline = {"type": "sparkle", "attrs": {"text": "✨ shiny"}}
    wrapper = {"type": "highlight", "content": [text("marked up")]}
    bare_text = {"type": "fancyText", "text": "plain inside"}
    assert flat(future_block, para("A ", future_inline, " ", wrapper, " ", bare_text)) == (
        "Synced words\nmore\nA ✨ shiny marked up plain inside"
    )


def test_broken_shapes_do_not_crash_and_give_up_their_text_and_what_was_malformed():
    broken = {"type": "doc", "content": [None, "x", {"type": "paragraph", "content": "nope"}, {}]}
    assert adf_to_text(broken) == "x\nnope"
    assert adf_problems(broken) == [
        "null where a node belongs",
        "a string where a node belongs",
        "a node without a type",
        "a content that is a string, not a list",
    ]
    assert flat(para({"type": "mention", "attrs": None}), {"type": "table", "content": [{"type": "tableRow"}]}) == ""


def test_absurdly_deep_documents_keep_their_text_without_blowing_the_stack():
    node: dict = para("bottom")
    for _ in range(3000):
        node = {"type": "blockquote", "content": [node]}
    assert adf_to_text(doc(node)).endswith("bottom")


# --- whole documents ---------------------------------------------------------------------------------


def test_a_realistic_description_reads_as_a_person_would_read_it():
    document = doc(
        {"type": "heading", "attrs": {"level": 1}, "content": [text("Shoot brief: 12 Oak St")]},
        para(
            "Agent ",
            {"type": "mention", "attrs": {"id": "u1", "text": "@Grace Hopper"}},
            " booked it for ",
            {"type": "date", "attrs": {"timestamp": "1767657600000"}},
            " ",
            {"type": "status", "attrs": {"text": "CONFIRMED", "color": "green"}},
            " ",
            {"type": "emoji", "attrs": {"shortName": ":camera:", "text": "📷"}},
        ),
        {"type": "panel", "attrs": {"panelType": "info"}, "content": [para("Lockbox code 4821")]},
        items("orderedList", [para("Exterior")], [para("Kitchen"), items("bulletList", [para("island")])]),
        {
            "type": "table",
            "content": [
                {
                    "type": "tableRow",
                    "content": [
                        {"type": "tableHeader", "content": [para("Room")]},
                        {"type": "tableHeader", "content": [para("Notes")]},
                    ],
                },
                {
                    "type": "tableRow",
                    "content": [
                        {"type": "tableCell", "content": [para("Garden")]},
                        {"type": "tableCell", "content": [para(text("see map", link("https://maps.test/1")))]},
                    ],
                },
            ],
        },
        {"type": "expand", "attrs": {"title": "Parking"}, "content": [para("Visitor bay 3")]},
        {"type": "rule"},
        {"type": "codeBlock", "attrs": {"language": "text"}, "content": [text("GATE=4821")]},
        para({"type": "placeholder", "attrs": {"text": "Add notes"}}),
    )
    assert adf_to_text(document) == "\n".join(
        [
            "Shoot brief: 12 Oak St",
            "Agent @Grace Hopper booked it for 2026-01-06 CONFIRMED 📷",
            "Lockbox code 4821",
            "1. Exterior",
            "2. Kitchen",
            "   - island",
            "Room | Notes",
            "Garden | see map (https://maps.test/1)",
            "Parking",
            "Visitor bay 3",
            "---",
            "```text",
            "GATE=4821",
            "```",
        ]
    )
    values = process_issue(
        {"id": "1", "fields": {"description": document}}, compile_mapping([FieldSpec("d", "text", ("description",))])
    )
    assert values.values["d"] == adf_to_text(document) and values.errors == []


def test_the_recorded_kp19_description_keeps_the_panel_after_its_hard_break():
    description = recorded("cloud-v3-issue-KP-19-adf.json")["fields"]["description"]
    flattened = adf_to_text(description)
    assert flattened.startswith("Lorem Ipsum\u00a0es simplemente el texto de relleno")
    assert flattened.endswith("versiones de Lorem Ipsum.\n\nsadsadsad")


def test_recorded_comments_keep_tables_links_and_emoji():
    page = recorded("cloud-v3-search-legacy-page-adf-customfields.json")
    bodies = [adf_to_text(c["body"]) for issue in page["issues"] for c in issue["fields"]["comment"]["comments"]]
    assert "Header 1 | Header 2 | Header 3\nRow 00 | Row 01 | Row 02\nRow 10 | Row 11 | Row 12" in bodies
    assert any(
        "- Google.com (https://www.google.com/)\n- Facebook.com (https://www.facebook.com/)" in b for b in bodies
    )
    assert "Carlos Test😁" in bodies


# --- no text is ever dropped -------------------------------------------------------------------------

words = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cc", "Cs", "Zl", "Zp", "Zs"]), min_size=1, max_size=8
)
inline_nodes = st.one_of(
    words.map(text),
    st.tuples(words, st.sampled_from(["mention", "emoji", "status", "sparkleFromTheFuture"])).map(
        lambda pair: {"type": pair[1], "attrs": {"text": pair[0]}}
    ),
)
block_kinds = ["paragraph", "heading", "blockquote", "panel", "expand", "nestedExpand", "layoutColumn",
               "tableCell", "tableHeader", "tableRow", "table", "listItem", "bulletList", "orderedList",
               "bodiedExtension", "mediaSingle", "caption", "unknownBlockKind"]  # fmt: skip
blocks = st.recursive(
    st.lists(inline_nodes, min_size=1, max_size=4).map(lambda nodes: {"type": "paragraph", "content": nodes}),
    lambda children: st.tuples(st.sampled_from(block_kinds), st.lists(children, min_size=1, max_size=3)).map(
        lambda pair: {"type": pair[0], "content": pair[1]}
    ),
    max_leaves=12,
)


def readable_texts(node: dict) -> list[str]:
    found = [node["text"]] if node.get("type") == "text" else []
    if node.get("type") != "text" and isinstance(node.get("attrs"), dict) and "text" in node["attrs"]:
        found.append(node["attrs"]["text"])
    for child in node.get("content") or []:
        found += readable_texts(child)
    return found


@settings(max_examples=int(os.environ.get("JIRASYNC_FUZZ_EXAMPLES", "150")), deadline=None)
@given(content=st.lists(blocks, min_size=1, max_size=4))
def test_every_text_of_any_arrangement_of_nodes_is_kept(content):
    document = doc(*content)
    flattened = adf_to_text(document)
    for piece in readable_texts(document):
        assert piece in flattened


@pytest.mark.parametrize(
    ("node", "problem"),
    [
        ({"type": "paragraph", "content": {"type": "text", "text": "lone child"}}, "a content that is an object"),
        ({"content": [{"text": "untyped"}, {"text": " nodes"}]}, "a node without a type"),
        ({"type": "x-para", "content": [{"type": "x-run", "text": "unknown kinds"}]}, None),  # ADF grows: no fault
        ({"type": "paragraph", "content": [{"type": "text", "text": ["listed ", 7]}]}, "a text that is a list"),
        ({"type": "paragraph", "content": [{"type": "text", "text": 42}]}, "a text that is a number"),
    ],
)
def test_a_malformed_tree_gives_up_its_text_and_says_what_was_malformed(node, problem):
    document = doc(para(text("before")), node, para(text("after")))
    flattened = adf_to_text(document)
    recovered = flattened.split("\n")[1]
    assert flattened.startswith("before\n") and flattened.endswith("\nafter")
    assert recovered in {"lone child", "untyped nodes", "unknown kinds", "listed 7", "42"}
    if problem is None:
        assert adf_problems(document) == []
    else:
        assert any(problem in found for found in adf_problems(document)), adf_problems(document)
    assert adf_problems(doc(para(text("well"), {"type": "hardBreak"}, text("formed")))) == []
