"""Rich Atlassian Document Format text that uses every node kind, for sites with `SimConfig.rich_adf`.

Each document is seeded per issue and field, and comes with what a faithful flattening must show:
`parts`, the readable pieces in document order, and `absent`, text that must not show (placeholder
hints). Cloud v3 sends the document; REST v2 (Data Center, Cloud v2) sends the parts as plain lines.

Node kinds: https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from jirasim import catalog
from jirasim.streams import stream


@dataclass
class RichText:
    document: dict[str, Any]
    parts: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)

    @property
    def plain(self) -> str:
        return "\n".join(self.parts)


class _Builder:
    """Builds nodes and notes the readable text of each, in the order a reader meets it."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def text(self, value: str, *marks: dict) -> dict:
        self.parts.append(value)
        return {"type": "text", "text": value, **({"marks": list(marks)} if marks else {})}

    def linked(self, value: str, href: str) -> dict:
        self.parts += [value, href]
        return {"type": "text", "text": value, "marks": [{"type": "link", "attrs": {"href": href}}]}

    def shown(self, value: str) -> str:
        self.parts.append(value)
        return value

    def para(self, *content: dict) -> dict:
        return {"type": "paragraph", "content": list(content)}

    def item(self, *content: dict) -> dict:
        return {"type": "listItem", "content": list(content)}

    def cell(self, kind: str, value: str) -> dict:
        return {"type": kind, "attrs": {}, "content": [self.para(self.text(value))]}


