"""Instance tokens are encrypted at rest and never shown in clear."""

import pytest
from django.test import override_settings

from audit.models import AuditLog
from audit.services import COMMAND
from projects.crypto import TokenDecryptionError, generate_key, reencrypt_token
from projects.models import JiraInstance
from syncing.instance_settings import instance_save
from tests.support.database import database_bytes

CLEAR = "clear-token-7f3a9c1e5b"


@pytest.mark.django_db(transaction=True)
def test_the_clear_token_never_reaches_the_database():
    instance = instance_save(
        instance=JiraInstance(name="Acme", slug="acme", base_url="https://acme.atlassian.net", username="a@b.c"),
        actor=COMMAND,
        token=CLEAR,
    )
    assert CLEAR.encode() not in database_bytes()
    assert JiraInstance.objects.get(pk=instance.pk).get_token() == CLEAR
    assert CLEAR not in str(instance) and CLEAR not in repr(instance)
    entry = AuditLog.objects.get(object_id=str(instance.pk))
    assert CLEAR not in str(entry.changes)
    assert entry.changes["token_encrypted"] == ["", "••••••"]


def test_a_token_survives_key_rotation_and_a_removed_key_is_a_clear_error(instance):
    old_key = instance.token_encrypted
    from django.conf import settings

    new_key = generate_key()
    with override_settings(JIRASYNC_ENCRYPTION_KEYS=[new_key, *settings.JIRASYNC_ENCRYPTION_KEYS]):
        assert instance.get_token() == "s3cr3t-token-value"  # still readable with the old key second
        rotated = reencrypt_token(old_key)
    with override_settings(JIRASYNC_ENCRYPTION_KEYS=[new_key]):
        instance.token_encrypted = rotated
        assert instance.get_token() == "s3cr3t-token-value"
        instance.token_encrypted = old_key
        with pytest.raises(TokenDecryptionError, match="cannot be decrypted") as failure:
            instance.get_token()
        assert "s3cr3t" not in str(failure.value)
