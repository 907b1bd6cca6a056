"""Import tasks in Label Studio's JSON format (or CSV) in one all-or-nothing transaction:
read (a stream of raw items), parse (validate against the label config), store (bulk
inserts in chunks)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import IO

from sqlalchemy import text

from reviewapp.db import CHUNK, text_search
from reviewapp.extensions import db
from reviewapp.labeling import parse_label_config
from reviewapp.models import Project
from reviewapp.services.import_export.parse import TaskParser
from reviewapp.services.import_export.read import read_tasks
from reviewapp.services.import_export.store import TaskStore, end_import, lock_for_import
from reviewapp.services.import_export.summary import MAX_PROBLEMS, ImportFailed, ImportSummary
from reviewapp.services.webhooks import emit

__all__ = ["ImportFailed", "ImportSummary", "import_file", "import_tasks", "read_tasks"]


def import_file(
    project: Project,
    stream: IO[bytes],
    filename: str = "",
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    return import_tasks(project, read_tasks(stream, filename), progress)


def import_tasks(
    project: Project,
    items: Iterable[object],
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Validate and store every task, or nothing: raises ImportFailed after a rollback.
    Flushes; the caller commits.

    Annotations keep their annotator (completed_by: email, {"email": ...} or a bare id);
    unknown annotators become inactive annotator accounts and project members.
    """
    config = parse_label_config(project.label_config)
    summary = ImportSummary()
    parser = TaskParser(project, config, summary)
    store = TaskStore(project, config, summary, parser.user_emails)
    problems: list[str] = []
    try:
        lock_for_import(project)
        chunk: list[dict] = []
        for index, item in enumerate(items):
            try:
                parsed = parser.parse_task(index, item)
            except ImportFailed as problem:
                # Go on reading, storing nothing more, to list the first problems at once.
                problems.append(str(problem))
                if len(problems) == MAX_PROBLEMS:
                    break
                continue
            if problems:
                continue
            chunk.append(parsed)
            if len(chunk) >= CHUNK:
                store.store(chunk)
                chunk = []
                if progress:
                    progress(index + 1)
        if problems:
            raise ImportFailed(_problems_message(problems, summary))
        if chunk:
            store.store(chunk)
        if summary.task_count == 0:
            raise ImportFailed("The file holds no tasks.")
        parser.finish()
        # One statement for the whole import: FTS5 writes a segment per statement.
        text_search.add_tasks(db.session.connection(), *store.task_ids)
        db.session.flush()
        emit(project.id, "tasks.imported", store.imported_event())
        if summary.task_count >= ANALYZE_AFTER:
            refresh_statistics()
    except BaseException:
        db.session.rollback()
        raise
    finally:
        end_import()
    return summary


# PostgreSQL plans from table statistics, which autovacuum refreshes only later: right after
# a 100,000-task import the review stream's candidate query planned a scan of every
# annotation (26 ms instead of 1 ms) until ANALYZE ran.
ANALYZE_AFTER = 1000
ANALYZED_TABLES = (
    "task",
    "annotation",
    "prediction",
    "task_label",
    "agreement_pair",
    "gt_score",
    "choice_count",
)


def refresh_statistics() -> None:
    """ANALYZE the tables an import fills, on PostgreSQL (in the import's transaction: its
    own new rows count). SQLite's planner needs no statistics for these queries."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text(f"ANALYZE {', '.join(ANALYZED_TABLES)}"))


def _problems_message(problems: list[str], summary: ImportSummary) -> str:
    """One problem as it is; several as a list, the first MAX_PROBLEMS of them."""
    legacy = (
        f"Read {summary.legacy_completions} legacy `completions`; "
        if summary.legacy_completions
        else ""
    )
    if len(problems) == 1:
        return legacy + problems[0]
    more = f" (the first {MAX_PROBLEMS})" if len(problems) == MAX_PROBLEMS else ""
    return f"{legacy}{len(problems)} problems{more}: " + " ".join(problems)
