"""Atlassian Document Format (Cloud v3 rich text) flattened to readable plain text.

Shape: `{"type": "doc", "version": 1, "content": [block, …]}`; a block node holds blocks or inline
nodes in `content`, with its settings in `attrs`; a `text` node has `text` and `marks` (strong, em,
link, …). Node kinds: https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/

Nothing readable is dropped; what each kind becomes:

| node | text |
|---|---|
| paragraph, heading, caption | its inline text on a line (a hardBreak starts a new line) |
| text with a `link` mark | the text, then ` (url)` unless the text is the url |
| a link or a card next to text | kept apart by a space (not inside brackets or quotes, nor before `.,;:!?`) |
| mention / emoji / status | `attrs.text` (mention: else the id; emoji: else the shortName) |
| date | `attrs.timestamp` (epoch ms) as an ISO date, UTC |
| inlineCard, blockCard, embedCard | `attrs.url`, else the name and url of `attrs.data` |
| media, mediaInline | `attrs.alt`, else the file name, else an external url (a line each in mediaSingle/Group) |
| bulletList / orderedList | `- item` / `N. item` from `attrs.order`; nested lists indented under their item |
| taskList / decisionList | `[x] done`, `[ ] to do` / `[decided] …`, `[undecided] …` |
| table | a line per row, cells (header cells too) joined with ` | ` |
| codeBlock | fenced: a line ```` ```language ````, the code, ```` ``` ```` |
| blockquote | its lines prefixed with `> ` |
| expand, nestedExpand | `attrs.title` on a line, then the content |
| panel, layoutSection, layoutColumn, bodiedExtension | their content |
| extension, inlineExtension | `attrs.text` or content, else `attrs.extensionKey` |
| rule | `---` |
| placeholder | nothing (template hint text, not content) |
| any other kind | its text, its content, or `attrs.text` (else `url`) — never dropped; inline when it has no content |

A malformed tree gives up what text it holds too: a `content` that is one node rather than a list of
them is read as that node, a string where a node belongs (or as `content`) as text, a node without a
`type` as an unknown one, a `text` that is a number or a list of strings as that text. `adf_problems` says
what was malformed, for the caller to make visible.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

_INLINE_KINDS = {
    "text",
    "hardBreak",
    "mention",
    "emoji",
    "date",
    "status",
    "inlineCard",
    "placeholder",
    "mediaInline",
    "inlineExtension",
}
_LIST_KINDS = {"bulletList", "orderedList", "taskList", "decisionList"}
_ITEM_KINDS = {"listItem", "taskItem", "decisionItem"}
_MAX_DEPTH = 100  # deeper than any editor nests; beyond it the text is kept without structure
_TABLE_PARTS = {"tableRow", "tableCell", "tableHeader"}
MAX_PROBLEMS = 5  # distinct problems adf_problems names at most


def is_adf(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "doc" and "content" in value


def adf_to_text(document: dict) -> str:
    """Return the document's readable text: a line per block, as the table in the module docstring says."""
    lines = [line.rstrip() for line in _blocks(_children(document), 0)]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


# --- blocks -------------------------------------------------------------------------------------


def _children(node: dict) -> list[dict]:
    """The node's child nodes; a malformed content's text as text nodes (a lone node: as a list of it)."""
    content = node.get("content")
    if isinstance(content, list):
        if all(isinstance(child, dict) for child in content):  # the well-formed case, without a copy per child
            return content
        return [child if isinstance(child, dict) else _text_node(child) for child in content if _has_text(child)]
    if isinstance(content, dict):
        return [content]
    return [_text_node(content)] if _has_text(content) else []


def _has_text(value: Any) -> bool:
    return isinstance(value, dict) or bool(_loose_text(value))


def _text_node(value: Any) -> dict:
    return {"type": "text", "text": _loose_text(value)}


