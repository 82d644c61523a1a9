"""The error every Jira endpoint may answer with: a status and Jira's {"errorMessages", "errors"} body."""


class HttpError(Exception):
    def __init__(self, status: int, messages: list[str] | str, errors: dict | None = None) -> None:
        super().__init__(messages)
        self.status = status
        self.messages = [messages] if isinstance(messages, str) else messages
        self.errors = errors or {}
