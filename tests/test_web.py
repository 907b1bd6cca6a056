"""Cross-cutting web behaviour: CSRF, htmx fragments and headers, error pages."""

from sqlalchemy import select

from reviewapp.extensions import db
from reviewapp.models import User
from tests import factories
from tests.conftest import make_app


def test_forged_post_without_csrf_token_is_refused(database_url, tmp_path, app):
    secure = make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    client = secure.test_client()
    with secure.app_context():
        admin = factories.user("admin")
        login_page = client.get("/login").get_data(as_text=True)
        token = login_page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        response = client.post(
            "/login",
            data={"email": admin.email, "password": factories.PASSWORD, "csrf_token": token},
        )
        assert response.status_code == 302
        forged = client.post(
            "/admin/users",
            data={"email": "evil@example.com", "role": "admin", "password": "long-enough"},
        )
        assert forged.status_code == 400
        assert "CSRF" in forged.get_data(as_text=True)
        assert db.session.scalar(select(User).where(User.email == "evil@example.com")) is None
        # The same request with the token from the page's hx-headers goes through.
        page = client.get("/admin/users").get_data(as_text=True)
        header_token = page.split('"X-CSRFToken": "')[1].split('"')[0]
        ok = client.post(
            "/admin/users",
            data={"email": "ok@example.com", "role": "annotator", "password": "long-enough"},
            headers={"X-CSRFToken": header_token},
        )
        assert ok.status_code == 302


def test_html_responses_vary_on_hx_request(client, auth):
    auth.login("manager")
    assert "HX-Request" in client.get("/").headers["Vary"]


def test_body_boosts_links_and_sends_csrf_header(client, auth):
    auth.login("manager")
    body = client.get("/").get_data(as_text=True)
    assert 'hx-boost="true"' in body and "X-CSRFToken" in body
    assert "htmx-2.0.11.min.js" in body


def test_errors_render_a_page_or_a_flash_fragment(client, auth, htmx):
    auth.login("manager")
    page = client.get("/projects/12345")
    assert page.status_code == 404 and "<html" in page.get_data(as_text=True)
    fragment = client.get("/projects/12345", headers=htmx)
    assert fragment.status_code == 404
    assert fragment.headers["HX-Retarget"] == "#flash"
    assert "<html" not in fragment.get_data(as_text=True)
    assert 'class="flash error"' in fragment.get_data(as_text=True)


def test_boosted_request_gets_the_full_page(client, auth):
    auth.login("manager")
    response = client.get("/", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in response.get_data(as_text=True)


def test_unexpected_error_is_500_and_rolls_back(database_url, tmp_path, app):
    broken = make_app(database_url, tmp_path)

    @broken.get("/boom")
    def boom():
        db.session.add(User(email="half@example.com", role="annotator"))
        db.session.flush()
        raise RuntimeError("boom")

    with broken.app_context():
        response = broken.test_client().get("/boom")
        assert response.status_code == 500
        assert "nothing was saved" in response.get_data(as_text=True)
        assert db.session.scalar(select(User).where(User.email == "half@example.com")) is None


def test_pages_link_the_svg_favicon(client):
    html = client.get("/login").get_data(as_text=True)
    assert '<link rel="icon" type="image/svg+xml" href="/static/favicon.svg">' in html
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert icon.get_data(as_text=True).startswith("<svg")
