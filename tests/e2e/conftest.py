"""Browser tests: real Chromium (Debian's package) driven by Playwright against a live server.

Locally they skip when no browser is installed; under CI=true a missing browser fails.
"""

from __future__ import annotations

import os
import re
import shutil
import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from reviewapp.extensions import db
from tests.conftest import make_app

CHROMIUM = os.environ.get("REVIEWAPP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing_browser_reason() -> str | None:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install playwright)"
    return None


@pytest.fixture(scope="session")
def browser():
    reason = _missing_browser_reason()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Browser tests cannot run in CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class LiveServer:
    def __init__(self, app):
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self._server.shutdown()


def _serve(tmp_path, **settings):
    app = make_app(f"sqlite:///{tmp_path}/e2e.db", tmp_path, WTF_CSRF_ENABLED=True, **settings)
    with app.app_context():
        db.create_all()
    server = LiveServer(app)
    server.start()
    yield server
    server.stop()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def live_server(tmp_path):
    """The app with real CSRF on a fresh SQLite file, served on a free port."""
    yield from _serve(tmp_path)


@pytest.fixture
def queued_server(tmp_path):
    """live_server as production runs it: jobs go to a queue file (JOBS_PATH) that a worker
    process reads (`flask --app app worker`, started by the test), and forms wait for none
    (JOBS_WAIT=0, JOBS_BULK_WAIT=0). The instance folder is tmp_path/instance, the database
    tmp_path/e2e.db."""
    yield from _serve(
        tmp_path,
        JOBS_IMMEDIATE=False,
        JOBS_PATH=str(tmp_path / "jobs.db"),
        JOBS_WAIT=0,
        JOBS_BULK_WAIT=0,
    )


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def log_in(page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")


def add_filter(page, field: str):
    """Add a row to the Data Manager's filter builder and pick its field; returns the row
    once the server has drawn it again with that field's operator and value."""
    rows = page.locator("#filter-rows .filter-row")
    n = rows.count()
    page.get_by_role("button", name="+ Add filter").click()
    expect(rows).to_have_count(n + 1)
    row = rows.nth(n)
    row.get_by_label(f"Filter {n + 1}: field").select_option(label=field)
    expect(row.locator(f'input[name="row-{n}-was"]')).to_have_value(re.compile(".+"))
    return row


def pick_people(page, picker: str, *names: str) -> None:
    """Tick people in a bulk-bar people picker (reviewers, annotators), searching for each."""
    box = page.locator(f'[data-people-picker="{picker}"]')
    if box.get_attribute("open") is None:
        box.locator("summary").click()
    for name in names:
        box.locator("[data-people-search]").fill(name)
        box.locator("label:not([hidden])", has_text=name).locator("input").check()
    box.locator("summary").click()  # closed again
