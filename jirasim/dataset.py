"""The simulated site's issues: generated lazily from a seed, changed over time by advance().

Each issue keeps only a few numbers (id, project, number, seed, created, updated)
plus what advance() added to it; its fields and history are rebuilt from the
seed whenever they are asked for, so 100,000 issues cost a few tens of MB.
"""

import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from jirasim import catalog
from jirasim.replay import epoch_ms, raw_events
from jirasim.rich import RichText, rich_document
from jirasim.sprints import FORMATS, SprintSpec, issue_sprints, site_format, site_sprints

MINUTE_MS = 60_000
DAY_MS = 86_400_000
FIRST_ISSUE_ID = 10_000
EXTRA_HISTORY_BASE = 10_000_000_000
LOOKALIKE_HISTORY_BASE = 5_000_000_000
RICH_TEXT_FIELDS = {"description": "Description", catalog.SHOOT_BRIEF.id: catalog.SHOOT_BRIEF.name}


@dataclass
class SimConfig:
    flavour: str = "cloud"  # cloud | datacenter
    projects: int = 2
    issues: int = 200  # per project
    seed: int = 1
    profile: str = ""  # instance_1 | instance_2 | instance_3; default by flavour
    start: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    site_tz: str = "UTC"  # the offset timestamps carry
    account_tz: str = "UTC"  # myself.timeZone; quoted JQL dates are read in it
    history_days: int = 180
    long_history_share: float = 0.005  # issues with 120-450 history entries
    project_keys: list[str] = field(default_factory=list)
    base_url: str = ""
    dc_version: str = "9.12.4"  # Data Center's serverInfo version; decides how sprints are sent
    # Off by default, so that existing tests and benchmarks keep their figures:
    sprints: bool = False  # the Sprint field with hostile names, in the shape the site sends (sprint_format)
    sprint_format: str = "auto"  # auto (flavour and dc_version decide) | legacy | server | alphabetical | object
    rich_adf: bool = False  # description and "Shoot Brief" as ADF using every node kind (Cloud v3)
    status_lookalike_fields: bool = False  # custom fields "Status" and "Workflow Status", changed in histories

    def __post_init__(self) -> None:
        if self.flavour not in ("cloud", "datacenter"):
            raise ValueError("flavour must be cloud or datacenter")
        if self.sprint_format not in FORMATS:
            raise ValueError(f"sprint_format must be one of {', '.join(FORMATS)}")
        if not self.dc_version.split(".")[0].isdigit():
            raise ValueError("dc_version must look like 9.12.4")
        if not self.profile:
            self.profile = "instance_1" if self.flavour == "cloud" else "instance_2"
        if self.profile not in catalog.PROFILE_FIELDS:
            raise ValueError(f"unknown profile {self.profile}")

    @property
    def cloud(self) -> bool:
        return self.flavour == "cloud"


# An item of a history: (field, fieldtype, fieldId, from, fromString, to, toString)
Item = tuple[str, str, str, str | None, str | None, str | None, str | None]


@dataclass
class Event:
    history_id: int
    at_ms: int
    author: int
    items: list[Item]


class IssueRecord:
    __slots__ = (
        "created_ms",
        "deleted",
        "edits",
        "extra",
        "forced_status",
        "id",
        "n_events",
        "number",
        "old_keys",
        "project",
        "raw",
        "seed",
        "span_ms",
        "updated_ms",
    )

    def __init__(
        self, issue_id: int, project: int, number: int, seed: int, created_ms: int, n_events: int, span_ms: int
    ) -> None:
        self.id = issue_id
        self.project = project
        self.number = number
        self.seed = seed
        self.created_ms = created_ms
        self.n_events = n_events
        self.span_ms = span_ms
        self.updated_ms = created_ms + span_ms
        self.extra: list[Event] | None = None
        self.edits: dict[str, Any] | None = None  # field id -> value set by advance()
        self.old_keys: list[str] | None = None
        self.deleted = False
        self.raw: dict[str, Any] | None = None  # a replayed issue, served as recorded
        self.forced_status: tuple[str, int] | None = None  # (status id, when): set with no history entry


