"""Paging that cannot skip an issue and proves that it advances.

Search uses keyset ("seek") paging on `updated`: each page is the first page of
`(jql) AND updated >= <newest updated read so far> ORDER BY updated ASC, key ASC`. An issue edited,
deleted, moved or created between two requests changes nothing before the cursor, so no other issue can
slide out of reach the way it does under offset paging (Data Center's `startAt`, and Cloud tokens that
are offsets into a live result); an issue edited after it was read comes round again with its new
`updated`, at the end. The issues read at the cursor's instant come back on the next page and are
dropped. No query is ever paged on by offset or token, not even inside one instant: when a page holds
only issues of the cursor's instant (more share it than a page holds, e.g. after a bulk change), the next
page is the first page of `… AND updated >= <cursor> AND key > "<last key read>"`, of which only the
issues still at that instant are kept (a later one may hide behind the key bound); once a later issue
shows up or the result ends, that instant is read whole and the seek goes on from the next millisecond,
without the key bound. (In JQL `key`, `issuekey`, `issue` and `id` are one field; a key comparison is by
project, then number — the order of ORDER BY key; a sync's search is one project's, where every reading
agrees.) Data Center's 10,000-result window is never reached.

A search that keeps finding changed issues (people edit faster than it reads) stops once it has read
READ_AGAIN_LIMIT times as many issues as matched at its start (Data Center's `total`, Cloud's
approximate count), plus a page: JiraOutpacedError. Everything before the cursor was read, so the
watermark passes nothing unread and the next run goes on from there.

Every paged loop here proves it advances: a repeated token, an echoed offset other than the one asked
for, an empty page that says more follow, or pages that bring nothing new raise JiraPagingError naming
the endpoint, instead of looping or handing the caller the same issues again.
"""

import contextvars
import re
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from syncing.jira.errors import JiraOutpacedError, JiraPagingError, JiraResponseTooLargeError

# Set on an issue whose whole answer was larger than the client's cap; the value says why. It costs its row.
UNREADABLE = "jirasync:unreadable"
KEY = re.compile(r"[A-Z][A-Z0-9_]*-[0-9]+", re.IGNORECASE)  # a key safe to quote in JQL
# A search stops once it has read this many times as many issues as matched at its start (plus a page). Reading
# N issues while each read brings r changed ones to the end costs N / (1 - r) reads: up to r = 3/4 it ends by
# itself within the bound; beyond it, it would not end at all.
READ_AGAIN_LIMIT = 4
STALE_PAGES_ALLOWED = 2  # pages in a row that bring nothing new before the loop is called stuck
ORDER_BY = "updated ASC, key ASC"


@dataclass(frozen=True)
class SearchPage:
    """One search answer, the flavours' differences taken out."""

    issues: list[dict[str, Any]]
    more: bool  # Jira says more issues follow in this query
    start: int = 0  # Data Center: the offset this page starts at (as echoed)
    token: str | None = None  # Cloud: the token for the next page of the same query
    total: int | None = None  # Data Center: how many issues match the query, as it says


# (jql without ORDER BY, page size, offset, token) -> the page
FetchPage = Callable[[str, int, int, str | None], SearchPage]


def updated_ms(issue: dict[str, Any]) -> int | None:
    """The issue's `updated` in epoch milliseconds, or None when the answer does not carry it."""
    fields = issue.get("fields")
    value = fields.get("updated") if isinstance(fields, dict) else None
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


