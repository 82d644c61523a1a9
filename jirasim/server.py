"""The simulated site: Jira's REST endpoints with their parameters, limits and error bodies.

Its /_sim controls are in jirasim.controls, the faults it does to answers in jirasim.answer_faults,
the HTTP server in jirasim.serving.
"""

import base64
import hmac
import itertools
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from jirasim import catalog
from jirasim.activity_routes import ActivityEndpoints
from jirasim.agile import AgileEndpoints
from jirasim.answer_faults import OFFSET_PAGING, TOKEN_PAGING, AnswerFaults
from jirasim.controls import SimControls
from jirasim.dataset import Dataset, IssueRecord, SimConfig
from jirasim.errors import HttpError
from jirasim.faults import FaultPlan
from jirasim.jql import JqlError, parse_jql
from jirasim.ratelimit import RateLimiter
from jirasim.render import CLOUD_INLINE_HISTORIES, CLOUD_ISSUE_HISTORIES, Renderer
from jirasim.render_activity import SEARCH_INLINE_COMMENTS
from jirasim.replay import RawEvent, load_replay_files
from jirasim.search import SearchIndex
from jirasim.serving import Request, SimServer
from jirasim.webhooks import WebhookSender

REMOVED_SEARCH = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full "
    "migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
NOT_FOUND_ISSUE = "Issue does not exist or you do not have permission to see it."
DC_RESULT_WINDOW = 10_000
ROLES = (
    "Administrators",
    "Developers",
    "Users",
    "Contributors",
    "Committers",
    "Service Desk Customers",
    "Service Desk Team",
)


__all__ = ["HttpError", "JiraSim", "Request", "SimServer"]


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
        return self.busiest_window(1)

    def busiest_window(self, seconds: int) -> int:
        """The most Jira requests seen within `seconds` consecutive wall-clock seconds. Requests are counted as
        they are answered: on a busy machine answers bunch by a second or two, which a longer window evens out."""
        with self.lock:
            counts = dict(self.per_second)
        return max((sum(counts.get(start + k, 0) for k in range(seconds)) for start in counts), default=0)

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


