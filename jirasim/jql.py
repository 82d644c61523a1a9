"""The subset of JQL a sync needs, parsed properly; anything else is a JqlError with Jira's wording.

Clauses: project (= != in, not in), id / key / issuekey (= != in, not in; < <= > >= on an id, or on a
key: project key, then number, the order of ORDER BY key),
created / updated (= != < <= > >=) against quoted dates (minute-granular, read in the
account's time zone), relative dates ("-15m") or unquoted epoch milliseconds; AND, OR, NOT,
parentheses; ORDER BY several fields.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo


class JqlError(ValueError):
    """Rendered as a 400 with {"errorMessages": [message], "errors": {}}."""


@dataclass(frozen=True)
class Row:
    """What a clause can look at: one issue's searchable values."""

    id: int
    key: str
    number: int
    project_key: str
    project_id: str
    created_ms: int
    updated_ms: int


Predicate = Callable[[Row], bool]


@dataclass(frozen=True)
class Seek:
    """A query that reads on from a cursor: `rest AND updated >= bound ORDER BY updated ASC, …`.

    Its result is the suffix of the result of `rest` (same order) from the first row past the
    bound, so a client paging by a moving window costs a bisection, not a scan of the site.
    """

    field: str  # updated | created | id: the first ORDER BY field
    operator: str  # > or >= (ascending order), < or <= (descending)
    bound: int
    rest: Predicate | None  # the query's other conditions (None: none)
    rest_text: str  # the JQL without the bound: names the cached result of `rest`


@dataclass(frozen=True)
class Query:
    predicate: Predicate | None  # None: no restriction at all (unbounded)
    order: list[tuple[str, bool]]  # (field, descending)
    projects: frozenset[str] | None  # project keys/ids the query is limited to, when it obviously is
    seek: Seek | None = None  # set when the query is a window that starts at a cursor

    def sort_key(self, row: Row) -> tuple:
        return tuple(_SORT[field](row) for field, _ in self.order)


