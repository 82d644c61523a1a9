"""The redaction filter removes secrets from every log record."""

import logging

import pytest

from jirasync_site.log_redaction import JsonLinesFormatter, RedactSecretsFilter, redact


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
