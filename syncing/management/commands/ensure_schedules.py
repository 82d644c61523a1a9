from django.core.management.base import BaseCommand

from syncing.runs.schedules import schedules_ensure_all


class Command(BaseCommand):
    help = "Create or update every instance's django-q2 schedules from its settings (idempotent)."

    def handle(self, *args, **options) -> None:
        count = schedules_ensure_all()
        self.stdout.write(self.style.SUCCESS(f"{count} schedules in place"))
