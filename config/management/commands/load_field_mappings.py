from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.services import COMMAND
from config.mapping_file import MappingFileError
from config.services import mappings_load_file


class Command(BaseCommand):
    help = (
        "Validate a field mapping file as a whole and make the stored mappings and milestones equal to it, "
        "in one transaction. On any problem nothing changes and each problem is printed with its JSON path."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="The mapping file (JSON), e.g. config/field_mappings.json")
        parser.add_argument("--dry-run", action="store_true", help="Validate and report what would change.")

    def handle(self, *args, file: Path, dry_run: bool, **options) -> None:
        try:
            report = mappings_load_file(path=file, actor=COMMAND, dry_run=dry_run)
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from None
        except MappingFileError as exc:
            for problem in exc.problems:
                self.stderr.write(f"  {problem}")
            raise CommandError(f"{file}: {len(exc.problems)} problem(s); nothing was changed") from None
        for note in report.notes:
            self.stdout.write(f"{file}: {note}")
        for line in report.created:
            self.stdout.write(f"  + {line}")
        for line in report.updated:
            self.stdout.write(f"  ~ {line}")
        for line in report.deleted:
            self.stdout.write(f"  - {line}")
        verb = "would change" if dry_run else "loaded"
        self.stdout.write(self.style.SUCCESS(f"{file}: {verb}: {report.summary()}"))