def _loose_text(value: Any) -> str:
    """A `text` as a string whatever Jira sent: a number as written, a list's strings joined, null as ''."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "".join(_loose_text(item) for item in value)
    return ""


def _leaf_text(node: dict) -> bool:
    """A node read as inline though its kind says nothing of it: unknown or untyped, without content (ADF's
    leaves are inline but for the block kinds it names: rule, media, cards)."""
    return "content" not in node and node.get("type") not in _BLOCK_RENDERERS


def _attrs(node: dict) -> dict:
    attrs = node.get("attrs")
    return attrs if isinstance(attrs, dict) else {}


def _blocks(nodes: list[dict], depth: int) -> list[str]:
    """The lines of a sequence of blocks; runs of inline nodes among them make a line of their own."""
    lines: list[str] = []
    run: list[dict] = []
    for node in nodes:
        if node.get("type") in _INLINE_KINDS or _leaf_text(node):
            run.append(node)
            continue
        if run:
            lines += _text_lines(inline_text(run, depth))
            run = []
        lines += _block(node, depth + 1)
    if run:
        lines += _text_lines(inline_text(run, depth))
    return lines


def _block(node: dict, depth: int) -> list[str]:
    if depth > _MAX_DEPTH:
        return _text_lines(_all_text(node))
    render = _BLOCK_RENDERERS.get(str(node.get("type")), _unknown_block)
    return render(node, depth)


def _text_lines(text: str) -> list[str]:
    return text.split("\n")


def _paragraph(node: dict, depth: int) -> list[str]:
    return _text_lines(inline_text(_children(node), depth))


def _container(node: dict, depth: int) -> list[str]:
    return _blocks(_children(node), depth)


def _blockquote(node: dict, depth: int) -> list[str]:
    return [f"> {line}".rstrip() for line in _blocks(_children(node), depth)]


def _code_block(node: dict, depth: int) -> list[str]:
    language = str(_attrs(node).get("language") or "")
    return [f"```{language}", *_text_lines(inline_text(_children(node), depth)), "```"]


def _rule(node: dict, depth: int) -> list[str]:
    return ["---"]


def _expand(node: dict, depth: int) -> list[str]:
    title = str(_attrs(node).get("title") or "")
    return ([title] if title else []) + _blocks(_children(node), depth)


def _media_block(node: dict, depth: int) -> list[str]:
    """mediaSingle and mediaGroup: a line per media item and for the caption."""
    if node.get("type") == "media":
        return [text] if (text := _media_text(node)) else []
    lines = []
    for child in _children(node):
        lines += [text] if (text := _media_text(child)) else _block(child, depth + 1)
    return [line for line in lines if line]


def _card_block(node: dict, depth: int) -> list[str]:
    return [_card_text(_attrs(node))]


def _extension_block(node: dict, depth: int) -> list[str]:
    attrs = _attrs(node)
    lines = _blocks(_children(node), depth)
    if attrs.get("text"):
        return _text_lines(str(attrs["text"])) + lines
    return lines if any(line.strip() for line in lines) else [str(attrs.get("extensionKey") or "")]


def _list(node: dict, depth: int) -> list[str]:
    """Items with their marker; an item's further lines (and nested lists) indented under its text."""
    kind = node.get("type")
    lines = []
    number = _list_start(node)
    for item in _children(node):
        if item.get("type") in _LIST_KINDS:  # a nested task or decision list sits beside the items
            lines += ["    " + line for line in _block(item, depth + 1)]
            continue
        marker = _marker(kind, item, number)
        number += 1
        inner = _children(item) if item.get("type") in _ITEM_KINDS else [item]
        item_lines = _blocks(inner, depth + 1) or [""]
        lines.append(marker + item_lines[0])
        lines += [(" " * len(marker) + line).rstrip() for line in item_lines[1:]]
    return lines


def _list_start(node: dict) -> int:
    order = _attrs(node).get("order", 1)
    return order if isinstance(order, int) and not isinstance(order, bool) and order >= 0 else 1


def _marker(kind: Any, item: dict, number: int) -> str:
    state = str(_attrs(item).get("state") or "").upper()
    if kind == "orderedList":
        return f"{number}. "
    if kind == "taskList":
        return "[x] " if state == "DONE" else "[ ] "
    if kind == "decisionList":
        return "[decided] " if state == "DECIDED" else "[undecided] "
    return "- "


