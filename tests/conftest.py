"""Fixtures in the flaskr style: app on a real database, client, auth and htmx helpers.

The database is a real SQLite file, or the PostgreSQL server named by
REVIEWAPP_TEST_DATABASE_URL, in a schema the suite creates and drops itself.
"""

from __future__ import annotations

import os
import uuid

import pytest
from jinja2 import StrictUndefined
from sqlalchemy import create_engine, event, func, select, text

from reviewapp import create_app, database_uri
from reviewapp.extensions import db
from reviewapp.models import TASK_STATES, Project, Task
from tests import factories

PG_URL = os.environ.get("REVIEWAPP_TEST_DATABASE_URL")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if not PG_URL:
        yield "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db")
        return
    schema = f"test_{uuid.uuid4().hex[:10]}"
    engine = create_engine(database_uri(PG_URL))
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


def make_app(database_url: str, tmp_path, **overrides):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "WTF_CSRF_ENABLED": False,
        "MEDIA_FOLDER": str(tmp_path / "media"),
        "JOBS_IMMEDIATE": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
    }
    config.update(overrides)
    app = create_app(config)
    app.jinja_env.undefined = StrictUndefined
    return app


def project_totals_drift() -> list[str]:
    """Projects whose totals, or counts of tasks per state, differ from their tasks' (the
    task columns keep them equal in every change); checked after every test."""
    sums = {
        project_id: (annotations, pending)
        for project_id, annotations, pending in db.session.execute(
            select(
                Task.project_id, func.sum(Task.annotation_count), func.sum(Task.pending_count)
            ).group_by(Task.project_id)
        )
    }
    states: dict[int, dict[str, int]] = {}
    for project_id, state, n in db.session.execute(
        select(Task.project_id, Task.state, func.count()).group_by(Task.project_id, Task.state)
    ):
        states.setdefault(project_id, {})[state] = n
    found = []
    for p in db.session.scalars(select(Project)):
        if (p.annotation_count, p.pending_count) != sums.get(p.id, (0, 0)):
            found.append(
                f"project {p.id}: totals {(p.annotation_count, p.pending_count)}, tasks sum to "
                f"{sums.get(p.id, (0, 0))}"
            )
        kept = {s: getattr(p, f"{s}_tasks") for s in TASK_STATES}
        counted = {s: states.get(p.id, {}).get(s, 0) for s in TASK_STATES}
        if kept != counted:
            found.append(f"project {p.id}: tasks per state {kept}, the tasks say {counted}")
    return found


def clear_database() -> None:
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture
def app(database_url, tmp_path):
    app = make_app(database_url, tmp_path)
    with app.app_context():
        db.create_all()
        yield app
        db.session.rollback()
        drift = project_totals_drift()
        clear_database()
        db.session.remove()
        db.engine.dispose()
        assert not drift, drift


@pytest.fixture
def queued_app(app, database_url, tmp_path):
    """The app as the web server runs it, beside `app` on the same database: jobs go to a
    queue file that only a worker process reads (none runs unless a test starts one), and
    forms and the API answer at once (JOBS_WAIT=0, JOBS_BULK_WAIT=0)."""
    queued = make_app(
        database_url,
        tmp_path,
        JOBS_IMMEDIATE=False,
        JOBS_PATH=str(tmp_path / "jobs.db"),
        JOBS_WAIT=0,
        JOBS_BULK_WAIT=0,
    )
    with queued.app_context():
        yield queued
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def statements(app):
    """Every SQL statement the app sends while the test runs."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


@pytest.fixture
def client(app):
    return app.test_client()


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, user_or_role="admin", password: str = factories.PASSWORD):
        """Log in as a user, or as a new user of the given role; returns the user."""
        user = factories.user(user_or_role) if isinstance(user_or_role, str) else user_or_role
        response = self._client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


HTMX = {"HX-Request": "true"}


@pytest.fixture
def htmx():
    """Headers of a partial htmx request."""
    return dict(HTMX)
