"""The HTTP side: Jira's REST endpoints with their parameters, limits and error bodies, plus /_sim controls."""

import base64
import hmac
import itertools
import json
import random
import re
import socket
import ssl
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from jirasim import catalog
from jirasim.dataset import Dataset, IssueRecord, SimConfig
from jirasim.disturb import disturb_read
from jirasim.errors import HttpError
from jirasim.faults import BULKFETCH_OMIT, LESS_DATA, FaultPlan, FaultRule, IssueRef
from jirasim.ratelimit import RateLimiter
from jirasim.render import CLOUD_INLINE_HISTORIES, CLOUD_ISSUE_HISTORIES, Renderer
from jirasim.replay import RawEvent, load_replay_files
from jirasim.search import Read, SearchIndex
from jirasim.webhooks import Registration, WebhookSender

try:
    import orjson

    def dumps(value: Any) -> bytes:
        return orjson.dumps(value)
except ImportError:  # pragma: no cover - orjson is optional

    def dumps(value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()


REMOVED_SEARCH = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full "
    "migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
NOT_FOUND_ISSUE = "Issue does not exist or you do not have permission to see it."
DC_RESULT_WINDOW = 10_000


__all__ = ["HttpError", "JiraSim", "SimServer"]
# Where each paging fault can be done: page tokens, startAt, pages that repeat or come back empty.
TOKEN_PAGING = frozenset({"repeat-token", "repeat-page", "empty-page"})
OFFSET_PAGING = frozenset({"ignore-start-at", "repeat-page", "empty-page"})


class Request:
    def __init__(
        self, method: str, path: str, query: dict[str, list[str]], body: Any, match: re.Match, endpoint: str = ""
    ) -> None:
        self.method, self.path, self.query, self.body, self.match = method, path, query, body, match
        self.endpoint = endpoint  # "METHOD /path/template", as faults and stats name it

    def param(self, name: str, default: Any = None) -> Any:
        """A parameter from the query string (GET) or the JSON body (POST)."""
        if isinstance(self.body, dict) and name in self.body:
            return self.body[name]
        values = self.query.get(name)
        return values[-1] if values else default

    def int_param(self, name: str, default: int) -> int:
        value = self.param(name, default)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise HttpError(400, f"The value '{value}' is not valid for the parameter '{name}'.") from None


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.per_second: dict[int, int] = defaultdict(int)  # Jira requests by wall-clock second

    def count(self, endpoint: str, status: int) -> None:
        with self.lock:
            self.counts[endpoint][str(status)] += 1
            if "/_sim/" not in endpoint:
                self.per_second[int(time.time())] += 1

    def busiest_second(self) -> int:
        """The most Jira requests seen within one wall-clock second: the rate clients really made."""
        with self.lock:
            return max(self.per_second.values(), default=0)

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self.lock:
            return {endpoint: dict(codes) for endpoint, codes in self.counts.items()}

    def total(self, endpoint: str | None = None) -> int:
        snapshot = self.snapshot()
        return sum(sum(codes.values()) for name, codes in snapshot.items() if endpoint in (None, name))

    def reset(self) -> None:
        with self.lock:
            self.counts.clear()
            self.per_second.clear()


class JiraSim:
    """The simulated site: data, routes, auth, limits, faults. Independent of any HTTP server."""

    def __init__(
        self,
        config: SimConfig,
        *,
        user: str = "demo@example.com",
        token: str = "demo-token",
        rate_limit: float = 0,
        burst: float | None = None,
        faults: FaultPlan | None = None,
        legacy_search: bool = False,
        dc_max_results: int = 1000,
        replay: list[str] | None = None,
        captcha_after: int = 0,
        cloud_tokens: str = "snapshot",
    ) -> None:
        self.config = config
        self.data = Dataset(config)
        self.user, self.token = user, token
        self.limiter = RateLimiter(rate_limit, burst, cloud=config.cloud)
        self.faults = faults or FaultPlan()
        self.legacy_search = legacy_search
        self.dc_max_results = dc_max_results
        self.stats = Stats()
        self.captcha_after = captcha_after
        self.failed_logins = 0
        for issue in load_replay_files(replay or []):
            self.data.add_replayed(issue)
        self.renderer: Renderer | None = None
        self.webhooks = WebhookSender(cloud=config.cloud)
        self.search = SearchIndex(self.data, config.account_tz, cloud_tokens)
        self.disturbance_numbers = itertools.count(1)
        self.nonces = itertools.count(1)  # make a token that points where an earlier one did look new
        self.routes: list[tuple[str, re.Pattern, str, Callable[[Request], tuple[int, Any]]]] = []
        self._register_routes()

    def bind(self, base_url: str) -> None:
        self.config.base_url = base_url
        self.renderer = Renderer(self.data, base_url)

    # --- routing ---------------------------------------------------------------------------------
    def _route(self, methods: str, template: str, handler: Callable) -> None:
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template.replace("{v}", "{version}"))
        for method in methods.split("|"):
            self.routes.append((method, re.compile(f"^{pattern}/?$"), template, handler))

    def _register_routes(self) -> None:
        api = "/rest/api/{v}"
        self._route("GET", f"{api}/serverInfo", self.server_info)
        self._route("GET", f"{api}/myself", self.myself)
        self._route("GET", f"{api}/project", self.project_list)
        self._route("GET", f"{api}/project/search", self.project_search)
        self._route("GET", f"{api}/project/{{projectIdOrKey}}", self.project_detail)
        self._route("GET", f"{api}/field", self.fields)
        self._route("GET|POST", f"{api}/search/jql", self.search_jql)
        self._route("POST", f"{api}/search/approximate-count", self.approximate_count)
        self._route("GET|POST", f"{api}/search", self.search_legacy)
        self._route("GET", f"{api}/issue/{{issueIdOrKey}}", self.issue)
        self._route("GET", f"{api}/issue/{{issueIdOrKey}}/changelog", self.changelog)
        self._route("POST", f"{api}/changelog/bulkfetch", self.bulk_changelog)
        self._route("POST", f"{api}/jql/parse", self.jql_parse)
        self._route("POST", "/_sim/advance", self.sim_advance)
        self._route("GET", "/_sim/truth", self.sim_truth)
        self._route("GET", "/_sim/stats", self.sim_stats)
        self._route("POST", "/_sim/reset-stats", self.sim_reset_stats)
        self._route("POST", "/_sim/history", self.sim_history)
        self._route("POST", "/_sim/access", self.sim_access)
        self._route("GET|POST", "/_sim/faults", self.sim_faults)
        self._route("POST", "/_sim/disturb", self.sim_disturb)
        self._route("GET|POST", "/_sim/paging", self.sim_paging)
        self._route("GET|POST|DELETE", "/_sim/webhooks", self.sim_webhooks)

    def resolve(self, method: str, path: str) -> tuple[str, re.Match, Callable] | None:
        for route_method, pattern, template, handler in self.routes:
            match = pattern.match(path)
            if match and route_method == method:
                return template, match, handler
        return None

    def authenticate(self, header: str | None) -> str | None:
        """The credential's name when the Authorization header is right, else None."""
        if not header:
            return None
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            return "bearer" if hmac.compare_digest(value.strip(), self.token) else None
        if scheme.lower() == "basic":
            try:
                user, _, secret = base64.b64decode(value.strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            ok = hmac.compare_digest(user, self.user) and hmac.compare_digest(secret, self.token)
            if user == self.user:
                self.failed_logins = 0 if ok else self.failed_logins + 1
            return user if ok else None
        return None

    def captcha_required(self, header: str | None) -> bool:
        """After captcha_after failed basic logins Jira demands a CAPTCHA: every basic request gets a 403."""
        return (
            bool(self.captcha_after)
            and self.failed_logins >= self.captcha_after
            and bool(header and header.lower().startswith("basic "))
        )

    # --- helpers ---------------------------------------------------------------------------------
    @property
    def r(self) -> Renderer:
        assert self.renderer is not None, "bind() the simulator to its base URL first"
        return self.renderer

    def version(self, request: Request) -> str:
        version = request.match.group("version")
        if version not in ("2", "3", "latest"):
            raise HttpError(404, "null for uri")
        if version == "3" and not self.config.cloud:
            raise HttpError(404, "null for uri")  # Data Center has no v3
        return "2" if version == "latest" else version

    def visible_projects(self) -> list:
        return [p for p in self.data.projects if not p.hidden]

    def project_lookup(self) -> dict[str, str]:
        return self.search.project_lookup()

    def matching_ids(self, jql: str, *, bounded: bool) -> list[int]:
        """Ids of the issues the JQL selects, in its order (cached per data version; see SearchIndex)."""
        return self.search.matching_ids(jql, bounded=bounded)

    def wanted_fields(self, raw: Any, default: str) -> set[str] | None:
        """Jira's `fields` parameter: a list, *all, *navigable, -x to exclude. None means every field."""
        names = raw if isinstance(raw, list) else (str(raw).split(",") if raw is not None else [default])
        names = [n.strip() for n in names if n and n.strip()]
        every = set(self.r.all_fields())
        wanted: set[str] = set()
        include_all = False
        for name in names:
            if name in ("*all", "*navigable"):
                include_all = True
            elif not name.startswith("-"):
                wanted.add(name)
        result = set(every) if include_all else wanted
        result -= {name[1:] for name in names if name.startswith("-")}
        return None if result == every else result - {"id", "key"}

    def expand(self, request: Request) -> set[str]:
        raw = request.param("expand", "")
        values = raw if isinstance(raw, list) else str(raw).split(",")
        return {value.strip() for value in values if value and value.strip()}

    def record_or_404(self, key_or_id: str) -> IssueRecord:
        record = self.data.find(key_or_id)
        if record is None or not self.data.visible(record):
            raise HttpError(404, NOT_FOUND_ISSUE)
        return record

    def jql_parse(self, request: Request) -> tuple[int, Any]:
        """Cloud's POST /rest/api/3/jql/parse: each query with its errors, or its (here: empty) structure."""
        if self.version(request) != "3":
            raise HttpError(404, "null for uri")
        queries = request.body.get("queries") if isinstance(request.body, dict) else None
        if not isinstance(queries, list) or not queries:
            raise HttpError(400, "queries: must not be empty")
        parsed, lookup = [], self.project_lookup()
        for query in queries:
            try:
                parse_jql(str(query), now_ms=self.data.now_ms, zone=self.config.account_tz, projects=lookup)
            except JqlError as exc:
                parsed.append({"query": str(query), "errors": [str(exc)]})
            else:
                parsed.append({"query": str(query), "structure": {"where": {}}})
        return 200, {"queries": parsed}

    # --- metadata ----------------------------------------------------------------------------------
    def server_info(self, request: Request) -> tuple[int, Any]:
        self.version(request)
        now = self.r.timestamp(self.data.now_ms)
        if self.config.cloud:
            return 200, {
                "baseUrl": self.config.base_url,
                "version": "1001.0.0-SNAPSHOT",
                "versionNumbers": [1001, 0, 0],
                "deploymentType": "Cloud",
                "buildNumber": 100204,
                "buildDate": "2026-01-01T00:00:00.000+0000",
                "serverTime": now,
                "scmInfo": "948b370c557f4bbf768b92203f3aca5d86ee9758",
                "serverTitle": "Jira",
                # No defaultLocale: today's Cloud schema (additionalProperties: false) has none.
                "serverTimeZone": self.config.site_tz,
            }
        numbers = [int(part) for part in self.config.dc_version.split(".") if part.isdigit()]
        return 200, {
            "baseUrl": self.config.base_url,
            "version": self.config.dc_version,
            "versionNumbers": numbers,
            "deploymentType": "Server",
            "buildNumber": 9120004,
            "buildDate": "2024-01-10T00:00:00.000+0000",
            "serverTime": now,
            "scmInfo": "8a1c3f6e1d1e9f3b1c2d4e5f6a7b8c9d0e1f2a3b",
            "serverTitle": "Jira",
            "defaultLocale": {"locale": "en_US"},
            "serverTimeZone": self.config.site_tz,
        }

    def myself(self, request: Request) -> tuple[int, Any]:
        version = self.version(request)
        me = dict(self.r.user(0, version))
        me.update(
            {
                "emailAddress": self.user if "@" in self.user else me["emailAddress"],
                "timeZone": self.config.account_tz,
                "locale": "en_US",
            }
        )
        if not self.config.cloud:
            me["name"] = self.user
        me["groups"] = {"size": 1, "items": []}
        me["applicationRoles"] = {"size": 1, "items": []}
        me["expand"] = "groups,applicationRoles"
        return 200, me

    def _project_bean(self, project, version: str) -> dict[str, Any]:
        bean = self.r.project(project.index, version)
        bean.update({"expand": "description,lead,issueTypes,url,projectKeys,permissions,insight"})
        bean["projectCategory"] = {
            "self": f"{self.r.api(version)}/projectCategory/10000",
            "id": "10000",
            "name": "Listings",
            "description": "",
        }
        return bean

    def project_list(self, request: Request) -> tuple[int, Any]:
        version = self.version(request)
        return 200, [self._project_bean(p, version) for p in self.visible_projects()]

    def project_search(self, request: Request) -> tuple[int, Any]:
        version = self.version(request)
        start = max(0, request.int_param("startAt", 0))
        size = request.int_param("maxResults", 50)
        size = 100 if size > 100 or size < 1 else size  # "greater than 100 ... will default to 100"
        projects = sorted(self.visible_projects(), key=lambda p: p.key)
        served_from, start, fault = self._offset_page(request, start, size, len(projects))
        page = [] if fault == "empty-page" else projects[served_from : served_from + size]
        next_start = start if fault == "empty-page" else start + size
        body = {
            "self": f"{self.r.api(version)}/project/search?startAt={start}&maxResults={size}",
            "maxResults": size,
            "startAt": start,
            "total": len(projects),
            "isLast": next_start >= len(projects),
            "values": [self._project_bean(p, version) for p in page],
        }
        if not body["isLast"]:
            body["nextPage"] = f"{self.r.api(version)}/project/search?startAt={next_start}&maxResults={size}"
        return 200, body

    def project_detail(self, request: Request) -> tuple[int, Any]:
        version = self.version(request)
        key = self.project_lookup().get(request.match.group("projectIdOrKey").upper())
        if key is None:
            raise HttpError(404, f"No project could be found with key '{request.match.group('project')}'.")
        project = next(p for p in self.data.projects if p.key == key)
        bean = self._project_bean(project, version)
        bean.update(
            {
                "description": "",
                "lead": self.r.user(0, version),
                "components": [],
                "issueTypes": [
                    {
                        "self": f"{self.r.api(version)}/issuetype/{i}",
                        "id": i,
                        "description": "",
                        "iconUrl": "",
                        "name": n,
                        "subtask": s,
                    }
                    for i, n, s in catalog.ISSUE_TYPES
                ],
                "assigneeType": "UNASSIGNED",
                "versions": [],
                "roles": {},
            }
        )
        return 200, bean

    def fields(self, request: Request) -> tuple[int, Any]:
        self.version(request)
        return 200, self.r.field_list()

    # --- search ------------------------------------------------------------------------------------
    def search_jql(self, request: Request) -> tuple[int, Any]:
        version = self.version(request)
        if not self.config.cloud:
            raise HttpError(404, "null for uri")
        size = request.int_param("maxResults", 50)
        if not 1 <= size <= 5000:
            raise HttpError(400, "The max results parameter has to be between 1 and 5,000.")
        raw_fields = request.param("fields")
        wanted = self.wanted_fields(raw_fields, "id") if raw_fields is not None else set()
        if wanted is None or len(wanted) > 1:
            size = min(size, 100)  # fewer per page when many fields are asked for
        token = request.param("nextPageToken")
        if token:
            read_id, ids, offset = self.search.resume_cloud_read(str(token))
        else:
            read_id, ids = self.search.start_cloud_read(str(request.param("jql", "") or ""))
            offset = 0
        listing = self.listing(wanted)
        fault = self._paging_fault(request, TOKEN_PAGING, resumed=bool(token), more=offset < len(ids), listing=listing)
        served_from = {"repeat-token": 0, "repeat-page": max(0, offset - size)}.get(fault, offset)
        page_ids = [] if fault == "empty-page" else ids[served_from : served_from + size]
        expand = self.expand(request)
        issues = self.page(page_ids, version, wanted, expand, CLOUD_INLINE_HISTORIES, ids_only=raw_fields is None)
        self._less_data(request, issues, expand, listing)
        body: dict[str, Any] = {"issues": issues}
        if fault == "repeat-token":
            body["nextPageToken"], body["isLast"] = str(token), False
        elif fault == "empty-page":  # a fresh token that points where this page should have started
            body["nextPageToken"] = self.search.token(read_id, offset, next(self.nonces))
            body["isLast"] = False
        else:
            if offset + size < len(ids):
                body["nextPageToken"] = self.search.token(read_id, offset + size)
            body["isLast"] = offset + size >= len(ids)
        self._page_served(request, read_id, offset + size, listing)
        return 200, body

    def listing(self, wanted: set[str] | None) -> str:
        """What a search asked for: "ids" (no fields but id, key, updated: a census listing) or "full"."""
        return "ids" if wanted is not None and wanted <= {"updated"} else "full"

    def page(
        self,
        ids: list[int],
        version: str,
        wanted: set[str] | None,
        expand: set[str],
        inline_limit: int | None,
        ids_only: bool = False,
    ) -> list[dict]:
        issues = []
        with self.data.lock:
            for issue_id in ids:
                record = self.data.by_id.get(issue_id)
                if record is None or record.deleted:
                    continue  # deleted since the search began: Jira leaves it out
                if ids_only:
                    issues.append({"id": str(record.id)})
                else:
                    issues.append(self.r.issue(record, version, wanted, expand, inline_limit))
        return issues

    def approximate_count(self, request: Request) -> tuple[int, Any]:
        self.version(request)
        if not self.config.cloud:
            raise HttpError(404, "null for uri")
        return 200, {"count": len(self.matching_ids(str(request.param("jql", "") or ""), bounded=True))}

    def search_legacy(self, request: Request) -> tuple[int, Any]:
        version = self.version(request)
        if self.config.cloud and not self.legacy_search:
            raise HttpError(410, REMOVED_SEARCH)
        start = max(0, request.int_param("startAt", 0))
        size = request.int_param("maxResults", 50)
        size = max(0, min(size, self.dc_max_results if not self.config.cloud else 100))
        if not self.config.cloud and start + size > DC_RESULT_WINDOW:
            raise HttpError(
                400,
                f"Search limit exceeded. The search request exceeded the search platform limit of "
                f"{DC_RESULT_WINDOW:,} results. Narrow your search or use a smaller startAt.",
            )
        jql = str(request.param("jql", "") or "")
        ids = self.matching_ids(jql, bounded=False)
        read_id = self.search.offset_read(request.endpoint, jql, start)
        wanted = self.wanted_fields(request.param("fields"), "*navigable")
        inline = None if not self.config.cloud else CLOUD_ISSUE_HISTORIES
        expand = self.expand(request)
        listing = self.listing(wanted)
        served_from, echoed, fault = self._offset_page(request, start, size, len(ids), listing)
        page_ids = [] if fault == "empty-page" else ids[served_from : served_from + size]
        issues = self.page(page_ids, version, wanted, expand, inline)
        self._less_data(request, issues, expand, listing)
        self._page_served(request, read_id, start + size, listing)
        body = {"expand": "schema,names", "startAt": echoed, "maxResults": size, "total": len(ids), "issues": issues}
        if "names" in expand:
            body["names"] = self.r.names()
        if "schema" in expand:
            body["schema"] = self.r.schemas()
        return 200, body

    # --- issues and histories ------------------------------------------------------------------------
    def issue(self, request: Request) -> tuple[int, Any]:
        version = self.version(request)
        record = self.record_or_404(request.match.group("issueIdOrKey"))
        wanted = self.wanted_fields(request.param("fields"), "*all")
        inline = CLOUD_ISSUE_HISTORIES if self.config.cloud else None
        expand = self.expand(request)
        with self.data.lock:
            body = self.r.issue(record, version, wanted, expand, inline)
        self._less_data(request, [body], expand)
        return 200, body

    def changelog(self, request: Request) -> tuple[int, Any]:
        version = self.version(request)
        record = self.record_or_404(request.match.group("issueIdOrKey"))
        start = max(0, request.int_param("startAt", 0))
        size = request.int_param("maxResults", 100)
        size = 100 if size > 100 or size < 1 else size
        with self.data.lock:
            events = self.data.history(record)
            served_from, start, fault = self._offset_page(request, start, size, len(events))
            shown = [] if fault == "empty-page" else events[served_from : served_from + size]
            values = [self.r.history(event, version) for event in shown]
        next_start = start if fault == "empty-page" else start + size
        base = f"{self.r.api(version)}/issue/{record.id}/changelog"
        body = {
            "self": f"{base}?maxResults={size}&startAt={start}",
            "maxResults": size,
            "startAt": start,
            "total": len(events),
            "isLast": next_start >= len(events),
            "values": values,
        }
        if not body["isLast"]:
            body = {
                "self": body["self"],
                "nextPage": f"{base}?maxResults={size}&startAt={next_start}",
                **{k: v for k, v in body.items() if k != "self"},
            }
        return 200, body

    def bulk_changelog(self, request: Request) -> tuple[int, Any]:
        version = self.version(request)
        if not self.config.cloud:
            raise HttpError(404, "null for uri")
        body = request.body if isinstance(request.body, dict) else {}
        keys = body.get("issueIdsOrKeys") or []
        if not isinstance(keys, list) or not 1 <= len(keys) <= 1000:
            raise HttpError(400, "issueIdsOrKeys must contain between 1 and 1000 issue ids or keys.")
        field_ids = body.get("fieldIds") or []
        if len(field_ids) > 10 or len(set(field_ids)) != len(field_ids):
            raise HttpError(400, "fieldIds must contain at most 10 unique field ids.")
        size = body.get("maxResults", 1000)
        if not isinstance(size, int) or not 1 <= size <= 10000:
            raise HttpError(400, "maxResults must be between 1 and 10000.")
        offset, token = 0, body.get("nextPageToken")
        if token:
            try:
                offset = int(base64.urlsafe_b64decode(str(token).encode()).decode().split(".")[0])
            except ValueError:
                raise HttpError(400, "The provided next page token is invalid.") from None
        entries = []
        with self.data.lock:
            for key in keys:
                record = self.data.find(str(key))
                if record is None or not self.data.visible(record):
                    continue  # not found and no permission look the same: simply missing
                for event in self.data.history(record):
                    if isinstance(event, RawEvent):
                        items = event.items_matching(field_ids)
                    else:
                        items = [i for i in event.items if not field_ids or i[2] in field_ids]
                    if items:
                        entries.append((event.at_ms, record.id, event, items))
        entries.sort(key=lambda entry: (entry[0], entry[1]))
        fault = self._paging_fault(request, TOKEN_PAGING, resumed=bool(token), more=offset < len(entries))
        served_from = {"repeat-token": 0, "repeat-page": max(0, offset - size)}.get(fault, offset)
        shown = [] if fault == "empty-page" else entries[served_from : served_from + size]
        grouped: dict[int, list] = {}
        for _at_ms, issue_id, event, items in shown:
            history = dict(self.r.history(event, version))
            history["items"] = items if isinstance(event, RawEvent) else [self.r.item(item) for item in items]
            grouped.setdefault(issue_id, []).append(history)
        self._omit_from_bulkfetch(request, grouped)
        answer: dict[str, Any] = {
            "issueChangeLogs": [{"issueId": str(i), "changeHistories": h} for i, h in grouped.items()]
        }
        if fault == "repeat-token":
            answer["nextPageToken"] = str(token)
        elif fault == "empty-page":  # a fresh token that points where this page should have started
            text = f"{offset}.{next(self.nonces)}"
            answer["nextPageToken"] = base64.urlsafe_b64encode(text.encode()).decode()
        elif offset + size < len(entries):
            answer["nextPageToken"] = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
        return 200, answer

    # --- faults done to answers --------------------------------------------------------------------
    def _paging_fault(
        self, request: Request, kinds: frozenset[str], *, resumed: bool, more: bool, listing: str | None = None
    ) -> str | None:
        """The paging fault (if any) to do to this page: repeats need a page before it, empty pages data."""
        if not self.faults.rules:
            return None
        eligible = {kind for kind in kinds if (more if kind == "empty-page" else resumed)}
        return self.faults.paging_fault(request.endpoint, eligible, listing)

    def _offset_page(
        self, request: Request, start: int, size: int, total: int, listing: str | None = None
    ) -> tuple[int, int, str | None]:
        """(where the page served starts, the startAt the answer says, the paging fault done)."""
        fault = self._paging_fault(request, OFFSET_PAGING, resumed=start > 0, more=start < total, listing=listing)
        if fault == "ignore-start-at":
            return 0, 0, fault
        if fault == "repeat-page":
            return max(0, start - size), start, fault
        return start, start, fault

    def _less_data(self, request: Request, issues: list[dict], expand: set[str], listing: str | None = None) -> None:
        """Issues answered with less than was asked: fields null or missing, no core fields, no changelog."""
        if not issues or not self.faults.has(LESS_DATA):
            return
        eligible = {"changelog-missing"} if "changelog" in expand else set()
        if "fields" in issues[0]:
            eligible |= LESS_DATA - {"changelog-missing"}
        refs = [self._issue_ref(issue) for issue in issues]
        for rule, chosen in self.faults.issue_faults(request.endpoint, eligible, refs, listing):
            ids = {str(ref.id) for ref in chosen}
            for issue in issues:
                if issue["id"] in ids:
                    _take_away(rule, issue)
            self.faults.record(rule.kind, request.endpoint, [ref.key for ref in chosen])

    def _issue_ref(self, issue: dict) -> IssueRef:
        record = self.data.by_id.get(int(issue["id"]))
        key = str(issue.get("key") or (self.data.key_of(record) if record else issue["id"]))
        return IssueRef(int(issue["id"]), key, tuple(record.old_keys or ()) if record else ())

    def _omit_from_bulkfetch(self, request: Request, grouped: dict[int, list]) -> None:
        if not grouped or not self.faults.has({BULKFETCH_OMIT}):
            return
        refs = [self._issue_ref({"id": str(issue_id)}) for issue_id in grouped]
        for rule, chosen in self.faults.issue_faults(request.endpoint, {BULKFETCH_OMIT}, refs):
            for ref in chosen:
                grouped.pop(ref.id, None)
            self.faults.record(rule.kind, request.endpoint, [ref.key for ref in chosen])

    def _page_served(self, request: Request, read_id: str, next_offset: int, listing: str) -> None:
        """After a search page: the disturbances due now change the read's already served part."""
        read = self.search.page_served(read_id, next_offset)
        if read is None or not self.faults.rules:
            return
        for rule in self.faults.disturbances_due(request.endpoint, read.pages, listing):
            done = self.disturb(
                read,
                edit=rule.edit,
                delete=rule.delete,
                move=rule.move,
                create=rule.create,
                minutes=rule.minutes,
                named=rule.named,
            )
            self.faults.record_disturbance(request.endpoint, done)

    def disturb(self, read: Read, **changes: Any) -> dict[str, Any]:
        """Change issues in the read's served part (see disturb_read); webhooks go out as for an advance."""
        rng = random.Random(self.faults.seed * 104_729 + next(self.disturbance_numbers))
        done = disturb_read(self.search, read, read.served, rng=rng, **changes)
        self._send_webhooks(done)
        done["now"] = self.r.timestamp(done["now"])
        return done

    # --- controls ----------------------------------------------------------------------------------
    def sim_advance(self, request: Request) -> tuple[int, Any]:
        body = request.body if isinstance(request.body, dict) else {}
        try:
            done = self.data.advance(
                minutes=float(body.get("minutes", 0)),
                update=float(body.get("update", 0)),
                create=int(body.get("create", 0)),
                delete=int(body.get("delete", 0)),
                move=int(body.get("move", 0)),
            )
        except (TypeError, ValueError) as exc:
            raise HttpError(400, f"bad advance request: {exc}") from None
        self._send_webhooks(done)
        done["now"] = self.r.timestamp(done["now"])
        return 200, done

    def _send_webhooks(self, done: dict[str, Any]) -> None:
        """What Jira would send for the changes of an advance: created, updated (moves too), deleted."""
        if not self.webhooks.registrations:
            return
        changes = [("jira:issue_created", key) for key in done["created"]]
        changes += [("jira:issue_updated", key) for key in done["updated"]]
        changes += [("jira:issue_updated", move["to"]) for move in done["moved"]]
        changes += [("jira:issue_deleted", key) for key in done["deleted"]]
        for event, key in changes:
            record = self.data.find(key)
            if record is None:
                continue
            with self.data.lock:
                issue = self.r.issue(record, "2", self.wanted_fields(None, "*all"), set(), None)
                events = self.data.history(record)
                payload: dict[str, Any] = {
                    "timestamp": self.data.now_ms,
                    "webhookEvent": event,
                    "user": self.r.user(0, "2"),
                    "issue": issue,
                }
                if event != "jira:issue_deleted":
                    payload["issue_event_type_name"] = "issue_created" if event.endswith("created") else "issue_updated"
                if event == "jira:issue_updated" and events:
                    last = self.r.history(events[-1], "2")
                    payload["changelog"] = {"id": last["id"], "items": last["items"]}
            self.webhooks.send(event, key, payload)

    def sim_webhooks(self, request: Request) -> tuple[int, Any]:
        """POST {url, secret?, events?} registers a receiver; DELETE removes all; GET lists deliveries."""
        if request.method == "POST":
            body = request.body if isinstance(request.body, dict) else {}
            if not body.get("url"):
                raise HttpError(400, "a webhook needs a url")
            events = tuple(body.get("events") or Registration.events)
            self.webhooks.register(Registration(str(body["url"]), str(body.get("secret") or ""), events))
        elif request.method == "DELETE":
            self.webhooks.clear()
        elif request.param("wait"):
            self.webhooks.wait_idle(float(request.param("wait")))
        return 200, {
            "registrations": [r.url for r in self.webhooks.registrations],
            "deliveries": [vars(d) for d in self.webhooks.deliveries],
        }

    def sim_truth(self, request: Request) -> tuple[int, Any]:
        rows = self.data.truth()
        for row in rows:
            row["updated"] = self.r.timestamp(row["updated"])
        return 200, {"issues": rows, "now": self.r.timestamp(self.data.now_ms)}

    def sim_stats(self, request: Request) -> tuple[int, Any]:
        return 200, {
            "requests": self.stats.snapshot(),
            "busiest_second": self.stats.busiest_second(),
            "faults": self.faults.report()["inflicted"],
            "search_scans": self.search.scans,
        }

    def sim_reset_stats(self, request: Request) -> tuple[int, Any]:
        self.stats.reset()
        self.faults.reset_counts()
        return 200, {"requests": {}}

    def sim_history(self, request: Request) -> tuple[int, Any]:
        body = request.body if isinstance(request.body, dict) else {}
        try:
            record = self.data.set_history_length(str(body["issue"]), int(body["entries"]))
        except (KeyError, TypeError, ValueError):
            raise HttpError(400, 'expected {"issue": KEY or ID, "entries": N} naming a live issue') from None
        return 200, {"id": str(record.id), "key": self.data.key_of(record), "entries": int(body["entries"])}

    def sim_access(self, request: Request) -> tuple[int, Any]:
        body = request.body if isinstance(request.body, dict) else {}
        project = next((p for p in self.data.projects if p.key == str(body.get("project", "")).upper()), None)
        if project is None:
            raise HttpError(400, 'expected {"project": KEY, "visible": true|false, "issues_visible": true|false}')
        project.hidden = not bool(body.get("visible", True))
        project.issues_hidden = not bool(body.get("issues_visible", True))
        self.data.version += 1
        return 200, {"project": project.key, "visible": not project.hidden, "issues_visible": not project.issues_hidden}

    def sim_faults(self, request: Request) -> tuple[int, Any]:
        """POST replaces the rules; GET says what they are and what was inflicted so far."""
        if request.method == "GET":
            return 200, self.faults.report()
        body = request.body if isinstance(request.body, dict) else {}
        rules = [_fault_rule(rule) for rule in body.get("rules", [])]
        self.faults.replace(rules, body.get("latency_ms"), body.get("jitter_ms"))
        return 200, {"rules": len(rules)}

    def sim_disturb(self, request: Request) -> tuple[int, Any]:
        """Change issues in the served part of the latest read now (answer: what changed), or, given
        after_page, add a disturb rule that does so after that page of every search."""
        body = request.body if isinstance(request.body, dict) else {}
        rule = _fault_rule({"kind": "disturb", **{k: v for k, v in body.items() if k != "jql"}})
        if "after_page" in body:
            self.faults.add(rule)
            return 200, {"armed": rule.as_dict()}
        read = self.search.latest_read(body.get("jql"))
        if read is None and not rule.named:
            raise HttpError(400, "no search has been paged yet: name the issues (keys/ids) or arm after_page")
        changes = {name: getattr(rule, name) for name in ("edit", "delete", "move", "create", "minutes")}
        done = self.disturb(read or Read("", False), named=rule.named, **changes)
        self.faults.record_disturbance("POST /_sim/disturb", done)
        return 200, done

    def sim_paging(self, request: Request) -> tuple[int, Any]:
        """{"cloud_tokens": "snapshot" | "live"}: Cloud page tokens freeze the result, or are offsets into it."""
        body = request.body if isinstance(request.body, dict) else {}
        if request.method == "POST" and "cloud_tokens" in body:
            try:
                self.search.cloud_tokens = str(body["cloud_tokens"])
            except ValueError as exc:
                raise HttpError(400, str(exc)) from None
        return 200, {"cloud_tokens": self.search.cloud_tokens}


def _fault_rule(spec: Any) -> FaultRule:
    try:
        return FaultRule(**spec)
    except (TypeError, ValueError) as exc:
        raise HttpError(400, f"bad fault rule: {exc}") from None


def _take_away(rule: FaultRule, issue: dict[str, Any]) -> None:
    """Make the issue hold less than was asked for, as rule.kind says."""
    if rule.kind == "fields-null":
        issue["fields"] = None
    elif rule.kind == "fields-missing":
        issue.pop("fields", None)
    elif rule.kind == "core-fields-missing" and isinstance(issue.get("fields"), dict):
        for name in rule.drop:
            issue["fields"].pop(name, None)
    elif rule.kind == "changelog-missing":
        issue.pop("changelog", None)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, the body waits for the client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True
    sim: JiraSim

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def do_PUT(self) -> None:
        self.dispatch("PUT")

    def do_DELETE(self) -> None:
        self.dispatch("DELETE")

    def dispatch(self, method: str) -> None:
        sim = self.sim
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        resolved = sim.resolve(method, parts.path)
        endpoint = f"{method} {_endpoint_name(resolved) if resolved else parts.path}"
        if resolved is None:
            return self.answer(endpoint, 404, {"errorMessages": ["null for uri: " + parts.path], "errors": {}})
        template, match, handler = resolved
        headers: dict[str, str] = {}
        if not template.startswith("/_sim"):
            authorization = self.headers.get("Authorization")
            if sim.captcha_required(authorization):
                return self.answer(
                    endpoint,
                    403,
                    {"errorMessages": ["CAPTCHA_CHALLENGE"], "errors": {}},
                    {
                        "X-Authentication-Denied-Reason": (
                            f"CAPTCHA_CHALLENGE; login-url={sim.config.base_url}/login.jsp"
                        ),
                        "X-Seraph-LoginReason": "AUTHENTICATION_DENIED",
                    },
                )
            credential = sim.authenticate(authorization)
            if credential is None:
                return self.unauthorized(endpoint)
            allowed, headers = sim.limiter.check(credential)
            if not allowed:
                return self.answer(endpoint, 429, {"errorMessages": ["Rate limit exceeded."], "errors": {}}, headers)
            delay = sim.faults.delay_seconds()
            if delay:
                time.sleep(delay)
            fault = sim.faults.fault_for(endpoint)
            if fault in ("500", "502", "503", "504"):
                return self.answer(
                    endpoint,
                    int(fault),
                    {"errorMessages": ["Internal server error"], "errors": {}},
                    {"Retry-After": "1"} if fault == "503" else {},
                )
            if fault == "reset":
                sim.stats.count(endpoint, 0)
                self.close_connection = True
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                self.connection.close()
                return None
        else:
            fault = None
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return self.answer(
                endpoint, 400, {"errorMessages": ["Unexpected character in the request body."], "errors": {}}
            )
        request = Request(method, parts.path, parse_qs(parts.query), body, match, endpoint)
        try:
            status, payload = handler(request)
        except HttpError as exc:
            status, payload = exc.status, {"errorMessages": exc.messages, "errors": exc.errors}
        return self.answer(endpoint, status, payload, headers, fault)

    def unauthorized(self, endpoint: str) -> None:
        if self.sim.config.cloud:
            body = b"Client must be authenticated to access this resource."
            self.sim.stats.count(endpoint, 401)
            self.send_response(401)
            self.send_header("Content-Type", "text/plain;charset=UTF-8")
            self.send_header("WWW-Authenticate", 'Basic realm="protected-area"')
            self.send_header("X-Seraph-LoginReason", "AUTHENTICATED_FAILED")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.answer(
            endpoint,
            401,
            {
                "errorMessages": ["You are not authenticated. Authentication required to perform this operation."],
                "errors": {},
            },
            {"WWW-Authenticate": 'OAuth realm="jira"', "X-Seraph-LoginReason": "AUTHENTICATED_FAILED"},
        )

    def answer(
        self, endpoint: str, status: int, payload: Any, headers: dict[str, str] | None = None, fault: str | None = None
    ) -> None:
        self.sim.stats.count(endpoint, status)
        body = dumps(payload)
        if fault == "malformed":
            body = body[: max(1, len(body) // 2)] + b"<html>"
        declared = len(body)
        if fault == "truncate":
            body = body[: len(body) // 2]
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(declared))
        self.send_header("X-AREQUESTID", f"{int(time.time() * 1000) % 100000}x1")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if fault == "truncate":
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if fault == "slow":
            for offset in range(0, len(body), max(1, len(body) // 10)):
                self.wfile.write(body[offset : offset + max(1, len(body) // 10)])
                self.wfile.flush()
                time.sleep(0.05)
            return
        self.wfile.write(body)


def _endpoint_name(resolved: tuple[str, re.Match, Callable]) -> str:
    """The path template with the API version filled in: /rest/api/3/issue/{issueIdOrKey}."""
    template, match, _ = resolved
    return template.replace("{v}", match.groupdict().get("version") or "")


class SimServer:
    """jirasim served over HTTP(S) on a loopback port, in a background thread."""

    def __init__(
        self, sim: JiraSim, host: str = "127.0.0.1", port: int = 0, tls: bool = False, cert_dir: str | None = None
    ) -> None:
        handler = type("Handler", (_Handler,), {"sim": sim})
        self.sim = sim
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.cert_file: str | None = None
        scheme = "http"
        if tls:
            from jirasim.tls import self_signed_certificate

            self.cert_file, key_file = self_signed_certificate(host, cert_dir)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.cert_file, key_file)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://{host}:{self.httpd.server_address[1]}"
        sim.bind(self.url)
        self.thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def start(self) -> "SimServer":
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="jirasim", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "SimServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
