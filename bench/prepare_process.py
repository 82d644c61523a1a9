"""Does preparing pages in a second process pay? Parse + prepare in the sync's process vs in a helper process.

    .venv/bin/python bench/prepare_process.py [--issues 20000]

Issue #15, item 6. The pages a full sync reads (saved from jirasim as bench/sync.py saves them) are
prepared three ways, each page from its bytes:

- here: orjson.loads, prepare_issue of every issue and its status transitions, in this process;
- parse: orjson.loads alone (the client's seek paging reads each page's ids and `updated`, so a sync
  whose client stays as it is parses every page here whatever a helper does);
- helper, whole: the page's bytes sent to a helper process (multiprocessing, spawn), which parses and
  prepares it and sends the PreparedIssue objects back whole (histories included, as page_sync reads them);
- helper, slim: the same, but the helper sends each issue's status transitions instead of its histories
  (what page_sync would need once the histories of a whole changelog are reduced to transitions there).

Printed: CPU milliseconds per issue in this process (what the sync's own core would be spared) and in the
helper, and their sum (what the machine pays), with the helper two pages ahead as a prefetching sync would
keep it. The helper pays if this process's CPU drops by much more than the sum rises.
"""

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sync as sync_bench  # bench/sync.py: the simulator, databases and page saving

ROOT = sync_bench.ROOT


def prepared_here(page: bytes, mapping) -> list:
    import orjson

    from syncing.engine.history import status_transitions
    from syncing.engine.prepare import prepare_issue

    items = [prepare_issue(issue, mapping) for issue in orjson.loads(page)]
    for item in items:
        status_transitions(item.histories)
    return items


def slimmed(items: list) -> list:
    """The prepared issues with their histories replaced by their status transitions."""
    from syncing.engine.history import status_transitions

    for item in items:
        item.histories = status_transitions(item.histories)
    return items


def helper_main(connection, mapping, slim: bool) -> None:
    """The helper process: page bytes in, pickled prepared issues out, until None."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jirasync_site.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    while (page := connection.recv_bytes()) != b"":
        items = prepared_here(page, mapping)
        connection.send_bytes(pickle.dumps(slimmed(items) if slim else items, protocol=pickle.HIGHEST_PROTOCOL))
    connection.close()


def measure(pages: list[bytes], mapping, how: str) -> dict:
    import multiprocessing

    issues = 0
    if how == "parse":  # only what the client's paging needs, which a helper could not take away
        import orjson

        cpu, began = time.process_time(), time.perf_counter()
        for page in pages:
            issues += len(orjson.loads(page))
        return {"issues": issues, "own": time.process_time() - cpu, "helper": 0.0, "wall": time.perf_counter() - began}
    if how == "here":
        cpu, began = time.process_time(), time.perf_counter()
        for page in pages:
            issues += len(prepared_here(page, mapping))
        return {"issues": issues, "own": time.process_time() - cpu, "helper": 0.0, "wall": time.perf_counter() - began}
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    helper = context.Process(target=helper_main, args=(theirs, mapping, how == "slim"))
    helper.start()
    theirs.close()  # the helper's end: a helper that dies is then an EOFError here, not a wait
    ours.send_bytes(pages[0])  # the helper's start-up (Django) is left out of the clock
    first = pickle.loads(ours.recv_bytes())
    helper_cpu_before = sync_bench.process_cpu_seconds(helper.pid)
    cpu, began = time.process_time(), time.perf_counter()
    # Sent by a thread, at most two pages ahead: both ends writing a pipe at once would wait on each other.
    room = threading.Semaphore(2)

    def feed() -> None:
        for page in pages:
            room.acquire()
            ours.send_bytes(page)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    for _ in pages:
        items = pickle.loads(ours.recv_bytes())
        room.release()
        issues += len(items)
    feeder.join()
    own, wall = time.process_time() - cpu, time.perf_counter() - began
    helper_cpu = sync_bench.process_cpu_seconds(helper.pid) - helper_cpu_before
    ours.send_bytes(b"")
    helper.join()
    del first
    return {"issues": issues, "own": own, "helper": helper_cpu, "wall": wall}


def worker(source: Path) -> None:
    sys.path.insert(0, str(ROOT))
    import io

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_field_mappings", str(ROOT / "config" / "field_mappings.json"), stdout=io.StringIO())
    from config.selectors import field_specs_for_instance, mapping_version
    from jirafields import compile_mapping

    mapping = compile_mapping(field_specs_for_instance("instance_1"), mapping_version())
    pages = source.read_bytes().splitlines()
    for how in ("here", "parse", "whole", "slim", "here"):
        result = measure(pages, mapping, how)
        issues = result["issues"]
        own, helper = result["own"] / issues * 1000, result["helper"] / issues * 1000
        print(
            f"{how:6s} this process {own:.3f} ms/issue, helper {helper:.3f} ms/issue, sum {own + helper:.3f} "
            f"ms/issue; {issues / result['wall']:,.0f} issues/s",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--issues", type=int, default=20_000)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(Path(args.worker))
        return
    folder = Path(tempfile.mkdtemp(prefix="jirasync-bench-"))
    pages = folder / "pages.jsonl"
    sim, url = sync_bench.start_sim(args.issues, 2)
    try:
        sync_bench.run_worker("fetch", sync_bench.fresh_database("sqlite", folder), url, [str(pages)])
    finally:
        sim.terminate()
        sim.wait()
    env = sync_bench.worker_env(sync_bench.fresh_database("sqlite", folder))
    print(f"{args.issues:,} issues, parse + prepare_issue + status transitions per page", flush=True)
    subprocess.run([sys.executable, __file__, "--worker", str(pages)], cwd=ROOT, env=env, check=True)


if __name__ == "__main__":
    main()
