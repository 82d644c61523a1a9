"""A token bucket per credential, answering 429 with the headers Cloud or Data Center send."""

import math
import threading
import time
from datetime import UTC, datetime, timedelta


class TokenBucket:
    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> tuple[bool, float, float]:
        """(allowed, tokens remaining, seconds until a token is available)."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True, self.tokens, 0.0
            return False, 0.0, (1 - self.tokens) / self.rate


class RateLimiter:
    def __init__(self, rate: float, burst: float | None = None, cloud: bool = True) -> None:
        self.rate = rate
        self.burst = burst or max(1.0, rate)
        self.cloud = cloud
        self.buckets: dict[str, TokenBucket] = {}
        self.lock = threading.Lock()

    def check(self, credential: str) -> tuple[bool, dict[str, str]]:
        """Whether this request may proceed, and the rate-limit headers to send with its answer."""
        if self.rate <= 0:
            return True, {}
        with self.lock:
            bucket = self.buckets.setdefault(credential, TokenBucket(self.rate, self.burst))
        allowed, remaining, wait = bucket.take()
        headers = {"X-RateLimit-Limit": str(int(self.burst)), "X-RateLimit-Remaining": str(int(remaining))}
        if not self.cloud:
            headers.update(
                {
                    "X-RateLimit-Interval-Seconds": "1",
                    "X-RateLimit-FillRate": str(int(self.rate)),
                    "Retry-After": "0" if allowed else str(math.ceil(wait)),
                }
            )
        elif not allowed:
            reset = datetime.now(UTC) + timedelta(seconds=wait)
            headers.update(
                {
                    "Retry-After": str(max(1, math.ceil(wait))),
                    "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S") + "Z",
                    "RateLimit-Reason": "jira-burst-based",
                }
            )
        return allowed, headers
