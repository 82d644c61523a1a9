"""Faults, reproducible from a seed.

Four families, all written as FaultRule (CLI --fault JSON, FaultPlan(rules=[…]), POST /_sim/faults):
- transport: an error status, a reset connection, a broken or slow body, or one that trickles in over a
  minute (each read is quick, the whole answer is not); comment and worklog bodies in malformed ADF
  (jirasim.malformed_adf);
- paging: a page token that repeats, a startAt that is ignored, the previous page again, an empty
  page that says more follow, a comment or worklog page shifted one item back;
- less data: issues answered with "fields": null, without fields, without the core fields or with them
  hollow (no id or name, empty, the wrong type), without the changelog that was asked for or with one
  that does not say its total; bulkfetch answers that leave issues out;
- disturb: right after page N of a search, issues in its already served part are edited, deleted,
  moved or created, so a client paging by offset skips the next ones.
"""

import random
import threading
import zlib
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from jirasim.malformed_adf import MALFORMED_ADF

ECHO_CREDENTIALS = "echo-credentials"  # a 200 answer whose names and texts repeat what authenticated it
TRANSPORT = frozenset(
    {"500", "502", "503", "504", "reset", "truncate", "malformed", "slow", "trickle", ECHO_CREDENTIALS} | MALFORMED_ADF
)
TRICKLE_SECONDS = 60.0  # a "trickle" answer's body arrives a few bytes a second, over this long
# shift-page: a page past the first starts one item early (one deleted before it while paging), so the pages
# hold one item twice and leave the last one out; done to an issue's comment and worklog lists.
PAGING = frozenset({"repeat-token", "ignore-start-at", "repeat-page", "empty-page", "shift-page"})
LESS_DATA = frozenset(
    {
        "fields-null",
        "fields-missing",
        "core-fields-missing",
        "core-fields-hollow",
        "changelog-missing",
        "changelog-untotalled",
    }
)
HOLLOW = ("empty", "wrong-type")
BULKFETCH_OMIT = "bulkfetch-omit"
DISTURB = "disturb"
KINDS = TRANSPORT | PAGING | LESS_DATA | {BULKFETCH_OMIT, DISTURB}
CORE_FIELDS = ("summary", "status", "created", "updated", "issuetype", "project")
LISTINGS = ("*", "ids", "full")
KEPT_DISTURBANCES = 200


@dataclass
class FaultRule:
    kind: str  # one of KINDS
    endpoint: str = "*"  # "GET /rest/api/3/search/jql", a path template, or * for every endpoint it applies to
    # Which requests: the nth matching ones (1-based), the first `times`, a share (`rate`); none: every one.
    rate: float = 0.0
    nth: list[int] = field(default_factory=list)
    times: int = 0
    # Which issues (less data, bulkfetch-omit, disturb): the named ones, else a stable share, else all.
    keys: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    share: float = 0.0
    listing: str = "*"  # searches: "ids" (no fields, or only id/key/updated: a census listing), "full"
    drop: list[str] = field(default_factory=lambda: list(CORE_FIELDS))  # core-fields-missing/-hollow: these
    # core-fields-hollow: "empty" (objects {"self": …} without id or name, strings ""), "wrong-type" (objects
    # as a plain string, strings as a number)
    hollow: str = "empty"
    # disturb: after page `after_page` of a search (and every later page when `repeat`), the clock moves
    # on `minutes` and that many issues of the served part are edited / deleted / moved; `create` new ones.
    after_page: int = 1
    repeat: bool = False
    edit: int = 0
    delete: int = 0
    move: int = 0
    create: int = 0
    minutes: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r} (expected one of {sorted(KINDS)})")
        if self.listing not in LISTINGS:
            raise ValueError(f"listing must be one of {LISTINGS}, not {self.listing!r}")
        if not 0 <= self.share <= 1 or not 0 <= self.rate <= 1:
            raise ValueError("rate and share are probabilities between 0 and 1")
        if self.hollow not in HOLLOW:
            raise ValueError(f"hollow must be one of {HOLLOW}, not {self.hollow!r}")
        if self.after_page < 1:
            raise ValueError("after_page counts pages from 1")
        self.named = {str(name).upper() for name in [*self.keys, *self.ids]}

    @property
    def every_request(self) -> bool:
        return not (self.rate or self.nth or self.times)

    def applies_to(self, endpoint: str, listing: str | None = None) -> bool:
        """Whether the rule is about this endpoint ("METHOD /path/template") and this kind of search."""
        if self.endpoint not in ("*", endpoint, endpoint.split(" ", 1)[-1]):
            return False
        return listing is None or self.listing in ("*", listing)

    def as_dict(self) -> dict[str, Any]:
        """The rule as JSON, without the parameters left at their defaults."""
        defaults = asdict(FaultRule(self.kind))
        return {name: value for name, value in asdict(self).items() if name == "kind" or value != defaults[name]}


@dataclass(frozen=True)
class IssueRef:
    """An issue in an answer, as a rule's keys/ids selector sees it."""

    id: int
    key: str
    old_keys: tuple[str, ...] = ()


