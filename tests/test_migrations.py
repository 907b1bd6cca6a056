"""Migrations on a real SQLite file that holds data: an upgrade keeps every row.

SQLite changes some columns only by rebuilding the table, and a rebuild drops the old table;
with foreign keys on, that DROP deletes through every ON DELETE CASCADE first. These tests
fill the database at an older revision and upgrade it as `flask db upgrade` does.
"""

from __future__ import annotations

import sqlite3

from flask_migrate import downgrade, upgrade

from tests.conftest import make_app

OLD = "0009_pg_trgm"


def _insert(connection, table: str, **values) -> None:
    """A row with the given values, and a plain value in every other required column of the
    table as it is at this revision."""
    for _, name, kind, notnull, default, pk in connection.execute(f"PRAGMA table_info({table})"):
        if notnull and default is None and not pk and name not in values:
            kind = kind.upper()
            numeric = any(word in kind for word in ("INT", "BOOL", "FLOAT", "NUMERIC", "REAL"))
            values[name] = 0 if numeric else "2026-01-01" if "DATE" in kind else "x"
    names = ", ".join(f'"{name}"' for name in values)
    marks = ", ".join("?" for _ in values)
    connection.execute(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', list(values.values()))


def _fill_at_0009(path) -> None:
    connection = sqlite3.connect(path)
    _insert(connection, "user", id=1, email="m@example.com", role="manager", active=1)
    _insert(connection, "user", id=2, email="a@example.com", role="annotator", active=1)
    for project_id, mode in ((1, "requeue"), (2, "remove")):
        _insert(
            connection,
            "project",
            id=project_id,
            label_config="<View/>",
            reject_mode=mode,
            overlap=1,
        )
    _insert(connection, "task", id=1, project_id=1, data="{}", annotation_count=1, pending_count=1)
    _insert(connection, "task", id=2, project_id=2, data="{}", annotation_count=0, pending_count=0)
    _insert(
        connection,
        "annotation",
        id=1,
        task_id=1,
        project_id=1,
        completed_by_id=2,
        result="[]",
        review_status="pending",
    )
    _insert(connection, "review", id=1, annotation_id=1, project_id=1, reviewer_id=1, verdict="x")
    connection.commit()
    connection.close()


def test_upgrade_from_0009_keeps_every_row_and_maps_reject_mode(tmp_path):
    path = tmp_path / "old.db"
    app = make_app(f"sqlite:///{path}", tmp_path)
    with app.app_context():
        upgrade(revision=OLD)
        _fill_at_0009(path)
        upgrade()
        downgrade(revision=OLD)
        upgrade()
    connection = sqlite3.connect(path)
    assert connection.execute("SELECT count(*) FROM task").fetchone() == (2,)
    assert connection.execute("SELECT count(*) FROM annotation").fetchone() == (1,)
    assert connection.execute("SELECT count(*) FROM review").fetchone() == (1,)
    projects = connection.execute(
        "SELECT id, reject_actions, default_reject_action FROM project ORDER BY id"
    ).fetchall()
    assert projects == [(1, '["return"]', "return"), (2, '["remove"]', "remove")]
    states = connection.execute("SELECT id, state FROM task ORDER BY id").fetchall()
    # Project defaults: overlap 1, so task 1 waits for review and task 2 for its annotation.
    assert states == [(1, "needs_review"), (2, "annotating")]
    history = connection.execute(
        "SELECT task_id, from_state, to_state, reason FROM task_state_change ORDER BY task_id"
    ).fetchall()
    assert history == [(1, None, "needs_review", "created"), (2, None, "annotating", "created")]
    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
