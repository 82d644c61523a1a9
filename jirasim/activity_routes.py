"""Jira's endpoints for an issue's comments, worklogs and remote links, the site's changed and deleted
worklogs, a project's versions and components, and the status categories. A mixin of JiraSim."""

import bisect
import math
import re
import threading
from typing import Any

from jirasim import catalog
from jirasim.activity import ADDED_NOTE_BASE, NOTE_IDS_PER_ISSUE, Note
from jirasim.errors import HttpError
from jirasim.serving import Request

WORKLOG_CHANGES_PAGE = 1000  # /worklog/updated and /worklog/deleted: at most this many per page
WORKLOG_LIST_MAX = 1000  # POST /worklog/list: ids per request
SETTLE_MS = 60_000  # worklogs changed in the last minute are not listed yet (as Jira says)
SINCE_RANGE = range(-(2**63), 2**63)  # `since` is a Java long: outside it Jira answers 400
COMMENT_ORDERS = {"created": False, "+created": False, "-created": True}  # orderBy -> newest first
EMPTY_COMMENT = "Comment body can not be empty!"


class ActivityEndpoints:
    """Routes: register_activity_routes(); the handlers below."""

    def register_activity_routes(self) -> None:
        api = "/rest/api/{v}"
        self._changes_lock = threading.Lock()
        self._worklog_changes: tuple[int, list, list] | None = None  # (data version, updated, deleted)
        self._route("PUT", f"{api}/issue/{{issueIdOrKey}}", self.edit_issue)
        self._route("GET|POST", f"{api}/issue/{{issueIdOrKey}}/comment", self.comments)
        self._route("GET", f"{api}/issue/{{issueIdOrKey}}/comment/{{id}}", self.comment)
        self._route("GET", f"{api}/issue/{{issueIdOrKey}}/worklog", self.worklogs)
        self._route("GET", f"{api}/issue/{{issueIdOrKey}}/worklog/{{id}}", self.worklog)
        self._route("GET", f"{api}/issue/{{issueIdOrKey}}/remotelink", self.remote_links)
        self._route("GET", f"{api}/worklog/updated", self.worklogs_updated)
        self._route("GET", f"{api}/worklog/deleted", self.worklogs_deleted)
        self._route("POST", f"{api}/worklog/list", self.worklog_list)
        self._route("GET", f"{api}/project/{{projectIdOrKey}}/versions", self.project_versions)
        self._route("GET", f"{api}/project/{{projectIdOrKey}}/version", self.project_version_page)
        self._route("GET", f"{api}/project/{{projectIdOrKey}}/components", self.project_components)
        self._route("GET", f"{api}/project/{{projectIdOrKey}}/component", self.project_component_page)
        self._route("GET", f"{api}/statuscategory", self.status_categories)

    # --- editing an issue ---------------------------------------------------------------------------
    def edit_issue(self, request: Request) -> tuple[int, Any]:
        """PUT {"fields": {id: value}}: custom fields change (a history entry each, `updated` now); system
        fields cannot be set here and unknown ids are not valid: 400 with Jira's per-field errors."""
        self.version(request)
        record = self.record_or_404(request.match.group("issueIdOrKey"))
        body = request.body if isinstance(request.body, dict) else {}
        if "fields" not in body and "update" not in body:
            raise HttpError(400, "one of 'fields' or 'update' required")
        fields = body.get("fields") or {}
        custom = {field.id: field for field in self.r.custom_fields}
        system = {field_id for field_id, _, _ in catalog.SYSTEM_FIELDS}
        errors = {}
        for field_id in fields:
            if field_id in system:
                errors[field_id] = f"Field '{field_id}' cannot be set. It is not on the appropriate screen, or unknown."
            elif field_id not in custom:
                errors[field_id] = f"Field '{field_id}' is not valid for this operation."
        if errors or record.raw is not None:
            raise HttpError(400, [], errors or {"fields": "A replayed issue cannot be edited."})
        with self.data.lock:
            current = self.r.issue_fields(record, "2", set(fields))
            self.data.edit_fields(
                record, {field_id: (custom[field_id].name, value) for field_id, value in fields.items()}, current
            )
        return 204, None

    # --- comments ----------------------------------------------------------------------------------
    def comments(self, request: Request) -> tuple[int, Any]:
        """GET: a page of the issue's comments (Cloud: 100 at most; Data Center: all unless maxResults
        says fewer), oldest first (`orderBy=created` or `+created`) or newest first (`-created`); any other
        orderBy is 400. POST {"body": …}: a new comment by the caller.
        https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-comments/#api-rest-api-3-issue-issueidorkey-comment-get"""
        self.offered_or_404(request, "comment")
        version = self.version(request)
        record = self.record_or_404(request.match.group("issueIdOrKey"))
        if request.method == "POST":
            return self._add_comment(record, request, version)
        order = request.param("orderBy")
        if order is not None and order not in COMMENT_ORDERS:
            raise HttpError(400, f"orderBy must be created, -created or +created, not '{order}'.")
        newest_first = COMMENT_ORDERS.get(order, False)
        with self.data.lock:
            comments = self.data.activity(record).live_comments(self.data.now_ms)
            if newest_first:
                comments = comments[::-1]
            start = max(0, request.int_param("startAt", 0))
            default = 100 if self.config.cloud else max(len(comments), 1)
            size = request.int_param("maxResults", default)
            size = min(max(size, 0), 100) if self.config.cloud else max(size, 0)
            first = self._activity_page_start(request, start, len(comments))
            shown = [self.r.comment(record.id, c, version) for c in comments[first : first + size]]
        return 200, {"startAt": start, "maxResults": size, "total": len(comments), "comments": shown}

    def _add_comment(self, record, request: Request, version: str) -> tuple[int, Any]:
        body = request.body if isinstance(request.body, dict) else {}
        text = body.get("body")
        if isinstance(text, dict):  # ADF: its text
            text = " ".join(str(node.get("text", "")) for node in _text_nodes(text)).strip()
        if not text or not isinstance(text, str):
            raise HttpError(400, [], {"comment": EMPTY_COMMENT})
        note = self.data.add_comment(record, 0, text)
        return 201, self.r.comment(record.id, note, version)

    def comment(self, request: Request) -> tuple[int, Any]:
        self.offered_or_404(request, "comment")
        version = self.version(request)
        record = self.record_or_404(request.match.group("issueIdOrKey"))
        with self.data.lock:
            note = _find_note(self.data.activity(record).live_comments(self.data.now_ms), request.match.group("id"))
            if note is None:
                raise HttpError(404, f"Can not find a comment for the id: {request.match.group('id')}.")
            return 200, self.r.comment(record.id, note, version)

    # --- worklogs ----------------------------------------------------------------------------------
    def worklogs(self, request: Request) -> tuple[int, Any]:
        """A page of the issue's worklogs (oldest first; Cloud: 5,000 at most, `startedAfter`/`startedBefore`
        in epoch ms; Data Center: all of them)."""
        self.offered_or_404(request, "worklog")
        version = self.version(request)
        record = self.record_or_404(request.match.group("issueIdOrKey"))
        with self.data.lock:
            worklogs = self.data.activity(record).live_worklogs(self.data.now_ms)
            if self.config.cloud:
                after = request.int_param("startedAfter", 0)
                before = request.int_param("startedBefore", 0)
                worklogs = [w for w in worklogs if w.started_ms >= after and (not before or w.started_ms < before)]
                start = max(0, request.int_param("startAt", 0))
                size = min(max(request.int_param("maxResults", 5000), 0), 5000)
            else:
                start, size = 0, len(worklogs)
            first = self._activity_page_start(request, start, len(worklogs))
            shown = [self.r.worklog(record.id, w, version) for w in worklogs[first : first + size]]
        return 200, {"startAt": start, "maxResults": size, "total": len(worklogs), "worklogs": shown}

    def worklog(self, request: Request) -> tuple[int, Any]:
        self.offered_or_404(request, "worklog")
        version = self.version(request)
        record = self.record_or_404(request.match.group("issueIdOrKey"))
        with self.data.lock:
            note = _find_note(self.data.activity(record).live_worklogs(self.data.now_ms), request.match.group("id"))
            if note is None:
                raise HttpError(404, f"Cannot find worklog with id: '{request.match.group('id')}'.")
            return 200, self.r.worklog(record.id, note, version)

    def worklog_changes(self) -> tuple[list, list]:
        """Every worklog's (updated ms, id, issue id) and every deleted one's (deleted ms, id, issue id),
        sorted; built once per data version (a scan of the site)."""
        with self._changes_lock:
            cached = self._worklog_changes
            if cached is not None and cached[0] == self.data.version:
                return cached[1], cached[2]
            updated, deleted = [], []
            with self.data.lock:
                for record in self.data.live():
                    if record.raw is not None or not self.data.visible(record):
                        continue
                    for note in self.data.activity(record).worklogs:
                        if note.deleted_ms is not None and note.deleted_ms <= self.data.now_ms:
                            deleted.append((note.deleted_ms, note.id, record.id))
                        else:
                            updated.append((note.updated_ms, note.id, record.id))
            updated.sort()
            deleted.sort()
            self._worklog_changes = (self.data.version, updated, deleted)
            return updated, deleted

    def worklogs_updated(self, request: Request) -> tuple[int, Any]:
        """The ids of worklogs changed since `since` (epoch ms), oldest change first: see _worklog_change_page.
        https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-worklogs/#api-rest-api-3-worklog-updated-get"""
        return self._worklog_change_page(request, self.worklog_changes()[0], "updated")

    def worklogs_deleted(self, request: Request) -> tuple[int, Any]:
        """The ids of worklogs deleted since `since` (epoch ms), oldest first: see _worklog_change_page.
        https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-worklogs/#api-rest-api-3-worklog-deleted-get"""
        return self._worklog_change_page(request, self.worklog_changes()[1], "deleted")

    def _worklog_change_page(self, request: Request, changes: list, kind: str) -> tuple[int, Any]:
        """A page of the settled changes (older than a minute) at or after `since` (inclusive, epoch ms):
        {"values": [{"worklogId", "updatedTime", "properties"}], "since", "until", "self", "nextPage",
        "lastPage"}. At most 1,000 values; `until` is the youngest value's time and `nextPage` is
        `since=<until>`, as Atlassian documents it, so the changes at `until` are listed again on the next
        page (a client keeps each id once). When 1,000 changes share one millisecond that cursor could not
        move on: such a page holds every change of that millisecond (more than 1,000) and its nextPage is
        since=until+1. `lastPage` is true when no settled change is left after the page. A `since` that
        is not a number or outside a Java long is 400."""
        version = self.version(request)
        raw_since = str(request.param("since", 0))
        if not re.fullmatch(r"-?[0-9]+", raw_since) or int(raw_since) not in SINCE_RANGE:  # not 1_000, ٣, 2**63
            raise HttpError(400, f"The value '{raw_since}' is not valid for the parameter 'since'.")
        since = max(int(raw_since), 0)
        settled_end = bisect.bisect_right(changes, (self.data.now_ms - SETTLE_MS, math.inf))
        start = bisect.bisect_left(changes, (since,))
        stop = max(start, min(start + WORKLOG_CHANGES_PAGE, settled_end))
        crowded = start < stop < settled_end and changes[start][0] == changes[stop - 1][0]
        if crowded:  # the whole page is one millisecond: take all of it, or the cursor cannot move on
            stop = bisect.bisect_right(changes, (changes[start][0], math.inf))
        page = changes[start:stop]
        last = stop >= settled_end
        until = page[-1][0] if page else since
        base = f"{self.r.api(version)}/worklog/{kind}"
        return 200, {
            "values": [{"worklogId": note_id, "updatedTime": at, "properties": []} for at, note_id, _ in page],
            "since": since,
            "until": until,
            "self": f"{base}?since={since}",
            "nextPage": f"{base}?since={until + 1 if crowded and not last else until}",
            "lastPage": last,
        }

    def worklog_list(self, request: Request) -> tuple[int, Any]:
        """POST {"ids": [...]}: those worklogs, each once, in the order first asked for; ids of worklogs not
        found, deleted, or on a deleted or hidden issue are left out (as Jira leaves them); more than
        1,000 ids, none, or one that is not a number: 400.
        https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-worklogs/#api-rest-api-3-worklog-list-post"""
        version = self.version(request)
        ids = request.body.get("ids") if isinstance(request.body, dict) else None
        if not isinstance(ids, list) or not ids:
            raise HttpError(400, "The worklog ids list must not be empty.")
        if len(ids) > WORKLOG_LIST_MAX:
            raise HttpError(400, f"The number of worklog ids must not exceed {WORKLOG_LIST_MAX}.")
        wanted: dict[int, None] = {}
        for raw_id in ids:
            try:
                if isinstance(raw_id, bool) or not isinstance(raw_id, int | str):
                    raise TypeError(raw_id)
                wanted[int(raw_id)] = None
            except (TypeError, ValueError):
                raise HttpError(400, f"Invalid worklog id: {raw_id!r}.") from None
        found = []
        with self.data.lock:
            for note_id in wanted:
                record = self._note_issue(note_id)
                if record is None or record.raw is not None or not self.data.visible(record):
                    continue
                note = _find_note(self.data.activity(record).live_worklogs(self.data.now_ms), str(note_id))
                if note is not None:
                    found.append(self.r.worklog(record.id, note, version))
        return 200, found

    def _note_issue(self, note_id: int):
        """The live issue a comment or worklog id belongs to, or None (unknown id, deleted issue)."""
        seeded = note_id < ADDED_NOTE_BASE
        issue_id = note_id // NOTE_IDS_PER_ISSUE if seeded else self.data.added_notes.get(note_id)
        record = self.data.by_id.get(issue_id) if issue_id is not None else None
        return record if record is not None and not record.deleted else None

    # --- remote links ------------------------------------------------------------------------------
    def remote_links(self, request: Request) -> tuple[int, Any]:
        self.version(request)
        record = self.record_or_404(request.match.group("issueIdOrKey"))
        if record.seed % 5:
            return 200, []
        link_id = 10_000 + record.id
        return 200, [
            {
                "id": link_id,
                "self": f"{self.r.api('2')}/issue/{record.id}/remotelink/{link_id}",
                "globalId": f"system=https://listings.example.com&id={record.id}",
                "application": {"type": "com.example.listings", "name": "Listings"},
                "relationship": "listed at",
                "object": {
                    "url": f"https://listings.example.com/{record.id}",
                    "title": f"Listing {record.id}",
                    "icon": {"url16x16": "https://listings.example.com/favicon.ico", "title": "Listings"},
                    "status": {"resolved": False, "icon": {}},
                },
            }
        ]

    # --- versions and components -------------------------------------------------------------------
    def _project_or_404(self, request: Request):
        name = request.match.group("projectIdOrKey")
        key = self.project_lookup().get(name.upper())
        if key is None:
            raise HttpError(404, f"No project could be found with key '{name}'.")
        return next(p for p in self.data.projects if p.key == key)

    def project_versions(self, request: Request) -> tuple[int, Any]:
        version = self.version(request)
        project = self._project_or_404(request)
        return 200, [self.r.version_bean(project.index, i, version, full=True) for i in range(len(catalog.VERSIONS))]

    def project_version_page(self, request: Request) -> tuple[int, Any]:
        version = self.version(request)
        project = self._project_or_404(request)
        items = [self.r.version_bean(project.index, i, version, full=True) for i in range(len(catalog.VERSIONS))]
        return 200, self._plain_page(request, version, f"project/{project.key}/version", items)

    def project_components(self, request: Request) -> tuple[int, Any]:
        version = self.version(request)
        project = self._project_or_404(request)
        return 200, [self.r.component_bean(project.index, c, version, full=True) for c in catalog.COMPONENTS]

    def project_component_page(self, request: Request) -> tuple[int, Any]:
        version = self.version(request)
        project = self._project_or_404(request)
        items = [
            {**self.r.component_bean(project.index, c, version, full=True), "issueCount": 0} for c in catalog.COMPONENTS
        ]
        return 200, self._plain_page(request, version, f"project/{project.key}/component", items)

    def _plain_page(self, request: Request, version: str, path: str, items: list) -> dict[str, Any]:
        """Jira's PageBean: self, nextPage, maxResults (50 by default), startAt, total, isLast, values."""
        start = max(0, request.int_param("startAt", 0))
        size = min(max(request.int_param("maxResults", 50), 1), 50)
        base = f"{self.r.api(version)}/{path}"
        body: dict[str, Any] = {"self": f"{base}?maxResults={size}&startAt={start}"}
        if start + size < len(items):
            body["nextPage"] = f"{base}?maxResults={size}&startAt={start + size}"
        body.update(
            {
                "maxResults": size,
                "startAt": start,
                "total": len(items),
                "isLast": start + size >= len(items),
                "values": items[start : start + size],
            }
        )
        return body

    def status_categories(self, request: Request) -> tuple[int, Any]:
        version = self.version(request)
        undefined = {"id": 1, "key": "undefined", "colorName": "medium-gray", "name": "No Category"}
        # In Jira's order: 1, 2, 4, 3.
        categories = [undefined, catalog.CATEGORIES["new"], catalog.CATEGORIES["indeterminate"]]
        categories.append(catalog.CATEGORIES["done"])
        return 200, [{"self": f"{self.r.api(version)}/statuscategory/{c['id']}", **c} for c in categories]


def _find_note(notes: list[Note], wanted: str) -> Note | None:
    return next((note for note in notes if str(note.id) == str(wanted).strip()), None)


def _text_nodes(node: Any):
    if isinstance(node, dict):
        if node.get("type") == "text":
            yield node
        for child in node.get("content") or []:
            yield from _text_nodes(child)
