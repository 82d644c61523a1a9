"""The schedule options that add_jira_instance and schedule_jira share: an instance's intervals, cron and pause."""

from django.core.management.base import CommandParser

from projects.models import JiraInstance

# option → the instance's field; None (not given) keeps what the instance has.
INTERVALS = {
    "incremental_every": "incremental_every_minutes",
    "full_every": "full_every_minutes",
    "census_every": "census_every_minutes",
}


def schedule_arguments(parser: CommandParser) -> None:
    parser.add_argument("--incremental-every", type=int, metavar="MINUTES", help="incremental sync interval; 0: off")
    parser.add_argument(
        "--full-every", type=int, metavar="MINUTES", help="full sync interval; 0: use --full-cron instead"
    )
    parser.add_argument("--full-cron", metavar="CRON", help="full sync cron (five fields, UTC); '': never")
    parser.add_argument("--census-every", type=int, metavar="MINUTES", help="census interval; 0: off")
    paused = parser.add_mutually_exclusive_group()
    paused.add_argument("--pause", action="store_true", help="pause the instance's schedules")
    paused.add_argument("--resume", action="store_true", help="resume the instance's schedules")


def schedule_options_apply(instance: JiraInstance, options: dict) -> list[str]:
    """Set the schedule fields the options name (checked when the instance is saved); return their names."""
    changed = []
    for option, name in INTERVALS.items():
        if options.get(option) is not None:
            setattr(instance, name, options[option])
            changed.append(name)
    if options.get("full_cron") is not None:
        instance.full_cron = " ".join(options["full_cron"].split())
        changed.append("full_cron")
    if options.get("pause") or options.get("resume"):
        instance.schedules_paused = bool(options.get("pause"))
        changed.append("schedules_paused")
    return changed
