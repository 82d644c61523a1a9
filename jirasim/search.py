"""Search results: JQL matched against the site, Cloud's page tokens, and the reads clients page through.

Results are cached per data version. A query that reads on from a cursor (`… AND updated >= X
ORDER BY updated ASC`, each page a new JQL) is answered from the cached result of the query
without its bound, by bisection: a client paging a big site by a moving window costs one scan
per data version, not one per page.
"""

import base64
import bisect
import itertools
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from jirasim.dataset import Dataset
from jirasim.errors import HttpError
from jirasim.jql import JqlError, Query, Row, parse_jql, sort_value

UNBOUNDED = "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
INVALID_TOKEN = "The provided next page token is invalid or expired."
CLOUD_TOKEN_MODES = ("snapshot", "live")
CACHED_RESULTS = 16
KEPT_READS = 64
KEPT_PAGES = 256


@dataclass
class Read:
    """One client's read of one search, page after page: what a disturbance acts on."""

    jql: str
    bounded: bool
    family: str  # what the pages of one client's read share, whatever its cursor (see family())
    seeks: bool = False  # the JQL starts at a cursor: it continues an earlier read of the family
    snapshot: list[int] | None = None  # Cloud's frozen result; None: offsets into the live result
    pages: int = 0  # pages served so far
    served: int = 0  # the offset the next page starts at: positions before it are the served part


