from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from config.mapping_file import document_to_text
from config.selectors import mapping_document


class Command(BaseCommand):
    help = "Write the stored field mappings and milestones in the mapping file format (standard output by default)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", type=Path, help="Write to this file instead of standard output.")

    def handle(self, *args, output: Path | None, **options) -> None:
        text = document_to_text(mapping_document())
        if output is None:
            self.stdout.write(text, ending="")
            return
        output.write_text(text, encoding="utf-8")
        self.stderr.write(f"wrote {output}")