def _table(node: dict, depth: int) -> list[str]:
    lines = []
    for row in _children(node):
        if row.get("type") != "tableRow":
            lines += _block(row, depth + 1)
            continue
        cells = [
            " ".join(line.strip() for line in _blocks([cell], depth + 1) if line.strip()) for cell in _children(row)
        ]
        lines.append(" | ".join(cells))
    return lines


def _unknown_block(node: dict, depth: int) -> list[str]:
    """A kind this code does not know: its text is kept, whatever the shape."""
    children = _children(node)
    if children:
        return _blocks(children, depth)
    return _text_lines(_inline(node, depth))


_BLOCK_RENDERERS: dict[str, Callable[[dict, int], list[str]]] = {
    "paragraph": _paragraph,
    "heading": _paragraph,
    "caption": _paragraph,
    "blockquote": _blockquote,
    "codeBlock": _code_block,
    "rule": _rule,
    "panel": _container,
    "layoutSection": _container,
    "layoutColumn": _container,
    "doc": _container,
    "expand": _expand,
    "nestedExpand": _expand,
    "mediaSingle": _media_block,
    "mediaGroup": _media_block,
    "media": _media_block,
    "blockCard": _card_block,
    "embedCard": _card_block,
    "extension": _extension_block,
    "bodiedExtension": _extension_block,
    "bulletList": _list,
    "orderedList": _list,
    "taskList": _list,
    "decisionList": _list,
    "table": _table,
}


# --- inline -------------------------------------------------------------------------------------


def inline_text(nodes: list, depth: int = 0) -> str:
    """The text of inline nodes; text under one link mark is followed by its url once, and a link or a card
    is kept apart from the text next to it by a space (else a url runs into the next word or url)."""
    pieces: list[tuple[str, bool]] = []  # (text, whether it is a link or a card)
    linked: list[str] = []
    href: str | None = None
    for node in nodes:
        if not isinstance(node, dict):
            continue
        node_href = _link_of(node)
        if node_href != href:
            pieces.append((_with_url("".join(linked), href), True))
            linked, href = [], node_href
        if href:
            linked.append(_inline(node, depth + 1))
        else:
            pieces.append((_inline(node, depth + 1), node.get("type") in _CARDS))
    pieces.append((_with_url("".join(linked), href), True))
    return _spaced(pieces)


_CARDS = frozenset({"inlineCard", "blockCard", "embedCard"})
_OPENING, _CLOSING = "([{\"'", ".,;:!?)]}\"'"


def _spaced(pieces: list[tuple[str, bool]]) -> str:
    """The pieces joined, with a space where a link or card would touch its neighbour: not next to whitespace,
    nor inside brackets or quotes, nor before a stop or comma."""
    joined, atom_before = "", False
    for text, atom in pieces:
        if not text:
            continue
        before, after = joined[-1:], text[0]
        touching = before and not (before.isspace() or after.isspace())
        if (atom or atom_before) and touching and before not in _OPENING and after not in _CLOSING:
            joined += " "
        joined, atom_before = joined + text, atom
    return joined


def _link_of(node: dict) -> str | None:
    marks = node.get("marks")
    for mark in marks if isinstance(marks, list) else []:
        if isinstance(mark, dict) and mark.get("type") == "link":
            href = (mark.get("attrs") or {}).get("href") if isinstance(mark.get("attrs"), dict) else None
            return str(href) if href else None
    return None


def _with_url(text: str, href: str | None) -> str:
    if not href or text.strip() == href:
        return text
    return f"{text} ({href})" if text.strip() else href


def _inline(node: dict, depth: int) -> str:
    if depth > _MAX_DEPTH:
        return _all_text(node)
    kind = node.get("type")
    attrs = _attrs(node)
    render = _INLINE_RENDERERS.get(str(kind))
    if render is not None:
        return render(node, attrs, depth)
    # Unknown kind: its own text, else its content (blocks kept apart by spaces), else attrs.text.
    if "text" in node:
        return _loose_text(node["text"])
    children = _children(node)
    if children:
        if all(child.get("type") in _INLINE_KINDS for child in children):
            return inline_text(children, depth)
        return " ".join(line for line in _blocks(children, depth) if line.strip())
    return str(attrs.get("text") or attrs.get("url") or "")


