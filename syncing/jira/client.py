"""The Jira REST client: one requests.Session per instance; pages yielded as they arrive.

It knows no database and nothing of mappings: it takes connection settings and yields what Jira said.
"""

import contextvars
import functools
import json
import logging
import random
import threading
import time
import zoneinfo
from collections.abc import Callable, Collection, Hashable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import orjson
import requests
import urllib3

from syncing.jira.budget import LocalBudget, RequestBudget
from syncing.jira.echo import EchoedSecrets
from syncing.jira.errors import (
    JiraAuthenticationError,
    JiraBadRequestError,
    JiraCancelledError,
    JiraEndpointRemovedError,
    JiraError,
    JiraNotFoundError,
    JiraPagingError,
    JiraPermissionError,
    JiraResponseError,
    JiraResponseTooLargeError,
    JiraUnavailableError,
)
from syncing.jira.paging import ORDER_BY, PageGuard, SearchPage, seek_pages
from syncing.jira.stop import Stop
from syncing.jira.watch import DEADLINE, STOPPED, RequestWatch, WatchedAdapter

log = logging.getLogger(__name__)

CLOUD, DATACENTER = "cloud", "datacenter"
DC_MAX_RESULTS = 1000  # Data Center's default jira.search.views.default.max; it echoes a smaller one if set lower


@dataclass(frozen=True)
class ConnectionSettings:
    name: str
    base_url: str
    auth_kind: str  # basic | bearer
    username: str
    token: str = field(repr=False)
    flavour: str = "auto"  # auto | cloud | datacenter
    connect_timeout: float = 10.0
    read_timeout: float = 60.0  # between two reads of the answer
    total_timeout: float = 180.0  # for the whole answer, however slowly it trickles in
    max_response_bytes: int = 32 * 1024 * 1024
    max_retries: int = 5
    backoff_base: float = 2.0  # seconds; doubles per retry, jitter ×0.7–1.3 (Atlassian's advice)
    backoff_cap: float = 30.0
    max_wait: float = 300.0  # longest single wait for a rate limit before giving up


