from django.core.management.base import BaseCommand

from projects.crypto import generate_key


class Command(BaseCommand):
    help = "Print a new key for JIRASYNC_ENCRYPTION_KEYS (put it first to make it the encrypting key)."

    def handle(self, *args, **options) -> None:
        self.stdout.write(generate_key())
