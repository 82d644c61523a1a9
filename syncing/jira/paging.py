"""Paging that cannot skip an issue and proves that it advances.

Search uses keyset ("seek") paging on `updated`: each page is the first page of
`(jql) AND updated >= <newest updated read so far> ORDER BY updated ASC, key ASC`. An issue edited,
deleted, moved or created between two requests changes nothing before the cursor, so no other issue can
slide out of reach the way it does under offset paging (Data Center's `startAt`, and Cloud tokens that
are offsets into a live result); an issue edited after it was read comes round again with its new
`updated`, at the end. The issues read at the cursor's instant come back on the next page and are
dropped; when more of them share one instant than a page holds, the same query is paged on (offset or
token) until the cursor moves. Data Center's 10,000-result window is never reached.

Every paged loop here proves it advances: a repeated token, an echoed offset other than the one asked
for, an empty page that says more follow, or pages that bring nothing new raise JiraPagingError naming
the endpoint, instead of looping or handing the caller the same issues again.
"""

from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from syncing.jira.errors import JiraPagingError, JiraResponseTooLargeError

# Set on an issue whose whole answer was larger than the client's cap; the value says why. It costs its row.
UNREADABLE = "jirasync:unreadable"
STALE_PAGES_ALLOWED = 2  # pages in a row that bring nothing new before the loop is called stuck
ORDER_BY = "updated ASC, key ASC"


@dataclass(frozen=True)
class SearchPage:
    """One search answer, the flavours' differences taken out."""

    issues: list[dict[str, Any]]
    more: bool  # Jira says more issues follow in this query
    start: int = 0  # Data Center: the offset this page starts at (as echoed)
    token: str | None = None  # Cloud: the token for the next page of the same query
    total: int | None = None  # Data Center: how many issues match the query


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
) -> Iterator[list]:
    """Yield every issue matching jql once per (id, updated), oldest `updated` first, page by page.

    token_paging: the endpoint pages a query by nextPageToken (Cloud), else by startAt (Data Center).
    probe: like fetch, but asking for ids and `updated` only (for an issue too large to read whole).
    where: "<instance>: <METHOD> <path>", named in errors. Raises JiraPagingError when Jira's paging stalls.
    """
    probe = probe or fetch
    seen = _Seen()
    cursor: int | None = None
    within: tuple[int, str | None] | None = None  # (offset, token) paging on inside the current seek query
    tokens: set[str] = set()
    stale = pages = 0
    while True:
        query = jql if cursor is None else f"({jql}) AND updated >= {cursor}"
        start, token = within or (0, None)
        page = _page_within_cap(fetch, probe, query, min(largest_page, page_size + seen.at(cursor)), start, token)
        pages += 1
        if not token_paging and page.start != start:
            raise JiraPagingError(
                f"{where} ignored startAt={start} (answered from {page.start}); stopped at page {pages}"
            )
        fresh = seen.fresh(page.issues)
        if fresh:
            yield fresh
        if not page.more:
            return
        if not page.issues:
            raise JiraPagingError(f"{where}: page {pages} is empty but says more issues follow; stopped")
        stale = 0 if fresh else stale + 1
        if stale > STALE_PAGES_ALLOWED:
            raise JiraPagingError(
                f"{where}: {stale} pages in a row held only issues already read (the same page again); stopped"
            )
        newest = max((m for m in map(updated_ms, fresh) if m is not None), default=None)
        if newest is not None and (cursor is None or newest > cursor):
            cursor, within = newest, None  # a new seek from the newest issue read
            seen.forget_before(cursor)
            continue
        # The cursor did not move (a page of issues already read, or many at one instant): page on in this query.
        if not token_paging:
            within = (page.start + len(page.issues), None)
        elif page.token is None:
            raise JiraPagingError(f"{where}: page {pages} says more follow but gives no nextPageToken; stopped")
        elif page.token in tokens:
            raise JiraPagingError(f"{where} repeated its nextPageToken {page.token[:40]!r}; stopped at page {pages}")
        else:
            tokens.add(page.token)
            within = (0, page.token)


@dataclass
class PageGuard:
    """Proof that a paged loop over a non-search endpoint advances; raises JiraPagingError when it does not."""

    where: str
    seen: set[Hashable] = field(default_factory=set)
    tokens: set[str] = field(default_factory=set)
    pages: int = 0

    def page(self, items: Iterable[Hashable], *, more: bool, token: str | None = None) -> None:
        """Check one page: items are its entries' identities; more: the page says more follow."""
        self.pages += 1
        items = list(items)
        new = set(items) - self.seen
        if more and not items:
            raise JiraPagingError(f"{self.where}: page {self.pages} is empty but says more follow; stopped")
        if items and not new:
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
        self.seen |= new