@dataclass
class Project:
    index: int
    id: str
    key: str
    name: str
    next_number: int = 1
    hidden: bool = False  # the account lost access to the project
    issues_hidden: bool = False  # the project is visible, its issues are not (an issue security level)


class Dataset:
    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.now_ms = int(config.start.timestamp() * 1000)
        self.version = 0  # bumps on every change; search caches key on it
        self._advances = 0
        self._next_history = EXTRA_HISTORY_BASE
        self.by_id: dict[int, IssueRecord] = {}
        self.by_key: dict[str, IssueRecord] = {}
        keys = config.project_keys or [_project_key(i) for i in range(config.projects)]
        self.projects = [Project(i, str(10_000 + i), key, f"{key.title()} listings") for i, key in enumerate(keys)]
        self._next_id = FIRST_ISSUE_ID
        self.sprint_board = site_sprints(config.seed, self.now_ms) if config.sprints else []
        self.sprint_format = site_format(config.sprint_format, config.cloud, config.dc_version)
        for project in self.projects:
            for _ in range(config.issues):
                self._add(project, self._seeded_record(project))

    # --- generation ------------------------------------------------------------------------------
    def _seeded_record(self, project: Project) -> IssueRecord:
        issue_id = self._next_id
        seed = (self.config.seed * 1_000_003 + issue_id) & 0xFFFFFFFF
        rng = random.Random(seed)
        long_history = rng.random() < self.config.long_history_share
        n_events = rng.randint(120, 450) if long_history else rng.randint(0, 14)
        created = self.now_ms - rng.randint(1, self.config.history_days * DAY_MS)
        span = rng.randint(n_events * MINUTE_MS, max(n_events * MINUTE_MS, self.now_ms - created)) if n_events else 0
        created = min(created, self.now_ms - span)  # a busy young issue starts earlier: nothing updated in the future
        return IssueRecord(issue_id, project.index, project.next_number, seed, created, n_events, span)

    def _add(self, project: Project, record: IssueRecord) -> None:
        self._next_id = max(self._next_id, record.id + 1)
        project.next_number = record.number + 1
        self.by_id[record.id] = record
        self.by_key[self.key_of(record)] = record

    def key_of(self, record: IssueRecord) -> str:
        return f"{self.projects[record.project].key}-{record.number}"

    def history(self, record: IssueRecord) -> list:
        """Every history entry of the issue, oldest first (RawEvents for a replayed issue)."""
        if record.raw is not None:
            return raw_events(record.raw)
        events = _base_events(record)
        if self.config.status_lookalike_fields:
            events = _with_lookalike_events(record, events)
        return events + record.extra if record.extra else events

    def sprints_of(self, record: IssueRecord) -> list[SprintSpec]:
        """The sprints a generated issue was in, oldest first (none unless the site has sprints)."""
        return issue_sprints(record.seed, self.sprint_board) if self.sprint_board and record.raw is None else []

    def rich_texts(self, record: IssueRecord) -> dict[str, RichText]:
        """The rich-text fields of a generated issue on a rich_adf site: field id -> document and its parts."""
        if not self.config.rich_adf or record.raw is not None:
            return {}
        return {
            field_id: rich_document(record.seed * 31 + position, label, record.created_ms)
            for position, (field_id, label) in enumerate(RICH_TEXT_FIELDS.items())
        }

    def state(self, record: IssueRecord, events: list[Event] | None = None) -> dict[str, Any]:
        """The issue's current values that its history (given, or rebuilt) decides: status, priority, assignee."""
        current = {
            "status": catalog.STATUSES[catalog.OPEN].id,
            "priority": catalog.PRIORITIES[2][0],
            "assignee": None,  # unassigned until a history entry assigns it
            "reporter": record.seed % len(catalog.USERS),
            "resolved_ms": None,
        }
        for event in self.history(record) if events is None else events:
            for _name, _, field_id, _, _, to, _ in event.items:
                if field_id == "status":
                    current["status"] = to
                    done = catalog.STATUS_BY_ID[to].category == "done"
                    current["resolved_ms"] = event.at_ms if done else None
                elif field_id == "priority":
                    current["priority"] = to
                elif field_id == "assignee":
                    current["assignee"] = int(to) if to is not None else None
        if record.forced_status is not None:
            status_id, at_ms = record.forced_status
            current["status"] = status_id
            current["resolved_ms"] = at_ms if catalog.STATUS_BY_ID[status_id].category == "done" else None
        return current

    # --- change over time ------------------------------------------------------------------------
    def live(self, project: int | None = None) -> list[IssueRecord]:
        return [r for r in self.by_id.values() if not r.deleted and (project is None or r.project == project)]

    def advance(
        self, minutes: float = 0, update: float = 0.0, create: int = 0, delete: int = 0, move: int = 0
    ) -> dict[str, Any]:
        """Move the clock on and change the site in between; return what was done."""
        with self.lock:
            self._advances += 1
            rng = random.Random(self.config.seed * 7919 + self._advances)
            start, end = self.now_ms, self.now_ms + max(int(minutes * MINUTE_MS), 1)
            live = sorted((r for r in self.live() if r.raw is None), key=lambda r: r.id)
            done: dict[str, Any] = {"updated": [], "created": [], "deleted": [], "moved": []}
            for record in rng.sample(live, min(len(live), round(update * len(live)))):
                self._edit(record, rng, start, end)
                done["updated"].append(self.key_of(record))
            for record in rng.sample(live, min(len(live), delete)):
                record.deleted = True
                done["deleted"].append(self.key_of(record))
            remaining = [r for r in live if not r.deleted]
            if len(self.projects) > 1:
                for record in rng.sample(remaining, min(len(remaining), move)):
                    old = self.key_of(record)
                    self._move(record, rng, start, end)
                    done["moved"].append({"id": str(record.id), "from": old, "to": self.key_of(record)})
            for _ in range(create):
                record = self._create(rng, start, end)
                done["created"].append(self.key_of(record))
            self.now_ms = end
            self.version += 1
            done["now"] = self.now_ms
            return done

    def change(
        self,
        *,
        edit: list[IssueRecord] = (),
        delete: list[IssueRecord] = (),
        move: list[IssueRecord] = (),
        create: list[Project] = (),
        minutes: float = 0,
    ) -> dict[str, Any]:
        """Change these issues now, as people do while a client reads; return what was done, as advance() does.

        The clock moves on `minutes` (at least a millisecond); edits, moves and new issues happen at the
        new now, so an edited issue's `updated` is the site's now and its history gains an entry: all the
        issues of one call share that one instant, as after a bulk change.
        """
        with self.lock:
            self._advances += 1
            rng = random.Random(self.config.seed * 7919 + self._advances)
            self.now_ms += max(int(minutes * MINUTE_MS), 1)
            at = self.now_ms
            done: dict[str, Any] = {"updated": [], "created": [], "deleted": [], "moved": []}
            for record in edit:
                self._edit(record, rng, at - 1, at)
                done["updated"].append(self.key_of(record))
            for record in delete:
                record.deleted = True
                done["deleted"].append(self.key_of(record))
            for record in move if len(self.projects) > 1 else ():
                old = self.key_of(record)
                self._move(record, rng, at - 1, at)
                done["moved"].append({"id": str(record.id), "from": old, "to": self.key_of(record)})
            for project in create:
                record = self._seeded_record(project)
                record.created_ms = record.updated_ms = at
                record.n_events, record.span_ms = 0, 0
                self._add(project, record)
                done["created"].append(self.key_of(record))
            self.version += 1
            done["now"] = self.now_ms
            return done

    def _new_history_id(self) -> int:
        self._next_history += 1
        return self._next_history

    def _append(self, record: IssueRecord, event: Event) -> None:
        record.extra = [*(record.extra or []), event]
        record.updated_ms = max(record.updated_ms, event.at_ms)
        if any(item[2] == "status" for item in event.items):
            record.forced_status = None  # the history explains the status again

    def set_status(self, key_or_id: str, status_name: str, *, record: bool = True) -> IssueRecord:
        """Move an issue to a status now: with a history entry (record), or without one, as an import or a
        status set outside the workflow leaves it — the status then disagrees with the changelog."""
        with self.lock:
            issue = self.find(key_or_id)
            status = next((s for s in catalog.STATUSES if s.name.lower() == status_name.strip().lower()), None)
            if issue is None or issue.raw is not None or status is None:
                raise KeyError(key_or_id if status is not None else status_name)
            self.now_ms += 1
            if record:
                before = catalog.STATUS_BY_ID[self.state(issue)["status"]]
                item: Item = ("status", "jira", "status", before.id, before.name, status.id, status.name)
                self._append(issue, Event(self._new_history_id(), self.now_ms, 0, [item]))
            else:
                issue.forced_status = (status.id, self.now_ms)
                issue.updated_ms = self.now_ms
            self.version += 1
            return issue

    def _edit(self, record: IssueRecord, rng: random.Random, start: int, end: int) -> None:
        at = rng.randint(start + 1, end)
        status = self.state(record)["status"]
        nxt = _next_status(rng, catalog.STATUSES.index(catalog.STATUS_BY_ID[status]))
        if rng.random() < 0.7 and nxt is not None:
            to = catalog.STATUSES[nxt]
            item: Item = ("status", "jira", "status", status, catalog.STATUS_BY_ID[status].name, to.id, to.name)
        else:
            rooms = str(rng.randint(1, 9))
            record.edits = {**(record.edits or {}), "customfield_10040": float(rooms)}
            item = ("Rooms", "custom", "customfield_10040", None, None, None, rooms)
        self._append(record, Event(self._new_history_id(), at, rng.randrange(len(catalog.USERS)), [item]))

    def _move(self, record: IssueRecord, rng: random.Random, start: int, end: int) -> None:
        target = rng.choice([p for p in self.projects if p.index != record.project])
        old_key, old_project = self.key_of(record), self.projects[record.project]
        record.old_keys = [*(record.old_keys or []), old_key]
        record.project, record.number = target.index, target.next_number
        target.next_number += 1
        new_key = self.key_of(record)
        self.by_key[new_key] = record
        items: list[Item] = [
            ("project", "jira", "project", old_project.id, old_project.name, target.id, target.name),
            ("Key", "jira", "issuekey", None, old_key, None, new_key),
        ]
        self._append(record, Event(self._new_history_id(), rng.randint(start + 1, end), 0, items))

    def _create(self, rng: random.Random, start: int, end: int) -> IssueRecord:
        project = rng.choice(self.projects)
        record = self._seeded_record(project)
        record.created_ms = rng.randint(start + 1, end)
        record.n_events = rng.randint(0, 2)
        record.span_ms = rng.randint(record.n_events * 1000, max(record.n_events * 1000, end - record.created_ms))
        record.updated_ms = record.created_ms + record.span_ms
        self._add(project, record)
        return record

    def restore(self, issue_id: int) -> IssueRecord:
        """Bring a deleted issue back (as an un-archived or un-hidden issue comes back), unchanged."""
        with self.lock:
            record = self.by_id[issue_id]
            record.deleted = False
            self.version += 1
            return record

    def set_history_length(self, key_or_id: str, entries: int) -> IssueRecord:
        """Give one issue a history of exactly `entries` entries (for truncation tests)."""
        with self.lock:
            record = self.find(key_or_id)
            if record is None:
                raise KeyError(key_or_id)
            record.extra = None
            record.n_events = entries
            record.span_ms = max(record.span_ms, entries * MINUTE_MS)
            record.updated_ms = record.created_ms + record.span_ms
            self.version += 1
            return record

    def find(self, key_or_id: str) -> IssueRecord | None:
        """The live issue with this id or key (old keys of moved issues resolve too)."""
        text = str(key_or_id).strip()
        record = self.by_id.get(int(text)) if text.isdigit() else self.by_key.get(text.upper())
        return None if record is None or record.deleted else record

    def visible(self, record: IssueRecord) -> bool:
        """Whether the account may see this issue (its project and its issues are visible)."""
        project = self.projects[record.project]
        return not (project.hidden or project.issues_hidden)

    def status_name(self, record: IssueRecord) -> str:
        if record.raw is not None:
            return str(((record.raw.get("fields") or {}).get("status") or {}).get("name", ""))
        return catalog.STATUS_BY_ID[self.state(record)["status"]].name

    def add_replayed(self, issue: dict[str, Any]) -> IssueRecord:
        """Serve a recorded issue as it is; its project is created from the issue when new."""
        with self.lock:
            fields = issue.get("fields") or {}
            key = str(issue["key"])
            project_key, _, number = key.rpartition("-")
            recorded_project = fields.get("project") or {}
            project = next((p for p in self.projects if p.key == project_key), None)
            if project is None:
                project = Project(
                    len(self.projects),
                    str(recorded_project.get("id") or 90_000 + len(self.projects)),
                    project_key,
                    str(recorded_project.get("name") or project_key),
                )
                self.projects.append(project)
            created = epoch_ms(fields.get("created"), self.now_ms)
            record = IssueRecord(int(issue["id"]), project.index, int(number), 0, created, 0, 0)
            record.updated_ms = epoch_ms(fields.get("updated"), created)
            record.raw = issue
            self.by_id[record.id] = record
            self.by_key[key] = record
            project.next_number = max(project.next_number, record.number + 1)
            self._next_id = max(self._next_id, record.id + 1)
            self.version += 1
            return record

    def truth(self) -> list[dict[str, Any]]:
        with self.lock:
            rows = []
            for record in sorted(self.live(), key=lambda r: r.id):
                if not self.visible(record):
                    continue
                row = {
                    "id": str(record.id),
                    "key": self.key_of(record),
                    "project": self.projects[record.project].key,
                    "status": self.status_name(record),
                    "updated": record.updated_ms,
                    "changelog_total": len(self.history(record)),
                }
                if self.config.sprints:
                    row["sprints"] = [sprint.name for sprint in self.sprints_of(record)]
                if self.config.rich_adf:
                    row["rich_text"] = {
                        field_id: {"parts": rich.parts, "absent": rich.absent}
                        for field_id, rich in self.rich_texts(record).items()
                    }
                rows.append(row)
            return rows


