"""The forms a secret may be echoed back in, and what replaces them: plain Python, no Django.

Shared by the redaction of every text (`secret_values`) and by the Jira client, which takes its own
token out of Jira's answers (`syncing.jira.echo`) and must not depend on Django.
"""

import base64
import re
from urllib.parse import quote, quote_plus

REDACTED = "***"
MIN_LENGTH = 8  # shorter secrets are not redacted by value: removing a four-letter word would mangle text


def secret_forms(secret: str, username: str = "") -> set[str]:
    """The secret as it may be echoed: plain, base64 (of itself and of `user:secret`), URL-encoded, JSON-escaped."""
    if len(secret) < MIN_LENGTH:
        return set()
    forms = {secret, secret.replace("/", "\\/")}
    raw = [secret.encode()] + ([f"{username}:{secret}".encode()] if username else [])
    for value in raw:
        for encoded in (base64.b64encode(value).decode(), base64.urlsafe_b64encode(value).decode()):
            forms |= {encoded, encoded.rstrip("=")}
    for form in list(forms):
        for quoted in (quote(form, safe=""), quote_plus(form), quote(form)):
            forms |= {quoted, re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quoted)}
    return {form for form in forms if len(form) >= MIN_LENGTH}
