"""What people do on an issue besides moving it through the workflow, seeded per issue and rebuilt on demand.

Comments (some edited by another author, some deleted later), worklogs (some edited or deleted later),
attachments (metadata), fix and affects versions, an original estimate, votes, watchers, the
environment; links between issues and the epic / sub-task hierarchy follow from issue ids alone, so
both ends agree without an index. Everything comes from its own random stream (never the streams of
the status history or of the field values), so sites keep their histories and values for a seed.

What advance() later adds, edits and deletes is kept per issue in `Changes`.
"""

from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter

from jirasim import catalog
from jirasim.streams import stream

BY_CREATION = attrgetter("created_ms", "id")  # notes oldest first (a C key: this sorts every issue's notes)
NOTE_IDS_PER_ISSUE = 100  # seeded comment and worklog ids: issue id * 100 + k
ATTACHMENT_BASE = 50  # … attachments: issue id * 100 + 50 + k
ADDED_NOTE_BASE = 900_000_000  # ids of comments and worklogs added by advance()
MINUTE_MS = 60_000
WORK_UNITS = (900, 1800, 3600, 5400, 7200, 10800, 14400)  # seconds logged at a time
ESTIMATES = (3600, 7200, 14400, 28800, 57600)
# Link layers: (xor mask on the issue's index, share of pairs linked, link type index). A pair (i, i ^ mask)
# is the same pair seen from both ends; large masks pair issues of different projects.
LINK_LAYERS = ((1, 0.10, 3), (6, 0.06, 0), (97, 0.05, 2), (1024, 0.04, 1))
HIERARCHY_BLOCK = 20  # per 20 issue ids: one epic (k=0) with children k=1..6; k=10 has sub-tasks k=11, 12
EPIC_CHILDREN = range(1, 7)
SUBTASK_PARENT = 10
SUBTASKS = (11, 12)


@dataclass(slots=True)
class Note:
    """A comment or a worklog. Times in epoch ms; users are indexes into catalog.USERS."""

    id: int
    author: int
    created_ms: int
    updated_ms: int
    editor: int
    text: str
    deleted_ms: int | None = None
    started_ms: int = 0  # worklogs: when the work began
    seconds: int = 0  # worklogs: time spent


@dataclass(slots=True)
class Attachment:
    id: int
    filename: str
    mime: str
    author: int
    created_ms: int
    size: int


@dataclass(slots=True)
class Activity:
    comments: list[Note]  # oldest first, deleted ones included (deleted_ms set)
    worklogs: list[Note]
    attachments: list[Attachment]
    fix_versions: list[int]  # indexes into catalog.VERSIONS
    affects_versions: list[int]
    original_estimate: int | None  # seconds
    environment: str | None
    votes: int
    watchers: list[int]

    def live_comments(self, now_ms: int) -> list[Note]:
        return [c for c in self.comments if c.deleted_ms is None or c.deleted_ms > now_ms]

    def live_worklogs(self, now_ms: int) -> list[Note]:
        return [w for w in self.worklogs if w.deleted_ms is None or w.deleted_ms > now_ms]


@dataclass
class Changes:
    """What advance() did to an issue's comments, worklogs and sprints."""

    comments: list[Note] = field(default_factory=list)
    worklogs: list[Note] = field(default_factory=list)
    edited: dict[int, tuple[int, int, str]] = field(default_factory=dict)  # note id -> (when, editor, text)
    deleted: dict[int, int] = field(default_factory=dict)  # note id -> when
    seconds: dict[int, int] = field(default_factory=dict)  # worklog id -> time spent after an edit
    sprints: list[int] | None = None  # sprint ids the issue is in now (None: as seeded)


