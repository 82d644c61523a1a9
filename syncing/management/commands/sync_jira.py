import signal
import sys
import threading
from functools import partial

from django.core.management.base import BaseCommand, CommandError, CommandParser

from projects.models import JiraInstance
from syncing.engine.pipeline import PageResult
from syncing.models import SyncRun
from syncing.runs.bookkeeping import options_for
from syncing.runs.runner import sync_instance
from syncing.site.connection_test import said_of


class Command(BaseCommand):
    help = (
        "Sync Jira instances into the database: incremental by default, --full to re-read everything. "
        "SIGTERM or Ctrl-C stops within seconds, ending the runs as cancelled; the next run resumes from the "
        "last committed page. Exits 1 when a run failed, 2 when one ended partial, 3 when an instance had "
        "nothing to sync (no enabled project), 128 + the signal's number when stopped by one (130 for Ctrl-C, "
        "143 for SIGTERM). --dry-run runs are marked as such and count as no sync."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("instances", nargs="*", help="instance slugs or names")
        parser.add_argument("--all", action="store_true", help="every enabled instance")
        parser.add_argument("--project", action="append", default=[], metavar="KEY", help="only these projects")
        parser.add_argument("--full", action="store_true", help="re-read every issue, not only the changed ones")
        parser.add_argument("--dry-run", action="store_true", help="fetch and process, write nothing")
        parser.add_argument(
            "--census",
            action="store_true",
            help="only a census: soft-delete vanished issues, follow moved ones, restore returned ones",
        )

    def handle(
        self,
        *args,
        instances: list[str],
        all: bool,
        project: list[str],
        full: bool,
        dry_run: bool,
        census: bool,
        **options,
    ) -> None:
        targets = self._instances(instances, all)
        stop = threading.Event()
        received: list[int] = []

        def stop_on(signum: int, _frame: object) -> None:
            received.append(signum)
            stop.set()

        previous = {sig: signal.signal(sig, stop_on) for sig in (signal.SIGTERM, signal.SIGINT)}
        tty = sys.stdout.isatty()
        runs = []
        try:
            for instance in targets:
                kind = "census" if census else "full" if full else "incremental"
                dry = ", dry run: nothing is written" if dry_run else ""
                self.stdout.write(f"syncing {instance.name} ({kind}{dry})…")
                run_options = options_for(
                    kind,
                    SyncRun.Trigger.COMMAND,
                    dry_run=dry_run,
                    project_keys=tuple(key.upper() for key in project),
                    stop=stop,
                    progress=partial(self._progress, tty=tty),
                )
                run = sync_instance(instance.pk, run_options)
                if tty:
                    self.stdout.write("")
                runs.append(run)
                if stop.is_set():
                    break
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self._summary(runs)
        if received:  # stopped by a signal: the shell's convention, so a script knows the sync did not finish
            name = signal.Signals(received[0]).name
            raise CommandError(
                f"stopped by {name}: the runs ended cancelled; the next run resumes from the last committed page",
                returncode=128 + received[0],
            )
        failed = [run for run in runs if run.status == SyncRun.Status.FAILED]
        if failed:
            raise CommandError("; ".join(said_of(run.instance, run.error) for run in failed))
        partly = [run for run in runs if run.status == SyncRun.Status.PARTIAL]
        # Some issues could not be stored: not a success, and a script can tell it from a failure.
        if partly:
            raise CommandError("; ".join(said_of(run.instance, run.error) for run in partly), returncode=2)
        idle = [run for run in runs if run.status == SyncRun.Status.SKIPPED]
        if idle:  # nothing synced is not a success either: say why
            raise CommandError("; ".join(said_of(run.instance, run.error) for run in idle), returncode=3)

    def _instances(self, names: list[str], everything: bool) -> list[JiraInstance]:
        if everything:
            return list(JiraInstance.objects.filter(enabled=True))
        if not names:
            raise CommandError("name one or more instances, or use --all")
        found = []
        for name in names:
            instance = JiraInstance.objects.filter(slug=name).first() or JiraInstance.objects.filter(name=name).first()
            if instance is None:
                raise CommandError(f"no Jira instance {name!r}")
            if instance.being_deleted:
                raise CommandError(f"{instance.name} is being deleted: it is no longer synced")
            found.append(instance)
        return found

    def _progress(self, run: SyncRun, page: PageResult, tty: bool) -> None:
        key = run.project.key if run.project is not None else "?"
        line = (
            f"{key}: page {run.pages}, {run.fetched} fetched, {run.inserted} new, {run.updated} updated, "
            f"{run.unchanged} unchanged, {run.failed_rows} failed, {run.requests} requests"
        )
        if tty:
            self.stdout.write(f"\r  {line[:110]:<110}", ending="")
            self.stdout.flush()
        else:
            self.stdout.write(f"  {line}")

    def _summary(self, runs: list[SyncRun]) -> None:
        self.stdout.write(
            f"{'project':<22}{'kind':<12}{'status':<17}{'fetched':>9}{'new':>8}{'updated':>9}{'same':>8}"
            f"{'failed':>8}{'deleted':>8}{'requests':>10}{'429s':>6}{'seconds':>9}"
        )
        for parent in runs:
            children = list(parent.children.select_related("project").order_by("project__key", "id")) or [parent]
            for run in children:
                name = f"{parent.instance.slug}/{run.project.key if run.project is not None else '-'}"
                status = f"{run.status} (dry)" if run.dry_run else run.status
                self.stdout.write(
                    f"{name:<22}{run.kind:<12}{status:<17}{run.fetched:>9}{run.inserted:>8}{run.updated:>9}"
                    f"{run.unchanged:>8}{run.failed_rows:>8}{run.deleted:>8}{run.requests:>10}{run.rate_limited:>6}"
                    f"{run.duration_seconds or 0:>9.1f}"
                )
                if run.error:
                    self.stdout.write(f"    {run.error[:300]}")
