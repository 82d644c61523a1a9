"""An issue's activity in Jira's shapes: comments, worklogs, attachments, links, versions, time tracking,
votes, watchers, the environment, parent and sub-tasks, and the agile fields (sprint, closedSprints, epic).

A mixin of jirasim.render.Renderer (it uses its users, statuses, timestamps and rich text).
"""

from typing import TYPE_CHECKING, Any

from jirasim import catalog
from jirasim.activity import Activity, Attachment, Note, duration
from jirasim.dataset import remaining_estimate
from jirasim.rich import rich_document
from jirasim.shared import shared
from jirasim.sprints import BOARD_ID, SprintSpec, moment

if TYPE_CHECKING:
    from jirasim.dataset import IssueRecord

# Inline in an issue: Cloud's enhanced search sends at most 20 comments; GET issue, the old search and
# Data Center all of them (up to 5,000). Worklogs inline: at most 20, everywhere; `total` says how many.
SEARCH_INLINE_COMMENTS = 20
ISSUE_INLINE_COMMENTS = 5000
INLINE_WORKLOGS = 20
RICH_NOTES = 8  # distinct rich ADF documents that every fifth comment and sixth worklog use on Cloud v3
ACTIVITY_FIELDS = frozenset(
    {
        "comment",
        "worklog",
        "attachment",
        "issuelinks",
        "fixVersions",
        "versions",
        "parent",
        "subtasks",
        "environment",
        "timetracking",
        "timeoriginalestimate",
        "timeestimate",
        "timespent",
        "aggregatetimeoriginalestimate",
        "aggregatetimeestimate",
        "aggregatetimespent",
        "progress",
        "aggregateprogress",
        "workratio",
        "votes",
        "watches",
        "lastViewed",
        "security",
    }
)
AGGREGATE_FIELDS = ("aggregatetimeoriginalestimate", "aggregatetimeestimate", "aggregatetimespent", "aggregateprogress")
# The activity fields the seeded activity decides (the rest follow from issue ids or are constant).
SEEDED_FIELDS = tuple(sorted(ACTIVITY_FIELDS - {"issuelinks", "parent", "subtasks", "security"}))


