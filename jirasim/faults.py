"""Faults, reproducible from a seed: latency, error statuses, resets, broken or slow bodies."""

import random
import threading
from dataclasses import dataclass, field

KINDS = {"500", "502", "503", "504", "reset", "truncate", "malformed", "slow"}


@dataclass
class FaultRule:
    kind: str  # one of KINDS
    endpoint: str = "*"  # "GET /rest/api/3/search/jql", a path template, or * for every Jira endpoint
    rate: float = 0.0  # probability per matching request
    nth: list[int] = field(default_factory=list)  # fail exactly these matching requests (1-based) ...
    times: int = 0  # ... or the first `times` matching requests

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r} (expected one of {sorted(KINDS)})")


class FaultPlan:
    def __init__(
        self, rules: list[FaultRule] | None = None, seed: int = 1, latency_ms: float = 0, jitter_ms: float = 0
    ) -> None:
        self.rules = list(rules or [])
        self.rng = random.Random(seed)
        self.latency_ms = latency_ms
        self.jitter_ms = jitter_ms
        self.seen: dict[int, int] = {}
        self.lock = threading.Lock()

    def delay_seconds(self) -> float:
        if not (self.latency_ms or self.jitter_ms):
            return 0.0
        with self.lock:
            return (self.latency_ms + self.rng.uniform(0, self.jitter_ms)) / 1000

    def fault_for(self, endpoint: str) -> str | None:
        """The fault to inflict on this request, if any (endpoint: "METHOD /path/template")."""
        with self.lock:
            for number, rule in enumerate(self.rules):
                if rule.endpoint not in ("*", endpoint, endpoint.split(" ", 1)[1]):
                    continue
                count = self.seen[number] = self.seen.get(number, 0) + 1
                if count in rule.nth or count <= rule.times or (rule.rate and self.rng.random() < rule.rate):
                    return rule.kind
            return None

    def replace(self, rules: list[FaultRule], latency_ms: float | None = None, jitter_ms: float | None = None) -> None:
        with self.lock:
            self.rules = list(rules)
            self.seen.clear()
            if latency_ms is not None:
                self.latency_ms = latency_ms
            if jitter_ms is not None:
                self.jitter_ms = jitter_ms
