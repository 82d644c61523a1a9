"""The test database seen from outside Django: a second connection, as another process's would be, and the bytes
the server stores."""

import sqlite3
import time
from pathlib import Path

import psycopg
from django.db import connection

# What a write that waited too long raises, on either database.
LOCKED = (sqlite3.OperationalError, psycopg.errors.LockNotAvailable)


class OtherConnection:
    """A second connection to the test database, opened without Django, as another process's would be."""

    def __init__(self, wait_seconds: float) -> None:
        params = connection.settings_dict
        self.sqlite = connection.vendor == "sqlite"
        if self.sqlite:
            self.db = sqlite3.connect(
                params["NAME"], timeout=wait_seconds, isolation_level=None, check_same_thread=False
            )
        else:
            self.db = psycopg.connect(
                dbname=params["NAME"],
                user=params["USER"],
                password=params["PASSWORD"],
                host=params["HOST"],
                port=params["PORT"] or 5432,
                autocommit=True,
            )
            self.db.execute(f"SET lock_timeout = '{int(wait_seconds * 1000)}ms'")

    def hold(self, instance_pk: int) -> None:
        """Begin a write and keep it: SQLite's write lock, or a lock on the instance's row."""
        if self.sqlite:
            self.db.execute("BEGIN IMMEDIATE")
        else:
            self.db.execute("BEGIN")
            self.db.execute("SELECT id FROM projects_jirainstance WHERE id = %s FOR UPDATE", [instance_pk])

    def release(self) -> None:
        self.db.execute("ROLLBACK")

    def write(self, instance_pk: int) -> None:
        """One short write to the instance's row, committed; raises when the database stays locked too long."""
        if self.sqlite:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("UPDATE projects_jirainstance SET updated_at = updated_at WHERE id = ?", [instance_pk])
            self.db.execute("COMMIT")
        else:
            self.db.execute("UPDATE projects_jirainstance SET updated_at = updated_at WHERE id = %s", [instance_pk])

    def close(self) -> None:
        self.db.close()


def database_bytes() -> bytes:
    """Everything the database holds for the instance table, as the server stores it."""
    if connection.vendor == "sqlite":
        connection.close()  # flush to the file and its WAL
        name = connection.settings_dict["NAME"]
        files = [Path(f"{name}{suffix}") for suffix in ("", "-wal")]
        return b"".join(path.read_bytes() for path in files if path.exists())
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(t)::text FROM projects_jirainstance t")
        return "".join(row[0] for row in cursor.fetchall()).encode()


# The other sessions on the (PostgreSQL) test database: other processes', as a sync's or a killed worker's.
OTHER_SESSIONS = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"


def other_backends() -> list[int]:
    """The pids of the other sessions on the PostgreSQL test database."""
    with connection.cursor() as cursor:
        cursor.execute(OTHER_SESSIONS)
        return [row[0] for row in cursor.fetchall()]


def other_sessions_end(deadline_seconds: float = 120) -> int:
    """End the other sessions on the PostgreSQL test database and wait until they are gone; return how many there were.

    What the test processes left: a worker killed by a test has a backend that closes only a moment later, and a
    database with sessions on it cannot be dropped. Does nothing on SQLite.
    """
    if connection.vendor != "postgresql":
        return 0
    found = len(other_backends())
    deadline = time.monotonic() + deadline_seconds
    with connection.cursor() as cursor:
        while True:
            cursor.execute(f"SELECT count(pg_terminate_backend(pid)) FROM ({OTHER_SESSIONS}) AS others")
            if not cursor.fetchone()[0] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    connection.close()
    return found