_TOKEN = re.compile(
    r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<op>!=|>=|<=|=|>|<|~|\(|\)|,)|(?P<word>[^\s=!<>~(),"']+))"""
)
_FIELDS = {"project", "id", "key", "issuekey", "created", "updated", "createddate", "updateddate"}
_SORT = {
    "updated": lambda r: r.updated_ms,
    "created": lambda r: r.created_ms,
    "id": lambda r: r.id,
    "key": lambda r: (r.project_key, r.number),
    "issuekey": lambda r: (r.project_key, r.number),
    "project": lambda r: r.project_key,
}
_SEEK_OPERATORS = {False: (">=", ">"), True: ("<=", "<")}  # by ORDER BY direction (descending?)
_DATE_FORMATS = ["%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d"]
_RELATIVE = re.compile(r"^([+-]?)(\d+)([mhdw])$")
_UNITS_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


@dataclass(frozen=True)
class _Bound:
    field: str
    operator: str
    value: int
    start: int  # where the clause is in the JQL text
    end: int


@dataclass
class _Token:
    kind: str  # str | op | word | end
    text: str
    position: int


def _tokens(text: str) -> list[_Token]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if not match:
            raise JqlError(
                f"Error in the JQL Query: The character '{text[position]}' is a reserved JQL character. "
                f"(line 1, character {position + 1})"
            )
        kind = match.lastgroup or "word"
        start = match.start(kind)
        tokens.append(_Token(kind, match.group(kind), start))
        position = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str, now_ms: int, zone: ZoneInfo, known_projects: dict[str, str]) -> None:
        self.tokens = _tokens(text)
        self.at = 0
        self.now_ms = now_ms
        self.zone = zone
        self.projects = known_projects  # key or id (upper) -> key
        self.text = text
        self.depth = 0  # inside parentheses or NOT: clauses there are not top-level conjuncts
        self.conjunctions: list[list[tuple[Predicate, _Bound | None]]] = []  # the top level's AND groups
        self.last_bound: _Bound | None = None

    @property
    def token(self) -> _Token:
        return self.tokens[self.at]

    def word(self, *choices: str) -> bool:
        token = self.token
        return token.kind == "word" and token.text.lower() in choices

    def expect_error(self, expected: str) -> JqlError:
        token = self.token
        got = "end of query" if token.kind == "end" else f"'{token.text}'"
        return JqlError(
            f"Error in the JQL Query: Expecting {expected} but got {got}. (line 1, character {token.position + 1})"
        )

    def parse(self) -> Query:
        predicate, limited = None, None
        if not self.word("order") and self.token.kind != "end":
            predicate, limited = self.or_expression()
        order: list[tuple[str, bool]] = []
        if self.word("order"):
            self.at += 1
            if not self.word("by"):
                raise self.expect_error("'by'")
            self.at += 1
            order = self.order_list()
        if self.token.kind != "end":
            raise self.expect_error("either 'OR' or 'AND'")
        projects = frozenset(limited) if limited is not None else None
        return Query(predicate, order, projects, self.seek(order))

    def seek(self, order: list[tuple[str, bool]]) -> Seek | None:
        """The cursor bound of a query that is one AND group whose first ORDER BY field it bounds."""
        if not order or len(self.conjunctions) != 1:
            return None
        field, descending = order[0]
        parts = self.conjunctions[0]
        cursor = next(
            (
                bound
                for _, bound in reversed(parts)
                if bound and bound.field == field and bound.operator in _SEEK_OPERATORS[descending]
            ),
            None,
        )
        if cursor is None:
            return None
        others = [predicate for predicate, bound in parts if bound is not cursor]
        rest = None if not others else others[0] if len(others) == 1 else (lambda row: all(p(row) for p in others))
        rest_text = f"{self.text[: cursor.start]}\0{self.text[cursor.end :]}"
        return Seek(field, cursor.operator, cursor.value, rest, rest_text)

    def order_list(self) -> list[tuple[str, bool]]:
        order = []
        while True:
            token = self.token
            name = token.text.lower() if token.kind in ("word", "str") else ""
            if name.strip("\"'") not in _SORT:
                raise JqlError(
                    f"Error in the JQL Query: Field '{token.text}' does not exist or you do not have "
                    "permission to view it."
                )
            self.at += 1
            descending = False
            if self.word("asc", "desc"):
                descending = self.token.text.lower() == "desc"
                self.at += 1
            order.append((name.strip("\"'"), descending))
            if self.token.kind == "op" and self.token.text == ",":
                self.at += 1
                continue
            return order

    # Each expression returns (predicate, projects it is limited to or None), so a search
    # only scans the projects it can match.
    def or_expression(self) -> tuple[Predicate, set[str] | None]:
        parts = [self.and_expression()]
        while self.word("or"):
            self.at += 1
            parts.append(self.and_expression())
        if len(parts) == 1:
            return parts[0]
        limits = [limit for _, limit in parts]
        union = None if None in limits else set().union(*limits)
        predicates = [p for p, _ in parts]
        return (lambda row: any(p(row) for p in predicates)), union

    def and_expression(self) -> tuple[Predicate, set[str] | None]:
        top, bounds = self.depth == 0, []
        parts = []
        while True:
            self.last_bound = None
            parts.append(self.not_expression())
            bounds.append(self.last_bound)
            if not self.word("and"):
                break
            self.at += 1
        if top:
            self.conjunctions.append([(predicate, bound) for (predicate, _), bound in zip(parts, bounds, strict=True)])
        if len(parts) == 1:
            return parts[0]
        limits = [limit for _, limit in parts if limit is not None]
        intersection = set.intersection(*limits) if limits else None
        predicates = [p for p, _ in parts]
        return (lambda row: all(p(row) for p in predicates)), intersection

    def not_expression(self) -> tuple[Predicate, set[str] | None]:
        if self.word("not"):
            self.at += 1
            self.depth += 1
            inner, _ = self.not_expression()
            self.depth -= 1
            return (lambda row: not inner(row)), None
        if self.token.kind == "op" and self.token.text == "(":
            self.at += 1
            self.depth += 1
            inner = self.or_expression()
            self.depth -= 1
            if not (self.token.kind == "op" and self.token.text == ")"):
                raise self.expect_error("')'")
            self.at += 1
            return inner
        return self.clause()

    def clause(self) -> tuple[Predicate, set[str] | None]:
        token = self.token
        if token.kind not in ("word", "str"):
            raise self.expect_error("a field name")
        field = token.text.strip("\"'").lower()
        if field not in _FIELDS:
            raise JqlError(
                f"Field '{token.text.strip(chr(34))}' does not exist or you do not have permission to view it."
            )
        self.at += 1
        operator = self.operator()
        values = self.value_list() if operator in ("in", "not in") else [self.value()]
        built = self.build(field, operator, values)
        if self.depth == 0 and operator in (">=", ">", "<=", "<"):
            self.last_bound = self.bound(field, operator, values[0], token.position)
        return built

    def bound(self, field: str, operator: str, value: tuple[str, bool], start: int) -> "_Bound | None":
        """The clause as a cursor bound, when it compares a field a result can be ordered by."""
        name = {"createddate": "created", "updateddate": "updated"}.get(field, field)
        if name in ("created", "updated"):
            moment = self.moment(*value)
        elif name == "id" and value[0].isdigit():
            moment = int(value[0])
        else:
            return None
        return _Bound(name, operator, moment, start, self.token.position)

    def operator(self) -> str:
        token = self.token
        if token.kind == "op" and token.text in ("=", "!=", ">=", ">", "<=", "<"):
            self.at += 1
            return token.text
        if self.word("in"):
            self.at += 1
            return "in"
        if self.word("not"):
            self.at += 1
            if self.word("in"):
                self.at += 1
                return "not in"
        raise self.expect_error("an operator")

    def value(self) -> tuple[str, bool]:
        token = self.token
        if token.kind == "str":
            self.at += 1
            return token.text[1:-1], True
        if token.kind == "word" and token.text.lower() not in ("and", "or", "order"):
            self.at += 1
            return token.text, False
        raise self.expect_error("a value")

    def value_list(self) -> list[tuple[str, bool]]:
        if not (self.token.kind == "op" and self.token.text == "("):
            raise self.expect_error("'('")
        self.at += 1
        values = [self.value()]
        while self.token.kind == "op" and self.token.text == ",":
            self.at += 1
            values.append(self.value())
        if not (self.token.kind == "op" and self.token.text == ")"):
            raise self.expect_error("')'")
        self.at += 1
        return values

    def build(self, field: str, operator: str, values: list[tuple[str, bool]]) -> tuple[Predicate, set | None]:
        if field == "project":
            return self.project_clause(operator, values)
        if field in ("id", "key", "issuekey"):
            return self.issue_clause(operator, values), None
        moment = [self.moment(text, quoted) for text, quoted in values]
        attribute = "created_ms" if field.startswith("created") else "updated_ms"
        if operator in ("in", "not in"):
            raise JqlError(f"The operator '{operator.upper()}' is not supported by the '{field}' field.")
        compare = _COMPARE[operator]
        bound = moment[0]
        return (lambda row: compare(getattr(row, attribute), bound)), None

    def project_clause(self, operator: str, values: list[tuple[str, bool]]) -> tuple[Predicate, set | None]:
        if operator not in ("=", "!=", "in", "not in"):
            raise JqlError(f"The operator '{operator}' is not supported by the 'project' field.")
        keys = set()
        for text, _ in values:
            key = self.projects.get(text.upper())
            if key is None:
                raise JqlError(f"The value '{text}' does not exist for the field 'project'.")
            keys.add(key)
        if operator in ("=", "in"):
            return (lambda row: row.project_key in keys), keys
        return (lambda row: row.project_key not in keys), None

    def issue_clause(self, operator: str, values: list[tuple[str, bool]]) -> Predicate:
        ids: set[int] = set()
        keys: set[str] = set()
        for text, _ in values:
            (ids.add(int(text)) if text.isdigit() else keys.add(text.upper()))
        if operator in ("=", "in"):
            return lambda row: row.id in ids or row.key in keys
        if operator in ("!=", "not in"):
            return lambda row: row.id not in ids and row.key not in keys
        if len(ids) + len(keys) != 1:
            raise JqlError(f"The operator '{operator}' is only supported with one issue id or key.")
        compare = _COMPARE[operator]
        if ids:
            bound = next(iter(ids))
            return lambda row: compare(row.id, bound)
        project, _, number = next(iter(keys)).rpartition("-")
        if not project or not number.isdigit():
            raise JqlError(f"The issue key '{next(iter(keys))}' for field 'key' is invalid.")
        place = (project, int(number))
        return lambda row: compare((row.project_key, row.number), place)

    def moment(self, text: str, quoted: bool) -> int:
        """A JQL date value as epoch milliseconds."""
        if not quoted and text.lstrip("-").isdigit() and len(text.lstrip("-")) > 8:
            return int(text)  # unquoted digits: milliseconds after the epoch
        relative = _RELATIVE.match(text.strip())
        if relative:
            sign, amount, unit = relative.groups()
            delta = int(amount) * _UNITS_MS[unit]
            return self.now_ms - delta if sign == "-" else self.now_ms + delta
        for pattern in _DATE_FORMATS:
            try:
                parsed = datetime.strptime(text.strip(), pattern)
            except ValueError:
                continue
            return int(parsed.replace(tzinfo=self.zone).timestamp() * 1000)
        raise JqlError(
            f"Date value '{text}' for field 'updated' is invalid. Valid formats include: "
            "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format "
            "e.g. '-5d', '4w 2d'."
        )


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
}


def sort_value(field: str, row: Row) -> Any:
    """The value ORDER BY field sorts row by."""
    return _SORT[field](row)


def parse_jql(text: str, *, now_ms: int, zone: str, projects: dict[str, str]) -> Query:
    """Parse text; projects maps every project key and id (upper case) to its key."""
    return _Parser(text or "", now_ms, ZoneInfo(zone), projects).parse()
