from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.selectors import field_specs_for_instance
from projects.models import JiraInstance
from syncing.site.connection_test import instance_check


class Command(BaseCommand):
    help = (
        "Check a Jira instance: authentication, flavour, time zone, projects visible, and which mapped fields "
        "exist there and which do not."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("instance", help="the instance's slug or name")

    def handle(self, *args, instance: str, **options) -> None:
        jira = JiraInstance.objects.filter(slug=instance).first() or JiraInstance.objects.filter(name=instance).first()
        if jira is None:
            raise CommandError(f"no Jira instance {instance!r}")
        if jira.being_deleted:
            raise CommandError(f"{jira.name} is being deleted: Jira is no longer asked anything for it")
        report = instance_check(jira, field_specs_for_instance(jira.slug))
        failure = f"✗ {report.problem}"
        for line in report.lines():
            if report.ok or line != failure:  # a failure is said once, by the CommandError below
                self.stdout.write(line)
        if not report.ok:
            raise CommandError(f"{jira.name}: {report.problem}")