def _project_key(index: int) -> str:
    names = ["OPS", "SHOOT", "EDIT", "LIST", "FIELD", "MEDIA", "PLAN", "SALES"]
    return names[index] if index < len(names) else f"P{index}"


def _next_status(rng: random.Random, current: int) -> int | None:
    """A plausible next status: mostly forward, sometimes back for rework, sometimes escalated."""
    if current == catalog.CLOSED:
        return catalog.EDIT_START if rng.random() < 0.3 else None
    if current == catalog.FINAL_REVIEW:
        roll = rng.random()
        if roll < 0.25:
            return catalog.EDIT_START
        if roll < 0.4:
            return catalog.ESCALATED
        return catalog.CLOSED
    if current == catalog.ESCALATED:
        return catalog.FINAL_REVIEW
    position = catalog.FORWARD.index(current)
    return catalog.FORWARD[position + 1]


def _base_events(record: IssueRecord) -> list[Event]:
    """The issue's generated history: n_events spread over (created, created + span], the last at the end."""
    if not record.n_events:
        return []
    rng = random.Random(record.seed ^ 0xC0FFEE)
    draw = rng.random  # random() is ~5x cheaper than randint(); this runs for every issue served
    start, span = record.created_ms + 1, record.span_ms
    times = sorted(start + int(draw() * span) for _ in range(record.n_events - 1))
    times.append(record.created_ms + span)
    status, priority, assignee = catalog.OPEN, catalog.PRIORITIES[2], None
    users, priorities, labels = len(catalog.USERS), catalog.PRIORITIES, catalog.LABELS
    long_history = record.n_events > 100
    events = []
    for k, at in enumerate(times):
        roll = draw()
        nxt = _next_status(rng, status)
        if long_history and status == catalog.CLOSED:
            nxt = catalog.EDIT_START  # busy issues keep cycling
        if nxt is not None and roll < 0.6:
            before, after = catalog.STATUSES[status], catalog.STATUSES[nxt]
            items: list[Item] = [("status", "jira", "status", before.id, before.name, after.id, after.name)]
            if after.category == "done":
                items.append(("resolution", "jira", "resolution", None, None, "10000", "Done"))
            elif before.category == "done":
                items.append(("resolution", "jira", "resolution", "10000", "Done", None, None))
            status = nxt
        elif roll < 0.75:
            new = priorities[int(draw() * len(priorities))]
            items = [("priority", "jira", "priority", priority[0], priority[1], new[0], new[1])]
            priority = new
        elif roll < 0.9:
            user = int(draw() * users)
            old = (str(assignee), catalog.USERS[assignee][0]) if assignee is not None else (None, None)
            items = [("assignee", "jira", "assignee", old[0], old[1], str(user), catalog.USERS[user][0])]
            assignee = user
        else:
            items = [("labels", "jira", "labels", None, "", None, labels[int(draw() * len(labels))])]
        events.append(Event(record.id * 1000 + k, at, int(draw() * users), items))
    return events


