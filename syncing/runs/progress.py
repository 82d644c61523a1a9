"""How far a run has come, for its page, the run list and the dashboard: live counts (an instance run's are
its project runs' sums while they work), pages done of pages expected, rate and ETA.

Pages expected come from what Jira counted for the run's query (Data Center's total, Cloud's approximate
count) or, for a full sync Jira gave no count for, the last census; the page size is the one observed so
far. An instance run expects what its project runs expect.
"""

import math
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Sum

from lib.value_rows import rows_of
from syncing.models import SyncRun
from syncing.runs.bookkeeping import OWN_COUNTS, SUMMED


@dataclass
class RunProgress:
    run: SyncRun
    children: list[SyncRun] = field(default_factory=list)
    expected_issues: int | None = None
    pages_expected: int | None = None
    rate: float | None = None  # issues read per second
    eta_seconds: float | None = None

    @property
    def children_active(self) -> int:
        return sum(1 for child in self.children if child.is_active)


def runs_live_counts(runs: list[SyncRun]) -> None:
    """Give each active instance run among runs its project runs' sums so far (plus its own requests), in
    place; one query whatever the number of runs."""
    active = {run.pk: run for run in runs if run.project_id is None and run.is_active}
    if not active:
        return
    rows = (
        SyncRun.objects.filter(parent_id__in=list(active))
        .values("parent_id", "kind")
        .annotate(**{name: Sum(name) for name in SUMMED}, expected=Sum("expected_issues"))
    )
    sums: dict[int, dict[str, int]] = {}
    for row in rows_of(rows):
        parent = active[row["parent_id"]]
        into = sums.setdefault(parent.pk, {name: 0 for name in SUMMED} | {"expected_issues": 0})
        # The project runs of the run's own kind add up; the censuses after a full sync add deletions.
        for name in SUMMED if row["kind"] == parent.kind else ("deleted", "recovered"):
            into[name] += row[name] or 0
        if row["kind"] == parent.kind:
            into["expected_issues"] += row["expected"] or 0
    for run_id, values in sums.items():
        run = active[run_id]
        for name in SUMMED:
            setattr(run, name, values[name] + (getattr(run, name) if name in OWN_COUNTS else 0))
        run.expected_issues = values["expected_issues"] or None


def run_progress_of(run: SyncRun) -> RunProgress:
    """The run's progress with its project runs (for an instance run), counts live."""
    progress = RunProgress(run)
    if run.project_id is None:
        progress.children = list(run.children.select_related("project").order_by("id"))
        runs_live_counts([run])
        expected = {child.pk: pages_expected(child) for child in progress.children}
        for child in progress.children:
            child.pages_expected = expected[child.pk]  # type: ignore[attr-defined]  # shown per project run
        known = [n for c in progress.children if c.kind == run.kind and (n := expected[c.pk]) is not None]
        progress.pages_expected = sum(known) if known else None
    else:
        progress.pages_expected = pages_expected(run)
    progress.expected_issues = run.expected_issues
    seconds = run.duration_seconds
    if seconds and run.fetched:
        progress.rate = run.fetched / seconds
        if run.is_active and progress.expected_issues:
            progress.eta_seconds = max(0.0, progress.expected_issues - run.fetched) / progress.rate
    return progress


def pages_expected(run: SyncRun) -> int | None:
    """How many pages the run should read in all: what Jira counted over the page size seen so far; its pages
    once it ended; None when Jira gave no count."""
    if not run.is_active and run.pages:
        return run.pages
    if run.expected_issues is None:
        return None
    per_page = run.fetched / run.pages if run.pages else settings.JIRASYNC_PAGE_SIZE
    return max(run.pages, math.ceil(run.expected_issues / max(per_page, 1.0)))
