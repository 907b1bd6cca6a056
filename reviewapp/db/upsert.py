"""INSERT ... ON CONFLICT, which SQLAlchemy spells per dialect (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite

from reviewapp.extensions import db


def insert(table):
    """An insert() of the session's dialect, with on_conflict_do_update/do_nothing."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)