def seeded_activity(issue_id: int, seed: int, created_ms: int, end_ms: int, reporter: int) -> Activity:
    """The issue's activity between its creation and the end of its seeded history (end_ms)."""
    rng = stream(seed ^ 0xAC7117)
    draw = rng.random
    users = len(catalog.USERS)
    span = end_ms - created_ms
    long = span > 60 * 86_400_000 and draw() < 0.05  # a few busy issues: more than the inline caps hold
    comments: list[Note] = []
    worklogs: list[Note] = []
    attachments: list[Attachment] = []
    if span >= MINUTE_MS:
        n_comments = 0 if draw() < 0.35 else 1 + int(draw() * 5)
        if long:
            n_comments = 21 + int(draw() * 40)
        for k in range(n_comments):
            at = created_ms + 1 + int(draw() * (span - 1))
            author = int(draw() * users)
            text = catalog.COMMENT_TEXTS[int(draw() * len(catalog.COMMENT_TEXTS))]
            note = Note(issue_id * NOTE_IDS_PER_ISSUE + k, author, at, at, author, text)
            roll = draw()
            if roll < 0.15:  # edited later by someone else
                note.updated_ms = min(end_ms, at + 1 + int(draw() * span))
                note.editor = (author + 1 + int(draw() * (users - 1))) % users
                note.text = text + " (edited)"
            elif roll < 0.23:  # deleted later
                note.deleted_ms = min(end_ms, at + 1 + int(draw() * span))
            comments.append(note)
        n_worklogs = 0 if draw() < 0.5 else 1 + int(draw() * 4)
        if long:
            n_worklogs = 21 + int(draw() * 20)
        for k in range(n_worklogs):
            at = created_ms + 1 + int(draw() * (span - 1))
            author = int(draw() * users)
            seconds = WORK_UNITS[int(draw() * len(WORK_UNITS))]
            started = max(created_ms, at - seconds * 1000) // MINUTE_MS * MINUTE_MS
            text = catalog.WORKLOG_TEXTS[int(draw() * len(catalog.WORKLOG_TEXTS))]
            note = Note(issue_id * NOTE_IDS_PER_ISSUE + 60 + k, author, at, at, author, text, None, started, seconds)
            roll = draw()
            if roll < 0.10:
                note.updated_ms = min(end_ms, at + 1 + int(draw() * span))
                note.editor = (author + 1 + int(draw() * (users - 1))) % users
                note.seconds = seconds + 900
            elif roll < 0.15:
                note.deleted_ms = min(end_ms, at + 1 + int(draw() * span))
            worklogs.append(note)
        if draw() < 0.25:
            for k in range(1 + int(draw() * 3)):
                name, mime = catalog.ATTACHMENTS[int(draw() * len(catalog.ATTACHMENTS))]
                at = created_ms + 1 + int(draw() * (span - 1))
                size = 2_000 + int(draw() * 4_000_000)
                attachments.append(
                    Attachment(issue_id * NOTE_IDS_PER_ISSUE + ATTACHMENT_BASE + k, name, mime, reporter, at, size)
                )
    # Jira's ids grow with time: the oldest comment (worklog) has the lowest id.
    comments.sort(key=BY_CREATION)
    for k, note in enumerate(comments):
        note.id = issue_id * NOTE_IDS_PER_ISSUE + k
    worklogs.sort(key=BY_CREATION)
    for k, note in enumerate(worklogs):
        note.id = issue_id * NOTE_IDS_PER_ISSUE + 60 + k
    roll = draw()
    n_versions = len(catalog.VERSIONS)
    fix = [] if roll < 0.55 else [int(draw() * n_versions)] if roll < 0.95 else [0, n_versions - 2]
    affects = [int(draw() * 3)] if draw() < 0.15 else []
    estimate = ESTIMATES[int(draw() * len(ESTIMATES))] if draw() < 0.6 else None
    environment = catalog.ENVIRONMENTS[int(draw() * len(catalog.ENVIRONMENTS))] if draw() < 0.2 else None
    votes = 1 + int(draw() * 3) if draw() < 0.15 else 0
    watchers = sorted({reporter, *(int(draw() * users) for _ in range(int(draw() * 3)))})
    return Activity(comments, worklogs, attachments, fix, affects, estimate, environment, votes, watchers)


def with_changes(activity: Activity, changes: Changes | None) -> Activity:
    """The seeded activity with what advance() added, edited and deleted."""
    if changes is None:
        return activity
    notes = {}
    for note in [*activity.comments, *activity.worklogs, *changes.comments, *changes.worklogs]:
        notes[note.id] = note
    for note_id, (at, editor, text) in changes.edited.items():
        note = notes.get(note_id)
        if note is not None:
            note.updated_ms, note.editor, note.text = at, editor, text
    for note_id, seconds in changes.seconds.items():
        if note_id in notes:
            notes[note_id].seconds = seconds
    for note_id, at in changes.deleted.items():
        note = notes.get(note_id)
        if note is not None:
            note.deleted_ms = at
    activity.comments = sorted([*activity.comments, *changes.comments], key=BY_CREATION)
    activity.worklogs = sorted([*activity.worklogs, *changes.worklogs], key=BY_CREATION)
    return activity


@lru_cache(maxsize=262_144)
def link_partners(index: int, site_seed: int) -> list[tuple[int, int, bool, int]]:
    """The issues linked to the issue at this index (its id minus the first id), from both ends:
    [(link id, partner index, this issue is the outward end, link type index)]."""
    links: list[tuple[int, int, bool, int]] = []
    for layer, (mask, share, link_type) in enumerate(LINK_LAYERS):
        partner = index ^ mask
        low = min(index, partner)
        # A cheap hash of the pair: the same from both ends.
        mixed = ((low + 1) * 2654435761 + layer * 40503 + site_seed * 97) & 0xFFFFFFFF
        if ((mixed ^ (mixed >> 15)) * 2246822519 & 0xFFFF) / 0x10000 < share:
            links.append((30_000 + low * 8 + layer, partner, index == low, link_type))
    return links


def hierarchy_role(index: int) -> str:
    """epic | epic-child | parent | subtask | none, by the issue's place in its block of ids."""
    place = index % HIERARCHY_BLOCK
    if place == 0:
        return "epic"
    if place in EPIC_CHILDREN:
        return "epic-child"
    if place == SUBTASK_PARENT:
        return "parent"
    if place in SUBTASKS:
        return "subtask"
    return "none"


def parent_index(index: int) -> int | None:
    place = index % HIERARCHY_BLOCK
    block = index - place
    if place in EPIC_CHILDREN:
        return block
    if place in SUBTASKS:
        return block + SUBTASK_PARENT
    return None


def child_indexes(index: int) -> list[int]:
    place = index % HIERARCHY_BLOCK
    if place == 0:
        return [index + k for k in EPIC_CHILDREN]
    if place == SUBTASK_PARENT:
        return [index - place + k for k in SUBTASKS]
    return []


def duration(seconds: int) -> str:
    """Jira's short duration: 2h 30m, 1d, 3w 2d (8-hour days, 5-day weeks)."""
    parts = []
    for unit, size in (("w", 144_000), ("d", 28_800), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts) or "0m"
