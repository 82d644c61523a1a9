"""A run's own log: the records logged while a run works — in its thread and the threads it starts — kept
per run (RunLogLine) so admin can show and download them from the run's page.

Which run a record belongs to is a context variable set by `run_log_capture`; threads a run starts copy
their parent's context (prefetch, history completion), so their records land in the run's log too. Records
are buffered in memory and written in batches after a page commits, by the run's lease keeper and when the
capture ends — never inside a transaction: a page that rolls back keeps its log lines, and on SQLite a
write there would hold the database lock for the page. Messages are redacted by value like every log.
At most JIRASYNC_RUN_LOG_MAX_LINES lines are kept a run (warnings and errors: some more); how many more
there were is said by the run's last line. Lines go when their run is pruned.
"""

import contextvars
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from django.conf import settings
from django.db import DatabaseError, connection

from lib.log_redaction import redact

MESSAGE_CHARS = 4000  # of one line; a longer message says how much was cut
WARNINGS_PAST_LIMIT = 500  # warnings and errors still kept once the limit is reached

_current: contextvars.ContextVar["RunLogBuffer | None"] = contextvars.ContextVar("jirasync_run_log", default=None)
_active: dict[int, "RunLogBuffer"] = {}  # run id -> its buffer in this process, for the keeper's flush
_active_lock = threading.Lock()
log = logging.getLogger(__name__)


class RunLogBuffer:
    """A run's log lines not yet written, and how many were kept and dropped in this process."""

    def __init__(self, run_id: int, limit: int, kept: int = 0) -> None:
        self.run_id, self.limit = run_id, limit
        self.kept = kept  # lines of the run kept so far, by this buffer and earlier ones
        self.dropped = self.users = 0
        self._pending: list = []
        self._lock = threading.Lock()

    def add(self, record: logging.LogRecord) -> None:
        from syncing.models import RunLogLine

        with self._lock:
            over = self.kept >= self.limit
            if over and (record.levelno < logging.WARNING or self.kept >= self.limit + WARNINGS_PAST_LIMIT):
                self.dropped += 1
                return
            self.kept += 1
        line = RunLogLine(
            run_id=self.run_id,
            at=datetime.fromtimestamp(record.created, UTC),
            level=record.levelno,
            logger=record.name[:100],
            message=_message(record),
        )
        with self._lock:
            self._pending.append(line)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def flush(self) -> int:
        """Write the pending lines (none while this thread is inside a transaction); return how many.

        Raises DatabaseError when they cannot be written; they stay pending for the next flush.
        """
        from syncing.models import RunLogLine

        if connection.in_atomic_block:
            return 0
        with self._lock:
            lines, self._pending = self._pending, []
        if not lines:
            return 0
        try:
            RunLogLine.objects.bulk_create(lines, batch_size=500)
        except DatabaseError:
            with self._lock:
                self._pending[:0] = lines
            raise
        return len(lines)

    def close(self) -> None:
        """Say how many lines were not kept, then write what is pending."""
        from syncing.models import RunLogLine

        with self._lock:
            if self.dropped:
                self._pending.append(
                    RunLogLine(
                        run_id=self.run_id,
                        at=datetime.now(UTC),
                        level=logging.WARNING,
                        logger=__name__,
                        message=f"{self.dropped:,} more log lines were not kept "
                        f"(JIRASYNC_RUN_LOG_MAX_LINES={self.limit:,})",
                    )
                )
                self.dropped = 0
        self.flush()


def _message(record: logging.LogRecord) -> str:
    try:
        text = record.getMessage()
    except Exception:  # a malformed call must not cost the run its log
        text = f"{record.msg!r} {record.args!r}"
    if record.exc_info:
        text += "\n" + logging.Formatter().formatException(record.exc_info)
    elif record.exc_text:
        text += "\n" + record.exc_text
    text = redact(text)
    if len(text) > MESSAGE_CHARS:
        text = f"{text[:MESSAGE_CHARS]}… ({len(text) - MESSAGE_CHARS:,} more characters)"
    return text


class RunLogHandler(logging.Handler):
    """On the root logger: keeps a record in the log of the run its thread works for, if any."""

    def emit(self, record: logging.LogRecord) -> None:
        buffer = _current.get()
        if buffer is None:
            return
        try:
            buffer.add(record)
        except Exception:
            self.handleError(record)


@contextmanager
def run_log_capture(run_id: int) -> Iterator[RunLogBuffer]:
    """Keep what this thread (and threads started with its context) logs in the run's log until the block
    ends; then write it. Captures of one run nest and share one buffer."""
    with _active_lock:
        buffer = _active.get(run_id)
        if buffer is None:
            buffer = _active[run_id] = RunLogBuffer(run_id, settings.JIRASYNC_RUN_LOG_MAX_LINES, _kept(run_id))
        buffer.users += 1
    token = _current.set(buffer)
    try:
        yield buffer
    finally:
        _current.reset(token)
        with _active_lock:
            buffer.users -= 1
            last = buffer.users == 0
            if last:
                _active.pop(run_id, None)
        _write(buffer, last)


def _write(buffer: RunLogBuffer, last: bool) -> None:
    """Write the buffer, on a fresh connection if the database cut this one (the run's end was recorded the
    same way); lines that still cannot be written are said lost in the process's own log."""
    for attempt in (1, 2):
        try:
            buffer.close() if last else buffer.flush()
            return
        except DatabaseError as exc:
            connection.close()
            if attempt == 2:
                log.warning("run #%d: %d log lines could not be written: %s", buffer.run_id, buffer.pending, exc)


def _kept(run_id: int) -> int:
    """Lines the run has already (its start, written by another capture or process): they count too."""
    from syncing.models import RunLogLine

    try:
        return RunLogLine.objects.filter(run_id=run_id).count()
    except DatabaseError:
        return 0  # the database is gone: the run's own bookkeeping will say so


def run_log_flush(run_id: int) -> int:
    """Write what the run has logged in this process so far (after a page commits, from its lease keeper)."""
    with _active_lock:
        buffer = _active.get(run_id)
    return buffer.flush() if buffer else 0