def _iso_date(timestamp: Any) -> str:
    """attrs.timestamp is epoch milliseconds, usually as a string."""
    try:
        return datetime.fromtimestamp(int(str(timestamp).strip()) / 1000, UTC).date().isoformat()
    except (ValueError, OverflowError, OSError):
        return str(timestamp or "")


def _card_text(attrs: dict) -> str:
    """inlineCard/blockCard/embedCard: the url, or the name and url of its JSON-LD data."""
    if attrs.get("url"):
        return str(attrs["url"])
    data = attrs.get("data")
    if not isinstance(data, dict):
        data = {}
    name, url = str(data.get("name") or ""), str(data.get("url") or "")
    return f"{name} ({url})" if name and url and name != url else name or url


def _media_text(node: dict) -> str:
    """media/mediaInline: alt text, else the file name Jira adds, else an external url; "" for other nodes."""
    if node.get("type") not in ("media", "mediaInline"):
        return ""
    attrs = _attrs(node)
    for key in ("alt", "__fileName", "fileName", "name"):
        if attrs.get(key):
            return str(attrs[key])
    return str(attrs.get("url") or "") if attrs.get("type") in ("external", "link") else ""


def _extension_inline(node: dict, attrs: dict, depth: int) -> str:
    if attrs.get("text"):
        return str(attrs["text"])
    return inline_text(_children(node), depth) or str(attrs.get("extensionKey") or "")


_INLINE_RENDERERS: dict[str, Callable[[dict, dict, int], str]] = {
    "text": lambda node, attrs, depth: _loose_text(node.get("text")),
    "hardBreak": lambda node, attrs, depth: "\n",
    "mention": lambda node, attrs, depth: str(attrs.get("text") or attrs.get("id") or ""),
    "emoji": lambda node, attrs, depth: str(attrs.get("text") or attrs.get("shortName") or ""),
    "status": lambda node, attrs, depth: str(attrs.get("text") or ""),
    "date": lambda node, attrs, depth: _iso_date(attrs.get("timestamp")),
    "inlineCard": lambda node, attrs, depth: _card_text(attrs),
    "blockCard": lambda node, attrs, depth: _card_text(attrs),
    "embedCard": lambda node, attrs, depth: _card_text(attrs),
    "mediaInline": lambda node, attrs, depth: _media_text(node),
    "media": lambda node, attrs, depth: _media_text(node),
    "inlineExtension": _extension_inline,
    "placeholder": lambda node, attrs, depth: "",
}


def _all_text(node: dict) -> str:
    """Every text node under node, joined by spaces, without recursion (for absurdly deep documents)."""
    texts, stack = [], [node]
    while stack:
        current = stack.pop()
        if text := _loose_text(current.get("text")):
            texts.append(text)
        stack.extend(reversed(_children(current)))
    return " ".join(texts)


def adf_problems(document: dict) -> list[str]:
    """What is malformed in the document's tree, distinct, MAX_PROBLEMS at most ([]: nothing): nodes
    without a type, a content that is no list, what is no node where a node belongs, a text that is no
    string. A kind this reader does not know is not malformed: ADF grows new kinds (Atlassian adds them
    without notice), and their text is read like any other. Iterative: any depth."""
    found: dict[str, None] = {}
    stack = [document]
    while stack and len(found) < MAX_PROBLEMS:
        node = stack.pop()
        kind = node.get("type")
        if not isinstance(kind, str):
            found["a node without a type"] = None
        if "text" in node and not isinstance(node["text"], str):
            found[f"a text that is {_kind_of(node['text'])}, not a string"] = None
        content = node.get("content")
        if content is None:
            continue
        if not isinstance(content, list):
            found[f"a content that is {_kind_of(content)}, not a list"] = None
            content = [content]
        for child in content:
            if isinstance(child, dict):
                stack.append(child)
            else:
                found[f"{_kind_of(child)} where a node belongs"] = None
    return list(found)


def _kind_of(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )
