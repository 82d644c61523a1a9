"""Issues, users and histories rendered in the JSON shapes real Jira sends (Cloud v3/v2, Data Center v2)."""

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from jirasim import catalog
from jirasim.dataset import Dataset, Event, IssueRecord, seeded_rooms
from jirasim.memo import VersionedLru
from jirasim.render_activity import ActivityRendering, activity_wanted
from jirasim.replay import RawEvent
from jirasim.shared import shared
from jirasim.sprints import sprint_value
from jirasim.streams import below, stream

# Cloud's enhanced search and bulkfetch return at most 40 inline histories, newest first
# (JRACLOUD-96459); the old search and GET issue at most 100. Data Center sends all, oldest first.
REF_CACHE = 2048
NOTE_CACHE = 2048
CLOUD_INLINE_HISTORIES = 40
CLOUD_ISSUE_HISTORIES = 100
# Fields whose values the issue's history decides: only they need the history rebuilt.
STATE_FIELDS = frozenset(
    {"status", "priority", "assignee", "reporter", "creator", "resolution", "resolutiondate", "labels", "components"}
)
# Pseudo-fields whose change items carry no fieldId, even on Cloud.
NO_FIELD_ID = frozenset({"issuekey", "WorklogId", "Link", "parent"})
# Pieces of timestamps, formatted once: "07:" (hours and minutes), "42.", "719".
_HOURS = tuple(f"{h:02d}:" for h in range(24))
_MINUTES = tuple(f"{m:02d}:" for m in range(60))
_SECONDS = tuple(f"{sec:02d}." for sec in range(60))
_MILLIS = tuple(f"{milli:03d}" for milli in range(1000))
# Fields only the agile API (/rest/agile/1.0/…) adds to an issue.
AGILE_FIELDS = ("sprint", "closedSprints", "flagged", "epic")


