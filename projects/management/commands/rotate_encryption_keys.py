from django.core.management.base import BaseCommand, CommandError

from audit.services import COMMAND
from projects.key_rotation import secrets_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every Jira token and webhook secret with the newest key (the first of JIRASYNC_ENCRYPTION_KEYS). "
        "Put the new key first, keep the old ones after it, run this, then remove the old keys."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="check every secret decrypts; write nothing")

    def handle(self, *args, dry_run: bool = False, **options) -> None:
        report = secrets_rotate(actor=COMMAND, dry_run=dry_run)
        if report.problems:
            raise CommandError(
                "nothing was re-encrypted:\n  "
                + "\n  ".join(report.problems)
                + "\nAdd the key that encrypted them to JIRASYNC_ENCRYPTION_KEYS (after the new one) and run again."
            )
        verb = "would re-encrypt" if dry_run else "re-encrypted"
        self.stdout.write(
            self.style.SUCCESS(f"{verb} {report.reencrypted} secrets of {len(report.instances)} instances")
        )
