"""The simulated site's issues: generated lazily from a seed, changed over time by advance().

Each issue keeps only a few numbers (id, project, number, seed, created, updated)
plus what advance() added to it; its fields and history are rebuilt from the
seed whenever they are asked for, so 100,000 issues cost a few tens of MB.
"""

import random
import threading
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from operator import attrgetter, itemgetter
from typing import Any

from jirasim import catalog
from jirasim.activity import (
    ADDED_NOTE_BASE,
    Activity,
    Changes,
    Note,
    child_indexes,
    hierarchy_role,
    link_partners,
    parent_index,
    seeded_activity,
    with_changes,
)
from jirasim.advance_request import check_advance
from jirasim.memo import Lru, VersionedLru
from jirasim.replay import epoch_ms, raw_events
from jirasim.rich import RichText, rich_document
from jirasim.sprints import FORMATS, SprintSpec, issue_sprints, new_sprint, site_format, site_sprints
from jirasim.streams import stream

MINUTE_MS = 60_000
DAY_MS = 86_400_000
FIRST_ISSUE_ID = 10_000
EXTRA_HISTORY_BASE = 10_000_000_000
COMPONENT_BASE = 20_000
LOOKALIKE_HISTORY_BASE = 5_000_000_000
ACTIVITY_CACHE = 4096
STATE_CACHE = 8192
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


@dataclass(slots=True)
class Event:
    history_id: int
    at_ms: int
    author: int
    items: list[Item]