def _with_lookalike_events(record: IssueRecord, events: list[Event]) -> list[Event]:
    """Changes of the custom fields named "Status" and "Workflow Status" woven into a history.

    Some ride along on a real transition (one history, two "Status" items: Jira's own and the custom
    field's), others are entries of their own. Neither is a status change.
    """
    if not record.span_ms:
        return events
    rng = random.Random(record.seed ^ 0x57A7E5)
    riders = {k for k, e in enumerate(events) if any(i[2] == "status" for i in e.items) and rng.random() < 0.3}
    own = [record.created_ms + 1 + int(rng.random() * max(record.span_ms - 1, 0)) for _ in range(rng.randint(0, 3))]
    slots = sorted([(events[k].at_ms, k) for k in riders] + [(at, -1 - n) for n, at in enumerate(own)])
    current: dict[str, tuple[str | None, str | None]] = {}
    woven = list(events)
    for at, slot in slots:
        item = _lookalike_item(rng, current)
        if slot >= 0:
            event = woven[slot]
            woven[slot] = Event(event.history_id, event.at_ms, event.author, [*event.items, item])
        else:
            history_id = LOOKALIKE_HISTORY_BASE + record.id * 10 - 1 - slot
            woven.append(Event(history_id, at, int(rng.random() * len(catalog.USERS)), [item]))
    return sorted(woven, key=lambda event: event.at_ms)


def _lookalike_item(rng: random.Random, current: dict[str, tuple[str | None, str | None]]) -> Item:
    """A change of the custom "Status" select or the "Workflow Status" text, from its current value."""
    if rng.random() < 0.6:
        field = catalog.STATUS_LOOKALIKE
        new = catalog.LOOKALIKE_OPTIONS[int(rng.random() * len(catalog.LOOKALIKE_OPTIONS))]
    else:
        field = catalog.WORKFLOW_STATUS_LOOKALIKE
        new = (None, catalog.LOOKALIKE_TEXTS[int(rng.random() * len(catalog.LOOKALIKE_TEXTS))])
    old = current.get(field.id, (None, None))
    current[field.id] = new
    return (field.name, "custom", field.id, old[0], old[1], new[0], new[1])
