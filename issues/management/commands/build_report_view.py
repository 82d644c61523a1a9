from django.core.management.base import BaseCommand

from config.report_view import VIEW, report_view_build


class Command(BaseCommand):
    help = f"(Re)build the reporting view {VIEW} from the current field mappings and milestones."

    def handle(self, *args, **options) -> None:
        columns = report_view_build()
        self.stdout.write(self.style.SUCCESS(f"built {VIEW} with {len(columns)} columns: {', '.join(columns)}"))