class SearchIndex:
    def __init__(self, data: Dataset, account_tz: str, cloud_tokens: str = "snapshot") -> None:
        self.data = data
        self.account_tz = account_tz
        self.cloud_tokens = cloud_tokens
        self.lock = threading.Lock()
        self.results: OrderedDict[str, tuple[list[int], list[int]]] = OrderedDict()
        self.reads: OrderedDict[str, Read] = OrderedDict()
        self.read_numbers = itertools.count(1)
        self.last_pages: OrderedDict[str, list[int]] = OrderedDict()  # endpoint + family -> ids last served
        self.scans = 0  # full scans of the site

    @property
    def cloud_tokens(self) -> str:
        return self._cloud_tokens

    @cloud_tokens.setter
    def cloud_tokens(self, mode: str) -> None:
        if mode not in CLOUD_TOKEN_MODES:
            raise ValueError(f"cloud_tokens must be one of {CLOUD_TOKEN_MODES}, not {mode!r}")
        self._cloud_tokens = mode

    # --- results ---------------------------------------------------------------------------------
    def project_lookup(self) -> dict[str, str]:
        lookup = {}
        for project in self.data.projects:
            if not project.hidden:
                lookup[project.key.upper()] = project.key
                lookup[project.id] = project.key
        return lookup

    def parse(self, jql: str, *, bounded: bool) -> Query:
        try:
            query = parse_jql(jql, now_ms=self.data.now_ms, zone=self.account_tz, projects=self.project_lookup())
        except JqlError as exc:
            raise HttpError(400, str(exc)) from None
        if bounded and query.predicate is None:
            raise HttpError(400, UNBOUNDED)
        return query

    def matching_ids(self, jql: str, *, bounded: bool) -> list[int]:
        """Ids of the issues the JQL selects, in its order (Jira's default: created, newest first)."""
        query = self.parse(jql, bounded=bounded)
        seek = query.seek
        if seek is None:
            return self._cached(jql, query, query.predicate)[0]
        ids, values = self._cached(seek.rest_text, query, seek.rest)
        descending = query.order[0][1]
        bound = -seek.bound if descending else seek.bound
        inclusive = seek.operator in (">=", "<=")
        start = (bisect.bisect_left if inclusive else bisect.bisect_right)(values, bound)
        return ids[start:]

    def _cached(self, text: str, query: Query, predicate) -> tuple[list[int], list[int]]:
        """The sorted result (ids, values of the first ORDER BY field, negated when descending)."""
        key = f"{self.data.version}|{text}"
        with self.lock:
            cached = self.results.get(key)
            if cached is not None:
                self.results.move_to_end(key)
                return cached
        result = self._scan(query, predicate)
        with self.lock:
            self.results[key] = result
            while len(self.results) > CACHED_RESULTS:
                self.results.popitem(last=False)
        return result

    def _scan(self, query: Query, predicate) -> tuple[list[int], list[int]]:
        self.scans += 1
        data = self.data
        visible = {p.index for p in data.projects if not p.hidden and not p.issues_hidden}
        allowed = {p.index for p in data.projects if p.key in query.projects} if query.projects else visible
        allowed &= visible
        with data.lock:
            rows = [_row(data, r) for r in data.by_id.values() if not r.deleted and r.project in allowed]
        if predicate is not None:
            rows = [row for row in rows if predicate(row)]
        order = query.order or [("created", True)]
        for field, descending in reversed([*order, ("id", order[0][1])]):
            rows.sort(key=lambda row, f=field: sort_value(f, row), reverse=descending)
        first, descending = order[0]
        values = [sort_value(first, row) for row in rows] if query.seek else []
        return [row.id for row in rows], [-v for v in values] if descending else values

    # --- reads and Cloud's page tokens -----------------------------------------------------------
    def start_cloud_read(self, jql: str) -> tuple[str, list[int]]:
        """A new read of a Cloud search: its result frozen, or (live tokens) read afresh on every page."""
        ids = self.matching_ids(jql, bounded=True)
        snapshot = ids if self.cloud_tokens == "snapshot" else None
        prefix = f"{self.data.version}" if snapshot is not None else "live"
        read_id = f"{prefix}.{next(self.read_numbers)}.{time.monotonic_ns()}"
        self._keep(read_id, Read(jql, True, *self.family(jql), snapshot=snapshot))
        return read_id, ids

    def resume_cloud_read(self, token: str) -> tuple[str, list[int], int]:
        """(read id, its result, the offset the token points at)."""
        try:
            read_id, offset_text, *_nonce = base64.urlsafe_b64decode(token.encode()).decode().split(":")
            offset = int(offset_text)
            read = self.reads[read_id]
        except (ValueError, KeyError, UnicodeDecodeError):
            raise HttpError(400, INVALID_TOKEN) from None
        return read_id, self.result(read), offset

    @staticmethod
    def token(read_id: str, offset: int, nonce: int = 0) -> str:
        text = f"{read_id}:{offset}" + (f":{nonce}" if nonce else "")
        return base64.urlsafe_b64encode(text.encode()).decode()

    def offset_read(self, endpoint: str, jql: str, start: int) -> str:
        """The read a startAt page belongs to: startAt 0 begins a new one."""
        read_id = f"{endpoint} {jql}"
        with self.lock:
            known = self.reads.get(read_id)
        if start == 0 or known is None:
            self._keep(read_id, Read(jql, False, *self.family(jql)))
        return read_id

    def family(self, jql: str) -> tuple[str, bool]:
        """What the pages of one client's read have in common — the projects the query is limited to (a
        client that seeks sends a new JQL for every page), else the query without its cursor —, and
        whether the query seeks."""
        query = self.parse(jql, bounded=False)
        if query.projects:
            return "projects " + ",".join(sorted(query.projects)), query.seek is not None
        return (query.seek.rest_text if query.seek else jql), query.seek is not None

    def _keep(self, read_id: str, read: Read) -> None:
        with self.lock:
            self.reads[read_id] = read
            self.reads.move_to_end(read_id)
            while len(self.reads) > KEPT_READS:
                self.reads.popitem(last=False)

    def page_served(self, read_id: str, endpoint: str, page: list[int], next_offset: int) -> Read | None:
        """Count one more page of the read: it served these ids, its next page starts at next_offset.

        endpoint: "METHOD /path" plus whatever else tells answers apart (a listing of ids or full issues)."""
        with self.lock:
            read = self.reads.get(read_id)
            if read is None:
                return None
            read.pages += 1
            read.served = next_offset
            self.reads.move_to_end(read_id)
            key = f"{endpoint} {read.family}"
            self.last_pages[key] = page
            self.last_pages.move_to_end(key)
            while len(self.last_pages) > KEPT_PAGES:
                self.last_pages.popitem(last=False)
            return read

    def previous_page(self, endpoint: str, read_id: str) -> list[int] | None:
        """The page served before this one: the read's previous page, or for a read that seeks (a new JQL
        each page), the last page of the same query with another cursor. None for a read's first page."""
        with self.lock:
            read = self.reads.get(read_id)
            if read is None or (read.pages == 0 and not read.seeks):
                return None  # a read's first page, unless its cursor says it continues an earlier one
            return self.last_pages.get(f"{endpoint} {read.family}")

    def latest_read(self, jql: str | None = None) -> Read | None:
        """The read a page was last served for (of this JQL, when given)."""
        with self.lock:
            reads = [r for r in reversed(self.reads.values()) if r.pages and jql in (None, r.jql)]
        return reads[0] if reads else None

    def result(self, read: Read) -> list[int]:
        return read.snapshot if read.snapshot is not None else self.matching_ids(read.jql, bounded=read.bounded)


def _row(data: Dataset, record) -> Row:
    project = data.projects[record.project]
    return Row(
        record.id,
        f"{project.key}-{record.number}",
        record.number,
        project.key,
        project.id,
        record.created_ms,
        record.updated_ms,
    )