class ActivityRendering:
    def activity_fields(
        self, record: "IssueRecord", version: str, want, values: dict[str, Any], comment_cap: int | None
    ) -> None:
        """Fill the activity fields that are wanted into values."""
        data = self.data
        now = data.now_ms
        key = data.key_of(record)
        api = self.api(version)
        # The seeded activity only when a field shown comes from it (links and the hierarchy do not).
        activity = data.activity(record) if any(want(name) for name in SEEDED_FIELDS) else None
        if want("comment"):
            comments = activity.live_comments(now)
            shown = comments[: comment_cap or ISSUE_INLINE_COMMENTS]
            page: dict[str, Any] = {
                "comments": [self.comment(record.id, c, version) for c in shown],
                "maxResults": len(shown),
                "total": len(comments),
                "startAt": 0,
            }
            if self.cloud:
                page["self"] = f"{api}/issue/{record.id}/comment"
            values["comment"] = page
        if activity is None:
            self._related(record, version, want, values)
            if want("security"):
                values["security"] = None
            if self.cloud and want("issuerestriction"):
                values["issuerestriction"] = {"issuerestrictions": {}, "shouldDisplay": False}
            return
        worklogs = activity.live_worklogs(now)
        spent = sum(w.seconds for w in worklogs)
        if want("worklog"):
            values["worklog"] = {
                "startAt": 0,
                "maxResults": INLINE_WORKLOGS,
                "total": len(worklogs),
                "worklogs": [self.worklog(record.id, w, version) for w in worklogs[:INLINE_WORKLOGS]],
            }
        if want("attachment"):
            values["attachment"] = [self.attachment(a, version) for a in activity.attachments]
        self._related(record, version, want, values)
        if want("fixVersions"):
            values["fixVersions"] = [self._version(record.project, v, version) for v in activity.fix_versions]
        if want("versions"):
            values["versions"] = [self._version(record.project, v, version) for v in activity.affects_versions]
        if want("environment"):
            environment = activity.environment
            values["environment"] = self.rich_text(environment, version) if environment else None
        self._time_tracking(activity.original_estimate, spent, want, values)
        self._aggregates(record, activity.original_estimate, spent, want, values)
        if want("votes"):
            values["votes"] = {"self": f"{api}/issue/{key}/votes", "votes": activity.votes, "hasVoted": False}
        if want("watches"):
            values["watches"] = {
                "self": f"{api}/issue/{key}/watchers",
                "watchCount": len(activity.watchers),
                "isWatching": 0 in activity.watchers,
            }
        if want("lastViewed"):
            values["lastViewed"] = self.timestamp(record.updated_ms) if record.seed % 4 else None
        if want("security"):
            values["security"] = None
        if self.cloud and want("issuerestriction"):
            values["issuerestriction"] = {"issuerestrictions": {}, "shouldDisplay": False}

    def _related(self, record: "IssueRecord", version: str, want, values: dict[str, Any]) -> None:
        """Links, parent and sub-tasks: they follow from issue ids, not from the seeded activity."""
        data = self.data
        if want("issuelinks"):
            values["issuelinks"] = [
                self.issue_link(link_id, other, outward, link_type, version)
                for link_id, other, outward, link_type in data.links(record)
            ]
        if want("parent"):
            parent = data.parent(record)
            if parent is not None and (self.cloud or data.role(record) == "subtask"):
                values["parent"] = self.issue_ref(parent, version)
        if want("subtasks"):
            children = data.children(record) if data.role(record) == "parent" else []
            values["subtasks"] = [self.issue_ref(child, version) for child in children]

    def _time_tracking(self, estimate: int | None, spent: int, want, values: dict[str, Any]) -> None:
        remaining = max(estimate - spent, 0) if estimate is not None else None
        for field_id, value in (
            ("timeoriginalestimate", estimate),
            ("timeestimate", remaining),
            ("timespent", spent or None),
        ):
            if want(field_id):
                values[field_id] = value
        if want("timetracking"):
            tracking: dict[str, Any] = {}
            if estimate is not None:
                tracking["originalEstimate"] = duration(estimate)
                tracking["remainingEstimate"] = duration(remaining or 0)
            if spent:
                tracking["timeSpent"] = duration(spent)
            if estimate is not None:
                tracking["originalEstimateSeconds"] = estimate
                tracking["remainingEstimateSeconds"] = remaining
            if spent:
                tracking["timeSpentSeconds"] = spent
            values["timetracking"] = tracking
        if want("progress"):
            values["progress"] = _progress(estimate, spent, remaining)
        if want("workratio"):
            values["workratio"] = spent * 100 // estimate if estimate else -1

    def _aggregates(self, record: "IssueRecord", estimate: int | None, spent: int, want, values: dict) -> None:
        """The aggregate time tracking fields: the issue's own with its sub-tasks' added, as Jira sums them."""
        data = self.data
        remaining = remaining_estimate(estimate, spent)
        parent = data.role(record) == "parent" and any(want(field_id) for field_id in AGGREGATE_FIELDS)
        for child in data.children(record) if parent else ():
            activity = data.activity(child)
            child_spent = sum(w.seconds for w in activity.live_worklogs(data.now_ms))
            child_estimate = activity.original_estimate
            if child_estimate is not None:
                estimate = (estimate or 0) + child_estimate
                remaining = (remaining or 0) + (remaining_estimate(child_estimate, child_spent) or 0)
            spent += child_spent
        for field_id, value in (
            ("aggregatetimeoriginalestimate", estimate),
            ("aggregatetimeestimate", remaining),
            ("aggregatetimespent", spent or None),
        ):
            if want(field_id):
                values[field_id] = value
        if want("aggregateprogress"):
            values["aggregateprogress"] = _progress(estimate, spent, remaining)

    # --- the pieces ------------------------------------------------------------------------------
    def comment(self, issue_id: int, note: Note, version: str) -> dict[str, Any]:
        """A comment: ADF body on Cloud v3, wiki text elsewhere (shared: built once per data version)."""
        cached = self._notes.get(self.data.version, (note.id, version))
        if cached is None:
            cached = self._notes.put((note.id, version), self._comment(issue_id, note, version))
        return cached

    def _comment(self, issue_id: int, note: Note, version: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "self": f"{self.api(version)}/issue/{issue_id}/comment/{note.id}",
            "id": str(note.id),
            "author": self.user(note.author, version),
            "body": self.note_text(note.text, version, note.id % RICH_NOTES if note.id % 5 == 0 else None),
            "updateAuthor": self.user(note.editor, version),
        }
        body["created"] = created = self.timestamp(note.created_ms)
        body["updated"] = created if note.updated_ms == note.created_ms else self.timestamp(note.updated_ms)
        if note.id % 7 == 3:  # restricted to a project role
            body["visibility"] = {"type": "role", "value": "Administrators"}
        if self.cloud:
            body["jsdPublic"] = True
        return body

    def worklog(self, issue_id: int, note: Note, version: str) -> dict[str, Any]:
        """A worklog (shared: built once per data version)."""
        cached = self._notes.get(self.data.version, (note.id, version))
        if cached is None:
            cached = self._notes.put((note.id, version), self._worklog(issue_id, note, version))
        return cached

    def _worklog(self, issue_id: int, note: Note, version: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "self": f"{self.api(version)}/issue/{issue_id}/worklog/{note.id}",
            "author": self.user(note.author, version),
            "updateAuthor": self.user(note.editor, version),
        }
        if note.text:
            rich = note.id % RICH_NOTES if note.id % 6 == 0 else None
            body["comment"] = self.note_text(note.text, version, rich)
        created = self.timestamp(note.created_ms)
        body.update(
            {
                "created": created,
                "updated": created if note.updated_ms == note.created_ms else self.timestamp(note.updated_ms),
                "started": self.timestamp(note.started_ms),
                "timeSpent": duration(note.seconds),
                "timeSpentSeconds": note.seconds,
                "id": str(note.id),
                "issueId": str(issue_id),
            }
        )
        return body

    def note_text(self, text: str, version: str, rich: int | None = None) -> Any:
        """A comment's or worklog's text (shared ADF documents: never changed once built); rich: which
        of the rich documents (every node kind, see jirasim.rich) Cloud v3 sends instead."""
        if not (self.cloud and version == "3"):
            return text
        if rich is not None:
            document = self._documents.get(f"rich {rich}")
            if document is None:
                document = shared(rich_document(rich * 7919 + 1, "Comment", self.data.start_ms).document)
                self._documents[f"rich {rich}"] = document
            return document
        cached = self._documents.get(text)
        if cached is None:
            cached = shared(
                {
                    "type": "doc",
                    "version": 1,
                    "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
                }
            )
            self._documents[text] = cached
        return cached

    def attachment(self, attachment: Attachment, version: str) -> dict[str, Any]:
        return {
            "self": f"{self.api(version)}/attachment/{attachment.id}",
            "id": str(attachment.id),
            "filename": attachment.filename,
            "author": self.user(attachment.author, version),
            "created": self.timestamp(attachment.created_ms),
            "size": attachment.size,
            "mimeType": attachment.mime,
            "content": f"{self.base}/secure/attachment/{attachment.id}/{attachment.filename}",
            **(
                {"thumbnail": f"{self.base}/secure/thumbnail/{attachment.id}/{attachment.filename}"}
                if attachment.mime.startswith("image/")
                else {}
            ),
        }

    def link_type(self, index: int, version: str) -> dict[str, Any]:
        type_id, name, inward, outward = catalog.LINK_TYPES[index]
        return {
            "id": type_id,
            "name": name,
            "inward": inward,
            "outward": outward,
            "self": f"{self.api(version)}/issueLinkType/{type_id}",
        }

    def issue_link(self, link_id: int, other: "IssueRecord", outward: bool, link_type: int, version: str) -> dict:
        return {
            "id": str(link_id),
            "self": f"{self.api(version)}/issueLink/{link_id}",
            "type": self._shared(("link type", link_type, version), self.link_type),
            ("outwardIssue" if outward else "inwardIssue"): self.issue_ref(other, version),
        }

    def issue_ref(self, other: "IssueRecord", version: str) -> dict[str, Any]:
        """Another issue as links, parent and sub-tasks show it: id, key, self and four fields (shared: built
        once per data version)."""
        cached = self._refs.get(self.data.version, (other.id, version))
        if cached is not None:
            return cached
        state = self.data.state(other)
        _, street, service, issue_type = self._basics(other)
        return self._refs.put(
            (other.id, version),
            shared(
                {
                    "id": str(other.id),
                    "key": self.data.key_of(other),
                    "self": f"{self.api(version)}/issue/{other.id}",
                    "fields": {
                        "summary": f"{street}: {service[1]}",
                        "status": self.status(state["status"], version),
                        "priority": self.priority(state["priority"], version),
                        "issuetype": self.issue_type_bean(issue_type, version),
                    },
                }
            ),
        )

    def _version(self, project: int, index: int, version: str) -> dict[str, Any]:
        """A version as issues show it (shared: never changed once built)."""
        return self._shared(("version", project, index, version), self.version_bean)

    def version_bean(self, project: int, index: int, version: str, *, full: bool = False) -> dict[str, Any]:
        """A project version as issues show it (full: as /project/{key}/versions lists it)."""
        version_id, name = self.data.version_ref(project, index)
        _, released, day = catalog.VERSIONS[index]
        bean: dict[str, Any] = {
            "self": f"{self.api(version)}/version/{version_id}",
            "id": version_id,
            "description": f"Release {name}",
            "name": name,
            "archived": False,
            "released": released,
            "releaseDate": self.timestamp(self.data.start_ms + day * 86_400_000)[:10],
        }
        if full:
            if not self.cloud:
                bean["userReleaseDate"] = self.day_month_year(self.data.start_ms + day * 86_400_000)
            bean["projectId"] = int(self.data.projects[project].id)
        return bean

    def component_bean(self, project: int, component: tuple[str, str], version: str, *, full: bool = False) -> dict:
        catalog_id, name = component
        component_id, _ = self.data.component_ref(project, catalog.COMPONENTS.index(component))
        bean: dict[str, Any] = {
            "self": f"{self.api(version)}/component/{component_id}",
            "id": component_id,
            "name": name,
        }
        if catalog_id in catalog.COMPONENT_DESCRIPTIONS:
            bean["description"] = catalog.COMPONENT_DESCRIPTIONS[catalog_id]
        if full:
            project_bean = self.data.projects[project]
            bean.update(
                {
                    "assigneeType": "PROJECT_DEFAULT",
                    "realAssigneeType": "PROJECT_DEFAULT",
                    "isAssigneeTypeValid": False,
                    "project": project_bean.key,
                    "projectId": int(project_bean.id),
                }
            )
        return bean

    # --- agile -----------------------------------------------------------------------------------
    def sprint_bean(self, sprint: SprintSpec) -> dict[str, Any]:
        """A sprint as the agile API sends it."""
        bean: dict[str, Any] = {
            "id": sprint.id,
            "self": f"{self.base}/rest/agile/1.0/sprint/{sprint.id}",
            "state": sprint.state.lower(),
            "name": sprint.name,
        }
        if sprint.start_ms is not None:
            bean["startDate"] = moment(sprint.start_ms)
            bean["endDate"] = moment(sprint.end_ms or sprint.start_ms)
        if sprint.complete_ms is not None:
            bean["completeDate"] = moment(sprint.complete_ms)
        if sprint.start_ms is not None:
            bean["activatedDate"] = moment(sprint.start_ms)
        bean["originBoardId"] = BOARD_ID
        bean["goal"] = sprint.goal or ""
        if self.cloud:
            bean["createdDate"] = moment((sprint.start_ms or self.data.now_ms) - 86_400_000)
        return bean

    def agile_fields(self, record: "IssueRecord", version: str, want, values: dict[str, Any]) -> None:
        """What the agile API adds to an issue: its open sprint, its closed sprints, flagged, its epic."""
        sprints = self.data.sprints_of(record)
        open_sprints = [s for s in sprints if s.state != "CLOSED"]
        closed = [s for s in sprints if s.state == "CLOSED"]
        if want("sprint"):
            values["sprint"] = self.sprint_bean(open_sprints[-1]) if open_sprints else None
        if want("closedSprints") and closed:
            values["closedSprints"] = [self.sprint_bean(s) for s in closed]
        if want("flagged"):
            values["flagged"] = False
        if want("epic"):
            parent = self.data.parent(record) if self.data.role(record) == "epic-child" else None
            values["epic"] = self.epic_bean(parent) if parent is not None else None

    def epic_bean(self, epic: "IssueRecord") -> dict[str, Any]:
        done = catalog.STATUS_BY_ID[self.data.state(epic)["status"]].category == "done"
        return {
            "id": epic.id,
            "key": self.data.key_of(epic),
            "self": f"{self.base}/rest/agile/1.0/epic/{epic.id}",
            "name": self.summary(epic),
            "summary": self.summary(epic),
            "color": {"key": "color_4"},
            "done": done,
        }


def _progress(estimate: int | None, spent: int, remaining: int | None) -> dict[str, Any]:
    """Jira's progress: time spent (s) out of the time spent plus remaining (or the estimate, when more)."""
    total = max(estimate or 0, spent + (remaining or 0))
    progress: dict[str, Any] = {"progress": spent, "total": total}
    if total:
        progress["percent"] = spent * 100 // total
    return progress


def activity_wanted(wanted: set[str] | None) -> bool:
    return wanted is None or not ACTIVITY_FIELDS.isdisjoint(wanted)


__all__ = ["ACTIVITY_FIELDS", "Activity", "ActivityRendering", "activity_wanted"]
