"""The Data Manager's text search: "text contained in the task data".

On SQLite, a trigram full-text index (FTS5) over `task.data_text` answers a search of three
characters or more by reading only the matching tasks instead of every row (a scan of
100,000 rows takes ~30 ms). It is an external-content table. Triggers take a task out when it
is deleted (bulk delete, a cascade) or its text changes; new tasks, which only the importer
creates, go in with `add_tasks` a chunk at a time: a per-row insert trigger cost 57 us a
task (FTS5 flushes at every statement's savepoint), 6 s of a 100,000-task import.
PostgreSQL, and searches shorter than a trigram, use LIKE on `task.data_text`.
"""

from __future__ import annotations

from sqlalchemy import DDL, Integer, Select, column, event, literal_column, select, table

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

_index = table(TABLE, column("rowid", Integer))


def install(task_table) -> None:
    """Create the index with the task table (db.create_all), on SQLite only."""
    for statement in SQLITE_DDL:
        event.listen(task_table, "after_create", DDL(statement).execute_if(dialect="sqlite"))


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


def indexed(dialect: str, needle: str) -> bool:
    return dialect == "sqlite" and len(needle) >= MIN_LENGTH


def matching_ids(needle: str) -> Select:
    """select(task id) of every task (any project) whose text contains needle, from the index."""
    phrase = '"' + needle.replace('"', '""') + '"'
    return select(_index.c.rowid).where(literal_column(TABLE).op("MATCH")(phrase))


def like_pattern(needle: str) -> str:
    """A LIKE pattern (escape character backslash) for text containing needle."""
    return "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
