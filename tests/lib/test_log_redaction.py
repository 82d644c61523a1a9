"""The redaction filter removes secrets from every log record."""

import base64
import logging
from urllib.parse import quote

import pytest

from lib.log_redaction import JsonLinesFormatter, RedactSecretsFilter, redact
from lib.secret_values import secrets_remember


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (
            "headers={'Authorization': 'Basic ZGVtb0BleGFtcGxlLmNvbTpkZW1vLXRva2Vu'}",
            "ZGVtb0BleGFtcGxlLmNvbTpkZW1vLXRva2Vu",
        ),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "eyJhbGciOiJIUzI1NiJ9.payload.sig"),
        ("login failed password=hunter2-long", "hunter2-long"),
        ('{"api_token": "ATATT3xFfGF0abc", "user": "x"}', "ATATT3xFfGF0abc"),
        ("GET https://ops%40example.com:supersecret@jira.example.com/rest/api/2/myself", "supersecret"),
        ("postgres://jirasync:db-pass-123@db:5432/jirasync", "db-pass-123"),
        ("token=abc123def456&x=1", "abc123def456"),
        ("Authorization: Token abcDEF123456ghiJKL", "abcDEF123456ghiJKL"),
        ("authorization=Basic dXNlcjpwYXNzd29yZDEyMw==", "dXNlcjpwYXNzd29yZDEyMw=="),
        ("x-api-token: ATATT3xFfGF0abcdEFGH1234", "ATATT3xFfGF0abcdEFGH1234"),
        ("{'password': 'hunter2hunter2'}", "hunter2hunter2"),
    ],
)
def test_secrets_are_replaced(text, secret):
    cleaned = redact(text)
    assert secret not in cleaned
    assert "***" in cleaned


def test_ordinary_text_is_left_alone():
    text = "synced 120 issues of OPS in 2.5 s (tokens per second: 10)"
    assert redact("synced 120 issues of OPS in 2.5 s") == "synced 120 issues of OPS in 2.5 s"
    assert "tokens per second" in redact(text)


def test_the_filter_redacts_arguments_and_exceptions(caplog):
    logger = logging.getLogger("tests.redaction")
    redaction = RedactSecretsFilter()
    handler = caplog.handler
    handler.addFilter(redaction)
    try:
        logger.error("request to %s failed", "https://u:pw-in-url@jira.example.com/x")
        try:
            raise RuntimeError("Authorization: Basic c2VjcmV0LXRva2VuLXZhbHVl")
        except RuntimeError:
            logger.exception("boom")
    finally:
        handler.removeFilter(redaction)
    text = caplog.text
    assert "pw-in-url" not in text
    assert "c2VjcmV0LXRva2VuLXZhbHVl" not in text


def test_json_lines_formatter_writes_one_object_per_record():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    RedactSecretsFilter().filter(record)
    line = JsonLinesFormatter().format(record)
    assert '"message": "hello world"' in line and "\n" not in line


@pytest.mark.parametrize(
    "text",
    [
        "Basic authentication needs the account's email or username.",
        "Bearer personal access token",
        "sync of acme_basic: GET /rest/api/2/serverInfo -> 200",
        "Acme Basic: POST /rest/api/3/search/jql -> 200 in 120 ms",
        "Cloud token: GET /rest/api/3/myself -> 401",
        "instance my-token: PUT /rest/api/2/issue/1 failed",
        "Token: Authentication failed",
        "Authorization: required for project OPS",
        '{"token": "must not be empty"}',
        "token: Sprint2024 planning",
        "Authorization header missing; password reset needed",
    ],
)
def test_ordinary_words_after_basic_bearer_or_token_are_left_alone(text):
    assert redact(text) == text


def test_known_secrets_are_redacted_by_value_in_every_encoding(settings):
    token, user = "plain-looking-value-42", "ops@example.com"
    secrets_remember(token, user)
    basic = base64.b64encode(f"{user}:{token}".encode()).decode()
    for echoed in (token, basic, quote(token, safe=""), base64.b64encode(token.encode()).decode(), quote(basic)):
        assert redact(f"the proxy said: {echoed} (sic)") == "the proxy said: *** (sic)"
    settings.METRICS_TOKEN = "metrics-scrape-token-7"
    assert "metrics-scrape-token-7" not in redact("GET /metrics with metrics-scrape-token-7")


def test_stored_secrets_are_known_without_being_read_first(db):
    """A process that never decrypted a token (the web process showing a stored error) still redacts it."""
    from lib.secret_values import KnownSecrets
    from projects.models import JiraInstance
    from projects.selectors import instance_secret_values

    instance = JiraInstance(name="x", slug="x", base_url="https://x.example.com", username="u")
    instance.set_token("stored-only-token-99")
    JiraInstance.objects.bulk_create([instance])
    fresh = KnownSecrets()
    fresh.add_source(instance_secret_values)
    assert fresh.redact("echo: stored-only-token-99") == "echo: ***"