def rich_document(seed: int, label: str, at_ms: int) -> RichText:
    """A document using every node kind, its wording drawn from seed; label names the field in it."""
    rng = stream(seed)
    b = _Builder()
    street = f"{rng.randint(1, 999)} {rng.choice(catalog.STREETS)}"
    agent, editor = rng.sample(catalog.USERS, 2)
    code = rng.randint(1000, 9999)
    shoot_ms = at_ms + rng.randint(1, 30) * 86_400_000
    placeholder = "Type the parking notes here"
    content = [
        {"type": "heading", "attrs": {"level": 2}, "content": [b.text(f"{label}: {street}")]},
        b.para(
            b.text("Agent ", {"type": "strong"}),
            {"type": "mention", "attrs": {"id": f"user-{agent[1]}", "text": b.shown(f"@{agent[0]}")}},
            b.text(" booked it for "),
            {"type": "date", "attrs": {"timestamp": str(shoot_ms)}},
            b.text(" ", {"type": "em"}),
            {"type": "status", "attrs": {"text": b.shown("CONFIRMED"), "color": "green", "localId": "s1"}},
            {"type": "emoji", "attrs": {"shortName": ":camera:", "id": "1f4f7", "text": b.shown("📷")}},
            {"type": "hardBreak"},
            b.text("See "),
            b.linked("the listing", f"https://listings.example.com/{seed % 100_000}"),
            {"type": "inlineCard", "attrs": {"url": b.shown(f"https://acme.atlassian.net/browse/OPS-{code}")}},
            {"type": "placeholder", "attrs": {"text": placeholder}},
        ),
        {"type": "panel", "attrs": {"panelType": "warning"}, "content": [b.para(b.text(f"Lockbox code {code}"))]},
        {
            "type": "orderedList",
            "attrs": {"order": rng.randint(2, 5)},
            "content": [
                b.item(b.para(b.text("Exterior"))),
                b.item(
                    b.para(b.text("Kitchen")),
                    {
                        "type": "bulletList",
                        "content": [b.item(b.para(b.text("island"))), b.item(b.para(b.text("pantry")))],
                    },
                ),
            ],
        },
        {
            "type": "taskList",
            "attrs": {"localId": "t"},
            "content": [
                {
                    "type": "taskItem",
                    "attrs": {"localId": "t1", "state": "DONE"},
                    "content": [b.text("Book the drone")],
                },
                {
                    "type": "taskItem",
                    "attrs": {"localId": "t2", "state": "TODO"},
                    "content": [b.text("Call the tenant")],
                },
            ],
        },
        {
            "type": "decisionList",
            "attrs": {"localId": "d"},
            "content": [
                {
                    "type": "decisionItem",
                    "attrs": {"localId": "d1", "state": "DECIDED"},
                    "content": [b.text("Shoot at dusk")],
                }
            ],
        },
        {
            "type": "table",
            "attrs": {"isNumberColumnEnabled": False, "layout": "default"},
            "content": [
                {"type": "tableRow", "content": [b.cell("tableHeader", "Room"), b.cell("tableHeader", "Shots")]},
                {
                    "type": "tableRow",
                    "content": [b.cell("tableCell", "Living"), b.cell("tableCell", str(rng.randint(5, 30)))],
                },
            ],
        },
        {"type": "codeBlock", "attrs": {"language": b.shown("python")}, "content": [b.text(f"gate = {code}")]},
        {"type": "blockquote", "content": [b.para(b.text(f"Ask for {editor[0]} at the desk"))]},
        {"type": "rule"},
        {
            "type": "expand",
            "attrs": {"title": b.shown("Parking")},
            "content": [
                b.para(b.text("Visitor bay")),
                {"type": "nestedExpand", "attrs": {"title": b.shown("Gate")}, "content": [b.para(b.text("Side gate"))]},
            ],
        },
        {
            "type": "mediaSingle",
            "attrs": {"layout": "center"},
            "content": [
                {
                    "type": "media",
                    "attrs": {"id": f"m{seed}", "type": "file", "collection": "", "alt": b.shown(f"front-{code}.jpg")},
                },
                {"type": "caption", "content": [b.text("The front door")]},
            ],
        },
        {
            "type": "mediaGroup",
            "content": [
                {
                    "type": "media",
                    "attrs": {
                        "id": f"g{seed}",
                        "type": "file",
                        "collection": "",
                        "__fileName": b.shown(f"plan-{code}.pdf"),
                    },
                },
                {
                    "type": "media",
                    "attrs": {"type": "external", "url": b.shown(f"https://cdn.example.com/tour-{code}.mp4")},
                },
            ],
        },
        b.para(
            b.text("Attached: "),
            {
                "type": "mediaInline",
                "attrs": {"id": f"i{seed}", "type": "file", "collection": "", "alt": b.shown("contract.pdf")},
            },
            {
                "type": "inlineExtension",
                "attrs": {"extensionType": "com.acme.macro", "extensionKey": b.shown("price-tag")},
            },
        ),
        {"type": "blockCard", "attrs": {"url": b.shown(f"https://maps.example.com/{code}")}},
        {"type": "embedCard", "attrs": {"url": b.shown(f"https://video.example.com/{code}"), "layout": "center"}},
        {
            "type": "layoutSection",
            "content": [
                {"type": "layoutColumn", "attrs": {"width": 50}, "content": [b.para(b.text("Left column"))]},
                {"type": "layoutColumn", "attrs": {"width": 50}, "content": [b.para(b.text("Right column"))]},
            ],
        },
        {"type": "extension", "attrs": {"extensionType": "com.acme.macro", "extensionKey": b.shown("floor-plan")}},
        {
            "type": "bodiedExtension",
            "attrs": {"extensionType": "com.acme", "extensionKey": "note"},
            "content": [b.para(b.text("Bring a tripod"))],
        },
        {
            "type": "simFutureBlock",
            "attrs": {"id": "x"},
            "content": [
                b.para(
                    b.text("Text of a node kind from the future"),
                    {"type": "simSparkle", "attrs": {"text": b.shown("✨")}},
                )
            ],
        },
    ]
    # The date node shows as its UTC day; it sits right after "booked it for" in reading order.
    day = datetime.fromtimestamp(shoot_ms / 1000, UTC).date().isoformat()
    b.parts.insert(b.parts.index(" booked it for ") + 1, day)
    parts = [part.strip() for part in b.parts if part.strip()]
    return RichText({"type": "doc", "version": 1, "content": content}, parts=parts, absent=[placeholder])
