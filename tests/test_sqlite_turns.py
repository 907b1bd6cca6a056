"""Writers to a SQLite file take turns through its "-writers" lock file (db.sqlite_turns)."""

import fcntl
import os

import pytest
from sqlalchemy import update

from reviewapp.db import sqlite_turns
from reviewapp.extensions import db
from reviewapp.models import User
from tests import factories


@pytest.fixture
def lock_file(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("turns are for SQLite's single writer")
    fd = os.open(db.engine.url.database + "-writers", os.O_CREAT | os.O_RDWR)
    yield fd
    os.close(fd)


def is_taken(fd) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(fd, fcntl.LOCK_UN)
    return False


def rename(user, name):
    db.session.execute(update(User).where(User.id == user.id).values(name=name))


def test_a_write_holds_the_turn_until_commit_or_rollback(lock_file):
    user = factories.user()
    db.session.get(User, user.id)  # a read takes no turn
    assert not is_taken(lock_file)
    rename(user, "a")
    assert is_taken(lock_file)
    db.session.commit()
    assert not is_taken(lock_file)
    rename(user, "b")
    assert is_taken(lock_file)
    db.session.rollback()
    assert not is_taken(lock_file)
    assert db.session.get(User, user.id).name == "a"


def test_a_writer_goes_on_when_the_turn_is_not_given_back(lock_file, monkeypatch):
    user = factories.user()
    monkeypatch.setattr(sqlite_turns, "WAIT_SECONDS", 0.0)  # give up at once
    fcntl.flock(lock_file, fcntl.LOCK_EX)  # a holder that never ends its turn
    try:
        rename(user, "c")
        assert sqlite_turns.HELD not in db.session.connection().info  # went on without it
        db.session.commit()
    finally:
        fcntl.flock(lock_file, fcntl.LOCK_UN)
    assert db.session.get(User, user.id).name == "c"
