"""Atlassian Document Format (Cloud v3 rich text) flattened to readable plain text.

https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/
"""

from typing import Any

_BLOCKS = {
    "paragraph",
    "heading",
    "blockquote",
    "codeBlock",
    "panel",
    "rule",
    "mediaSingle",
    "mediaGroup",
    "expand",
    "nestedExpand",
    "decisionList",
    "taskList",
    "table",
}


def is_adf(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "doc" and "content" in value


def adf_to_text(document: dict) -> str:
    """Return the document's text: blocks on their own lines, list items with "- ", cells with " | "."""
    lines: list[str] = []
    _render_blocks(document.get("content") or [], lines, indent="")
    return "\n".join(lines).strip()


def _render_blocks(nodes: list, lines: list[str], indent: str) -> None:
    for node in nodes:
        if not isinstance(node, dict):
            continue
        kind = node.get("type")
        children = node.get("content") or []
        if kind in ("bulletList", "orderedList"):
            for number, item in enumerate(children, start=1):
                marker = f"{number}. " if kind == "orderedList" else "- "
                item_lines: list[str] = []
                _render_blocks(item.get("content") or [], item_lines, indent="")
                for position, line in enumerate(item_lines or [""]):
                    lines.append(indent + (marker if position == 0 else "  ") + line)
        elif kind == "table":
            for row in children:
                cells = []
                for cell in row.get("content") or []:
                    cell_lines: list[str] = []
                    _render_blocks(cell.get("content") or [], cell_lines, indent="")
                    cells.append(" ".join(cell_lines))
                lines.append(indent + " | ".join(cells))
        elif kind == "rule":
            lines.append(indent + "---")
        elif kind in ("paragraph", "heading", "codeBlock") or _is_inline_only(children):
            text = inline_text(children)
            if text or kind == "paragraph":
                lines.append(indent + text)
        else:
            _render_blocks(children, lines, indent)


def _is_inline_only(children: list) -> bool:
    return (
        bool(children)
        and all(isinstance(c, dict) and c.get("type") not in _BLOCKS for c in children)
        and all(isinstance(c, dict) and c.get("type") in _INLINE for c in children)
    )


def inline_text(nodes: list) -> str:
    return "".join(_inline(node) for node in nodes if isinstance(node, dict))


def _inline(node: dict) -> str:
    kind = node.get("type")
    attrs = node.get("attrs") or {}
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "hardBreak":
        return "\n"
    if kind == "mention":
        return str(attrs.get("text") or "")
    if kind == "emoji":
        return str(attrs.get("text") or attrs.get("shortName") or "")
    if kind in ("inlineCard", "blockCard", "embedCard"):
        return str(attrs.get("url") or "")
    if kind == "status":
        return str(attrs.get("text") or "")
    if kind == "date":
        return str(attrs.get("timestamp") or "")
    return inline_text(node.get("content") or [])


_INLINE = {"text", "hardBreak", "mention", "emoji", "inlineCard", "status", "date", "placeholder", "mediaInline"}
