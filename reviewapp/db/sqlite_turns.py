"""Writers to one SQLite file take turns through a lock file instead of SQLite's busy handler.

SQLite lets one transaction write at a time. A writer that finds the lock taken sleeps in
SQLite's busy handler for 1, 2, 5, 10 ... 100 ms between retries, so with a few concurrent
writers (four reviewers giving verdicts) some wait hundreds of milliseconds while newcomers
barge in. Here a transaction takes an exclusive flock on "<database>-writers" just before
its first write statement and gives it back when it commits or rolls back; a waiter retries
every millisecond. After the busy timeout a waiter goes on without its turn and SQLite's own
locking decides, so a turn can delay a writer but never deadlock it.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

WAIT_SECONDS = 10.0  # as SQLite's busy_timeout
POLL_SECONDS = 0.001
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC")
FD, HELD = "writer_turns_fd", "writer_turns_held"


def open_turns(dbapi_connection, connection_record) -> None:
    """Open this connection's own descriptor of the lock file (flock is per descriptor)."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    path = dbapi_connection.execute("PRAGMA database_list").fetchone()[2]
    if path:  # not for in-memory or temporary databases
        connection_record.info[FD] = os.open(path + "-writers", os.O_CREAT | os.O_RDWR, 0o600)


def take_turn(info: dict) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            fcntl.flock(info[FD], fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() > deadline:
                return
            time.sleep(POLL_SECONDS)
        else:
            info[HELD] = True
            return


def give_back(info: dict) -> None:
    if info.pop(HELD, False):
        fcntl.flock(info[FD], fcntl.LOCK_UN)


@event.listens_for(Engine, "before_cursor_execute")
def _before_write(conn, cursor, statement, parameters, context, executemany) -> None:
    info = conn.info
    if FD in info and HELD not in info and statement.lstrip()[:6].upper() in WRITES:
        take_turn(info)


# The transaction ends in the driver's commit or rollback, which SQLAlchemy calls after these
# events: end it here first, so the next writer never finds SQLite's lock still taken.
@event.listens_for(Engine, "commit")
def _commit(conn) -> None:
    if HELD in conn.info:
        conn.connection.dbapi_connection.commit()
        give_back(conn.info)


@event.listens_for(Engine, "rollback")
def _rollback(conn) -> None:
    if HELD in conn.info:
        conn.connection.dbapi_connection.rollback()
        give_back(conn.info)


@event.listens_for(Pool, "reset")
def _reset(dbapi_connection, connection_record, reset_state) -> None:
    if HELD in connection_record.info:
        dbapi_connection.rollback()
        give_back(connection_record.info)


@event.listens_for(Pool, "close")
def _close(dbapi_connection, connection_record) -> None:
    give_back(connection_record.info)
    fd = connection_record.info.pop(FD, None)
    if fd is not None:
        os.close(fd)
