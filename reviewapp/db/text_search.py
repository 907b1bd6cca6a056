"""The Data Manager's text search: "text contained in the task data".

On SQLite, a trigram full-text index (FTS5) over `task.data_text` answers a search of three
characters or more by reading only the matching tasks instead of every row (a scan of
100,000 rows takes ~30 ms). It is an external-content table. Triggers take a task out when it
is deleted (bulk delete, a cascade) or its text changes; new tasks, which only the importer
creates, go in with `add_tasks` a chunk at a time: a per-row insert trigger cost 57 us a
task (FTS5 flushes at every statement's savepoint), 6 s of a 100,000-task import.
On PostgreSQL, a GIN trigram index (the pg_trgm extension) over `task.data_text` serves the
same LIKE the other searches use: the query does not change, the planner picks the index for a
search of three characters or more. Where the extension is not installed and cannot be
created (it needs a role allowed to create extensions), the search stays a LIKE over the
project's tasks, and the app says so once at start-up. Searches shorter than a trigram use
LIKE on both databases.
"""

from __future__ import annotations

import logging

from sqlalchemy import DDL, Integer, Select, column, event, literal_column, select, table, text

log = logging.getLogger(__name__)

TABLE = "task_text"
MIN_LENGTH = 3  # a trigram index cannot answer shorter searches

SQLITE_DDL = (
    f"CREATE VIRTUAL TABLE {TABLE} USING fts5("
    "data_text, content='task', content_rowid='id', tokenize='trigram')",
    f"CREATE TRIGGER {TABLE}_delete AFTER DELETE ON task BEGIN "
    f"INSERT INTO {TABLE}({TABLE}, rowid, data_text) VALUES ('delete', old.id, old.data_text); "
    "END",
    f"CREATE TRIGGER {TABLE}_update AFTER UPDATE OF data_text ON task BEGIN "
    f"INSERT INTO {TABLE}({TABLE}, rowid, data_text) VALUES ('delete', old.id, old.data_text); "
    f"INSERT INTO {TABLE}(rowid, data_text) VALUES (new.id, new.data_text); END",
)

PG_INDEX = "ix_task_data_text_trgm"
# The operator class named with the extension's schema: it may not be on the search path.
PG_INDEX_DDL = f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON task USING gin (data_text {{ops}})"

_index = table(TABLE, column("rowid", Integer))


def install(task_table) -> None:
    """Create the index with the task table (db.create_all)."""
    for statement in SQLITE_DDL:
        event.listen(task_table, "after_create", DDL(statement).execute_if(dialect="sqlite"))
    event.listen(task_table, "after_create", _postgres_index)


def _postgres_index(_target, connection, **_kw) -> None:
    if connection.dialect.name == "postgresql":
        create_postgres_index(connection)


def create_postgres_index(connection) -> bool:
    """The pg_trgm extension (if this role may create it) and the trigram index; False when
    the extension is not available. Used by create_all and by migration 0009."""
    try:
        with connection.begin_nested():
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except Exception:  # noqa: BLE001 - no such extension, or not allowed: LIKE without index
        pass
    schema = pg_trgm_schema(connection)
    if schema is None:
        return False
    ops = f'"{schema}".gin_trgm_ops'
    connection.execute(text(PG_INDEX_DDL.format(ops=ops)))
    return True


def pg_trgm_schema(connection) -> str | None:
    return connection.execute(
        text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'pg_trgm'"
        )
    ).scalar()


def notice_at_start(engine) -> str | None:
    """One line at start-up on PostgreSQL when text search has no trigram index."""
    if engine.dialect.name != "postgresql":
        return None
    try:
        with engine.connect() as connection:
            indexed = connection.execute(
                text("SELECT 1 FROM pg_indexes WHERE indexname = :name"), {"name": PG_INDEX}
            ).scalar()
    except Exception:  # noqa: BLE001 - the database is not reachable yet: say nothing here
        return None
    if indexed:
        return None
    message = (
        "Text search in task data uses LIKE without an index: the pg_trgm extension is not "
        "installed (CREATE EXTENSION pg_trgm as a superuser, then flask db upgrade)."
    )
    log.warning(message)
    return message


def add_tasks(connection, first_id: int, last_id: int) -> None:
    """Index the text of the tasks with ids first_id..last_id (just inserted), on SQLite."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(
            f"INSERT INTO {TABLE}(rowid, data_text) "
            "SELECT id, data_text FROM task WHERE id BETWEEN ? AND ?",
            (first_id, last_id),
        )


def is_own_table(name: str) -> bool:
    """The index's virtual table and FTS5's shadow tables, which the models do not declare."""
    return name == TABLE or name.startswith(TABLE + "_")


def is_own_index(name: str | None) -> bool:
    """PostgreSQL's trigram index, which the models do not declare (it needs pg_trgm)."""
    return name == PG_INDEX


def indexed(dialect: str, needle: str) -> bool:
    return dialect == "sqlite" and len(needle) >= MIN_LENGTH


def matching_ids(needle: str) -> Select:
    """select(task id) of every task (any project) whose text contains needle, from the index."""
    phrase = '"' + needle.replace('"', '""') + '"'
    return select(_index.c.rowid).where(literal_column(TABLE).op("MATCH")(phrase))


def like_pattern(needle: str) -> str:
    """A LIKE pattern (escape character backslash) for text containing needle."""
    return "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
