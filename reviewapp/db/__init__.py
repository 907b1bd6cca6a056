"""How we talk to each engine: SQLite pragmas and writer turns, bulk inserts, text search."""

# Rows per bulk statement and ids per IN (...) list: well under SQLite's limit of 32,766
# bound parameters, and big enough that statement overhead does not dominate.
CHUNK = 2000


def commit_before_rendering() -> None:
    """Commit, keep what the session loaded as that transaction read it, and run the
    reads that follow in this request without a transaction of their own: after it, the
    request only reads (each statement would commit on its own).

    For a request that renders after its commit what it has just read or written (the
    review stream's next item, its project, the user): without this, each of those rows is
    loaded again, and on PostgreSQL the reads open a transaction only to roll it back
    (BEGIN and ROLLBACK: two more round trips, and a verdict has twenty).
    """
    from reviewapp.extensions import db

    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