@dataclass
class _Seen:
    """(id, updated) of the issues read near the cursor: enough to drop the ones a seek page repeats."""

    entries: dict[tuple[Hashable, int | None], int | None] = field(default_factory=dict)

    def fresh(self, issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
        found = []
        for issue in issues:
            moment = updated_ms(issue)
            identity = (issue.get("id") if isinstance(issue.get("id"), Hashable) else repr(issue), moment)
            if identity not in self.entries:
                self.entries[identity] = moment
                found.append(issue)
        return found

    def at(self, cursor: int | None) -> int:
        return sum(1 for moment in self.entries.values() if moment == cursor)

    def forget_before(self, cursor: int) -> None:
        """Issues read before the cursor's instant cannot come back unchanged: forget them (memory stays flat)."""
        self.entries = {key: moment for key, moment in self.entries.items() if moment is None or moment >= cursor}


def _page_within_cap(fetch: FetchPage, probe: FetchPage, query: str, size: int, start: int, token: str | None):
    """The page, asked again with half as many issues while the answer is larger than the client's cap; when
    one issue alone is too large, it comes from `probe` (ids and `updated` only), marked UNREADABLE with why,
    so it costs its own row and the seek moves past it."""
    while True:
        try:
            return fetch(query, size, start, token)
        except JiraResponseTooLargeError as exc:
            if size > 1:
                size //= 2
                continue
            page = probe(query, 1, start, token)
            for issue in page.issues:
                issue[UNREADABLE] = str(exc)
            return page


def seek_pages(
    fetch: FetchPage,
    jql: str,
    *,
    page_size: int,
    largest_page: int,
    token_paging: bool,
    where: str,
    probe: FetchPage | None = None,
    count: Callable[[str], int] | None = None,
    counted: Callable[[int], None] | None = None,
) -> Iterator[list]:
    """Yield every issue matching jql once per (id, updated), oldest `updated` first, page by page.

    token_paging: the endpoint pages a query by nextPageToken (Cloud), else by startAt (Data Center); only
    first pages are ever asked for, so neither is used, but a Data Center answer must echo startAt 0.
    probe: like fetch, but asking for ids and `updated` only (for an issue too large to read whole).
    count: jql -> how many issues match it now (Cloud's approximate count); asked once, after a first page
    that says more follow, when the answers carry no `total` — in a thread of its own, beside the second
    page (a serial run of requests is what a distant Jira makes slow).
    counted: told how many issues matched at the start — Data Center's total after the first page, Cloud's
    count after the second, or the first page's issues when it was the only page (progress: pages done of
    pages expected); not told when unknown.
    where: "<instance>: <METHOD> <path>", named in errors. Raises JiraPagingError when Jira's paging stalls,
    JiraOutpacedError once it has read READ_AGAIN_LIMIT times as many issues as matched at its start.
    """
    probe = probe or fetch
    counting: Future[int] | None = None  # Cloud's count, asked beside the second page (one latency less)
    seen = _Seen()
    cursor: int | None = None  # epoch ms: everything matching before this instant has been read
    after: str | None = None  # key of the last issue read at the cursor's instant, when paging inside it
    stale = pages = fetched = 0
    limit: int | None = None
    while True:
        query = jql if cursor is None else f"({jql}) AND updated >= {cursor}"
        if after is not None:
            query += f' AND key > "{after}"'
        size = min(largest_page, page_size + (0 if after is not None else seen.at(cursor)))
        page = _page_within_cap(fetch, probe, query, size, 0, None)
        pages += 1
        if not token_paging and page.start != 0:
            raise JiraPagingError(f"{where} ignored startAt=0 (answered from {page.start}); stopped at page {pages}")
        if counting is not None:
            matched = counting.result()  # asked while this page was: its answer is in by now, or soon
            counting = None
            limit = READ_AGAIN_LIMIT * matched + page_size
            if counted is not None:
                counted(matched)
        if limit is None and page.more:
            if page.total is None and count and pages == 1:
                counting = _asked_aside(count, jql)
            matched = page.total
            if matched is not None:
                limit = READ_AGAIN_LIMIT * matched + page_size
            if counted is not None and pages == 1 and matched is not None:
                counted(matched)
        elif counted is not None and pages == 1:
            counted(page.total if page.total is not None else len(page.issues))  # the only page
        if page.more and not page.issues:
            raise JiraPagingError(f"{where}: page {pages} is empty but says more issues follow; stopped")
        issues = page.issues
        if after is not None:
            # The key bound hides later issues whose key sorts before it: only this instant's issues count.
            cut = _first_later(issues, cursor)
            instant_done = cut < len(issues) or not page.more
            issues = issues[:cut]
        fresh = seen.fresh(issues)
        fetched += len(fresh)
        if fresh:
            yield fresh
        stale = 0 if fresh else stale + 1
        if after is not None:
            if instant_done:  # every issue at the cursor's instant is read: seek on from the next millisecond
                cursor, after = cursor + 1, None  # type: ignore[operator]
                seen.forget_before(cursor)
            else:
                after = _key(issues[-1], where, pages)
        else:
            if not page.more:
                return
            newest = max((m for m in map(updated_ms, fresh) if m is not None), default=None)
            if newest is not None and (cursor is None or newest > cursor):
                cursor = newest  # a new seek from the newest issue read
                seen.forget_before(cursor)
            elif cursor is not None and all(updated_ms(issue) in (cursor, None) for issue in page.issues):
                after = _key(page.issues[-1], where, pages)  # more share this instant than a page holds
        if stale > STALE_PAGES_ALLOWED:
            raise JiraPagingError(
                f"{where}: {stale} pages in a row held only issues already read (the same page again); stopped"
            )
        if limit is not None and fetched >= limit:
            raise JiraOutpacedError(
                f"{where}: issues kept changing faster than they could be read ({fetched} read, "
                f"{(limit - page_size) // READ_AGAIN_LIMIT} matched at the start); stopped, and the next run "
                "continues from the watermark"
            )


def _asked_aside(count: Callable[[str], int], jql: str) -> "Future[int]":
    """count(jql) in a thread of its own (in the caller's context: what it logs stays with the caller's run)."""
    future: Future[int] = Future()
    context = contextvars.copy_context()

    def ask() -> None:
        try:
            future.set_result(context.run(count, jql))
        except BaseException as exc:  # handed to the reader of the future
            future.set_exception(exc)

    threading.Thread(target=ask, name="jirasync-count", daemon=True).start()
    return future


def _first_later(issues: list[dict[str, Any]], cursor: int | None) -> int:
    """The position of the first issue later than the cursor's instant (the page is in `updated` order)."""
    return next((n for n, issue in enumerate(issues) if updated_ms(issue) not in (cursor, None)), len(issues))


def _key(issue: dict[str, Any], where: str, pages: int) -> str:
    key = issue.get("key")
    if not isinstance(key, str) or not KEY.fullmatch(key):
        raise JiraPagingError(f"{where}: page {pages} ends with an issue without a valid key ({key!r}); stopped")
    return key


@dataclass
class PageGuard:
    """Proof that a paged loop over a non-search endpoint advances; raises JiraPagingError when it does not."""

    where: str
    seen: set[Hashable] = field(default_factory=set)
    tokens: set[str] = field(default_factory=set)
    pages: int = 0

    def page(self, items: Iterable[Hashable], *, more: bool, token: str | None = None) -> None:
        """Check one page: items are its entries' identities; more: the page says more follow."""
        items = list(items)
        new = set(items) - self.seen
        self.counted(len(items), len(new), more=more, token=token)
        self.seen |= new

    def counted(self, entries: int, new: int, *, more: bool, token: str | None = None) -> None:
        """Check one page whose caller tells apart the entries already read: entries on the page, new among
        them (for a caller that keeps its own record of what it read)."""
        self.pages += 1
        if more and not entries:
            raise JiraPagingError(f"{self.where}: page {self.pages} is empty but says more follow; stopped")
        if entries and not new:
            raise JiraPagingError(
                f"{self.where}: page {self.pages} held only entries already read (startAt ignored or the same page "
                "again); stopped"
            )
        if token is not None:
            if token in self.tokens:
                raise JiraPagingError(
                    f"{self.where} repeated its nextPageToken {token[:40]!r}; stopped at page {self.pages}"
                )
            self.tokens.add(token)
