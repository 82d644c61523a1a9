"""The Jira REST client: one requests.Session per instance; pages yielded as they arrive.

It knows no database and nothing of mappings: it takes connection settings and yields what Jira said.
"""

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import orjson
import requests
from requests.adapters import HTTPAdapter

from syncing.jira.budget import LocalBudget, RequestBudget
from syncing.jira.errors import (
    JiraAuthenticationError,
    JiraBadRequestError,
    JiraEndpointRemovedError,
    JiraError,
    JiraNotFoundError,
    JiraPermissionError,
    JiraUnavailableError,
)

log = logging.getLogger(__name__)

CLOUD, DATACENTER = "cloud", "datacenter"
DC_RESULT_WINDOW = 10_000  # Data Center refuses startAt + maxResults beyond this


@dataclass(frozen=True)
class ConnectionSettings:
    name: str
    base_url: str
    auth_kind: str  # basic | bearer
    username: str
    token: str = field(repr=False)
    flavour: str = "auto"  # auto | cloud | datacenter
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
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
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.budget = budget or LocalBudget(1000)
        self.counters = counters or RequestCounters()
        self.sleep = sleep
        self.flavour = settings.flavour if settings.flavour in (CLOUD, DATACENTER) else ""
        self.session = requests.Session()
        self.session.mount("https://", HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0))
        self.session.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0))
        self.session.headers.update(
            {"Accept": "application/json", "Accept-Language": "en", "User-Agent": "jirasync/0.1"}
        )
        if settings.auth_kind == "bearer":
            self.session.headers["Authorization"] = f"Bearer {settings.token}"
        else:
            self.session.auth = (settings.username, settings.token)

    def close(self) -> None:
        self.session.close()

    # --- the request loop --------------------------------------------------------------------------
    def request(self, method: str, path: str, *, params: dict | None = None, body: Any = None) -> Any:
        """Send one request (retrying what may be retried) and return its parsed JSON.

        1. Wait for the instance's budget.  2. Send.  3. On a connection error, 5xx, 429 or a broken
        body, wait (Retry-After / X-RateLimit-Reset, else exponential backoff with jitter) and retry,
        up to max_retries.  4. Any other error status raises its typed JiraError.
        """
        url = f"{self.settings.base_url.rstrip('/')}{path}"
        where = f"{self.settings.name}: {method} {path}"
        last_problem = ""
        for attempt in range(self.settings.max_retries + 1):
            if attempt:
                self.counters.add(retries=1)
            self.budget.acquire()
            self.counters.add(requests=1)
            began = time.perf_counter()
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    data=orjson.dumps(body) if body is not None else None,
                    headers={"Content-Type": "application/json"} if body is not None else None,
                    timeout=(self.settings.connect_timeout, self.settings.read_timeout),
                )
                content = response.content
            except requests.RequestException as exc:
                last_problem = f"connection failed ({type(exc).__name__})"
                self._back_off(attempt)
                continue
            status = response.status_code
            log.debug(
                "%s %s -> %s in %.0f ms (attempt %d)",
                method,
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
            fetched = time.perf_counter()
            try:
                parsed = orjson.loads(content) if content else None
                self.counters.add(fetch=fetched - began, parse=time.perf_counter() - fetched)
                return parsed
            except orjson.JSONDecodeError:
                last_problem = "the response body was not valid JSON (truncated or malformed)"
                self._back_off(attempt)
        raise JiraUnavailableError(f"{where} failed after {self.settings.max_retries + 1} attempts: {last_problem}")

    def _back_off(self, attempt: int, at_least: float = 0.0) -> None:
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
        info = self.request("GET", "/rest/api/2/serverInfo")
        detected = CLOUD if info.get("deploymentType") == "Cloud" else DATACENTER
        if not self.flavour:
            self.flavour = detected
        server_time = _parse_time(info.get("serverTime")) or datetime.now(UTC)
        me = self.request("GET", f"{self.api}/myself")
        return SiteInfo(detected, server_time, str(me.get("timeZone") or "UTC"), str(info.get("version", "")))

    def projects(self) -> list[dict[str, Any]]:
        """Every project the account can see: Cloud pages project/search, Data Center lists them all."""
        self._ensure_flavour()
        if self.flavour != CLOUD:
            return list(self.request("GET", "/rest/api/2/project"))
        found, start = [], 0
        while True:
            # https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-projects/#api-rest-api-3-project-search-get
            page = self.request("GET", "/rest/api/3/project/search", params={"startAt": start, "maxResults": 100})
            found += page.get("values", [])
            if page.get("isLast", True) or not page.get("values"):
                return found
            start += len(page["values"])

    def fields(self) -> list[dict[str, Any]]:
        self._ensure_flavour()
        return list(self.request("GET", f"{self.api}/field"))

    def issue(self, issue_id: str, *, fields: list[str] | None = None, expand: str = "") -> dict[str, Any]:
        self._ensure_flavour()
        params = {"fields": ",".join(fields) if fields else "*all"}
        if expand:
            params["expand"] = expand
        return self.request("GET", f"{self.api}/issue/{issue_id}", params=params)

    def changelog(self, issue_id: str) -> list[dict[str, Any]]:
        """Every history of an issue, oldest first, from the per-issue changelog endpoint."""
        self._ensure_flavour()
        histories: list[dict[str, Any]] = []
        while True:
            page = self.request(
                "GET", f"{self.api}/issue/{issue_id}/changelog", params={"startAt": len(histories), "maxResults": 100}
            )
            values = page.get("values") or []
            histories += values
            if page.get("isLast", True) or not values or len(histories) >= page.get("total", 0):
                return histories

    def bulk_status_histories(self, issue_ids: list[str], field_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Cloud: the histories of up to 1,000 issues per call, only the items of field_ids, oldest first."""
        # https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-changelog-bulkfetch-post
        found: dict[str, list[dict[str, Any]]] = {issue_id: [] for issue_id in issue_ids}
        for start in range(0, len(issue_ids), 1000):
            body: dict[str, Any] = {
                "issueIdsOrKeys": issue_ids[start : start + 1000],
                "fieldIds": field_ids,
                "maxResults": 10000,
            }
            while True:
                page = self.request("POST", "/rest/api/3/changelog/bulkfetch", body=body)
                for log in page.get("issueChangeLogs") or []:
                    found.setdefault(str(log.get("issueId")), []).extend(log.get("changeHistories") or [])
                token = page.get("nextPageToken")
                if not token:
                    break
                body["nextPageToken"] = token
        return found

    def search_pages(
        self, jql: str, order_by: str, fields: list[str], *, changelog: bool = True, page_size: int = 100
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield the issues matching jql page by page as they arrive; never the whole result at once."""
        self._ensure_flavour()
        if self.flavour == CLOUD:
            yield from self._cloud_pages(jql, order_by, fields, changelog, page_size)
        else:
            yield from self._datacenter_pages(jql, order_by, fields, changelog, page_size)

    def _cloud_pages(
        self, jql: str, order_by: str, fields: list[str], changelog: bool, page_size: int
    ) -> Iterator[list[dict[str, Any]]]:
        # https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/#api-rest-api-3-search-jql-post
        body: dict[str, Any] = {"jql": f"{jql} ORDER BY {order_by}", "fields": fields, "maxResults": page_size}
        if changelog:
            body["expand"] = "changelog"  # a comma string even in the POST body
        while True:
            page = self.request("POST", "/rest/api/3/search/jql", body=body)
            issues = page.get("issues") or []
            if issues:
                yield issues
            token = page.get("nextPageToken")
            if page.get("isLast", not token) or not token:
                return
            body["nextPageToken"] = token

    def _datacenter_pages(
        self, jql: str, order_by: str, fields: list[str], changelog: bool, page_size: int
    ) -> Iterator[list[dict[str, Any]]]:
        """startAt paging inside a moving window: Data Center refuses offsets past 10,000, so the query
        restarts from the last `updated` seen (order_by must start with `updated ASC`), skipping the ids
        already yielded at that instant."""
        # https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/search-searchUsingSearchRequest
        window_jql, start = jql, 0
        last_updated: str | None = None
        seen_at_last: set[str] = set()
        while True:
            body: dict[str, Any] = {
                "jql": f"{window_jql} ORDER BY {order_by}",
                "startAt": start,
                "maxResults": page_size,
                "fields": fields,
            }
            if changelog:
                body["expand"] = ["changelog"]  # an array in the Data Center POST body
            page = self.request("POST", "/rest/api/2/search", body=body)
            issues = page.get("issues") or []
            fresh = [issue for issue in issues if issue.get("id") not in seen_at_last]
            if fresh:
                yield fresh
            for issue in issues:
                updated = (issue.get("fields") or {}).get("updated")
                if updated != last_updated:
                    last_updated, seen_at_last = updated, set()
                seen_at_last.add(issue.get("id"))
            effective = int(page.get("maxResults") or page_size) or page_size
            start += len(issues)
            if not issues or start >= int(page.get("total", 0)):
                return
            if start + effective > DC_RESULT_WINDOW:
                moment = _parse_time(last_updated)
                if moment is None:
                    raise JiraError(f"{self.settings.name}: cannot move the search window without `updated`")
                window_jql = f"({jql}) AND updated >= {int(moment.timestamp() * 1000)}"
                start = 0

    def _ensure_flavour(self) -> None:
        if not self.flavour:
            self.site_info()


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
