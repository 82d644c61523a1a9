"""Typed Jira errors. Messages name the instance, the request and Jira's own text; never a credential."""


class JiraError(Exception):
    """Something Jira (or the way to it) refused or failed; `retryable` says whether trying later may help."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class JiraAuthenticationError(JiraError):
    """401: the credentials were refused (wrong, expired or revoked token)."""


class JiraPermissionError(JiraError):
    """403: authenticated, but not allowed (or a CAPTCHA is demanded after failed logins)."""


class JiraNotFoundError(JiraError):
    """404: does not exist, or the account may not see it; Jira does not say which."""


class JiraBadRequestError(JiraError):
    """400: most often bad JQL; Jira's message says what."""


class JiraEndpointRemovedError(JiraError):
    """410: the endpoint was removed (Cloud's old /search)."""


class JiraUnavailableError(JiraError):
    """Connection failures, 5xx, 429 and broken bodies that outlasted every retry."""

    retryable = True


class JiraResponseError(JiraError):
    """A 2xx answer of the wrong shape (not the JSON object the endpoint documents); nothing of it is used."""


class JiraPagingError(JiraResponseError):
    """A paged endpoint did not advance: a repeated page token, an ignored startAt, the same page again, or an
    empty page that says more follow. Raised instead of looping; what was read before stays as it was."""


class JiraOutpacedError(JiraError):
    """A search read as many issues again as matched at its start while they kept changing: stopped so the run
    ends (partial). Nothing unread lies behind the issues read: the next run continues from the watermark."""


class JiraResponseTooLargeError(JiraResponseError):
    """The answer is larger than the configured cap: not read (an oversized issue costs its row)."""


class JiraCancelledError(JiraError):
    """A stop was asked for (SIGTERM, Ctrl-C, Cancel in admin): the request was abandoned."""
