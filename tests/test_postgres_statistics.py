"""After a big import PostgreSQL has statistics for the tables it filled, so the next query
is planned from the real sizes, not from an empty table."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from reviewapp.extensions import db
from reviewapp.services.import_export import importer
from tests import factories


def _reltuples(table: str) -> float:
    return db.session.execute(
        text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"), {"t": table}
    ).scalar()


def test_a_big_import_leaves_fresh_statistics(app, monkeypatch):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    monkeypatch.setattr(importer, "ANALYZE_AFTER", 3)
    project = factories.project()
    factories.tasks(
        project,
        [
            {"data": {"text": f"t{i}"}, "annotations": [factories.annotation("a@x.com")]}
            for i in range(5)
        ],
    )
    assert _reltuples("task") == 5
    assert _reltuples("annotation") == 5