class IssueRecord:
    __slots__ = (
        "changes",
        "created_ms",
        "deleted",
        "edits",
        "extra",
        "forced_status",
        "id",
        "n_events",
        "number",
        "old_keys",
        "origin",
        "project",
        "raw",
        "seed",
        "span_ms",
        "state",
        "updated_ms",
    )

    def __init__(
        self, issue_id: int, project: int, number: int, seed: int, created_ms: int, n_events: int, span_ms: int
    ) -> None:
        self.id = issue_id
        self.project = project
        self.origin = project  # the project it was created in: its seeded history names that project's things
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
        self.changes: Changes | None = None  # comments, worklogs and sprints changed by advance()
        self.state: dict[str, Any] | None = None  # Dataset.state(), kept until the issue's history changes


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
        self.start_ms = self.now_ms
        self.version = 0  # bumps on every change; search caches key on it
        self._advances = 0
        self._next_history = EXTRA_HISTORY_BASE
        self.by_id: dict[int, IssueRecord] = {}
        self.by_key: dict[str, IssueRecord] = {}
        keys = config.project_keys or [_project_key(i) for i in range(config.projects)]
        self.projects = [Project(i, str(10_000 + i), key, f"{key.title()} listings") for i, key in enumerate(keys)]
        self._next_id = FIRST_ISSUE_ID
        # Every site has a board of sprints; only sites with `sprints` give them hostile names.
        self.sprint_board = site_sprints(config.seed, self.now_ms, hostile=config.sprints)
        # The board as it was at the start: seeded sprint runs and their history items follow it, so that a
        # sprint closed later changes no old history.
        self.seeded_board = tuple(self.sprint_board)
        # Rebuilt from seeds on first use and kept a while (bounded: a 100,000-issue site stays small).
        self._activity = Lru(ACTIVITY_CACHE)  # issue id -> its activity (dropped when advance() changes it)
        self._sprints = VersionedLru(STATE_CACHE)  # issue id -> sprints_of()
        self._seeded_runs = Lru(STATE_CACHE)  # issue id -> seeded_sprints_of() (the seed decides it: never dropped)
        self._board_by_id: dict[int, SprintSpec] | None = None  # the board's sprints by id (None: rebuild)
        self._next_note = ADDED_NOTE_BASE
        self.added_notes: dict[int, int] = {}  # id of a comment or worklog added by advance() -> issue id
        self.sprint_format = site_format(config.sprint_format, config.cloud, config.dc_version)
        for project in self.projects:
            for _ in range(config.issues):
                self._add(project, self._seeded_record(project))

    # --- generation ------------------------------------------------------------------------------
    def _seeded_record(self, project: Project) -> IssueRecord:
        issue_id = self._next_id
        seed = (self.config.seed * 1_000_003 + issue_id) & 0xFFFFFFFF
        rng = stream(seed)
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
        if events:
            events = self._with_activity_items(record, events)
        return events + record.extra if record.extra else events

    def _with_activity_items(self, record: IssueRecord, events: list[Event]) -> list[Event]:
        """The seeded changes of sprints, versions, attachments, work logged, estimates, environment, parent and
        links, riding on the issue's history entries (their number, times and other items unchanged).
        A value not changed in the history was set when the issue was created.

        Everything here follows from the seed and the board as it was at the start, never from what advance()
        changed since: a history, once served, never changes (advance() appends its own)."""
        rng = stream(record.seed ^ 0x17E35)
        draw = rng.random
        n = len(events)
        times = [event.at_ms for event in events]
        extra: dict[int, list[Item]] = {}

        def at(position: int, item: Item) -> None:
            extra.setdefault(position, []).append(item)

        def when(ms: int) -> int:
            """The first history at or after ms (the last one when none is)."""
            return min(bisect_left(times, ms), n - 1)

        # Each sprint joined in a history before the sprint completed, in the run's order; a sprint no history
        # could have added was set when the issue was created.
        before: list[SprintSpec] = []
        low = 0
        for sprint in self.seeded_sprints_of(record):
            high = n if sprint.complete_ms is None else bisect_left(times, sprint.complete_ms)
            if high <= low:
                before.append(sprint)
                continue
            low += int(draw() * (high - low))
            ids, names = ", ".join(str(s.id) for s in before), ", ".join(s.name for s in before)
            before.append(sprint)
            after = (", ".join(str(s.id) for s in before), ", ".join(s.name for s in before))
            at(low, ("Sprint", "custom", "customfield_10020", ids, names, *after))
        activity = self.activity(record) if record.changes is None else self._seeded_activity(record)
        for name, field_id, chosen in (
            ("Fix Version", "fixVersions", activity.fix_versions),
            ("Version", "versions", activity.affects_versions),
        ):
            for version in chosen:
                if draw() < 0.7:
                    version_id, version_name = self.version_ref(record.origin, version)
                    at(int(draw() * n), (name, "jira", field_id, None, None, version_id, version_name))
        for attachment in activity.attachments:
            text = str(attachment.id)
            at(when(attachment.created_ms), ("Attachment", "jira", "attachment", None, None, text, attachment.filename))
        if activity.worklogs or activity.original_estimate:
            for position, items in _time_tracking_items(activity, times, draw).items():
                extra.setdefault(position, []).extend(items)
        if activity.environment and draw() < 0.5:
            at(int(draw() * n), ("environment", "jira", "environment", None, "", None, activity.environment))
        parent = self._seeded_parent(record)
        if parent is not None:
            position = (record.id * 7) % n
            if parent.created_ms <= times[position]:  # else the issue was created under it
                key = parent.old_keys[0] if parent.old_keys else self.key_of(parent)
                at(position, ("Parent", "jira", "parent", None, None, str(parent.id), key))
        for link_id, other, outward, link_type in self._all_links(record, ever=True):
            position = (link_id * 7) % n
            # A history never changes: no link item in one older than the other issue (created later, the link
            # would be a change of its own), and the key it had then (it may move later).
            if link_id % 3 and other.created_ms <= events[position].at_ms:
                _, _, inward_text, outward_text = catalog.LINK_TYPES[link_type]
                key = other.old_keys[0] if other.old_keys else self.key_of(other)
                text = f"This issue {outward_text if outward else inward_text} {key}"
                at(position, ("Link", "jira", "Link", None, None, key, text))
        if not extra:
            return events
        woven = list(events)
        for position, items in extra.items():
            event = woven[position]
            woven[position] = Event(event.history_id, event.at_ms, event.author, [*event.items, *items])
        return woven

    def _seeded_activity(self, record: IssueRecord) -> Activity:
        """The issue's activity as seeded, without what advance() changed (built anew: not cached)."""
        reporter = record.seed % len(catalog.USERS)
        end = record.created_ms + record.span_ms
        return seeded_activity(record.id, record.seed, record.created_ms, end, reporter)

    def _seeded_parent(self, record: IssueRecord) -> IssueRecord | None:
        """The epic a Cloud epic child was put under by a history entry (Data Center shows no parent of one)."""
        if not self.config.cloud or record.raw is not None or self.role(record) != "epic-child":
            return None
        index = parent_index(record.id - FIRST_ISSUE_ID)
        parent = self.by_id.get(FIRST_ISSUE_ID + index) if index is not None else None
        return parent if parent is not None and parent.raw is None else None

    def component_ref(self, project: int, component: int) -> tuple[str, str]:
        """(id, name) of a project's component (an index into catalog.COMPONENTS)."""
        return component_ref(project, component)

    def version_ref(self, project: int, version: int) -> tuple[str, str]:
        """(id, name) of a project's version (an index into catalog.VERSIONS)."""
        return str(10_500 + project * 10 + version), catalog.VERSIONS[version][0]

    def sprints_of(self, record: IssueRecord) -> list[SprintSpec]:
        """The sprints a generated issue was in, oldest first (none unless the site has sprints)."""
        if record.raw is not None:
            return []
        cached = self._sprints.get(self.version, record.id)
        if cached is not None:
            return cached
        by_id = self._board_by_id
        if by_id is None:
            by_id = self._board_by_id = {sprint.id: sprint for sprint in self.sprint_board}
        if record.changes is not None and record.changes.sprints is not None:
            return [by_id[sprint_id] for sprint_id in record.changes.sprints]
        return self._sprints.put(record.id, [by_id[sprint.id] for sprint in self.seeded_sprints_of(record)])

    def seeded_sprints_of(self, record: IssueRecord) -> list[SprintSpec]:
        """The sprints a generated issue was in as seeded (as the board was at the start); none for an issue
        created since (advance() may move it into a sprint)."""
        if record.raw is not None or record.created_ms > self.start_ms:
            return []
        cached = self._seeded_runs.get(record.id)
        if cached is None:
            cached = self._seeded_runs.put(record.id, issue_sprints(record.seed, self.seeded_board, record.created_ms))
        return cached

    def activity(self, record: IssueRecord) -> Activity:
        """The issue's comments, worklogs, attachments, versions, estimate, votes, watchers, environment."""
        cached = self._activity.get(record.id)
        if cached is None:
            reporter = record.seed % len(catalog.USERS)
            seeded = seeded_activity(
                record.id, record.seed, record.created_ms, record.created_ms + record.span_ms, reporter
            )
            cached = self._activity.put(record.id, with_changes(seeded, record.changes))
        return cached

    def links(self, record: IssueRecord) -> list[tuple[int, IssueRecord, bool, int]]:
        """The issue's links as the account sees them: [(link id, the other issue, this one is the outward
        end, link type index)]. A link to an issue the account may not browse (its project or its issues
        hidden) is left out, as Jira's LinkCollection leaves it out of `issuelinks`."""
        return [link for link in self._all_links(record) if self.visible(link[1])]

    def _all_links(self, record: IssueRecord, *, ever: bool = False) -> list[tuple[int, IssueRecord, bool, int]]:
        """The issue's links whoever may see them (its history records them all); ever: also those to issues
        deleted since (a history never changes: the change that made a link stays)."""
        if record.raw is not None:
            return []
        found = []
        for link_id, partner, outward, link_type in link_partners(record.id - FIRST_ISSUE_ID, self.config.seed):
            other = self.by_id.get(FIRST_ISSUE_ID + partner)
            if other is not None and (ever or not other.deleted) and other.raw is None:
                found.append((link_id, other, outward, link_type))
        return found

    def role(self, record: IssueRecord) -> str:
        """epic | epic-child | parent | subtask | none: the issue's place in the epic / sub-task hierarchy."""
        return "none" if record.raw is not None else hierarchy_role(record.id - FIRST_ISSUE_ID)

    def parent(self, record: IssueRecord) -> IssueRecord | None:
        index = parent_index(record.id - FIRST_ISSUE_ID) if record.raw is None else None
        other = self.by_id.get(FIRST_ISSUE_ID + index) if index is not None else None
        return other if other is not None and not other.deleted else None

    def children(self, record: IssueRecord) -> list[IssueRecord]:
        if record.raw is not None:
            return []
        found = (self.by_id.get(FIRST_ISSUE_ID + index) for index in child_indexes(record.id - FIRST_ISSUE_ID))
        return [other for other in found if other is not None and not other.deleted]

    def rich_texts(self, record: IssueRecord) -> dict[str, RichText]:
        """The rich-text fields of a generated issue on a rich_adf site: field id -> document and its parts."""
        if not self.config.rich_adf or record.raw is not None:
            return {}
        return {
            field_id: rich_document(record.seed * 31 + position, label, record.created_ms)
            for position, (field_id, label) in enumerate(RICH_TEXT_FIELDS.items())
        }

    def state(self, record: IssueRecord, events: list[Event] | None = None) -> dict[str, Any]:
        """The issue's current values that its history decides: status, priority, assignee, reporter,
        resolved_ms, labels (sorted names), component (an index into catalog.COMPONENTS) (shared: callers must
        not change it). Only workflow items decide them, never the activity
        woven into a history, so a generated issue's state is kept on it until its history changes
        (_forget); `events`, its history when the caller has it, saves rebuilding it."""
        if record.raw is not None:
            return self._state(record, events)
        state = record.state
        if state is None:
            state = record.state = self._state(record, events)
        return state

    def _state(self, record: IssueRecord, events: list[Event] | None) -> dict[str, Any]:
        current = {
            "status": catalog.STATUSES[catalog.OPEN].id,
            "priority": catalog.PRIORITIES[2][0],
            "assignee": None,  # unassigned until a history entry assigns it
            "reporter": record.seed % len(catalog.USERS),
            "resolved_ms": None,
            "labels": seeded_labels(record.seed),
            "component": seeded_component(record.seed),  # an index into catalog.COMPONENTS
        }
        if events is None and record.raw is not None:
            events = raw_events(record.raw)
        elif events is None:  # only workflow items decide these: the activity woven into histories does not
            status, resolved_ms, priority, assignee, labels, component = _base_state(record)
            current["status"], current["resolved_ms"] = catalog.STATUSES[status].id, resolved_ms
            current["priority"], current["assignee"] = priority[0], assignee
            if labels is not None:
                current["labels"] = labels
            if component >= 0:
                current["component"] = component
            events = record.extra or []  # what advance() appended, after the generated history
        for event in events:
            for _name, _, field_id, _, _, to, to_text in event.items:
                if field_id == "status":
                    current["status"] = to
                    done = catalog.STATUS_BY_ID[to].category == "done"
                    current["resolved_ms"] = event.at_ms if done else None
                elif field_id == "priority":
                    current["priority"] = to
                elif field_id == "assignee":
                    current["assignee"] = int(to) if to is not None else None
                elif field_id == "resolution":
                    continue  # the status decides it
                elif field_id == "labels":
                    current["labels"] = to_text.split() if to_text else []
                elif field_id == "components" and to is not None and record.raw is None:
                    current["component"] = component_index(to)
        if record.forced_status is not None:
            status_id, at_ms = record.forced_status
            current["status"] = status_id
            current["resolved_ms"] = at_ms if catalog.STATUS_BY_ID[status_id].category == "done" else None
        return current

    # --- change over time ------------------------------------------------------------------------
    def live(self, project: int | None = None) -> list[IssueRecord]:
        return [r for r in self.by_id.values() if not r.deleted and (project is None or r.project == project)]

    def advance(
        self,
        minutes: float = 0,
        update: float = 0.0,
        create: int = 0,
        delete: int = 0,
        move: int = 0,
        activity: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Move the clock on and change the site in between; return what was done.

        activity: {"comments": {"add": n, "edit": n, "delete": n}, "worklogs": {…the same…},
        "sprints": {"close": true, "move": n}} — see advance_activity(). ValueError (nothing changed) when
        any argument is out of range: see advance_request."""
        check_advance(minutes=minutes, update=update, create=create, delete=delete, move=move, activity=activity)
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
            if activity:
                done.update(self.advance_activity(activity, start, end))
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

    def _forget(self, record: IssueRecord | None = None) -> None:
        """Drop what the caches hold of an issue changed before the version moves on (None: the sprints of every
        issue, as when the board changes; states do not depend on it)."""
        if record is None:
            self._sprints.items.clear()
            self._board_by_id = None
        else:
            record.state = None
            self._sprints.items.pop(record.id, None)

    def history_time(self, record: IssueRecord, at: int) -> int:
        """When a history asked for at `at` is written: not before the issue was created nor before its last
        history (Jira's histories, like their ids, follow one another in time)."""
        last = record.created_ms + record.span_ms if record.n_events else record.created_ms + 1
        if record.extra:
            last = max(last, record.extra[-1].at_ms)
        return max(at, last)

    def _append(self, record: IssueRecord, event: Event) -> None:
        self._forget(record)
        event.at_ms = self.history_time(record, event.at_ms)
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
                items = transition_items(before, status)
                self._append(issue, Event(self._new_history_id(), self.now_ms, 0, items))
            else:
                self._forget(issue)
                issue.forced_status = (status.id, self.now_ms)
                issue.updated_ms = self.now_ms
            self.version += 1
            return issue

    def _edit(self, record: IssueRecord, rng: random.Random, start: int, end: int) -> None:
        at = rng.randint(start + 1, end)
        status = self.state(record)["status"]
        nxt = _next_status(rng, catalog.STATUSES.index(catalog.STATUS_BY_ID[status]))
        if rng.random() < 0.7 and nxt is not None:
            items = transition_items(catalog.STATUS_BY_ID[status], catalog.STATUSES[nxt])
        else:
            rooms = str(rng.randint(1, 9))
            old = _text((record.edits or {}).get("customfield_10040", float(seeded_rooms(record.seed))))
            record.edits = {**(record.edits or {}), "customfield_10040": float(rooms)}
            # A number field's item, as Jira writes it: no ids, the values as text.
            items = [("Rooms", "custom", "customfield_10040", None, old, None, rooms)]
        self._append(record, Event(self._new_history_id(), at, rng.randrange(len(catalog.USERS)), items))

    def _move(self, record: IssueRecord, rng: random.Random, start: int, end: int) -> None:
        target = rng.choice([p for p in self.projects if p.index != record.project])
        old_key, old_project = self.key_of(record), self.projects[record.project]
        record.old_keys = [*(record.old_keys or []), old_key]
        record.project, record.number = target.index, target.next_number
        target.next_number += 1
        new_key = self.key_of(record)
        self.by_key[new_key] = record
        component = self.state(record)["component"]
        items: list[Item] = [
            ("project", "jira", "project", old_project.id, old_project.name, target.id, target.name),
            ("Key", "jira", "issuekey", None, old_key, None, new_key),
            # The moved issue keeps its component by name: the target project's own of that name.
            *component_items(old_project.index, component, target.index, component),
        ]
        # Its versions too: each replaced by the target project's version of that name.
        activity = self.activity(record)
        for name, field_id, chosen in (
            ("Fix Version", "fixVersions", activity.fix_versions),
            ("Version", "versions", activity.affects_versions),
        ):
            for version in chosen:
                old_id, version_name = self.version_ref(old_project.index, version)
                new_id, _ = self.version_ref(target.index, version)
                items += [
                    (name, "jira", field_id, old_id, version_name, None, None),
                    (name, "jira", field_id, None, None, new_id, version_name),
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

    # --- comments, worklogs and sprints changed over time ----------------------------------------
    def _changes(self, record: IssueRecord) -> Changes:
        if record.changes is None:
            record.changes = Changes()
        self._forget(record)
        self._activity.pop(record.id)
        return record.changes

    def _touch(self, record: IssueRecord, at: int) -> None:
        record.updated_ms = max(record.updated_ms, at)

    def edit_fields(
        self, record: IssueRecord, values: dict[str, tuple[str, Any]], current: dict[str, Any] | None = None
    ) -> None:
        """Custom fields set now ({field id: (name, value)}): one history entry, `updated` now; current: the
        fields' values before (as the issue shows them: {field id: value}), which the items show as `from`."""
        with self.lock:
            self.now_ms += 1
            old = {**(current or {}), **(record.edits or {})}
            items: list[Item] = [
                (name, "custom", field_id, None, _text(old.get(field_id)), None, _text(value))
                for field_id, (name, value) in values.items()
            ]
            record.edits = {**old, **{field_id: value for field_id, (_, value) in values.items()}}
            self._append(record, Event(self._new_history_id(), self.now_ms, 0, items))
            self.version += 1

    def add_comment(self, record: IssueRecord, author: int, text: str, at: int | None = None) -> Note:
        """A new comment on the issue (now, unless at says when); the issue's `updated` moves to it."""
        with self.lock:
            at = self.now_ms if at is None else max(at, record.created_ms + 1)
            self._next_note += 1
            note = Note(self._next_note, author, at, at, author, text)
            self._changes(record).comments.append(note)
            self.added_notes[note.id] = record.id
            self._touch(record, at)
            self.version += 1
            return note

    def add_worklog(self, record: IssueRecord, author: int, seconds: int, at: int, text: str) -> Note:
        """Work logged on the issue at `at` (or at its last history, when later): a worklog and a history entry
        (timespent, WorklogId, timeestimate)."""
        at = self.history_time(record, at)
        activity = self.activity(record)
        spent, estimate = sum(w.seconds for w in activity.live_worklogs(at)), activity.original_estimate
        self._next_note += 1
        started = (at - seconds * 1000) // MINUTE_MS * MINUTE_MS
        note = Note(self._next_note, author, at, at, author, text, None, started, seconds)
        self._changes(record).worklogs.append(note)
        self.added_notes[note.id] = record.id
        items = time_tracking_items(estimate, spent, seconds, (None, str(note.id)))
        self._append(record, Event(self._new_history_id(), at, author, items))
        return note

    def edit_note(self, record: IssueRecord, note: Note, editor: int, at: int, *, worklog: bool) -> None:
        """Someone edits a comment (its text) or a worklog (its time: 15 minutes more)."""
        at = self.history_time(record, at) if worklog else max(at, record.created_ms + 1)
        if worklog:
            activity = self.activity(record)
            spent, estimate = sum(w.seconds for w in activity.live_worklogs(at)), activity.original_estimate
            changes = self._changes(record)
            changes.edited[note.id] = (at, editor, note.text)
            self._worklog_seconds(record, note.id, note.seconds + 900)
            items = time_tracking_items(estimate, spent, 900, None)
            self._append(record, Event(self._new_history_id(), at, editor, items))
        else:
            self._changes(record).edited[note.id] = (at, editor, note.text + " (edited)")
            self._touch(record, at)

    def _worklog_seconds(self, record: IssueRecord, note_id: int, seconds: int) -> None:
        for note in [*self.activity(record).worklogs]:
            if note.id == note_id:
                note.seconds = seconds
        changes = self._changes(record)
        changes.seconds[note_id] = seconds

    def delete_note(self, record: IssueRecord, note: Note, at: int, *, worklog: bool) -> None:
        """Someone deletes a comment, or a worklog (a history entry: timespent down, WorklogId gone)."""
        at = self.history_time(record, at) if worklog else max(at, record.created_ms + 1)
        if worklog:
            activity = self.activity(record)
            spent, estimate = sum(w.seconds for w in activity.live_worklogs(at)), activity.original_estimate
            items = time_tracking_items(estimate, spent, -note.seconds, (str(note.id), None))
            self._changes(record).deleted[note.id] = at
            self._append(record, Event(self._new_history_id(), at, 0, items))
        else:
            self._changes(record).deleted[note.id] = at
            self._touch(record, at)

    def set_sprints(self, record: IssueRecord, sprint_ids: list[int], at: int, author: int = 0) -> None:
        """The issue is now in these sprints (a history entry with the Sprint item)."""
        before = self.sprints_of(record)
        by_id = {sprint.id: sprint for sprint in self.sprint_board}
        after = [by_id[sprint_id] for sprint_id in sprint_ids]
        self._changes(record).sprints = list(sprint_ids)
        item: Item = (
            "Sprint",
            "custom",
            "customfield_10020",
            ", ".join(str(s.id) for s in before),
            ", ".join(s.name for s in before),
            ", ".join(str(s.id) for s in after),
            ", ".join(s.name for s in after),
        )
        self._append(record, Event(self._new_history_id(), at, author, [item]))

    def advance_activity(self, wanted: dict[str, Any], start: int, end: int) -> dict[str, Any]:
        """Comments and worklogs added, edited and deleted, a sprint closed (the next one started, its
        unfinished issues carried over), issues moved to the open sprint, all between start and end.
        Drawn from a stream of their own, so the rest of an advance stays as it was."""
        rng = random.Random(self.config.seed * 104_723 + self._advances)
        users = len(catalog.USERS)
        live = sorted((r for r in self.live() if r.raw is None), key=lambda r: r.id)
        done: dict[str, Any] = {}

        def when() -> int:
            return rng.randint(start + 1, end)

        for kind in ("comments", "worklogs"):
            counts = wanted.get(kind) or {}
            worklog = kind == "worklogs"
            result: dict[str, list] = {"added": [], "edited": [], "deleted": []}
            added = [
                (when(), n, record)
                for n, record in enumerate(rng.sample(live, min(len(live), int(counts.get("add", 0)))))
            ]
            for at, _, record in sorted(added):  # oldest first: Jira's ids grow with time
                author = rng.randrange(users)
                if worklog:
                    seconds = rng.choice((900, 1800, 3600, 7200))
                    note = self.add_worklog(record, author, seconds, at, rng.choice(catalog.WORKLOG_TEXTS))
                else:
                    note = self.add_comment(record, author, rng.choice(catalog.COMMENT_TEXTS), at)
                result["added"].append({"issue": self.key_of(record), "id": str(note.id)})
            for action in ("edit", "delete"):
                wanted_count = int(counts.get(action, 0))
                candidates = [r for r in live if self._notes(r, worklog, end)]
                for record in rng.sample(candidates, min(len(candidates), wanted_count)):
                    note = rng.choice(self._notes(record, worklog, end))
                    at = max(when(), note.updated_ms + 1)
                    if action == "edit":
                        self.edit_note(record, note, rng.randrange(users), at, worklog=worklog)
                    else:
                        self.delete_note(record, note, at, worklog=worklog)
                    result[f"{action}ed" if action == "edit" else "deleted"].append(
                        {"issue": self.key_of(record), "id": str(note.id)}
                    )
            if counts:
                done[kind] = result
        sprints = wanted.get("sprints") or {}
        if sprints:
            done["sprints"] = self._advance_sprints(sprints, live, rng, when)
        self.version += 1
        return done

    def _notes(self, record: IssueRecord, worklog: bool, now: int) -> list[Note]:
        activity = self.activity(record)
        return activity.live_worklogs(now) if worklog else activity.live_comments(now)

    def _advance_sprints(self, wanted: dict[str, Any], live: list[IssueRecord], rng: random.Random, when) -> dict:
        result: dict[str, Any] = {"closed": None, "started": None, "moved": []}
        at = 0
        if wanted.get("close"):
            at = when()
            board = self.sprint_board
            active = next((i for i, s in enumerate(board) if s.state == "ACTIVE"), None)
            if not any(s.state == "FUTURE" for s in board):
                board.append(new_sprint(board, at, hostile=self.config.sprints))
            following = next(i for i, s in enumerate(board) if s.state == "FUTURE")
            self._forget()  # the board's sprints change: every issue's sprints_of() does
            board[following] = replace(board[following], state="ACTIVE", start_ms=at, end_ms=at + 14 * DAY_MS)
            result["started"] = board[following].id
            if active is not None:
                closed = board[active]
                board[active] = replace(closed, state="CLOSED", complete_ms=at)
                result["closed"] = closed.id
                for record in live:
                    ids = [s.id for s in self.sprints_of(record)]
                    if ids and ids[-1] == closed.id and self.state(record)["resolved_ms"] is None:
                        self.set_sprints(record, [*ids, board[following].id], at)
                        result["moved"].append(self.key_of(record))
        target = next((s for s in self.sprint_board if s.state == "ACTIVE"), None)
        if target is not None:
            unfinished = [r for r in live if target.id not in [s.id for s in self.sprints_of(r)]]
            for record in rng.sample(unfinished, min(len(unfinished), int(wanted.get("move", 0)))):
                ids = [s.id for s in self.sprints_of(record) if s.state == "CLOSED"]
                # After the close: a sprint gains no issue once completed, and the issue leaves no open one.
                self.set_sprints(record, [*ids, target.id], max(when(), at), rng.randrange(len(catalog.USERS)))
                result["moved"].append(self.key_of(record))
        return result

    def set_history_length(self, key_or_id: str, entries: int) -> IssueRecord:
        """Give one issue a history of exactly `entries` entries (for truncation tests)."""
        with self.lock:
            record = self.find(key_or_id)
            if record is None:
                raise KeyError(key_or_id)
            record.extra = None
            self._forget(record)
            self._activity.pop(record.id)
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

    def _activity_truth(self, record: IssueRecord) -> dict[str, Any]:
        """What /_sim/truth shows of a generated issue besides its workflow: live comment and worklog ids, time
        spent, original and remaining estimates (s, None when not estimated), labels, component and fix and
        affects version names, parent and sub-task keys, the keys of linked issues, attachments (count), votes
        (count), watchers (display names), the environment (text or None)."""
        activity = self.activity(record)
        worklogs = activity.live_worklogs(self.now_ms)
        parent = self.parent(record)
        state = self.state(record)
        spent = sum(w.seconds for w in worklogs)
        return {
            "comments": [str(c.id) for c in activity.live_comments(self.now_ms)],
            "worklogs": [str(w.id) for w in worklogs],
            "time_spent": spent,
            "original_estimate": activity.original_estimate,
            "remaining_estimate": remaining_estimate(activity.original_estimate, spent),
            "labels": list(state["labels"]),
            "components": [catalog.COMPONENTS[state["component"]][1]],
            "fix_versions": [catalog.VERSIONS[v][0] for v in activity.fix_versions],
            "affects_versions": [catalog.VERSIONS[v][0] for v in activity.affects_versions],
            "parent": self.key_of(parent) if parent is not None else None,  # the epic (DC: its Epic Link) too
            "subtasks": [self.key_of(c) for c in self.children(record)] if self.role(record) == "parent" else [],
            "links": sorted(self.key_of(other) for _, other, _, _ in self.links(record)),
            "attachments": len(activity.attachments),
            "votes": activity.votes,
            "watchers": [catalog.USERS[user][0] for user in activity.watchers],
            "environment": activity.environment,
        }

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
                row["sprints"] = [sprint.name for sprint in self.sprints_of(record)]
                if record.raw is None:
                    row.update(self._activity_truth(record))
                if self.config.rich_adf:
                    row["rich_text"] = {
                        field_id: {"parts": rich.parts, "absent": rich.absent}
                        for field_id, rich in self.rich_texts(record).items()
                    }
                rows.append(row)
            return rows


def _text(value: Any) -> str | None:
    """A value as a history item's fromString/toString shows it."""
    if value is None:
        return None
    if isinstance(value, dict):
        return str(value.get("value") or value.get("name") or value.get("displayName") or "")
    if isinstance(value, list):
        return ",".join(_text(v) or "" for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a number field's item shows 3, not 3.0
    return str(value)


def remaining_estimate(estimate: int | None, spent: int) -> int | None:
    """The remaining estimate (s) Jira's auto-adjust leaves: the original estimate less the time spent, at least 0."""
    return None if estimate is None else max(estimate - spent, 0)


def _seconds(value: int) -> str | None:
    """A time tracking item's value: seconds as text, None for none."""
    return str(value) if value else None


def time_tracking_items(
    estimate: int | None, spent: int, change: int, worklog: tuple[str | None, str | None] | None
) -> list[Item]:
    """The items of a history that changes the time spent by `change` seconds (worklog: (from, to) of its
    WorklogId item, None for an edit): timespent, the WorklogId, and timeestimate when the remaining
    estimate moves, as Jira writes them."""
    items: list[Item] = [
        ("timespent", "jira", "timespent", _seconds(spent), _seconds(spent), *(2 * (_seconds(spent + change),)))
    ]
    if worklog is not None:
        items.append(("WorklogId", "jira", "WorklogId", worklog[0], worklog[0], worklog[1], worklog[1]))
    old, new = remaining_estimate(estimate, spent), remaining_estimate(estimate, spent + change)
    if old != new:
        items.append(("timeestimate", "jira", "timeestimate", str(old), str(old), str(new), str(new)))
    return items


def _time_tracking_items(activity: Activity, times: list[int], draw: Callable[[], float]) -> dict[int, list[Item]]:
    """{position: items} of the seeded time tracking: the original estimate set (or set at creation), each
    worklog logged, edited (15 minutes more) and deleted, at the first history at or after it."""
    n = len(times)
    estimate = activity.original_estimate
    # (when, order, seconds, worklog id text or None, logged); order keeps the estimate first among equals
    changes: list[tuple[int, int, int, str | None, bool]] = []
    if estimate and draw() < 0.5:
        changes.append((times[int(draw() * n)], 0, 0, None, False))
        estimate_set = None
    else:
        estimate_set = estimate
    for worklog in activity.worklogs:
        if worklog.id >= ADDED_NOTE_BASE:
            continue
        edited = worklog.updated_ms != worklog.created_ms
        logged = worklog.seconds - 900 if edited else worklog.seconds
        changes.append((worklog.created_ms, 1, logged, str(worklog.id), True))
        if edited:
            changes.append((worklog.updated_ms, 1, 900, None, False))
        if worklog.deleted_ms is not None:
            changes.append((worklog.deleted_ms, 1, -worklog.seconds, str(worklog.id), False))
    changes.sort(key=itemgetter(0, 1))  # when, then order
    found: dict[int, list[Item]] = {}
    spent = 0
    for ms, order, seconds, worklog_id, logged in changes:
        position = min(bisect_left(times, ms), n - 1)
        if order == 0:
            text = str(estimate)
            items: list[Item] = [("timeoriginalestimate", "jira", "timeoriginalestimate", None, None, text, text)]
            remaining = remaining_estimate(estimate, spent)
            items.append(("timeestimate", "jira", "timeestimate", None, None, str(remaining), str(remaining)))
            estimate_set = estimate
        else:
            ids = (None, worklog_id) if logged else (worklog_id, None) if worklog_id else None
            items = time_tracking_items(estimate_set, spent, seconds, ids)
            spent += seconds
        found.setdefault(position, []).extend(items)
    return found


def transition_items(before: catalog.Status, after: catalog.Status) -> list[Item]:
    """A transition's items: the status, and the resolution when the status category enters or leaves done."""
    items: list[Item] = [("status", "jira", "status", before.id, before.name, after.id, after.name)]
    if after.category == "done" and before.category != "done":
        items.append(("resolution", "jira", "resolution", None, None, "10000", "Done"))
    elif before.category == "done" and after.category != "done":
        items.append(("resolution", "jira", "resolution", "10000", "Done", None, None))
    return items


def seeded_rooms(seed: int) -> int:
    """The issue's "Rooms" (customfield_10040) as created: 1 to 9."""
    return 1 + ((seed * 40503) >> 5) % 9


# The sets of labels an issue may be created with, by how many it has: none, one, two (sorted).
_LABEL_SETS: tuple[tuple[tuple[str, ...], ...], ...] = (
    ((),),
    tuple((label,) for label in catalog.LABELS),
    tuple(tuple(sorted((a, b))) for i, a in enumerate(catalog.LABELS) for b in catalog.LABELS[i + 1 :]),
)


def seeded_labels(seed: int) -> tuple[str, ...]:
    """The labels an issue was created with (none to two, sorted), from its seed alone (no stream: cheap)."""
    mixed = (seed * 2654435761) & 0xFFFFFFFF
    sets = _LABEL_SETS[(mixed >> 5) % 3]
    return sets[(mixed >> 9) % len(sets)]


def seeded_component(seed: int) -> int:
    """The component (an index into catalog.COMPONENTS) an issue was created with."""
    return (((seed * 2246822519) & 0xFFFFFFFF) >> 9) % len(catalog.COMPONENTS)


def component_ref(project: int, component: int) -> tuple[str, str]:
    """(id, name) of a project's component (an index into catalog.COMPONENTS): ids are unique site-wide,
    as in Jira, where each project's components are its own."""
    return str(COMPONENT_BASE + project * 10 + component), catalog.COMPONENTS[component][1]


def component_index(component_id: str) -> int:
    """The catalog.COMPONENTS index of a component id that component_ref() made."""
    return (int(component_id) - COMPONENT_BASE) % 10


@lru_cache(maxsize=4096)
def component_items(old_project: int, old: int, new_project: int, new: int) -> tuple[Item, Item]:
    """The items of a component replaced by another (one removed, one added: Jira writes one per component)."""
    old_id, old_name = component_ref(old_project, old)
    new_id, new_name = component_ref(new_project, new)
    return (
        ("Component", "jira", "components", old_id, old_name, None, None),
        ("Component", "jira", "components", None, None, new_id, new_name),
    )


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
    return _seeded_walk(record, build=True)[0] if record.n_events else []


# What the generated history leaves an issue with: (status index into catalog.STATUSES, resolved ms or None,
# priority (id, name), assignee index or None, labels (None: as created), component index (-1: as created)).
BaseState = tuple[int, int | None, tuple[str, str], int | None, list[str] | None, int]


def _base_state(record: IssueRecord) -> BaseState:
    """The values the generated history leaves (Dataset._state's, for its items), from the same draws as
    _base_events() without building the history: what an issue shown by another (a link, a parent) costs."""
    return _seeded_walk(record, build=False)[1]


def _seeded_walk(record: IssueRecord, *, build: bool) -> tuple[list[Event], BaseState]:
    """The generated history (only when `build`) and what it leaves: one walk of the history's draws."""
    status, priority, assignee = catalog.OPEN, catalog.PRIORITIES[2], None
    current_labels: list[str] | None = None  # drawn when first changed
    component, resolved_ms = -1, None
    events: list[Event] = []
    if not record.n_events:
        return events, (status, resolved_ms, priority, assignee, current_labels, component)
    rng = stream(record.seed ^ 0xC0FFEE)
    draw = rng.random  # random() is ~5x cheaper than randint(); this runs for every issue served
    start, span = record.created_ms + 1, record.span_ms
    times = sorted(start + int(draw() * span) for _ in range(record.n_events - 1))
    times.append(record.created_ms + span)
    users, priorities, labels = len(catalog.USERS), catalog.PRIORITIES, catalog.LABELS
    long_history = record.n_events > 100
    items: list[Item] = []
    for k, at in enumerate(times):
        roll = draw()
        nxt = _next_status(rng, status)
        if long_history and status == catalog.CLOSED:
            nxt = catalog.EDIT_START  # busy issues keep cycling
        if nxt is not None and roll < 0.6:
            # transition_items(), inline: this runs for most history entries of every issue served
            before, after = catalog.STATUSES[status], catalog.STATUSES[nxt]
            done = after.category == "done"
            resolved_ms = at if done else None
            if build:
                items = [("status", "jira", "status", before.id, before.name, after.id, after.name)]
                if done:  # the seeded workflow never goes from done to done
                    items.append(("resolution", "jira", "resolution", None, None, "10000", "Done"))
                elif before.category == "done":
                    items.append(("resolution", "jira", "resolution", "10000", "Done", None, None))
            status = nxt
        elif roll < 0.75:
            pick = int(draw() * len(priorities))
            if priorities[pick] == priority:  # a change changes it
                pick = (pick + 1) % len(priorities)
            new = priorities[pick]
            if build:
                items = [("priority", "jira", "priority", priority[0], priority[1], new[0], new[1])]
            priority = new
        elif roll < 0.9:
            user = int(draw() * users)
            if build:
                old = (str(assignee), catalog.USERS[assignee][0]) if assignee is not None else (None, None)
                items = [("assignee", "jira", "assignee", old[0], old[1], str(user), catalog.USERS[user][0])]
            assignee = user
        else:
            pick = draw()  # one draw, as one label once took: the histories after it stay as they were
            if pick < 0.5:  # a label added or removed
                if current_labels is None:
                    current_labels = list(seeded_labels(record.seed))
                label = labels[int(pick * 2 * len(labels))]
                new_labels = sorted(set(current_labels) ^ {label})
                if build:
                    old_text, new_text = " ".join(current_labels), " ".join(new_labels)
                    items = [("labels", "jira", "labels", None, old_text, None, new_text)]
                current_labels = new_labels
            else:  # the component replaced by another: Jira writes one item for each
                if component < 0:
                    component = seeded_component(record.seed)
                new = (component + 1 + int((pick - 0.5) * 2 * 3)) % len(catalog.COMPONENTS)
                if build:
                    items = [*component_items(record.origin, component, record.origin, new)]
                component = new
        author = int(draw() * users)
        if build:
            events.append(Event(record.id * 1000 + k, at, author, items))
    return events, (status, resolved_ms, priority, assignee, current_labels, component)


def _with_lookalike_events(record: IssueRecord, events: list[Event]) -> list[Event]:
    """Changes of the custom fields named "Status" and "Workflow Status" woven into a history.

    Some ride along on a real transition (one history, two "Status" items: Jira's own and the custom
    field's), others are entries of their own. Neither is a status change.
    """
    if not record.span_ms:
        return events
    rng = stream(record.seed ^ 0x57A7E5)
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
    return sorted(woven, key=attrgetter("at_ms"))


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
