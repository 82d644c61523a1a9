from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.services import COMMAND
from projects.models import JiraInstance
from syncing.runs.remap import issues_remap


class Command(BaseCommand):
    help = (
        "Re-apply the current field mappings and milestones to every stored issue's raw JSON, without a "
        "single request to Jira; report how many issues' values changed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("instance", nargs="?", help="only this instance (slug)")
        parser.add_argument("--project", help="only this project (key)")
        parser.add_argument("--dry-run", action="store_true", help="report what would change, write nothing")

    def handle(self, *args, instance: str | None, project: str | None, dry_run: bool, **options) -> None:
        if instance and not JiraInstance.objects.filter(slug=instance).exists():
            raise CommandError(f"no Jira instance {instance!r}")
        result = issues_remap(
            actor=COMMAND, instance_slug=instance, project_key=project and project.upper(), dry_run=dry_run
        )
        verb = "would change" if dry_run else "changed"
        rate = result.checked / result.seconds if result.seconds else 0
        self.stdout.write(
            self.style.SUCCESS(
                f"mapping version {result.version}: {result.checked} issues checked "
                f"({result.seconds:.1f} s, {rate:,.0f} issues/s), {result.summary(verb)}"
            )
        )
