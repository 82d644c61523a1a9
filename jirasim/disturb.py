"""Changing a search's result while a client pages through it (singer-io/tap-jira #109).

Issues in the part of the result already served are edited (their `updated` becomes the site's
now, so in `ORDER BY updated` they move to the end), deleted, moved to another project, and new
issues are created. Every one of them shortens or reorders the part already served, so a client
that asks for the next offset skips as many issues as left it: those are reported as `skipped`.
"""

import random
from typing import Any

from jirasim.dataset import Dataset, IssueRecord
from jirasim.search import Read, SearchIndex


def disturb_read(
    index: SearchIndex,
    read: Read,
    served: int,
    *,
    rng: random.Random,
    edit: int = 0,
    delete: int = 0,
    move: int = 0,
    create: int = 0,
    minutes: float = 1.0,
    named: set[str] | frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Change issues among the first `served` of the read's current result (or the named issues).

    1. The candidates: the named live issues (edited when no count is given), else the served part
       of the result as it is now.
    2. Distinct candidates are drawn (seeded) to edit, then to delete, then to move; new issues go
       to the project of the first candidate (or the query's own project).
    3. After the change the result is read again: issues that now sit in the served part but were
       not served are the ones an offset-paging client skips (none for a frozen Cloud snapshot).
    """
    data = index.data
    before = index.result(read)
    candidates = _named(data, named) if named else _live(data, before[:served])
    if named and not (edit or delete or move or create):
        edit = len(candidates)  # naming issues and nothing else: edit them
    pool = list(candidates)
    chosen = {}
    for name, count in (("edit", edit), ("delete", delete), ("move", move)):
        picked = rng.sample(pool, min(count, len(pool))) if not named else pool[: max(count, 0)]
        chosen[name] = picked
        pool = [record for record in pool if record not in picked]
    projects = [data.projects[candidates[0].project]] if candidates else _query_projects(index, read)
    done = data.change(
        edit=chosen["edit"],
        delete=chosen["delete"],
        move=chosen["move"],
        create=[projects[0]] * create if projects else [],
        minutes=minutes,
    )
    served_before = set(before[:served])
    after = index.result(read)
    skipped = [i for i in after[:served] if i not in served_before] if read.snapshot is None else []
    done.update(
        {
            "jql": read.jql,
            "page": read.pages,
            "served": served,
            "skipped": [data.key_of(data.by_id[i]) for i in skipped],
        }
    )
    return done


def _live(data: Dataset, ids: list[int]) -> list[IssueRecord]:
    records = (data.by_id.get(i) for i in ids)
    return [r for r in records if r is not None and not r.deleted and r.raw is None]


def _named(data: Dataset, named: set[str] | frozenset[str]) -> list[IssueRecord]:
    records = [data.find(name) for name in sorted(named)]
    return [r for r in records if r is not None and r.raw is None]


def _query_projects(index: SearchIndex, read: Read) -> list:
    keys = index.parse(read.jql, bounded=read.bounded).projects or {index.data.projects[0].key}
    return [p for p in index.data.projects if p.key in keys]
