"""Pieces many answers hold and nothing changes once built (users, statuses, priorities, issue types,
projects, options, versions, components, link types, change items, shared ADF documents …), serialised once.

A Shared is a dict, so whatever reads an answer before it is sent (field filters, JQL, faults that edit
answers, webhooks, tests) sees the dict; `dumps` splices its JSON, made when it was built, instead of
serialising it again for every answer that holds it. Callers must never change a Shared: copy it first
(`dict(piece)` or `{**piece}` give plain dicts, which are serialised as usual).
"""

import copy
import json
from operator import attrgetter
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is optional
    orjson = None  # type: ignore[assignment]


class Shared(dict):
    """A dict with its JSON made once (`fragment`: an orjson.Fragment). Make them with shared()."""

    __slots__ = ("fragment",)

    def __init__(self, value: dict[str, Any], fragment: Any) -> None:
        super().__init__(value)
        self.fragment = fragment

    # Copied, deep-copied and pickled as the plain dict it holds (a fragment cannot be pickled, and a copy is
    # made to be changed, so it must be serialised from its values again).
    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return copy.deepcopy(dict(self), memo)

    def __reduce_ex__(self, protocol: Any) -> tuple[type, tuple[dict[str, Any]]]:
        return dict, (dict(self),)


def shared(value: dict[str, Any]) -> dict[str, Any]:
    """The piece as a Shared; a plain dict when orjson is missing or cannot serialise it (a lone
    surrogate, nesting past its limit: dumps' fallback serialises the answer holding it)."""
    if orjson is None:  # pragma: no cover - orjson is optional
        return value
    try:
        made = orjson.dumps(value, default=_default, option=PASSTHROUGH)
    except TypeError:
        return value
    # orjson's bytes keep the whole buffer it wrote into (4 KB at least): kept, a copy of their length
    return Shared(value, orjson.Fragment(bytes(memoryview(made))))


PASSTHROUGH = orjson.OPT_PASSTHROUGH_SUBCLASS if orjson is not None else 0


def _default(value: Any) -> Any:
    """orjson's default under OPT_PASSTHROUGH_SUBCLASS: a Shared's fragment, any other subclass of a JSON
    type (a defaultdict of stats, …) as its base type, which orjson then serialises as without the option."""
    if type(value) is Shared:
        return value.fragment
    for base in (dict, list, str, int, float):
        if isinstance(value, base):
            return base(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_fragment = attrgetter("fragment")  # Shared's fragment; AttributeError (orjson: TypeError) for any other type


def dumps(value: Any) -> bytes:
    """The compact JSON of an answer (bytes), Shared pieces spliced from their fragments."""
    if orjson is None:  # pragma: no cover - orjson is optional
        return json.dumps(value, separators=(",", ":")).encode()
    try:  # the C getter first: the Shared pieces are all the subclasses an issue's answer holds
        return orjson.dumps(value, default=_fragment, option=PASSTHROUGH)
    except TypeError:
        pass
    try:  # other subclasses (a defaultdict of stats …)
        return orjson.dumps(value, default=_default, option=PASSTHROUGH)
    except TypeError:  # a lone surrogate or nesting past orjson's limit: Jira sends them, so must we
        return json.dumps(value, separators=(",", ":")).encode()
