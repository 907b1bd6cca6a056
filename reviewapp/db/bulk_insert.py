"""Bulk inserts that skip SQLAlchemy's per-row processing where it costs more than the
insert itself (imports and stored scores)."""

from __future__ import annotations

import json
from operator import itemgetter

from sqlalchemy import JSON, DateTime, Table, func, select, text

from reviewapp.extensions import db


def insert_plain_rows(table: Table, rows: list[dict]) -> None:
    """Bulk-insert rows of plain values (ints, floats, strings, None, times), all rows having
    the keys of the first: the driver's executemany on SQLite, COPY on PostgreSQL.

    For such columns SQLAlchemy's per-row parameter processing adds nothing but costs
    several times the insert itself (about 2 s per 300,000 score rows on SQLite).
    """
    if not rows:
        return
    connection = db.session.connection()
    columns = list(rows[0])
    values = itemgetter(*columns) if len(columns) > 1 else lambda row: (row[columns[0]],)
    if connection.dialect.name == "postgresql":
        _copy(connection, table, columns, map(values, rows))
        return
    quote = connection.dialect.identifier_preparer.quote
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    connection.exec_driver_sql(sql, [values(row) for row in rows])


def _copy(connection, table: Table, columns: list[str], tuples) -> None:
    """PostgreSQL's COPY FROM STDIN in the session's transaction: one stream instead of a
    statement per row (an INSERT per row made a 100,000-task import take over 2 minutes)."""
    quote = connection.dialect.identifier_preparer.quote
    raw = connection.connection.driver_connection
    sql = f"COPY {quote(table.name)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    with raw.cursor() as cursor, cursor.copy(sql) as copy:
        for row in tuples:
            copy.write_row(row)


def insert_returning_ids(model, rows: list[dict]) -> list[int]:
    """Bulk-insert rows and return their new ids in row order.

    The ids are chosen here and the rows go in with their ids: on SQLite from max(id) + 1
    (the import holds the write lock, see store.lock_for_import), on PostgreSQL from the
    table's sequence (nextval is safe beside other writers). JSON and, on SQLite, times are
    encoded here: SQLAlchemy's per-row parameter processing would cost more than the insert.
    """
    if not rows:
        return []
    table = model.__table__
    postgres = db.session.get_bind().dialect.name == "postgresql"
    if postgres:
        ids = list(
            db.session.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                    "FROM generate_series(1, :n)"
                ),
                {"table": table.name, "n": len(rows)},
            )
        )
    else:
        start = (db.session.scalar(select(func.max(table.c.id))) or 0) + 1
        ids = list(range(start, start + len(rows)))
    json_columns = [c.name for c in table.columns if isinstance(c.type, JSON)]
    time_columns = (
        [] if postgres else [c.name for c in table.columns if isinstance(c.type, DateTime)]
    )
    # The models' Python-side defaults, which a raw INSERT would not apply.
    defaults = {
        c.name: c.default.arg(None) if c.default.is_callable else c.default.arg
        for c in table.columns
        if c.default is not None and c.name not in rows[0]
    }
    encoded = []
    for row_id, row in zip(ids, rows, strict=True):
        row = {**defaults, **row, "id": row_id}
        for name in json_columns:
            if name in row:
                row[name] = json.dumps(row[name])
        for name in time_columns:
            if row.get(name) is not None:
                # SQLAlchemy's SQLite format, "YYYY-MM-DD HH:MM:SS.ffffff" (isoformat is
                # several times faster than strftime here).
                row[name] = row[name].isoformat(" ", "microseconds")
        encoded.append(row)
    insert_plain_rows(table, encoded)
    return ids