class Renderer(ActivityRendering):
    def __init__(self, dataset: Dataset, base_url: str) -> None:
        self.data = dataset
        self.config = dataset.config
        self.base = base_url.rstrip("/")
        self.zone = ZoneInfo(self.config.site_tz)
        self.cloud = self.config.cloud
        self._hours: dict[int, tuple[str, str, int]] = {}  # UTC hour -> see _hour()
        self._dates: dict[int, str] = {}  # local day (days since 1970-01-01) -> "2026-01-01T"
        self._users: dict[tuple[int, str], dict] = {}
        self._statuses: dict[tuple[str, str], dict] = {}
        self._options: dict[tuple[str, str], dict] = {}
        self._items: dict[tuple, dict] = {}
        self._documents: dict[str, dict] = {}
        self._priorities: dict[tuple[str, str], dict] = {}
        self._pieces: dict[tuple, Any] = {}  # see _shared()
        self._sprint_values: dict[tuple, Any] = {}  # (sprint, format) -> its value (shared: never changed)
        self._refs = VersionedLru(REF_CACHE)  # (issue id, version) -> the issue as others' links show it
        self._notes = VersionedLru(NOTE_CACHE)  # (comment or worklog, issue id, version) -> its rendering
        self.custom_fields = catalog.site_custom_fields(
            self.config.profile,
            rich_adf=self.config.rich_adf,
            status_lookalikes=self.config.status_lookalike_fields,
            cloud=self.config.cloud,
        )

    # --- small pieces ---------------------------------------------------------------------------
    def timestamp(self, ms: int) -> str:
        """2021-02-02T07:17:42.719+0000: the site zone's offset, no colon, milliseconds."""
        utc_hour, within = divmod(ms, 3_600_000)
        hour = self._hours.get(utc_hour)
        if hour is None:
            hour = self._hour(utc_hour)
        prefix, suffix, offset = hour
        if offset:  # an offset of part hours (+0530): the local hour, and a change of offset, fall within the hour
            return self._timestamp(ms)
        minute, rest = divmod(within, 60_000)
        return f"{prefix}{_MINUTES[minute]}{_SECONDS[rest // 1000]}{_MILLIS[rest % 1000]}{suffix}"

    def _hour(self, utc_hour: int) -> tuple[str, str, int]:
        """(local "2026-01-01T07:", offset "+0100", offset ms when not whole hours else 0) of a UTC hour:
        whole-hour offsets change (DST) only on the hour, so each hour's is found once. A UTC day whose first
        and last hours have the same offset is filled whole (tzdata has no zone that changes its offset and
        back within a day): two conversions a day instead of one an hour."""
        if len(self._hours) > 200_000:
            self._hours.clear()
            self._dates.clear()
        day = utc_hour // 24
        first, last = self._offset(day * 24), self._offset(day * 24 + 23)
        if first != last:  # the offset changes this day: each hour on its own
            return self._fill(utc_hour, self._offset(utc_hour))
        for hour in range(day * 24, day * 24 + 24):
            self._fill(hour, first)
        return self._hours[utc_hour]

    def _offset(self, utc_hour: int) -> int:
        """The site zone's offset from UTC (s) at the start of a UTC hour."""
        delta = datetime.fromtimestamp(utc_hour * 3600, UTC).astimezone(self.zone).utcoffset()
        return int(delta.total_seconds()) if delta else 0

    def _fill(self, utc_hour: int, seconds: int) -> tuple[str, str, int]:
        """Keep and return _hour()'s answer for a UTC hour whose offset is `seconds`."""
        sign = "-" if seconds < 0 else "+"
        suffix = f"{sign}{abs(seconds) // 3600:02d}{abs(seconds) % 3600 // 60:02d}"
        local_hour, part = divmod(utc_hour * 3600 + seconds, 3600)
        local_day, hour_of_day = divmod(local_hour, 24)
        date = self._dates.get(local_day)
        if date is None:
            date = self._dates[local_day] = time.strftime("%Y-%m-%dT", time.gmtime(local_day * 86_400))
        hour = self._hours[utc_hour] = (f"{date}{_HOURS[hour_of_day]}", suffix, seconds * 1000 if part else 0)
        return hour

    def _timestamp(self, ms: int) -> str:
        local = datetime.fromtimestamp(ms // 1000, UTC).astimezone(self.zone)
        return f"{local.strftime('%Y-%m-%dT%H:%M:%S')}.{_MILLIS[ms % 1000]}{local.strftime('%z')}"

    def api(self, version: str) -> str:
        return f"{self.base}/rest/api/{version}"

    def user(self, index: int, version: str = "2") -> dict[str, Any]:
        """A user object (shared: callers must copy before changing it)."""
        cached = self._users.get((index, version))
        if cached is None:
            cached = self._users[(index, version)] = shared(self._user(index, version))
        return cached

    def _user(self, index: int, version: str) -> dict[str, Any]:
        name, login = catalog.USERS[index]
        avatars = {
            size: f"{self.base}/secure/useravatar?size={size}&ownerId={login}"
            for size in ("48x48", "24x24", "16x16", "32x32")
        }
        if self.cloud:
            account = self.account_id(index)
            return {
                "self": f"{self.api(version)}/user?accountId={account}",
                "accountId": account,
                "emailAddress": f"{login}@example.com",
                "avatarUrls": avatars,
                "displayName": name,
                "active": True,
                "timeZone": self.config.account_tz,
                "accountType": "atlassian",
            }
        return {
            "self": f"{self.api(version)}/user?username={login}",
            "name": login,
            "key": f"JIRAUSER{10100 + index}",
            "emailAddress": f"{login}@example.com",
            "avatarUrls": avatars,
            "displayName": name,
            "active": True,
            "timeZone": self.config.account_tz,
        }

    def account_id(self, index: int) -> str:
        return f"5b10a2844c20165700ede{index:03d}"

    def user_ref(self, index: int) -> str:
        return self.account_id(index) if self.cloud else f"JIRAUSER{10100 + index}"

    def status(self, status_id: str, version: str) -> dict[str, Any]:
        cached = self._statuses.get((status_id, version))
        if cached is None:
            cached = self._statuses[(status_id, version)] = shared(self._status(status_id, version))
        return cached

    def _status(self, status_id: str, version: str) -> dict[str, Any]:
        status = catalog.STATUS_BY_ID[status_id]
        category = catalog.CATEGORIES[status.category]
        return {
            "self": f"{self.api(version)}/status/{status.id}",
            "description": "",
            "iconUrl": f"{self.base}/",
            "name": status.name,
            "id": status.id,
            "statusCategory": {"self": f"{self.api(version)}/statuscategory/{category['id']}", **category},
        }

    def rich_text(self, text: str, version: str) -> Any:
        """Cloud v3 rich text is Atlassian Document Format; v2 and Data Center send the text itself."""
        if not (self.cloud and version == "3"):
            return text
        paragraphs = [
            {"type": "paragraph", "content": [{"type": "text", "text": line}]} for line in text.split("\n") if line
        ]
        if paragraphs:
            paragraphs[0]["content"][0]["marks"] = [{"type": "strong"}]  # as editors produce: a bold lead line
        return {"type": "doc", "version": 1, "content": paragraphs}

    def _basics(self, record: IssueRecord) -> tuple[random.Random, str, tuple, tuple]:
        """The issue's value stream and its first draws: (rng, street, service, issue type)."""
        rng = stream(record.seed ^ 0xF1E1D)
        # randint(1, 999), choice(STREETS), choice(SERVICES), randrange(len(ISSUE_TYPES)): the same draws
        street = f"{1 + below(rng, 999)} {catalog.STREETS[below(rng, len(catalog.STREETS))]}"
        service = catalog.SERVICES[below(rng, len(catalog.SERVICES))]
        issue_type = catalog.ISSUE_TYPES[below(rng, len(catalog.ISSUE_TYPES))]
        role = self.data.role(record)
        if role == "epic":
            issue_type = catalog.EPIC_TYPE
        elif role == "subtask":
            issue_type = catalog.SUBTASK_TYPE
        return rng, street, service, issue_type

    def summary(self, record: IssueRecord) -> str:
        _, street, service, _ = self._basics(record)
        return f"{street}: {service[1]}"

    def issue_type(self, record: IssueRecord, version: str) -> dict[str, Any]:
        return self.issue_type_bean(self._basics(record)[3], version)

    def _shared(self, key: tuple, build: Callable[..., Any]) -> Any:
        """A piece that never changes once built (a project, an issue type, a component …), built once:
        key[1:] are build's arguments. Shared: callers must copy before changing it."""
        cached = self._pieces.get(key)
        if cached is None:
            cached = self._pieces[key] = shared(build(*key[1:]))
        return cached

    def _resolution(self, version: str) -> dict[str, Any]:
        return {"self": f"{self.api(version)}/resolution/10000", **catalog.RESOLUTION}

    def issue_type_bean(self, issue_type: tuple, version: str) -> dict[str, Any]:
        """An issue type (shared: never changed once built)."""
        return self._shared(("issuetype", issue_type, version), self._issue_type_bean)

    def _issue_type_bean(self, issue_type: tuple, version: str) -> dict[str, Any]:
        return {
            "self": f"{self.api(version)}/issuetype/{issue_type[0]}",
            "id": issue_type[0],
            "description": "",
            "iconUrl": f"{self.base}/images/icons/issuetypes/task.svg",
            "name": issue_type[1],
            "subtask": issue_type[2],
            "avatarId": 10318,
            **({"hierarchyLevel": catalog.HIERARCHY.get(issue_type[0], 0)} if self.cloud else {}),
        }

    def priority(self, priority_id: str, version: str) -> dict[str, Any]:
        """A priority (shared: never changed once built)."""
        cached = self._priorities.get((priority_id, version))
        if cached is None:
            name = dict(catalog.PRIORITIES)[priority_id]
            cached = shared(
                {
                    "self": f"{self.api(version)}/priority/{priority_id}",
                    "iconUrl": f"{self.base}/images/icons/priorities/{name.lower()}.svg",
                    "name": name,
                    "id": priority_id,
                }
            )
            self._priorities[(priority_id, version)] = cached
        return cached

    def day_month_year(self, ms: int) -> str:
        """Data Center's userReleaseDate: 19/Feb/07."""
        return datetime.fromtimestamp(ms / 1000, self.zone).strftime("%d/%b/%y")

    def project(self, index: int, version: str) -> dict[str, Any]:
        """A project as issues show it (shared: callers must copy before changing it)."""
        return self._shared(("project", index, version), self._project)

    def _project(self, index: int, version: str) -> dict[str, Any]:
        project = self.data.projects[index]
        return {
            "self": f"{self.api(version)}/project/{project.id}",
            "id": project.id,
            "key": project.key,
            "name": project.name,
            "projectTypeKey": "software",
            "simplified": False,
            "avatarUrls": {
                size: f"{self.base}/secure/projectavatar?pid={project.id}&size={size}"
                for size in ("48x48", "24x24", "16x16", "32x32")
            },
        }

    # --- an issue --------------------------------------------------------------------------------
    def all_fields(self) -> list[str]:
        ids = [field_id for field_id, _, _ in catalog.SYSTEM_FIELDS]
        ids += [field.id for field in self.custom_fields]
        return ids

    def issue_fields(
        self,
        record: IssueRecord,
        version: str,
        wanted: set[str] | None,
        events: list[Event] | None = None,
        *,
        comment_cap: int | None = None,
        agile: bool = False,
    ) -> dict[str, Any]:
        """Every field of the issue that is wanted (None: all); comment_cap: comments inline at most;
        agile: with the fields the agile API adds."""
        rng, street, service, issue_type = self._basics(record)
        needs_state = wanted is None or not STATE_FIELDS.isdisjoint(wanted)
        state = self.data.state(record, events) if needs_state else {"resolved_ms": None}
        values: dict[str, Any] = {}

        # C calls: this runs ~60 times an issue. Every field: bool() is true for every field id (non-empty).
        want = bool if wanted is None else wanted.__contains__
        if want("summary"):
            values["summary"] = f"{street}: {service[1]}"
        if want("description"):
            values["description"] = self.rich_text(f"Shoot at {street}.\nOrder {record.id}.", version)
        if want("status"):
            values["status"] = self.status(state["status"], version)
        if want("issuetype"):
            values["issuetype"] = self.issue_type_bean(issue_type, version)
        if want("priority"):
            values["priority"] = self.priority(state["priority"], version)
        if want("assignee"):
            values["assignee"] = self.user(state["assignee"], version) if state["assignee"] is not None else None
        if want("reporter"):
            values["reporter"] = self.user(state["reporter"], version)
        if want("creator"):
            values["creator"] = self.user(state["reporter"], version)
        if want("labels"):
            values["labels"] = list(state["labels"])
        if want("components"):
            key = ("component", record.project, catalog.COMPONENTS[state["component"]], version)
            values["components"] = [self._shared(key, self.component_bean)]
        if want("created"):
            values["created"] = self.timestamp(record.created_ms)
        if want("updated"):
            values["updated"] = self.timestamp(record.updated_ms)
        resolved = state["resolved_ms"]
        if want("resolution"):
            values["resolution"] = self._shared(("resolution", version), self._resolution) if resolved else None
        if want("resolutiondate"):
            values["resolutiondate"] = self.timestamp(resolved) if resolved else None
        if want("project"):
            values["project"] = self.project(record.project, version)
        if want("duedate"):
            values["duedate"] = None
        if want("statuscategorychangedate") and self.cloud:
            values["statuscategorychangedate"] = self.timestamp(record.updated_ms)
        if activity_wanted(wanted):
            self.activity_fields(record, version, want, values, comment_cap)
        if agile:
            self.agile_fields(record, version, want, values)
        if wanted is None or any(name.startswith("customfield_") for name in wanted):
            self._custom_fields(record, rng, version, values, want)
        self._optional_fields(record, version, values, want, events)
        return values

    def _optional_fields(
        self, record: IssueRecord, version: str, values: dict, want, events: list[Event] | None
    ) -> None:
        """What the site's options add: hostile sprints, rich ADF, fields named like Status (edits win)."""
        edited = record.edits or {}
        for field_id, rich in self.data.rich_texts(record).items():
            if want(field_id) and field_id not in edited:
                values[field_id] = rich.document if self.cloud and version == "3" else rich.plain
        if self.config.status_lookalike_fields:
            lookalikes = (catalog.STATUS_LOOKALIKE.id, catalog.WORKFLOW_STATUS_LOOKALIKE.id)
            current: dict[str, Any] = dict.fromkeys(lookalikes)
            for event in self.data.history(record) if events is None else events:
                for _, _, field_id, _, _, to, to_text in event.items:
                    if field_id in current:
                        current[field_id] = self.option((to, to_text), version) if to else to_text
            for field_id, value in current.items():
                if want(field_id) and field_id not in edited:
                    values[field_id] = value

    def group(self, name: str, version: str) -> dict[str, Any]:
        return {"name": name, "self": f"{self.api(version)}/group?groupname={name}"}

    def option(self, pair: tuple, version: str) -> dict[str, Any]:
        """A select option (shared: never changed once built)."""
        cached = self._options.get((pair[0], version))
        if cached is None:
            cached = shared(
                {"self": f"{self.api(version)}/customFieldOption/{pair[0]}", "value": pair[1], "id": pair[0]}
            )
            self._options[(pair[0], version)] = cached
        return cached

    def _custom_fields(self, record: IssueRecord, rng: random.Random, version: str, values: dict, want) -> None:
        draw = rng.random  # cheaper than randint/choice: this runs for every issue served
        option, user = self.option, self.user

        def pick(items: list | tuple) -> Any:
            return items[int(draw() * len(items))]

        n = 1000 + int(draw() * 9000)
        region = pick(catalog.REGIONS)
        city = pick(region[2])
        shoot_ms = record.created_ms + (1 + int(draw() * 14)) * 86_400_000
        services = catalog.SERVICES[: 1 + int(draw() * 3)]
        first_user = int(draw() * len(catalog.USERS))
        generated: dict[str, Any] = {
            "customfield_10501": f"NDPU-{record.id:07d}",
            "customfield_10020": self._sprint_field(record, rng),
            "customfield_10030": self.timestamp(shoot_ms)[:10],
            "customfield_10031": self.timestamp(shoot_ms - shoot_ms % 3_600_000),
            "customfield_10032": float(400 + int(draw() * 5600)) if draw() < 0.9 else None,
            "customfield_10033": option(pick(catalog.PROPERTY_TYPES), version),
            "customfield_10034": [option(service, version) for service in services],
            "customfield_10035": {**option(region[:2], version), "child": option(city, version)},
            "customfield_10036": user(first_user, version),
            "customfield_10037": [
                user(first_user, version),
                user((first_user + 1 + int(draw() * 6)) % len(catalog.USERS), version),
            ],
            "customfield_10038": [pick(catalog.LABELS) for _ in range(int(draw() * 2))],
            "customfield_10039": f"https://listings.example.com/{record.id}",
            "customfield_10040": float(seeded_rooms(record.seed)),  # the dataset's: histories change it
            "customfield_10041": option(pick(catalog.RUSH), version) if draw() < 0.7 else None,
            "customfield_10045": catalog.PARENT_LINK_PLACEHOLDER,
            "customfield_10046": self.group(catalog.TEAM_GROUPS[record.seed % 4 - 1], version)
            if record.seed % 4
            else None,
        }
        if not self.cloud:  # Data Center names an issue's epic in the Epic Link field, by key (not in parent)
            epic = self.data.parent(record) if self.data.role(record) == "epic-child" else None
            generated[catalog.EPIC_LINK.id] = self.data.key_of(epic) if epic is not None else None
        access = pick(catalog.ACCESS).format(n=n)
        special = pick(catalog.SPECIAL)
        for field in catalog.PROFILE_FIELDS[self.config.profile]:
            text = access if "Access" in field.name else special
            if field.name.endswith("Notes"):
                text = f"({text.split('.')[0].lower()})" if draw() < 0.5 else None
            generated[field.id] = self.rich_text(text, version) if text and field.custom_type == "textarea" else text
        if record.edits:
            generated.update(record.edits)
        for field_id, value in generated.items():
            if want(field_id):
                values[field_id] = value

    def _sprint_field(self, record: IssueRecord, rng: random.Random) -> list | None:
        """The Sprint field: the issue's sprints of the site's board, in the shape the site sends."""
        below(rng, 30)  # the draw (randint(1, 30)) the field once took, so that the values after it stay as they were
        form, zone, values = self.data.sprint_format, self.zone, self._sprint_values
        shown = []
        for sprint in self.data.sprints_of(record):
            value = values.get((sprint, form))
            if value is None:
                value = values[(sprint, form)] = sprint_value(sprint, form, zone)
            shown.append(value)
        return shown or None

    def issue(
        self,
        record: IssueRecord,
        version: str,
        wanted: set[str] | None,
        expand: set[str],
        inline_limit: int | None,
        *,
        comment_cap: int | None = None,
        agile: bool = False,
    ) -> dict[str, Any]:
        """The IssueBean: id, key, self, fields; changelog, names, schema, transitions when expanded."""
        if record.raw is not None:
            return self.replayed_issue(record, wanted, expand, inline_limit)
        body: dict[str, Any] = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": str(record.id),
            "self": f"{self.api(version)}/issue/{record.id}",
            "key": self.data.key_of(record),
        }
        # The whole history (with the activity woven into it) only for the changelog: the fields the history
        # decides come from its workflow items alone (Dataset.state), cached per issue.
        events = self.data.history(record) if "changelog" in expand else None
        if wanted is None or wanted:
            body["fields"] = self.issue_fields(record, version, wanted, events, comment_cap=comment_cap, agile=agile)
        if "changelog" in expand:
            body["changelog"] = self.inline_changelog(record, version, inline_limit, events)
        if "names" in expand:
            body["names"] = self.names()
        if "schema" in expand:
            body["schema"] = self.schemas()
        if "transitions" in expand:
            body["transitions"] = self.transitions(record, version)
        return body

    def inline_changelog(
        self, record: IssueRecord, version: str, limit: int | None, events: list[Event] | None = None
    ) -> dict[str, Any]:
        events = self.data.history(record) if events is None else events
        # Cloud: newest first, the oldest beyond the cap silently dropped; Data Center: all, oldest first.
        shown = list(reversed(events))[: limit or len(events)] if self.cloud else events
        return {
            "startAt": 0,
            "maxResults": len(shown),
            "total": len(events),
            "histories": [self.history(event, version) for event in shown],
        }

    def replayed_issue(
        self, record: IssueRecord, wanted: set[str] | None, expand: set[str], inline_limit: int | None
    ) -> dict[str, Any]:
        raw = record.raw or {}
        body = {key: value for key, value in raw.items() if key not in ("fields", "changelog")}
        fields = raw.get("fields") or {}
        if wanted is None or wanted:
            body["fields"] = {k: v for k, v in fields.items() if wanted is None or k in wanted}
        if "changelog" in expand:
            body["changelog"] = self.inline_changelog(record, "", inline_limit)
        return body

    def history(self, event: Any, version: str) -> dict[str, Any]:
        if isinstance(event, RawEvent):
            return event.body
        items = self._items
        history = {
            "id": str(event.history_id),
            "author": self.user(event.author, version),
            "created": self.timestamp(event.at_ms),
            "items": [items.get(item) or self.item(item) for item in event.items],
        }
        if self.cloud and event.history_id % 9 == 0:
            # Changes made by automation or an app on someone's behalf: Cloud says so in historyMetadata.
            history["historyMetadata"] = self.history_metadata(event.author)
        return history

    def history_metadata(self, author: int) -> dict[str, Any]:
        """Cloud's historyMetadata of a change automation made on the author's behalf (shared: never changed)."""
        return self._shared(("history metadata", author), self._history_metadata)

    def _history_metadata(self, author: int) -> dict[str, Any]:
        account = self.account_id(author)
        return {
            "type": "jira.automation:rule",
            "description": f" on behalf of accountId={account}",
            "descriptionKey": "automation.history.description",
            "activityDescription": "Automation for Jira",
            "actor": {
                "id": "automation",
                "displayName": "Automation for Jira",
                "type": "application-user",
                "avatarUrl": f"{self.base}/images/automation.png",
                "url": f"{self.base}/jira/settings/automation",
            },
            "cause": {"id": account, "type": "account"},
            "extraData": {"ruleId": str(author + 100)},
        }

    def item(self, item: tuple) -> dict[str, Any]:
        """A change item (shared: the same change renders the same way, so it is built once)."""
        cached = self._items.get(item)
        if cached is None:
            if len(self._items) > 100_000:
                self._items.clear()
            cached = self._items[item] = self._item(item)
        return cached

    def _item(self, item: tuple) -> dict[str, Any]:
        name, fieldtype, field_id, old, old_text, new, new_text = item
        if field_id == "assignee":
            old = self.user_ref(int(old)) if old is not None else None
            new = self.user_ref(int(new)) if new is not None else None
        entry = {"field": name, "fieldtype": fieldtype}
        if self.cloud and field_id not in NO_FIELD_ID:
            entry["fieldId"] = field_id  # Data Center sends no fieldId at all
        entry.update({"from": old, "fromString": old_text, "to": new, "toString": new_text})
        if self.cloud and field_id == "assignee":
            entry["tmpFromAccountId"], entry["tmpToAccountId"] = old, new
        return entry

    def names(self) -> dict[str, str]:
        names = {field_id: name for field_id, name, _ in catalog.SYSTEM_FIELDS}
        names.update({f.id: f.name for f in self.custom_fields})
        return names

    def schemas(self) -> dict[str, dict]:
        schemas = {field_id: schema for field_id, _, schema in catalog.SYSTEM_FIELDS if schema is not None}
        for field in self.custom_fields:
            schemas[field.id] = self.field_schema(field)
        return schemas

    def field_schema(self, field: catalog.CustomField) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": field.schema_type}
        if field.items:
            schema["items"] = field.items
        schema["custom"] = catalog.custom_type_key(field)
        schema["customId"] = int(field.id.split("_")[1])
        return schema

    def transitions(self, record: IssueRecord, version: str) -> list[dict[str, Any]]:
        current = catalog.STATUS_BY_ID[self.data.state(record)["status"]]
        return [
            {
                "id": str(11 + i),
                "name": status.name,
                "to": self.status(status.id, version),
                "hasScreen": False,
                "isGlobal": True,
                "isInitial": False,
                "isAvailable": True,
                "isConditional": False,
                "isLooped": False,
            }
            for i, status in enumerate(catalog.STATUSES)
            if status.id != current.id
        ]

    def field_list(self) -> list[dict[str, Any]]:
        fields = []
        for field_id, name, schema in catalog.SYSTEM_FIELDS:
            fields.append(
                {
                    "id": field_id,
                    "key": field_id,
                    "name": name,
                    "custom": False,
                    "orderable": True,
                    "navigable": True,
                    "searchable": True,
                    "clauseNames": [field_id],
                    **({"schema": schema} if schema is not None else {}),
                }
            )
        for field in self.custom_fields:
            number = field.id.split("_")[1]
            entry = {"id": field.id, "key": field.id, "name": field.name}
            if self.cloud:
                entry["untranslatedName"] = field.name
            entry.update(
                {
                    "custom": True,
                    "orderable": True,
                    "navigable": True,
                    "searchable": True,
                    "clauseNames": [f"cf[{number}]", field.name],
                    "schema": self.field_schema(field),
                }
            )
            fields.append(entry)
        return fields
