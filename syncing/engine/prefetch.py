"""Fetch the next pages while the current one is written: the network and the database overlap."""

import contextlib
import contextvars
import threading
from collections.abc import Iterator
from queue import Empty, Full, Queue

_DONE = object()


class _Raised:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetched[T](items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Yield items as `items` would, produced by a background thread up to `depth` ahead.

    Memory stays bounded (at most depth + 1 pages in hand); an error in the producer is raised here,
    and closing this generator early stops the producer.
    """
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        queue.put(item, timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            queue.put(_Raised(exc))

    # In the consumer's context: what the producer logs goes to the same run's log (syncing.runs.run_log).
    context = contextvars.copy_context()
    producer = threading.Thread(target=context.run, args=(produce,), name="jirasync-prefetch", daemon=True)
    producer.start()
    try:
        while True:
            item = queue.get()
            if item is _DONE:
                return
            if isinstance(item, _Raised):
                raise item.error
            yield item
    finally:
        stop.set()
        while producer.is_alive():
            with contextlib.suppress(Empty):
                queue.get(timeout=0.1)
