"""A per-instance request budget (token bucket) that keeps us under Jira's limits before Jira has to say so.

Shared by all threads of a process; with Redis, by all processes and machines.
"""

import threading
import time
from typing import Protocol

from syncing.jira.stop import Stop


class RequestBudget(Protocol):
    def acquire(self, stop: Stop | None = None) -> float:
        """Wait until a request may be sent, or until stop is set; return the seconds waited."""

    def pause_until(self, moment: float) -> None:
        """Hold every request back until this time.time() (a quota 429 pauses the whole instance)."""


class LocalBudget:
    def __init__(self, rate: float, burst: float | None = None, clock=time.monotonic, sleep=time.sleep) -> None:
        self.rate = rate
        self.capacity = burst or max(1.0, rate)
        self.tokens = self.capacity
        self.clock, self.sleep = clock, sleep
        self.stamp = clock()
        self.paused_until = 0.0
        self.lock = threading.Lock()

    def acquire(self, stop: Stop | None = None) -> float:
        waited = 0.0
        while True:
            if stop is not None and stop.is_set():
                return waited  # the caller raises its cancellation
            with self.lock:
                pause = self.paused_until - time.time()
                if pause <= 0:
                    now = self.clock()
                    self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
                    self.stamp = now
                    if self.tokens >= 1:
                        self.tokens -= 1
                        return waited
                    pause = (1 - self.tokens) / self.rate
            pause = _slice(pause, stop)
            self.sleep(pause)
            waited += pause

    def pause_until(self, moment: float) -> None:
        with self.lock:
            self.paused_until = max(self.paused_until, moment)


# A token bucket in Redis: KEYS[1] the bucket; ARGV rate, capacity. Returns ms to wait (0: granted).
_REDIS_BUCKET = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1e6
local rate, capacity = tonumber(ARGV[1]), tonumber(ARGV[2])
local paused = tonumber(redis.call('GET', KEYS[1] .. ':paused') or '0')
if paused > t then return math.ceil((paused - t) * 1000) end
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1]) or capacity
local stamp = tonumber(state[2]) or t
tokens = math.min(capacity, tokens + (t - stamp) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) / rate * 1000) end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'stamp', t)
redis.call('EXPIRE', KEYS[1], 3600)
return wait
"""


class RedisBudget:
    def __init__(self, redis_url: str, key: str, rate: float, burst: float | None = None, sleep=time.sleep) -> None:
        import redis

        self.client = redis.Redis.from_url(redis_url)
        self.key = f"jirasync:budget:{key}"
        self.rate, self.capacity, self.sleep = rate, burst or max(1.0, rate), sleep
        self.script = self.client.register_script(_REDIS_BUCKET)

    def acquire(self, stop: Stop | None = None) -> float:
        waited = 0.0
        while stop is None or not stop.is_set():
            wait_ms = int(self.script(keys=[self.key], args=[self.rate, self.capacity]))
            if wait_ms <= 0:
                return waited
            pause = _slice(wait_ms / 1000, stop)
            self.sleep(pause)
            waited += pause
        return waited

    def pause_until(self, moment: float) -> None:
        self.client.set(f"{self.key}:paused", str(moment), ex=max(1, int(moment - time.time()) + 60))


_local: dict[str, LocalBudget] = {}
_local_lock = threading.Lock()


def budget_for(key: str, rate: float, redis_url: str = "") -> RequestBudget:
    """The budget every client of this instance shares: in Redis when configured, else in this process."""
    if redis_url:
        return RedisBudget(redis_url, key, rate)
    with _local_lock:
        budget = _local.get(key)
        if budget is None or budget.rate != rate:
            budget = _local[key] = LocalBudget(rate)
        return budget


def _slice(pause: float, stop: Stop | None) -> float:
    """A wait cut into quarter seconds when a stop may come (a quota pause can last minutes)."""
    return pause if stop is None else min(pause, 0.25)
