"""Small bounded caches for what rendering rebuilds from seeds: valid for one data version, least recently used
out first. Callers hold the dataset's lock (rendering does), so no lock of their own."""

from collections import OrderedDict
from typing import Any


class Lru:
    """A bounded LRU whose entries the owner drops itself when they go stale (pop)."""

    __slots__ = ("items", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key: Any) -> Any:
        value = self.items.get(key)
        if value is not None:
            self.items.move_to_end(key)
        return value

    def put(self, key: Any, value: Any) -> Any:
        self.items[key] = value
        if len(self.items) > self.size:
            self.items.popitem(last=False)
        return value

    def pop(self, key: Any) -> None:
        self.items.pop(key, None)


class VersionedLru(Lru):
    """A bounded LRU of values valid while Dataset.version stays the same: a new version empties it.

    get(version, key) -> the value or None; put(key, value) after a miss. Values must not be None.
    """

    __slots__ = ("version",)

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.version = -1

    def get(self, version: int, key: Any) -> Any:  # type: ignore[override]
        if version != self.version:
            self.items.clear()
            self.version = version
            return None
        items = self.items  # Lru.get inlined: this runs for every comment, worklog and linked issue served
        value = items.get(key)
        if value is not None:
            items.move_to_end(key)
        return value