class JiraSim(AnswerFaults, SimControls, ActivityEndpoints, AgileEndpoints):
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
        self.overrides: dict[str, tuple[int, Any]] = {}  # endpoint -> (status, body): /_sim/override
        self.withheld: set[str] = set()  # "comment", "worklog": kinds the site does not offer (/_sim/offered)
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
        self.register_activity_routes()
        self.register_agile_routes()
        self._route("POST", "/_sim/advance", self.sim_advance)
        self._route("GET", "/_sim/truth", self.sim_truth)
        self._route("GET", "/_sim/stats", self.sim_stats)
        self._route("POST", "/_sim/reset-stats", self.sim_reset_stats)
        self._route("POST", "/_sim/history", self.sim_history)
        self._route("POST", "/_sim/access", self.sim_access)
        self._route("POST", "/_sim/status", self.sim_status)
        self._route("GET|POST", "/_sim/faults", self.sim_faults)
        self._route("POST", "/_sim/disturb", self.sim_disturb)
        self._route("GET|POST", "/_sim/paging", self.sim_paging)
        self._route("GET|POST|DELETE", "/_sim/webhooks", self.sim_webhooks)
        self._route("GET|POST|DELETE", "/_sim/override", self.sim_override)
        self._route("GET|POST", "/_sim/offered", self.sim_offered)

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
        result -= {name[1:] for name in names if name.startswith("-")} | self.withheld
        return None if result == every else result - {"id", "key"}

    def expand(self, request: Request) -> set[str]:
        raw = request.param("expand", "")
        values = raw if isinstance(raw, list) else str(raw).split(",")
        return {value.strip() for value in values if value and value.strip()}

    def offered_or_404(self, request: Request, kind: str) -> None:
        """A site without that kind ("comment", "worklog"; /_sim/offered) knows no such path."""
        if kind in self.withheld:
            raise HttpError(404, f"null for uri: {self.config.base_url}{request.path}")

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
                # Real Cloud sends it (recorded), although today's schema (additionalProperties: false) has none.
                "defaultLocale": {"locale": "en_US"},
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
        expand = self.expand(request)
        group = {"name": "jira-software-users", "self": f"{self.r.api(version)}/group?groupname=jira-software-users"}
        if self.config.cloud:
            group["groupId"] = "6e3bc4b3-0c3a-4a1b-9d1e-6f1a2c3d4e5f"
        role = {"key": "jira-software", "name": "Jira Software"}
        me["groups"] = {"size": 1, "items": [group] if "groups" in expand else []}
        me["applicationRoles"] = {"size": 1, "items": [role] if "applicationRoles" in expand else []}
        me["expand"] = "groups,applicationRoles"
        return 200, me

    def _project_bean(self, project, version: str) -> dict[str, Any]:
        bean = dict(self.r.project(project.index, version))
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
                "components": [self.r.component_bean(project.index, c, version) for c in catalog.COMPONENTS],
                "issueTypes": [
                    {
                        "self": f"{self.r.api(version)}/issuetype/{i}",
                        "id": i,
                        "description": "",
                        "iconUrl": "",
                        "name": n,
                        "subtask": s,
                    }
                    for i, n, s in [*catalog.ISSUE_TYPES, catalog.EPIC_TYPE, catalog.SUBTASK_TYPE]
                ],
                "assigneeType": "UNASSIGNED",
                "versions": [
                    self.r.version_bean(project.index, i, version, full=True) for i in range(len(catalog.VERSIONS))
                ],
                "url": f"https://listings.example.com/{project.key.lower()}",
                "roles": {
                    name: f"{self.r.api(version)}/project/{project.id}/role/{10_002 + n}"
                    for n, name in enumerate(ROLES)
                },
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
        page_ids, fault, memory = self._search_page(request, TOKEN_PAGING, read_id, ids, offset, size, listing=listing)
        expand = self.expand(request)
        issues = self.page(
            page_ids,
            version,
            wanted,
            expand,
            CLOUD_INLINE_HISTORIES,
            ids_only=raw_fields is None,
            comment_cap=SEARCH_INLINE_COMMENTS,
        )
        self._less_data(request, issues, expand, listing)
        body: dict[str, Any] = {"issues": issues}
        if fault == "repeat-token":  # the first page it answered, with the same token, whatever is asked
            body["nextPageToken"] = memory.setdefault("token", str(token or self.search.token(read_id, size)))
        elif fault == "empty-page":  # a fresh token that points where this page should have started
            body["nextPageToken"] = self.search.token(read_id, offset, next(self.nonces))
        elif offset + size < len(ids):
            body["nextPageToken"] = self.search.token(read_id, offset + size)
        body["isLast"] = "nextPageToken" not in body
        self._page_served(request, read_id, page_ids, offset + size, more=not body["isLast"], listing=listing)
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
        comment_cap: int | None = None,
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
                    issues.append(self.r.issue(record, version, wanted, expand, inline_limit, comment_cap=comment_cap))
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
        page_ids, fault, _ = self._search_page(request, OFFSET_PAGING, read_id, ids, start, size, listing=listing)
        issues = self.page(page_ids, version, wanted, expand, inline)
        self._less_data(request, issues, expand, listing)
        self._page_served(request, read_id, page_ids, start + size, more=start + size < len(ids), listing=listing)
        echoed = 0 if fault == "ignore-start-at" else start
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
        fault, memory = self._paging_fault(request, TOKEN_PAGING, resumed=bool(token), more=offset < len(entries))
        if fault == "repeat-token" and "answer" in memory:
            return 200, memory["answer"]  # the first page it answered, with the same token, whatever is asked
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
            answer["nextPageToken"] = str(token or base64.urlsafe_b64encode(str(size).encode()).decode())
            memory["answer"] = answer
        elif fault == "empty-page":  # a fresh token that points where this page should have started
            text = f"{offset}.{next(self.nonces)}"
            answer["nextPageToken"] = base64.urlsafe_b64encode(text.encode()).decode()
        elif offset + size < len(entries):
            answer["nextPageToken"] = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
        return 200, answer
