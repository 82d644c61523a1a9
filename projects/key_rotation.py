"""Re-encrypting every stored secret with the newest key, all or nothing."""

from dataclasses import dataclass, field

from django.db import transaction

from audit.services import Actor, Change, audit_record
from projects.crypto import TokenDecryptionError, reencrypt_token
from projects.models import JiraInstance

SECRET_COLUMNS = ("token_encrypted", "webhook_secret_encrypted")


@dataclass
class RotationReport:
    reencrypted: int = 0
    instances: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def secrets_rotate(*, actor: Actor, dry_run: bool = False) -> RotationReport:
    """Re-encrypt every instance's token and webhook secret with the first key of JIRASYNC_ENCRYPTION_KEYS.

    Every secret is decrypted first; if any cannot be (its key was removed, or the keys are wrong),
    nothing is written and the report names the instance and column — never a secret.
    """
    report = RotationReport()
    updates: list[tuple[int, dict[str, str]]] = []
    with transaction.atomic():
        for instance in JiraInstance.objects.select_for_update().order_by("pk"):
            values = {}
            for column in SECRET_COLUMNS:
                stored = getattr(instance, column)
                if not stored:
                    continue
                try:
                    values[column] = reencrypt_token(stored)
                except TokenDecryptionError:
                    report.problems.append(f"{instance.slug}: {column} cannot be decrypted with any configured key")
            updates.append((instance.pk, values))
            report.instances.append(instance.slug)
        if report.problems or dry_run:
            report.reencrypted = sum(len(values) for _, values in updates) if not report.problems else 0
            return report
        for pk, values in updates:
            if values:
                JiraInstance.objects.filter(pk=pk).update(**values)
                report.reencrypted += len(values)
        audit_record(
            actor=actor,
            change=Change(
                "rotate_keys",
                "projects.jirainstance",
                "",
                "every instance",
                f"re-encrypted {report.reencrypted} secrets of {len(report.instances)} instances with the newest key",
            ),
        )
    return report
