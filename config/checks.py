"""System checks (jirasync.E001…): configuration mistakes caught at start-up, not mid-sync."""

from pathlib import Path

from django.conf import settings
from django.core.checks import Error, register

from config.mapping_file import MappingFileError, parse_mapping_text
from projects.crypto import encryption_key_problems


@register()
def check_queue_settings(app_configs, **kwargs) -> list[Error]:
    cluster = getattr(settings, "Q_CLUSTER", {})
    timeout, retry = cluster.get("timeout"), cluster.get("retry")
    if timeout is not None and (retry is None or retry <= timeout):
        return [
            Error(
                f"Q_CLUSTER retry ({retry}) must exceed timeout ({timeout}).",
                hint="Otherwise a task still running is handed to a second worker. Set Q_RETRY > Q_TIMEOUT.",
                id="jirasync.E001",
            )
        ]
    return []


@register()
def check_encryption_keys(app_configs, **kwargs) -> list[Error]:
    return [
        Error(
            f"JIRASYNC_ENCRYPTION_KEYS: {problem}.",
            hint="Generate a key with: python manage.py generate_encryption_key",
            id="jirasync.E002",
        )
        for problem in encryption_key_problems(list(getattr(settings, "JIRASYNC_ENCRYPTION_KEYS", [])))
    ]


@register()
def check_mapping_file(app_configs, **kwargs) -> list[Error]:
    path = settings.JIRASYNC_MAPPING_FILE
    try:
        parse_mapping_text(Path(path).read_bytes())
    except OSError as exc:
        return [Error(f"JIRASYNC_MAPPING_FILE {path} cannot be read: {exc.strerror}.", id="jirasync.E003")]
    except MappingFileError as exc:
        return [
            Error(f"JIRASYNC_MAPPING_FILE {path} is invalid: {problem}", id="jirasync.E004") for problem in exc.problems
        ]
    return []
