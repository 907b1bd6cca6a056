"""reviewapp.security: the headers on every response, the cookie flags, and pages that need no
inline script (so the Content-Security-Policy can forbid it)."""

from html.parser import HTMLParser

import pytest
from flask import Response
from sqlalchemy import select

from reviewapp.extensions import db
from reviewapp.models import Task
from tests import factories
from tests.conftest import make_app

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
}
DIRECTIVES = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:", "http:", "https:"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'self'"],
}


def policy(response) -> dict[str, list[str]]:
    directives = {}
    for part in response.headers["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def assert_secure_headers(response) -> None:
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, (name, response.headers)
    assert policy(response) == DIRECTIVES


@pytest.fixture
def project(app):
    manager = factories.user("manager")
    project = factories.project(members=(manager,))
    factories.text_tasks(project, "one")
    return project, manager


def test_a_page_a_fragment_and_an_error_carry_the_headers(client, auth, project, htmx):
    project, manager = project
    auth.login(manager)
    page = client.get("/")
    fragment = client.get(f"/projects/{project.id}/tasks?ordering=-id", headers=htmx)
    missing = client.get("/no-such-page")
    htmx_missing = client.get("/projects/999999/tasks", headers=htmx)
    assert (page.status_code, fragment.status_code) == (200, 200)
    assert "<html" not in fragment.get_data(as_text=True)
    assert (missing.status_code, htmx_missing.status_code) == (404, 404)
    for response in (page, fragment, missing, htmx_missing):
        assert_secure_headers(response)


def test_the_login_page_and_a_redirect_carry_the_headers(client):
    for response in (client.get("/login"), client.get("/")):
        assert_secure_headers(response)
    assert client.get("/").status_code == 302


def test_api_answers_and_static_files_carry_the_headers(client, project):
    project, manager = project
    token = {"Authorization": f"Token {factories.token(manager)}"}
    answer = client.get(f"/api/projects/{project.id}", headers=token)
    refused = client.get(f"/api/projects/{project.id}")
    static = client.get("/static/app.css")
    assert (answer.status_code, refused.status_code, static.status_code) == (200, 401, 200)
    assert answer.is_json and refused.is_json
    for response in (answer, refused, static):
        assert_secure_headers(response)
    static.close()


def test_scripts_come_only_from_this_site(client):
    sources = policy(client.get("/login"))["script-src"]
    assert sources == ["'self'"]
    assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources


def test_a_header_a_view_set_itself_is_kept(database_url, tmp_path, app):
    own = make_app(database_url, tmp_path)

    @own.get("/framed")
    def framed():
        return Response("ok", headers={"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"})

    response = own.test_client().get("/framed")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert policy(response) == DIRECTIVES


def cookies(response) -> dict[str, str]:
    """Set-Cookie headers by cookie name."""
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


def log_in(client, user, **extra):
    response = client.post(
        "/login", data={"email": user.email, "password": factories.PASSWORD, **extra}
    )
    assert response.status_code == 302
    return cookies(response)


def test_session_and_remember_cookies_are_http_only_and_same_site_lax(client, app):
    set_cookies = log_in(client, factories.user("reviewer"), remember="y")
    assert {"session", "remember_token"} <= set(set_cookies)
    for name in ("session", "remember_token"):
        attributes = [part.strip().lower() for part in set_cookies[name].split(";")]
        assert "httponly" in attributes, set_cookies[name]
        assert "samesite=lax" in attributes, set_cookies[name]
        assert "secure" not in attributes, set_cookies[name]


def test_https_setting_makes_the_cookies_secure(database_url, tmp_path, app, monkeypatch):
    monkeypatch.setenv("REVIEWAPP_HTTPS", "1")
    secure = make_app(database_url, tmp_path)
    assert secure.config["HTTPS"] == 1
    with secure.app_context():
        user = factories.user("reviewer")
        set_cookies = log_in(secure.test_client(), user, remember="y")
        db.session.remove()
    for name in ("session", "remember_token"):
        attributes = [part.strip().lower() for part in set_cookies[name].split(";")]
        assert {"secure", "httponly", "samesite=lax"} <= set(attributes), set_cookies[name]


class InlineCode(HTMLParser):
    """Collects script elements with a body of code, and event-handler attributes."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._script: str | None = None

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        for name, value in attrs:
            if name.startswith("on") or name.startswith("hx-on") or name.startswith("data-hx-on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if value and value.strip().lower().startswith(("javascript:", "js:")):
                self.found.append(f"<{tag} {name}={value!r}>")
        if tag == "script":
            inline = "src" not in names and names.get("type") != "application/json"
            self._script = "" if inline else None

    def handle_data(self, data):
        if self._script is not None:
            self._script += data

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            if self._script.strip():
                self.found.append(f"<script>{self._script.strip()[:80]}</script>")
            self._script = None


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    parser.close()
    return parser.found


def test_the_parser_finds_inline_code():
    html = (
        '<script>alert(1)</script><script src="/a.js"></script>'
        '<script type="application/json">{"a": 1}</script>'
        '<a hx-on:click="x()">a</a><button onclick="y()">b</button><a href="javascript:z()">c</a>'
    )
    assert len(inline_code(html)) == 4


def test_pages_hold_no_inline_script_or_event_handler(client, auth, app):
    admin = auth.login("admin")
    annotator = factories.user("annotator")
    project = factories.project("ner", members=(admin, annotator))
    factories.tasks(
        project,
        [
            {
                "data": {"text": "Ada Lovelace lived in London."},
                "annotations": [{"completed_by": annotator.email, "result": []}],
            },
            {"data": {"text": "Charles Babbage built engines."}},
        ],
    )
    boxes = factories.project("image", members=(admin,))
    factories.tasks(boxes, [{"data": {"image": "/media/cat.png"}}])
    task_id = project_task_id(project)
    pages = [
        "/",
        f"/projects/{project.id}",
        f"/projects/{project.id}/tasks",
        f"/projects/{project.id}/tasks/{task_id}",
        f"/projects/{project.id}/label",
        f"/projects/{boxes.id}/label",
        f"/projects/{project.id}/review",
        f"/projects/{project.id}/dashboard",
        f"/projects/{project.id}/settings",
        f"/projects/{project.id}/import",
        f"/projects/{project.id}/export",
        f"/projects/{project.id}/members",
        "/projects/new",
        "/admin/users",
        "/account/password",
        "/no-such-page",
    ]
    checked = 0
    for url in pages:
        response = client.get(url)
        assert response.status_code in (200, 404), (url, response.status_code)
        html = response.get_data(as_text=True)
        assert inline_code(html) == [], url
        checked += "<script" in html
    assert checked >= 5  # the pages with the editor and the Data Manager load their scripts
    auth.logout()
    login = client.get("/login")
    assert login.status_code == 200 and inline_code(login.get_data(as_text=True)) == []


def test_the_bulk_confirmation_has_no_inline_handler(client, auth, project):
    project, manager = project
    auth.login(manager)
    task_id = project_task_id(project)
    response = client.post(
        f"/projects/{project.id}/tasks/bulk",
        data={"action": "delete_tasks", "ids": [task_id]},
        headers={"HX-Request": "true"},
    )
    html = response.get_data(as_text=True)
    assert "Cancel" in html and 'data-clear="#bulk-confirm"' in html, html
    assert inline_code(html) == []


def test_htmx_is_configured_without_eval_or_injected_styles(client):
    html = client.get("/login").get_data(as_text=True)
    assert '"includeIndicatorStyles": false' in html
    assert '"allowEval": false' in html


def project_task_id(project) -> int:
    return db.session.scalar(select(Task.id).where(Task.project_id == project.id).order_by(Task.id))
