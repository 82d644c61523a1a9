"""Jira's answers with the instance's own credentials taken out, before anything reads them.

A hostile or broken Jira (or a proxy before it) may echo what it was sent — in an error page, but also
inside an ordinary answer: a project or field name, the account's time zone, a server version, an
issue's summary. Whatever is read from an answer is stored, shown in admin (to users who may only view)
and logged, so the token must be gone from the answer itself, in every form it may come back in
(lib.secret_forms: plain, base64 of `user:token`, URL-encoded, JSON-escaped).

Cost: answers are searched for an 8-byte anchor of each form (a few of them) — about 2.5 ms per MB — and
only an answer holding one is rewritten.
"""

import json
from typing import Any

import orjson

from lib.secret_forms import MIN_LENGTH, REDACTED, secret_forms


class EchoedSecrets:
    """The forms of one connection's token, and how to take them out of an answer."""

    def __init__(self, token: str, username: str = "") -> None:
        forms = sorted(secret_forms(token, username), key=len, reverse=True) if token else []
        self.forms = forms
        self._bytes = [form.encode() for form in forms]
        self._anchors = {form[:MIN_LENGTH] for form in self._bytes}

    def found_in(self, content: bytes) -> bool:
        """Whether the answer may hold a form of the token (an anchor of one is in it)."""
        return any(anchor in content for anchor in self._anchors)

    def removed(self, content: bytes) -> bytes:
        """The answer with every form of the token replaced by ***.

        A JSON answer is rewritten value by value (keys too), so the result stays valid JSON whatever
        surrounds the echo; anything else is rewritten as bytes.
        """
        if not self.found_in(content):
            return content
        try:
            cleaned = self._cleaned(_loaded(content))
        except (ValueError, RecursionError):  # not JSON (an error page), or nested beyond reading
            for form in self._bytes:
                content = content.replace(form, REDACTED.encode())
            return content
        try:
            return orjson.dumps(cleaned)
        except orjson.JSONEncodeError:  # a lone surrogate: the standard library writes it escaped
            return json.dumps(cleaned).encode()

    def text_removed(self, text: str) -> str:
        """A header value or message with every form of the token replaced by ***."""
        for form in self.forms:
            text = text.replace(form, REDACTED)
        return text

    def _cleaned(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text_removed(value)
        if isinstance(value, list):
            return [self._cleaned(item) for item in value]
        if isinstance(value, dict):
            return {self.text_removed(key): self._cleaned(item) for key, item in value.items()}
        return value


def _loaded(content: bytes) -> Any:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return json.loads(content)  # what orjson refuses but Jira may send (see client._parsed)
