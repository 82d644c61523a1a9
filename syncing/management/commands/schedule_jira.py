from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.services import COMMAND
from projects.management.schedule_options import schedule_arguments, schedule_options_apply
from projects.models import JiraInstance
from syncing.instance_settings import instance_save
from syncing.runs.schedules import instances_schedule_states


class Command(BaseCommand):
    help = (
        "Show an instance's schedules (how often, next run) and change them: intervals, the full sync's cron, "
        "pause or resume. Changes are audited; with no option it only shows them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("instance", help="the instance's slug or name")
        schedule_arguments(parser)

    def handle(self, *args, instance: str, **options) -> None:
        jira = JiraInstance.objects.filter(slug=instance).first() or JiraInstance.objects.filter(name=instance).first()
        if jira is None:
            raise CommandError(f"no Jira instance {instance!r}")
        if schedule_options_apply(jira, options):
            try:
                instance_save(instance=jira, actor=COMMAND)
            except ValidationError as exc:
                problems = "; ".join(f"{field}: {', '.join(errors)}" for field, errors in exc.message_dict.items())
                raise CommandError(problems) from None
        self.stdout.write(f"{jira.name}: schedules {'paused' if jira.schedules_paused else 'running'}")
        for state in instances_schedule_states([jira])[jira.pk]:
            next_run = state.next_run.strftime("%Y-%m-%d %H:%M UTC") if state.next_run else "-"
            self.stdout.write(f"  {state.purpose:<12}{state.every:<22}next {next_run}  ({state.when()})")
        if not jira.schedule_ids:
            self.stdout.write("  none scheduled")
