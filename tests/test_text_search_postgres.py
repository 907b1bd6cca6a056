"""Text search on PostgreSQL: the trigram index (pg_trgm) serves the Data Manager's LIKE."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from reviewapp.db import text_search
from reviewapp.extensions import db
from reviewapp.models import Task
from reviewapp.services.data_manager.query import TableState, _text_like, filtered_tasks
from tests import factories


@pytest.fixture
def postgres(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    return app


def test_create_all_builds_the_trigram_index(postgres):
    assert text_search.pg_trgm_schema(db.session.connection())
    names = db.session.execute(
        text("SELECT indexname FROM pg_indexes WHERE tablename = 'task'")
    ).scalars()
    assert text_search.PG_INDEX in set(names)
    assert text_search.notice_at_start(db.engine) is None


def test_the_text_filter_can_read_the_index_and_finds_the_same_tasks(postgres):
    project = factories.project()
    factories.text_tasks(project, "the warranty ran out", "all fine", "WARRANTY again", "war")
    query = filtered_tasks(project.id, TableState.from_args({"q": "warranty"}))
    found = db.session.scalars(query).all()
    assert len(found) == 2
    # The index serves the very condition the filter uses (on a table this small the
    # planner would rather read the project's rows, so the other ways are switched off).
    condition = select(Task.id).where(_text_like("warranty"))
    compiled = condition.compile(db.engine, compile_kwargs={"literal_binds": True})
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    db.session.execute(text("SET LOCAL enable_indexscan = off"))
    plan = "\n".join(db.session.execute(text(f"EXPLAIN {compiled}")).scalars())
    assert f"Bitmap Index Scan on {text_search.PG_INDEX}" in plan, plan
