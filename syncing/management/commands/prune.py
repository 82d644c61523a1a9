from django.core.management.base import BaseCommand

from syncing.runs.retention import prune, retention_days


class Command(BaseCommand):
    help = (
        "Delete sync runs, audit entries and queue task results past their retention, in batches. "
        "Nothing younger than its retention is removed; configuration audit entries are kept a year at least."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--older-than", type=int, metavar="DAYS", help="prune only what is older than this (never below retention)"
        )
        parser.add_argument("--dry-run", action="store_true", help="only count what would go")

    def handle(self, *args, older_than: int | None = None, dry_run: bool = False, **options) -> None:
        days = retention_days()
        self.stdout.write("retention: " + ", ".join(f"{kind} {n} days" for kind, n in days.items()))
        report = prune(older_than_days=older_than, dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        for line in report.lines():
            self.stdout.write(f"{verb} {line}")
