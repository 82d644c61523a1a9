"""Memory and speed of the admin's CSV and Excel export of a large issue list.

    .venv/bin/python bench/export.py [--issues 100000] [--database-url sqlite:///…|postgres://…]

Fills a fresh database (a temporary SQLite file by default) with issues in bulk — each with mapped
fields and two milestones — then exports the whole issue list as an operator would (Export, then
Submit, through Django's test client in this process) as CSV and as Excel. Prints rows/s, the peak of
Python memory traced while streaming (tracemalloc) and the growth of the process's resident memory.
"""

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--issues", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="jirasync-export-"))
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{folder}/export.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    os.environ["ALLOWED_HOSTS"] = "testserver"
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from audit.services import COMMAND
    from config.services import mappings_load_file
    from issues.models import Issue
    from projects.models import JiraInstance
    from tests.support.bulk_issues import issues_bulk_create
    from tests.support.formdata import EXPORT_FORMATS, form_fields

    call_command("migrate", verbosity=0)
    Issue.objects.all().delete()
    mappings_load_file(path=ROOT / "config" / "field_mappings.json", actor=COMMAND)
    instance, _ = JiraInstance.objects.get_or_create(
        slug="bench", defaults={"name": "Bench", "base_url": "https://bench.example.net", "token_encrypted": "x"}
    )
    began = time.perf_counter()
    issues_bulk_create(instance=instance, count=args.issues, key="BENCH")
    print(f"{args.issues:,} issues made in {time.perf_counter() - began:.0f} s ({os.environ['DATABASE_URL'][:8]}…)")
    user = get_user_model().objects.filter(username="bench").first() or get_user_model().objects.create_superuser(
        "bench", "bench@example.com", "bench"
    )
    client = Client()
    client.force_login(user)
    url = "/admin/issues/issue/export/?deleted=all"
    for kind in ("csv", "xlsx"):
        data = form_fields(client.get(url).content.decode(), None)
        data["format"] = [EXPORT_FORMATS[kind]]
        # Twice: timed with the resident memory sampled, then again under tracemalloc (which slows it).
        seconds, size, rss_before, rss_peak = export_once(client, url, data)
        tracemalloc.start(1)
        export_once(client, url, data)
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"{kind:4s}: {args.issues:,} rows in {seconds:.1f} s ({args.issues / seconds:,.0f} rows/s), "
            f"{size / 1e6:.1f} MB file; RSS {rss_before / 1e6:.0f} → {rss_peak / 1e6:.0f} MB; "
            f"Python memory peak {traced_peak / 1e6:.1f} MB (tracemalloc)"
        )


def export_once(client, url: str, data: dict) -> tuple[float, int, int, int]:
    rss_before, rss_peak, size = rss_bytes(), 0, 0
    began = time.perf_counter()
    response = client.post(url, data)
    for chunk in response.streaming_content if response.streaming else [response.content]:
        size += len(chunk)
        rss_peak = max(rss_peak, rss_bytes())
    return time.perf_counter() - began, size, rss_before, max(rss_peak, rss_bytes())


if __name__ == "__main__":
    main()
