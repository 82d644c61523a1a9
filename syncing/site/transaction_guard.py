"""No Jira request inside a database transaction, checked before every request a client sends.

A transaction left open across a request keeps what it wrote locked for as long as Jira takes to
answer — on SQLite in IMMEDIATE mode, the whole database's write lock from its first statement — so
every other writer waits, then fails with "database is locked". The check looks at the connections of
the thread sending the request (a client used by a prefetch thread checks that thread's own).
"""

from django.db import connections


class RequestInTransaction(RuntimeError):
    """A Jira request was about to be sent inside a database transaction: a bug in its caller."""


def transaction_open() -> str | None:
    """The alias of this thread's connection inside a transaction, else None.

    The transaction a test framework wraps each test in (Django's TestCase) does not count: it stands
    for the autocommit the code runs in outside tests.
    """
    for connection in connections.all(initialized_only=True):
        if any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks):
            return connection.alias
    return None


def outside_transaction(where: str) -> None:
    """Raise RequestInTransaction when a transaction is open; where names the request ("site: GET /path")."""
    if alias := transaction_open():
        raise RequestInTransaction(
            f"{where}: not sent — a Jira request inside a database transaction (connection {alias!r}) would hold "
            "the database for as long as Jira takes to answer"
        )