@dataclass
class RequestCounters:
    """What a run's requests cost; shared by the threads of one run."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    fetch_seconds: float = 0.0  # waiting for Jira's answers
    parse_seconds: float = 0.0  # turning them into Python objects
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(
        self, *, requests: int = 0, retries: int = 0, rate_limited: int = 0, fetch: float = 0.0, parse: float = 0.0
    ) -> None:
        with self.lock:
            self.requests += requests
            self.retries += retries
            self.rate_limited += rate_limited
            self.fetch_seconds += fetch
            self.parse_seconds += parse


@dataclass(frozen=True)
class FetchedHistories:
    """An issue's histories as an endpoint gave them, oldest first, and the total it reported (None: none).

    histories: each distinct history as Jira sent it — or, when the caller gave a `reduce`, what it made of
    each (its status moves, say), histories it reduced to nothing left out. held: how many distinct
    histories the endpoint gave, whatever was held of them.
    """

    histories: list[Any]
    total: int | None
    held: int


@dataclass(frozen=True)
class SiteInfo:
    flavour: str
    server_time: datetime
    time_zone: str
    version: str


class JiraClient:
    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        budget: RequestBudget | None = None,
        counters: RequestCounters | None = None,
        sleep: Callable[[float], None] | None = None,
        stop: Stop | None = None,
        before_request: Callable[[str], None] | None = None,
    ) -> None:
        """stop: set it to make every request of this client end within a second (JiraCancelledError).
        before_request: called with the request's description before each attempt; it may raise to refuse it."""
        self.settings = settings
        self.before_request = before_request
        self.budget = budget or LocalBudget(1000)
        self.counters = counters or RequestCounters()
        self.stop = stop
        # Waits end early when a stop is asked for: the next request then raises JiraCancelledError.
        self.sleep = sleep or (stop.wait if stop is not None else time.sleep)
        self.flavour = settings.flavour if settings.flavour in (CLOUD, DATACENTER) else ""
        self.session = requests.Session()
        # Watched connections: a stop or the total deadline cuts a request blocked in a read (watch.py).
        self.session.mount("https://", WatchedAdapter(pool_connections=4, pool_maxsize=16, max_retries=0))
        self.session.mount("http://", WatchedAdapter(pool_connections=4, pool_maxsize=16, max_retries=0))
        self.session.headers.update(
            {"Accept": "application/json", "Accept-Language": "en", "User-Agent": "jirasync/0.1"}
        )
        self.echoed = EchoedSecrets(settings.token, settings.username)  # taken out of every answer
        if settings.auth_kind == "bearer":
            self.session.headers["Authorization"] = f"Bearer {settings.token}"
        else:
            self.session.auth = (settings.username, settings.token)

    def close(self) -> None:
        self.session.close()

    # --- the request loop --------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        body: Any = None,
        decode: "Callable[[bytes], Any] | None" = None,
    ) -> Any:
        """Send one request (retrying what may be retried) and return its parsed JSON — or what decode makes of
        the body (it raises ValueError for a body that is not JSON, which is retried like a broken one).

        1. Wait for the instance's budget.  2. Send, and read the body within the request's total
        deadline and size cap.  3. On a connection error, a deadline passed, 5xx, 429 or a broken body,
        wait (Retry-After / X-RateLimit-Reset, else exponential backoff with jitter) and retry, up to
        max_retries.  4. Any other error status raises its typed JiraError; an answer larger than the cap
        raises JiraResponseTooLargeError; a stop asked for raises JiraCancelledError within a second.
        """
        url = f"{self.settings.base_url.rstrip('/')}{path}"
        where = f"{self.settings.name}: {method} {path}"
        last_problem = ""
        for attempt in range(self.settings.max_retries + 1):
            self._check_stop(where)
            if self.before_request is not None:
                self.before_request(where)
            if attempt:
                self.counters.add(retries=1)
            self.budget.acquire(self.stop)
            self._check_stop(where)
            self.counters.add(requests=1)
            began = time.perf_counter()
            try:
                response, content = self._exchange(method, url, params=params, body=body, began=began, where=where)
            except (requests.RequestException, urllib3.exceptions.HTTPError, _DeadlinePassed) as exc:
                last_problem = (
                    str(exc) if isinstance(exc, _DeadlinePassed) else f"connection failed ({type(exc).__name__})"
                )
                if self.settings.max_retries == 0 and not isinstance(exc, _DeadlinePassed):
                    last_problem = f"connection failed: {_connection_problem(exc)}"
                self._back_off(attempt)
                continue
            status = response.status_code
            log.debug(
                "%s -> %s in %.0f ms (attempt %d)",
                where,
                status,
                (time.perf_counter() - began) * 1000,
                attempt + 1,
            )
            if status == 429:
                self.counters.add(rate_limited=1)
                last_problem = "rate limited (429)"
                self._wait_for_rate_limit(response, attempt, where)
                continue
            if status >= 500:
                last_problem = f"{status} {_jira_text(content)}"
                self._back_off(attempt, _retry_after(response))
                continue
            if status >= 400:
                raise _error_for(status, where, _jira_text(content))
            if 300 <= status < 400:
                location = self.echoed.text_removed(response.headers.get("Location", "?"))
                raise JiraResponseError(
                    f"{where} → {status}: redirected to {location} — not a Jira REST "
                    "answer (a login page or a proxy?); check the base URL"
                )
            fetched = time.perf_counter()
            try:
                parsed = (decode or _parsed)(content)
                self.counters.add(fetch=fetched - began, parse=time.perf_counter() - fetched)
                return parsed
            except ValueError:
                last_problem = "the response body was not valid JSON (truncated or malformed)"
                if _looks_like_html(content):
                    raise JiraResponseError(
                        f"{where} → {status}: answered with an HTML page, not JSON — this is not a Jira REST root "
                        "(a login page, a proxy, another site?); check the base URL"
                    ) from None
                self._back_off(attempt)
        raise JiraUnavailableError(f"{where} failed after {self.settings.max_retries + 1} attempts: {last_problem}")

    def _exchange(
        self, method: str, url: str, *, params: dict | None, body: Any, began: float, where: str
    ) -> tuple[requests.Response, bytes]:
        """Send one request and read its whole answer, watched (watch.py): a stop asked for raises
        JiraCancelledError and the total deadline raises _DeadlinePassed within a second, even while a read
        is blocked on a silent Jira. Connection errors are raised as requests/urllib3 raise them."""
        with RequestWatch(self.stop, self.settings.total_timeout) as watch:
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    data=orjson.dumps(body) if body is not None else None,
                    headers={"Content-Type": "application/json"} if body is not None else None,
                    timeout=(self.settings.connect_timeout, self.settings.read_timeout),
                    stream=True,
                    allow_redirects=False,  # a redirect is reported (a login page, http → https), not followed
                )
                try:
                    content = self.echoed.removed(self._body(response, began, where))
                finally:
                    response.close()
            except (requests.RequestException, urllib3.exceptions.HTTPError):
                if not watch.fired:
                    raise
        # A cut socket reads as a broken or short answer: what the watch did says what it was.
        if watch.fired == STOPPED:
            raise JiraCancelledError(f"{where}: stopped on request")
        if watch.fired == DEADLINE:
            raise _DeadlinePassed(f"the answer took longer than {self.settings.total_timeout:.0f} s")
        return response, content

    def _body(self, response: requests.Response, began: float, where: str) -> bytes:
        """The whole body, read as it arrives; raises _DeadlinePassed past the request's total deadline
        (a Jira that trickles its answer), JiraResponseTooLargeError past the size cap, JiraCancelledError
        when a stop was asked for."""
        deadline = began + self.settings.total_timeout
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.settings.max_response_bytes:
            raise JiraResponseTooLargeError(_too_large(where, self.settings.max_response_bytes))
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = response.raw.read1(65536, decode_content=True) if response.raw is not None else b""
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > self.settings.max_response_bytes:
                raise JiraResponseTooLargeError(_too_large(where, self.settings.max_response_bytes))
            chunks.append(chunk)
            if time.perf_counter() > deadline:
                raise _DeadlinePassed(f"the answer took longer than {self.settings.total_timeout:.0f} s")
            self._check_stop(where)

    def _check_stop(self, where: str) -> None:
        if self.stop is not None and self.stop.is_set():
            raise JiraCancelledError(f"{where}: stopped on request")

    def _back_off(self, attempt: int, at_least: float = 0.0) -> None:
        if self.settings.max_retries == 0:
            return  # an interactive check answers now rather than waiting for a retry it will not make
        delay = min(self.settings.backoff_cap, self.settings.backoff_base * 2**attempt) * random.uniform(0.7, 1.3)
        self.sleep(max(delay, at_least))

    def _wait_for_rate_limit(self, response: requests.Response, attempt: int, where: str) -> None:
        wait = _retry_after(response)
        reset = _rate_limit_reset(response)
        if not wait and reset:
            wait = max(0.0, reset - time.time())
        if wait > self.settings.max_wait:
            raise JiraUnavailableError(f"{where}: rate limited for {wait:.0f} s, longer than we wait")
        reason = response.headers.get("RateLimit-Reason", "")
        if reason.startswith("jira-quota"):
            # A quota is the whole tenant's: hold every request of this instance back, not only this one.
            self.budget.pause_until(time.time() + wait)
        if wait:
            self.sleep(wait * random.uniform(1.0, 1.2))
        else:
            self._back_off(attempt)

    # --- endpoints -----------------------------------------------------------------------------
    @property
    def api(self) -> str:
        return "/rest/api/3" if self.flavour == CLOUD else "/rest/api/2"

    def site_info(self) -> SiteInfo:
        """Flavour (serverInfo.deploymentType), Jira's clock, and the account's time zone (myself)."""
        # https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-server-info/
        where = self._where("GET", "/rest/api/2/serverInfo")
        try:
            info = _object(self.request("GET", "/rest/api/2/serverInfo"), where)
        except JiraNotFoundError:
            raise JiraResponseError(
                f"{where} → 404: this is not a Jira REST root; the base URL should be the site's root "
                "(e.g. https://acme.atlassian.net or https://jira.example.com)"
            ) from None
        if not isinstance(info.get("deploymentType", ""), str) or ("serverTime" not in info and "version" not in info):
            raise JiraResponseError(f"{where}: the answer is not a Jira serverInfo (no version, no serverTime)")
        detected = CLOUD if info.get("deploymentType") == "Cloud" else DATACENTER
        if not self.flavour:
            self.flavour = detected
        version = info.get("version", "")
        if not isinstance(version, str):
            raise JiraResponseError(f"{where}: version is not a string ({type(version).__name__})")
        server_time = _parse_time(info.get("serverTime")) or datetime.now(UTC)
        mine = self._where("GET", f"{self.api}/myself")
        zone = _object(self.request("GET", f"{self.api}/myself"), mine).get("timeZone") or "UTC"
        # The zone Jira reads JQL dates in: guessing another would shift every incremental query.
        if not isinstance(zone, str) or zone not in _time_zones():
            raise JiraResponseError(f"{mine}: timeZone is not an IANA time zone name ({str(zone)[:60]!r})")
        return SiteInfo(detected, server_time, zone, version)

    def projects(self, *, longest: dict[str, int] | None = None) -> list[dict[str, Any]]:
        """Every project the account can see: Cloud pages project/search, Data Center lists them all.

        Each project is a dict with `id` and `key` (non-empty strings) and `name` (a string, or None when
        Jira sent none); longest: the longest id, key and name the caller can keep. Raises
        JiraResponseError, naming the endpoint, on another shape or a longer value.
        """
        self._ensure_flavour()
        if self.flavour != CLOUD:
            # https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/project-getAllProjects
            where = self._where("GET", "/rest/api/2/project")
            listed = _list_of_objects(self.request("GET", "/rest/api/2/project"), where)
            return [_project(project, where, longest) for project in listed]
        where = self._where("GET", "/rest/api/3/project/search")
        guard = PageGuard(where)
        found: list[dict[str, Any]] = []
        while True:
            # https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-projects/#api-rest-api-3-project-search-get
            page = _object(
                self.request("GET", "/rest/api/3/project/search", params={"startAt": len(found), "maxResults": 100}),
                where,
            )
            values = [_project(project, where, longest) for project in _list_of_objects(page.get("values", []), where)]
            more = page.get("isLast") is False
            guard.page((project["id"] for project in values), more=more)
            found += values
            if not more:
                return found

    def fields(self) -> list[dict[str, Any]]:
        """Every field of the site (system and custom), each a dict with an `id`."""
        # https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-fields/#api-rest-api-3-field-get
        self._ensure_flavour()
        where = self._where("GET", f"{self.api}/field")
        found = _list_of_objects(self.request("GET", f"{self.api}/field"), where)
        if any(not isinstance(item.get("id"), str) for item in found):
            raise JiraResponseError(f"{where}: a field without an id")
        return found

    def project_versions(self, project_key: str) -> list[dict[str, Any]]:
        """Every version of a project (released, unreleased, archived), each a dict with a numeric-string `id`."""
        # https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-project-versions/#api-rest-api-3-project-projectidorkey-versions-get
        # https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/project-getProjectVersions
        return self._project_list(project_key, "versions")

    def project_components(self, project_key: str) -> list[dict[str, Any]]:
        """Every component of a project, each a dict with a numeric-string `id`."""
        # https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-project-components/#api-rest-api-3-project-projectidorkey-components-get
        # https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/project-getProjectComponents
        return self._project_list(project_key, "components")

    def _project_list(self, project_key: str, what: str) -> list[dict[str, Any]]:
        """A project's whole list (one request, unpaged, both flavours), each entry with a numeric id."""
        self._ensure_flavour()
        where = self._where("GET", f"{self.api}/project/{{key}}/{what}")
        found = _list_of_objects(self.request("GET", f"{self.api}/project/{project_key}/{what}"), where)
        for item in found:
            if not str(item.get("id", "")).isdigit():
                raise JiraResponseError(f"{where}: an entry without a numeric id ({str(item.get('id'))[:40]!r})")
        return found

    def boards(self) -> list[dict[str, Any]]:
        """Every board the account can see (Jira Software's Agile API, both flavours), each a dict with a
        numeric `id`; `name`, `type` (scrum, kanban, simple) and `location` as Jira sends them. Raises
        JiraNotFoundError when the site has no Agile API (Jira without Software), JiraResponseError on another
        shape, JiraPagingError when its paging does not advance."""
        # https://developer.atlassian.com/cloud/jira/software/rest/api-group-board/#api-rest-agile-1-0-board-get
        # https://docs.atlassian.com/jira-software/REST/latest/#agile/1.0/board-getAllBoards
        return self._agile_values("/rest/agile/1.0/board", "/rest/agile/1.0/board")

    def board_sprints(self, board_id: int) -> list[dict[str, Any]]:
        """Every sprint of a board (future, active and closed), each a dict with a numeric `id` and a `name`.
        Raises JiraBadRequestError for a board without sprints (a kanban board), as Jira answers 400."""
        # https://developer.atlassian.com/cloud/jira/software/rest/api-group-board/#api-rest-agile-1-0-board-boardid-sprint-get
        # https://docs.atlassian.com/jira-software/REST/latest/#agile/1.0/board/{boardId}/sprint-getAllSprints
        return self._agile_values(f"/rest/agile/1.0/board/{board_id}/sprint", "/rest/agile/1.0/board/{id}/sprint")

    def _agile_values(self, path: str, template: str) -> list[dict[str, Any]]:
        """The values of a paged Agile API list (startAt, maxResults ≤ 50, isLast), each with a numeric id."""
        where = self._where("GET", template)
        guard = PageGuard(where)
        found: list[dict[str, Any]] = []
        while True:
            page = _object(self.request("GET", path, params={"startAt": len(found), "maxResults": 50}), where)
            values = _list_of_objects(page.get("values", []), where)
            if any(isinstance(item.get("id"), bool) or not isinstance(item.get("id"), int) for item in values):
                raise JiraResponseError(f"{where}: an entry without a numeric id")
            more = page.get("isLast") is False
            guard.page((item["id"] for item in values), more=more)
            found += values
            if not more:
                return found

    def issue(self, issue_id: str, *, fields: list[str] | None = None, expand: str = "") -> dict[str, Any]:
        """The issue as Jira sends it (a dict with an `id`); raises JiraResponseError on another shape."""
        # https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-get
        self._ensure_flavour()
        params = {"fields": ",".join(fields) if fields else "*all"}
        if expand:
            params["expand"] = expand
        where = self._where("GET", f"{self.api}/issue/{{id}}")
        answer = _object(self.request("GET", f"{self.api}/issue/{issue_id}", params=params), where)
        if "id" not in answer:
            raise JiraResponseError(f"{where}: an issue without an id")
        return answer

    def issue_shown(self, issue_id: str) -> int | None:
        """The issue's Jira id (issue_id: an id or a key) when Jira shows it to this account; None when it answers
        404 (deleted, moved out of the account's sight, or never there). Raises JiraError on any other failure,
        JiraResponseError when the id is no number."""
        try:
            answer = self.issue(issue_id, fields=["id"])
        except JiraNotFoundError:
            return None
        try:
            return int(answer["id"])
        except (TypeError, ValueError):
            where = self._where("GET", f"{self.api}/issue/{{id}}")
            raise JiraResponseError(f"{where}: an issue id that is no number") from None

    def changelog(self, issue_id: str, *, reduce: "Reduce | None" = None) -> FetchedHistories:
        """Every history of an issue, oldest first, from the per-issue changelog endpoint, with Jira's total
        (what `reduce` makes of each history, when given: see FetchedHistories)."""
        # https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-changelog-get
        self._ensure_flavour()
        path = f"{self.api}/issue/{issue_id}/changelog"
        where = self._where("GET", f"{self.api}/issue/{{id}}/changelog")
        guard = PageGuard(where)
        gathered = _Gathered(reduce, where)
        total = 0
        while True:
            page = _object(self.request("GET", path, params={"startAt": gathered.read, "maxResults": 100}), where)
            values = _list_of_objects(page.get("values", []), where)
            total = _count(page.get("total", gathered.read + len(values)), where)
            more = page.get("isLast") is False or (
                "isLast" not in page and bool(values) and gathered.read + len(values) < total
            )
            guard.counted(len(values), gathered.add(values), more=more)
            if not more:
                return FetchedHistories(gathered.histories, total, len(gathered.ids))

    def issue_comments(self, issue_id: str) -> list[dict[str, Any]]:
        """Every comment of an issue, oldest first (100 a page on Cloud; Data Center sends them all at once).

        Raises JiraResponseError when the pages hold fewer comments than the total Jira reports for them (an
        answer with less than was asked for), JiraPagingError when a page brings nothing new.
        """
        # https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-comments/#api-rest-api-3-issue-issueidorkey-comment-get
        # https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/issue/{issueIdOrKey}/comment-getComments
        return self._issue_pages(issue_id, "comment", "comments", 100)

    def issue_worklogs(self, issue_id: str) -> list[dict[str, Any]]:
        """Every worklog of an issue, oldest first (5,000 a page on Cloud; Data Center sends them all at once).

        Raises as issue_comments does.
        """
        # https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-worklogs/#api-rest-api-3-issue-issueidorkey-worklog-get
        # https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/issue/{issueIdOrKey}/worklog-getIssueWorklog
        return self._issue_pages(issue_id, "worklog", "worklogs", 5000)

    def worklogs_changed(self, kind: str, since_ms: int) -> tuple[list[tuple[int, int | None]], int]:
        """Cloud: the worklogs updated (kind "updated") or deleted ("deleted") at or after since_ms (epoch ms),
        oldest change first, every page read, as (worklog id, its updatedTime in epoch ms; None when Jira did
        not say one); and where the next call starts (the last page's `until` + 1, as Jira's own nextPage does).
        Jira leaves out the last minute's changes: a later call lists them. Raises JiraPagingError when a page
        does not move on, JiraResponseError on another shape.
        """
        # https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-worklogs/#api-rest-api-3-worklog-updated-get
        # https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-worklogs/#api-rest-api-3-worklog-deleted-get
        if kind not in ("updated", "deleted"):
            raise ValueError(f"worklog changes are 'updated' or 'deleted', not {kind!r}")
        path = f"/rest/api/3/worklog/{kind}"
        where = self._where("GET", path)
        guard = PageGuard(where)
        changes: list[tuple[int, int | None]] = []
        since = max(0, int(since_ms))
        while True:
            page = _object(self.request("GET", path, params={"since": since}), where)
            values = _list_of_objects(page.get("values", []), where)
            found = [(_count(value.get("worklogId"), where), _moment_ms(value.get("updatedTime"))) for value in values]
            until = _count(page.get("until", since), where)
            more = page.get("lastPage") is False
            guard.page([worklog_id for worklog_id, _ in found], more=more)
            changes += found
            if values and until < since:
                raise JiraPagingError(f"{where}: until {until} is before since {since}; stopped")
            next_since = until + 1 if values else since
            if not more:
                return changes, next_since
            since = next_since

    def worklogs_by_id(self, worklog_ids: list[int]) -> list[dict[str, Any]]:
        """Cloud: the worklogs with these ids (1,000 a request), each with its `issueId`; ids Jira does not
        return (deleted since, no permission) are simply absent."""
        # https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-worklogs/#api-rest-api-3-worklog-list-post
        path = "/rest/api/3/worklog/list"
        where = self._where("POST", path)
        found: list[dict[str, Any]] = []
        for start in range(0, len(worklog_ids), 1000):
            answer = self.request("POST", path, body={"ids": worklog_ids[start : start + 1000]})
            found += _list_of_objects(answer, where)
        return found

    def _issue_pages(self, issue_id: str, noun: str, items: str, size: int) -> list[dict[str, Any]]:
        """The items of a per-issue list endpoint (`{"startAt", "maxResults", "total", items: […]}`), paged."""
        self._ensure_flavour()
        path = f"{self.api}/issue/{issue_id}/{noun}"
        where = self._where("GET", f"{self.api}/issue/{{id}}/{noun}")
        guard = PageGuard(where)
        found: list[dict[str, Any]] = []
        while True:
            page = _object(self.request("GET", path, params={"startAt": len(found), "maxResults": size}), where)
            values = _list_of_objects(page.get(items, []), where)
            total = _count(page.get("total", len(found) + len(values)), where)
            more = len(found) + len(values) < total
            guard.page((str(value.get("id")) for value in values), more=more)
            found += values
            if not more:
                return found

    def histories(
        self, issue_ids: list[str], *, totals_needed: Collection[str] = (), reduce: "Reduce | None" = None
    ) -> dict[str, FetchedHistories]:
        """The whole history of each issue, as far as Jira gives it, the flavour hidden; with reduce, only what
        it makes of each history is held (FetchedHistories).

        Cloud: changelog/bulkfetch, up to 1,000 issues a call, every field's items (so the entries can be
        counted against the issue's total); it reports no totals, so the issues in totals_needed (those whose
        total is unknown) are read from the per-issue endpoint. Data Center: the per-issue endpoint, a few
        issues at a time. An issue whose history could not be read, or that Jira left out, is absent.
        """
        self._ensure_flavour()
        wanted = list(dict.fromkeys(issue_ids))
        found: dict[str, FetchedHistories] = {}
        singles = wanted
        if self.flavour == CLOUD:
            singles = [issue_id for issue_id in wanted if issue_id in totals_needed]
            bulk = [issue_id for issue_id in wanted if issue_id not in totals_needed]
            if bulk:
                try:
                    found.update(self.bulk_histories(bulk, reduce=reduce))
                except (JiraPagingError, JiraCancelledError):
                    raise  # Jira's paging is broken, or a stop was asked for: the run must end, saying why
                except JiraError as exc:
                    log.warning("histories of %d issues stay incomplete: %s", len(bulk), exc)
        if singles:
            # Each thread in a copy of the caller's context, so what it logs stays with the caller's (a run's log).
            context = contextvars.copy_context()
            fetch = lambda issue_id: context.copy().run(self._changelog_or_none, issue_id, reduce)  # noqa: E731
            with ThreadPoolExecutor(max_workers=min(4, len(singles))) as pool:
                for issue_id, fetched in zip(singles, pool.map(fetch, singles), strict=True):
                    if fetched is not None:
                        found[issue_id] = fetched
        return found

    def _changelog_or_none(self, issue_id: str, reduce: "Reduce | None" = None) -> "FetchedHistories | None":
        try:
            return self.changelog(issue_id, reduce=reduce)
        except (JiraPagingError, JiraCancelledError):
            raise
        except JiraError as exc:
            log.warning("history of issue %s stays incomplete: %s", issue_id, exc)
            return None

    def bulk_histories(
        self, issue_ids: list[str], field_ids: list[str] | None = None, reduce: "Reduce | None" = None
    ) -> dict[str, FetchedHistories]:
        """Cloud: the histories of the issues Jira answers for, oldest first, only field_ids' items when given
        (no totals: bulkfetch reports none). Issues Jira leaves out (not found, no permission, or simply
        missing) are absent from the answer.
        """
        # https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-changelog-bulkfetch-post
        where = self._where("POST", "/rest/api/3/changelog/bulkfetch")
        found: dict[str, _Gathered] = {}
        for start in range(0, len(issue_ids), 1000):
            body: dict[str, Any] = {"issueIdsOrKeys": issue_ids[start : start + 1000], "maxResults": 10000}
            if field_ids:
                body["fieldIds"] = field_ids
            guard = PageGuard(where)
            gather = functools.partial(_bulk_page_gathered, found=found, reduce=reduce, where=where)
            while True:
                entries, new, token = self.request("POST", "/rest/api/3/changelog/bulkfetch", body=body, decode=gather)
                guard.counted(entries, new, more=token is not None, token=token)
                if token is None:
                    break
                body["nextPageToken"] = token
        return {
            issue_id: FetchedHistories(gathered.histories, None, len(gathered.ids))
            for issue_id, gathered in found.items()
        }

    def search_pages(
        self,
        jql: str,
        fields: list[str],
        *,
        changelog: bool = True,
        page_size: int = 100,
        counted: Callable[[int], None] | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield every issue matching jql, page by page as they arrive, oldest `updated` first; never the
        whole result at once. Seek paging on `updated` (see paging.py): nothing is skipped when issues
        change between two requests. Raises JiraPagingError when Jira's paging does not advance.

        counted: called once, after the first page, with how many issues matched at the start (see seek_pages).
        """
        self._ensure_flavour()
        wanted = sorted({*fields, "updated"})  # the cursor is read from `updated`
        if self.flavour == CLOUD:
            path, largest, fetch = "/rest/api/3/search/jql", 5000, self._cloud_page
        else:
            path, largest, fetch = "/rest/api/2/search", DC_MAX_RESULTS, self._datacenter_page
        yield from seek_pages(
            lambda query, size, start, token: fetch(query, wanted, changelog, size, start, token),
            jql,
            page_size=page_size,
            largest_page=largest,
            token_paging=self.flavour == CLOUD,
            where=self._where("POST", path),
            probe=lambda query, size, start, token: fetch(query, ["updated"], False, size, start, token),
            count=self._cloud_count if self.flavour == CLOUD else None,
            counted=counted,
        )

    def _cloud_count(self, jql: str) -> int:
        """How many issues match jql now (Cloud's search answers carry no total)."""
        # https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/#api-rest-api-3-search-approximate-count-post
        where = self._where("POST", "/rest/api/3/search/approximate-count")
        answer = _object(self.request("POST", "/rest/api/3/search/approximate-count", body={"jql": jql}), where)
        return _count(answer.get("count"), where)

    def _cloud_page(
        self, jql: str, fields: list[str], changelog: bool, size: int, start: int, token: str | None
    ) -> SearchPage:
        # https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/#api-rest-api-3-search-jql-post
        body: dict[str, Any] = {"jql": f"{jql} ORDER BY {ORDER_BY}", "fields": fields, "maxResults": size}
        if changelog:
            body["expand"] = "changelog"  # a comma string even in the POST body
        if token:
            body["nextPageToken"] = token
        where = self._where("POST", "/rest/api/3/search/jql")
        page = _object(self.request("POST", "/rest/api/3/search/jql", body=body), where)
        issues = _list_of_objects(page.get("issues") or [], where)
        next_token = page.get("nextPageToken") or None
        if next_token is not None and not isinstance(next_token, str):
            raise JiraResponseError(f"{where}: nextPageToken is not a string")
        more = page.get("isLast") is False or ("isLast" not in page and next_token is not None)
        return SearchPage(issues, more, token=next_token)

    def _datacenter_page(
        self, jql: str, fields: list[str], changelog: bool, size: int, start: int, token: str | None
    ) -> SearchPage:
        # https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/search-searchUsingSearchRequest
        body: dict[str, Any] = {
            "jql": f"{jql} ORDER BY {ORDER_BY}",
            "startAt": start,
            "maxResults": size,
            "fields": fields,
        }
        if changelog:
            body["expand"] = ["changelog"]  # an array in the Data Center POST body
        where = self._where("POST", "/rest/api/2/search")
        page = _object(self.request("POST", "/rest/api/2/search", body=body), where)
        issues = _list_of_objects(page.get("issues") or [], where)
        echoed = _count(page.get("startAt", start), where)
        total = _count(page["total"], where) if "total" in page else None
        if total is not None:
            more = echoed + len(issues) < total
        else:  # no total: only a full page may have a successor
            more = len(issues) >= _count(page.get("maxResults", size), where)
        return SearchPage(issues, more, start=echoed, total=total)

    def _where(self, method: str, path: str) -> str:
        return f"{self.settings.name}: {method} {path}"

    def _ensure_flavour(self) -> None:
        if not self.flavour:
            self.site_info()


class _DeadlinePassed(Exception):
    """The answer did not arrive whole within the request's total deadline (retried like a reset)."""


def _too_large(where: str, limit: int) -> str:
    return f"{where}: the answer is larger than {limit / 1024 / 1024:.0f} MB (JIRASYNC_MAX_RESPONSE_MB); not read"


def _looks_like_html(content: bytes) -> bool:
    return content[:64].lstrip().lower().startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def _connection_problem(exc: Exception) -> str:
    """A short reason for an interactive check: refused, name not found, timed out, TLS."""
    text = str(exc)
    for needle, reason in (
        ("Name or service not known", "the host name does not resolve"),
        ("nodename nor servname", "the host name does not resolve"),
        ("Temporary failure in name resolution", "the host name does not resolve"),
        ("Connection refused", "the connection was refused (nothing listens there)"),
        ("CERTIFICATE_VERIFY_FAILED", "its TLS certificate is not trusted"),
    ):
        if needle in text:
            return reason
    if isinstance(exc, (requests.Timeout, urllib3.exceptions.TimeoutError)):
        return "no answer in time"
    return type(exc).__name__


# What a caller holds of each history (its status moves, say): a thousand long histories at once then cost
# their count and what the caller needs, not every item and avatar of every change.
Reduce = Callable[[dict[str, Any]], list[Any]]


# A bulkfetch page is 10,000 histories, ~9 MB of JSON and ~25 MB of objects once parsed whole. Parsed whole, the
# page's objects take fresh allocator arenas that whatever outlives the page then pins: memory that grew by a
# page's worth after the first pack of histories, and stayed. So with a reduce, the page is parsed history by
# history (the standard library's object hook), each history reduced as soon as it is read, and the threads of
# a process (projects synced in parallel) do so one page at a time: parsing holds the GIL anyway.
_LARGE_PAGE = threading.Lock()
# What a reduce raises for a history of another shape than Jira's: an error of the answer, not a body to retry.
_HISTORY_OF_ANOTHER_SHAPE = (AttributeError, KeyError, TypeError, ValueError)


@dataclass(frozen=True, slots=True)
class _Reduced:
    """A history read and reduced while its page was parsed: its id, and what reduce made of it."""

    identity: Hashable
    held: list[Any]


def _bulk_page_gathered(
    content: bytes, *, found: "dict[str, _Gathered]", reduce: "Reduce | None", where: str
) -> tuple[int, int, str | None]:
    """Parse a bulkfetch page and gather its histories into found, by issue; returns (entries on the page,
    entries not seen before, the next page's token). ValueError when the body is not JSON."""
    with _LARGE_PAGE:
        page = _object(_parsed(content) if reduce is None else _reduced_while_parsed(content, reduce, where), where)
        logs = _list_of_objects(page.pop("issueChangeLogs", None) or [], where)
        token = page.get("nextPageToken") or None
        if token is not None and not isinstance(token, str):
            raise JiraResponseError(f"{where}: nextPageToken is not a string")
        entries = new = 0
        for entry in logs:
            histories = entry.get("changeHistories") or []
            if not isinstance(histories, list) or any(not isinstance(h, (dict, _Reduced)) for h in histories):
                raise JiraResponseError(f"{where}: expected a list of JSON objects, got {type(histories).__name__}")
            entries += len(histories)
            new += found.setdefault(str(entry.get("issueId")), _Gathered(reduce, where)).add(histories)
        return entries, new, token


def _reduced_while_parsed(content: bytes, reduce: Reduce, where: str) -> Any:
    """The JSON body with every history (an object with `items` and `created`) replaced, as soon as it is read,
    by a _Reduced: only one history's objects are alive at a time. ValueError when it is not JSON."""

    def history_reduced(value: dict[str, Any]) -> Any:
        if not (isinstance(value.get("items"), list) and "created" in value):
            return value
        identity = value.get("id")
        identity = identity if isinstance(identity, Hashable) else repr(identity)
        try:
            return _Reduced(identity, reduce(value))
        except _HISTORY_OF_ANOTHER_SHAPE as exc:
            raise JiraResponseError(f"{where}: history {str(identity)[:40]!r} cannot be read ({exc!r})") from None

    if not content:
        return None
    try:
        return json.loads(content, object_hook=history_reduced)
    except (RecursionError, UnicodeDecodeError) as exc:
        raise ValueError(str(exc)) from None


class _Gathered:
    """One issue's histories as pages bring them, each once (by id): as Jira sent them, or what reduce made of
    them (a history reduced to nothing is only counted)."""

    def __init__(self, reduce: Reduce | None, where: str) -> None:
        self.reduce, self.where = reduce, where
        self.histories: list[Any] = []
        self.ids: set[Hashable] = set()
        self.read = 0  # entries read, repeats included (where the next page starts)

    def add(self, histories: "Sequence[dict[str, Any] | _Reduced]") -> int:
        """Take in a page's histories of this issue; returns how many were not seen before."""
        before = len(self.ids)
        for history in histories:
            self.read += 1
            if isinstance(history, _Reduced):  # reduced while its page was parsed
                if history.identity not in self.ids:
                    self.ids.add(history.identity)
                    self.histories += history.held
                continue
            identity = history.get("id")
            identity = identity if isinstance(identity, Hashable) else repr(identity)
            if identity in self.ids:
                continue
            self.ids.add(identity)
            if self.reduce is None:
                self.histories.append(history)
                continue
            try:
                self.histories += self.reduce(history)
            except _HISTORY_OF_ANOTHER_SHAPE as exc:
                raise JiraResponseError(
                    f"{self.where}: history {str(identity)[:40]!r} cannot be read ({exc!r})"
                ) from None
        return len(self.ids) - before


def _parsed(content: bytes) -> Any:
    """The JSON body; ValueError when it is not JSON (truncated, malformed).

    orjson refuses some valid JSON that Jira can send: a lone surrogate escape (an emoji cut in half,
    "\\ud83d") and nesting deeper than its limit. The standard library reads those, so one bad issue
    reaches the pipeline, where it costs its own row, instead of making the whole page unreadable.
    """
    if not content:
        return None
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        try:
            return json.loads(content)
        except (RecursionError, UnicodeDecodeError) as exc:
            raise ValueError(str(exc)) from None


def _object(answer: Any, where: str) -> dict[str, Any]:
    if not isinstance(answer, dict):
        raise JiraResponseError(f"{where}: expected a JSON object, got {type(answer).__name__}")
    return answer


def _list_of_objects(value: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or any(not isinstance(item, dict) for item in value):
        raise JiraResponseError(f"{where}: expected a list of JSON objects, got {type(value).__name__}")
    return value


def _moment_ms(value: Any) -> int | None:
    """An epoch-milliseconds moment, or None for anything else (a moment is only ever a hint here)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise JiraResponseError(f"{where}: expected a count, got {value!r}")
    return value


def _project(project: dict[str, Any], where: str, longest: dict[str, int] | None = None) -> dict[str, Any]:
    """A project of a list, its shape checked: id and key non-empty strings, name a string or None.

    Jira requires a project name, but one sent null (or left out) is a missing label, not a broken
    identity: the list is kept and the caller decides what to show (instance_discover_projects).
    """
    key = project.get("key")
    if not isinstance(project.get("id"), str) or not project["id"] or not isinstance(key, str) or not key:
        raise JiraResponseError(f"{where}: a project without an id or key")
    name = project.get("name")
    if name is not None and not isinstance(name, str):
        raise JiraResponseError(f"{where}: project {key[:64]!r} has a name that is not a string")
    for part, limit in (longest or {}).items():
        if len(project.get(part) or "") > limit:
            raise JiraResponseError(f"{where}: project {key[:64]!r} has a {part} longer than {limit} characters")
    return {**project, "name": name}


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _jira_text(content: bytes) -> str:
    """Jira's own error text: errorMessages and errors joined, or the start of a non-JSON body."""
    try:
        body = orjson.loads(content) if content else {}
    except orjson.JSONDecodeError:
        return content[:200].decode("utf-8", "replace").strip()
    if not isinstance(body, dict):
        return str(body)[:200]
    messages = list(body.get("errorMessages") or [])
    messages += [f"{key}: {value}" for key, value in (body.get("errors") or {}).items()]
    if body.get("message"):
        messages.append(str(body["message"]))
    return "; ".join(str(m) for m in messages)[:500]


def _error_for(status: int, where: str, text: str) -> JiraError:
    kinds = {
        400: JiraBadRequestError,
        401: JiraAuthenticationError,
        403: JiraPermissionError,
        404: JiraNotFoundError,
        410: JiraEndpointRemovedError,
    }
    kind = kinds.get(status, JiraError)
    return kind(f"{where} → {status}: {text or 'no error text'}", status=status)


def _retry_after(response: requests.Response) -> float:
    value = response.headers.get("Retry-After")
    if not value:
        return 0.0
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return 0.0


def _rate_limit_reset(response: requests.Response) -> float | None:
    """X-RateLimit-Reset: ISO 8601, e.g. 2025-10-08T15:00:00Z, or the older 2026-06-05T06:00Z."""
    value = response.headers.get("X-RateLimit-Reset")
    moment = _parse_time(value)
    return moment.timestamp() if moment else None


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
