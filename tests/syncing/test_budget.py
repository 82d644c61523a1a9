"""The request budget: a token bucket per instance, shared by threads, and through Redis by processes."""

import threading
import time
import uuid

import pytest

from syncing.jira.budget import LocalBudget, RedisBudget, budget_for

REDIS_URL = "redis://127.0.0.1:6379/15"


def spend(budgets, requests_each: int) -> float:
    began = time.perf_counter()
    threads = [threading.Thread(target=lambda b=b: [b.acquire() for _ in range(requests_each)]) for b in budgets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began


def test_a_local_budget_paces_all_threads_together():
    budget = LocalBudget(rate=50, burst=5)
    elapsed = spend([budget, budget, budget], requests_each=20)  # 60 requests, 5 at once, then 50/s
    assert elapsed >= (60 - 5) / 50 * 0.95


def test_clients_of_one_instance_share_one_budget_in_a_process():
    assert budget_for("same-instance", 5.0) is budget_for("same-instance", 5.0)


def redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("no Redis at 127.0.0.1:6379")


def test_a_redis_budget_holds_across_separate_clients_as_across_processes():
    redis_or_skip()
    key = f"test-{uuid.uuid4().hex}"
    # Two independent budget objects (two connections), as two worker processes would have.
    first, second = RedisBudget(REDIS_URL, key, rate=40, burst=4), RedisBudget(REDIS_URL, key, rate=40, burst=4)
    elapsed = spend([first, second], requests_each=30)  # 60 requests against one 40/s bucket
    assert elapsed >= (60 - 4) / 40 * 0.9


def test_a_quota_pause_in_redis_holds_every_client_back():
    redis_or_skip()
    key = f"test-{uuid.uuid4().hex}"
    first, second = RedisBudget(REDIS_URL, key, rate=1000), RedisBudget(REDIS_URL, key, rate=1000)
    until = time.time() + 0.5
    first.pause_until(until)
    second.acquire()
    # Against the moment itself, not a stopwatch started after pause_until: its Redis round trip (a connection
    # first) may take much of the half second on a busy machine. Redis' TIME and time.time() are one clock.
    assert time.time() >= until
