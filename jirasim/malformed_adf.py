"""Answers whose comment and worklog bodies are ADF with a malformed object tree, as hostile or buggy Jira
apps and migrations leave them: the fault kinds in MALFORMED_ADF (see jirasim.faults).

Each kind keeps every word of the body somewhere a careful reader can find it, so a client that flattens
what it can recovers the whole text; one that trusts the shape reads less, or nothing:
- adf-content-not-list: a node whose `content` holds one node has that node itself, not a list of it;
- adf-untyped: no node below the doc says its `type`;
- adf-unknown-kind: every node below the doc is of a kind ADF does not define (text still in `text`);
- adf-text-not-string: every text node's `text` is a list holding the string.
"""

from typing import Any

MALFORMED_ADF = frozenset({"adf-content-not-list", "adf-untyped", "adf-unknown-kind", "adf-text-not-string"})
NOTE_KEYS = ("body", "comment")  # a comment's body, a worklog's comment


def notes_malformed(payload: Any, kind: str) -> Any:
    """The payload with every ADF comment body and worklog comment in it malformed as `kind` says; the
    payload itself is not changed (the renderer caches the notes it holds)."""
    if isinstance(payload, list):
        return [notes_malformed(item, kind) for item in payload]
    if not isinstance(payload, dict):
        return payload
    return {
        name: _malformed(value, kind) if name in NOTE_KEYS and _is_doc(value) else notes_malformed(value, kind)
        for name, value in payload.items()
    }


def _is_doc(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "doc" and isinstance(value.get("content"), list)


def _malformed(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    return {**doc, "content": [_node(child, kind) for child in doc["content"]]}


def _node(node: Any, kind: str) -> Any:
    if not isinstance(node, dict):
        return node
    changed = dict(node)
    content = node.get("content")
    if isinstance(content, list):
        children = [_node(child, kind) for child in content]
        changed["content"] = children[0] if kind == "adf-content-not-list" and len(children) == 1 else children
    if kind == "adf-untyped":
        changed.pop("type", None)
    elif kind == "adf-unknown-kind":
        changed["type"] = f"x-{node.get('type')}"
    elif kind == "adf-text-not-string" and isinstance(node.get("text"), str):
        changed["text"] = [node["text"]]
    return changed