class FaultPlan:
    def __init__(
        self, rules: list[FaultRule] | None = None, seed: int = 1, latency_ms: float = 0, jitter_ms: float = 0
    ) -> None:
        self.rules = list(rules or [])
        self.seed = seed
        self.rng = random.Random(seed)
        self.latency_ms = latency_ms
        self.jitter_ms = jitter_ms
        self.seen: dict[int, int] = {}
        self.lock = threading.Lock()
        self.inflicted: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.affected: dict[str, set[str]] = defaultdict(set)  # kind -> keys of the issues it was done to
        self.disturbances: list[dict[str, Any]] = []
        self.memory: dict[tuple[int, str], dict[str, Any]] = {}  # (rule, endpoint) -> what it answered first

    def delay_seconds(self) -> float:
        if not (self.latency_ms or self.jitter_ms):
            return 0.0
        with self.lock:
            return (self.latency_ms + self.rng.uniform(0, self.jitter_ms)) / 1000

    def _fires(self, number: int, rule: FaultRule) -> bool:
        """Count one more matching request for the rule; whether the fault is done to it (lock held)."""
        count = self.seen[number] = self.seen.get(number, 0) + 1
        if rule.every_request:
            return True
        return count in rule.nth or count <= rule.times or bool(rule.rate and self.rng.random() < rule.rate)

    def fault_for(self, endpoint: str) -> str | None:
        """The transport fault to inflict on this request, if any (endpoint: "METHOD /path/template")."""
        fired = self.paging_fault(endpoint, TRANSPORT)
        return fired[0] if fired else None

    def paging_fault(
        self, endpoint: str, eligible: frozenset[str] | set[str], listing: str | None = None
    ) -> tuple[str, dict[str, Any]] | None:
        """The first rule of an eligible kind that fires for this request, counted as inflicted: its kind,
        and its memory for the endpoint (a repeating answer keeps there what it answered first)."""
        with self.lock:
            for number, rule in enumerate(self.rules):
                if rule.kind in eligible and rule.applies_to(endpoint, listing) and self._fires(number, rule):
                    self.inflicted[rule.kind][endpoint] += 1
                    return rule.kind, self.memory.setdefault((number, endpoint), {})
            return None

    def issue_faults(
        self, endpoint: str, eligible: set[str], issues: list[IssueRef], listing: str | None = None
    ) -> list[tuple[FaultRule, list[IssueRef]]]:
        """Each rule of an eligible kind that fires for an answer holding some issue it selects, with those issues.

        A request counts for a rule (nth, times, rate) only when it carries an issue the rule selects.
        """
        done = []
        with self.lock:
            for number, rule in enumerate(self.rules):
                if rule.kind not in eligible or not rule.applies_to(endpoint, listing):
                    continue
                chosen = [issue for issue in issues if self._selects(number, rule, issue)]
                if chosen and self._fires(number, rule):
                    done.append((rule, chosen))
        return done

    def _selects(self, number: int, rule: FaultRule, issue: IssueRef) -> bool:
        if rule.named:
            return bool(rule.named & {str(issue.id), issue.key.upper(), *issue.old_keys})
        if rule.share:
            # Stable per issue: the same issues are chosen whatever order or pages they come in.
            return zlib.crc32(f"{self.seed}:{number}:{issue.id}".encode()) / 2**32 < rule.share
        return True

    def record(self, kind: str, endpoint: str, keys: list[str]) -> None:
        """Count a fault done to an answer (less data, bulkfetch-omit) and the issues it was done to."""
        with self.lock:
            self.inflicted[kind][endpoint] += 1
            self.affected[kind].update(keys)

    def has(self, kinds: frozenset[str] | set[str]) -> bool:
        return any(rule.kind in kinds for rule in self.rules)

    def disturbances_due(self, endpoint: str, page: int, listing: str | None = None) -> list[FaultRule]:
        """The disturb rules that fire after this page (1-based) of a search."""
        due = []
        with self.lock:
            for number, rule in enumerate(self.rules):
                on_page = page == rule.after_page or (rule.repeat and page > rule.after_page)
                if (
                    rule.kind == DISTURB
                    and on_page
                    and rule.applies_to(endpoint, listing)
                    and self._fires(number, rule)
                ):
                    due.append(rule)
        return due

    def record_disturbance(self, endpoint: str, done: dict[str, Any]) -> None:
        with self.lock:
            self.inflicted[DISTURB][endpoint] += 1
            changed = done["updated"] + done["deleted"] + done["created"] + [m["to"] for m in done["moved"]]
            self.affected[DISTURB].update(changed)
            self.disturbances.append(done)
            del self.disturbances[:-KEPT_DISTURBANCES]

    def add(self, rule: FaultRule) -> None:
        with self.lock:
            self.rules.append(rule)

    def replace(self, rules: list[FaultRule], latency_ms: float | None = None, jitter_ms: float | None = None) -> None:
        """New rules; what was inflicted so far stays counted (reset_counts clears it)."""
        with self.lock:
            self.rules = list(rules)
            self.seen.clear()
            self.memory.clear()
            if latency_ms is not None:
                self.latency_ms = latency_ms
            if jitter_ms is not None:
                self.jitter_ms = jitter_ms

    def reset_counts(self) -> None:
        with self.lock:
            self.inflicted.clear()
            self.affected.clear()
            self.disturbances.clear()

    def report(self) -> dict[str, Any]:
        """What /_sim/faults says: the rules, and what was done: {kind: {endpoint: count}}, issues by kind."""
        with self.lock:
            return {
                "rules": [rule.as_dict() for rule in self.rules],
                "latency_ms": self.latency_ms,
                "jitter_ms": self.jitter_ms,
                "inflicted": {kind: dict(counts) for kind, counts in self.inflicted.items()},
                "issues": {kind: sorted(keys) for kind, keys in self.affected.items()},
                "disturbances": list(self.disturbances),
            }
