"""What a client needs of a run's stop: a threading.Event, or the runner's StopSignal, offers both methods."""

from typing import Protocol


class Stop(Protocol):
    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool:
        """Block until set or until timeout seconds pass; return whether it is set."""
        ...
