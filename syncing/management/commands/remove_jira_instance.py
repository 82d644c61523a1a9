import signal
import sys
import threading

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.services import COMMAND
from projects.models import JiraInstance
from syncing.runs.instance_deletion import (
    BATCH,
    instance_data_remove,
    instance_deletion_counts,
    instance_deletion_start,
)


class Command(BaseCommand):
    help = (
        "Delete a Jira instance and everything synced from it (issues and their history, runs, projects). "
        "It stops syncing at once; its data is removed in batches, here with progress (or by a worker with "
        "--queue). SIGTERM or Ctrl-C stops after the current batch; run the command again to resume."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("instance", help="the instance's slug or name")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        parser.add_argument("--dry-run", action="store_true", help="only say what would go with it")
        parser.add_argument("--queue", action="store_true", help="leave the removal to the queue's workers")
        parser.add_argument("--batch-size", type=int, default=BATCH, help=f"rows per transaction (default {BATCH})")

    def handle(self, *args, instance: str, yes: bool, dry_run: bool, queue: bool, batch_size: int, **options) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        target = (
            JiraInstance.objects.filter(slug=instance).first() or JiraInstance.objects.filter(name=instance).first()
        )
        if target is None:
            raise CommandError(f"no Jira instance {instance!r}")
        counts = instance_deletion_counts([target.pk])
        if target.being_deleted:
            self.stdout.write(
                f"{target.name} ({target.slug}) is being deleted since {target.deleting_since:%Y-%m-%d %H:%M} UTC "
                f"(asked by {target.deleting_by}); left: {counts.phrase()}"
            )
        else:
            self.stdout.write(f"{target.name} ({target.slug}): {counts.phrase()} go with it")
        if dry_run:
            return
        if not target.being_deleted and not yes:
            self._confirm(target)
        started = instance_deletion_start(instance=target, actor=COMMAND, queue=queue)
        if queue:
            self.stdout.write(self.style.SUCCESS("queued: the workers remove its data in the background"))
            return
        self._remove(target, batch_size, resumed=started.resumed)

    def _confirm(self, target: JiraInstance) -> None:
        if not sys.stdin.isatty():
            raise CommandError("not confirmed (nothing changed): pass --yes")
        answer = input(f"Type the instance's slug ({target.slug}) to delete it: ").strip()
        if answer != target.slug:
            raise CommandError("not confirmed (nothing changed)")

    def _remove(self, target: JiraInstance, batch_size: int, *, resumed: bool) -> None:
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
        tty = self.stdout.isatty()
        if resumed:
            self.stdout.write("resuming the removal")
        try:
            removal = instance_data_remove(
                target.pk, batch_size=batch_size, progress=lambda step, n: self._progress(step, n, tty), stop=stop
            )
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if tty:
            self.stdout.write("")
        if removal.stopped:
            raise CommandError(
                f"stopped after removing {removal.phrase()}; {target.name} stays marked as being deleted: "
                "run the command again to resume"
            )
        self.stdout.write(self.style.SUCCESS(f"deleted {target.name}: removed {removal.phrase()}"))

    def _progress(self, step: str, removed: int, tty: bool) -> None:
        line = f"  {step}: {removed:,} removed"
        if tty:
            if step != getattr(self, "_step", step):
                self.stdout.write("")  # the finished step keeps its line
            self._step = step
            self.stdout.write(f"\r{line:<70}", ending="")
            self.stdout.flush()
        else:
            self.stdout.write(line)
