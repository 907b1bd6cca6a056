import pytest

from reviewapp import create_app
from reviewapp.extensions import db
from tests import factories


def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b'name="email"' in response.data


def test_login_then_projects(client, app):
    user = factories.user("manager")
    response = client.post(
        "/login", data={"email": user.email.upper(), "password": factories.PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert user.email.encode() in client.get("/").data


def test_wrong_password_and_unknown_email_say_the_same(client, app):
    user = factories.user("manager")
    wrong_password = client.post("/login", data={"email": user.email, "password": "nope-nope"})
    unknown_email = client.post(
        "/login", data={"email": "ghost@example.com", "password": factories.PASSWORD}
    )
    assert wrong_password.status_code == unknown_email.status_code == 401
    for response in (wrong_password, unknown_email):
        body = response.get_data(as_text=True)
        assert "Invalid email or password." in body
    assert client.get("/").status_code == 302  # still logged out


def test_deactivated_user_cannot_log_in(client, app):
    user = factories.user("reviewer")
    user.active = False
    db.session.commit()
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    assert response.status_code == 401


def test_deactivation_ends_an_open_session(client, auth, app):
    user = auth.login("reviewer")
    assert client.get("/").status_code == 200
    user.active = False
    db.session.commit()
    assert client.get("/").status_code == 302


def test_next_parameter_only_redirects_inside_the_site(client, app):
    user = factories.user("manager")
    data = {"email": user.email, "password": factories.PASSWORD}
    response = client.post("/login?next=https://evil.example/x", data=data)
    assert response.headers["Location"] == "/"
    client.post("/logout")
    response = client.post("/login?next=/admin/users", data=data)
    assert response.headers["Location"] == "/admin/users"


def test_logout(client, auth):
    auth.login("annotator")
    response = auth.logout()
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_change_own_password(client, auth, app):
    user = auth.login("annotator")
    wrong = client.post(
        "/account/password",
        data={
            "current_password": "wrong-one",
            "new_password": "n3w-password",
            "confirm": "n3w-password",
        },
    )
    assert wrong.status_code == 422
    assert "not your current password" in wrong.get_data(as_text=True)
    mismatch = client.post(
        "/account/password",
        data={
            "current_password": factories.PASSWORD,
            "new_password": "n3w-password",
            "confirm": "x",
        },
    )
    assert mismatch.status_code == 422
    ok = client.post(
        "/account/password",
        data={
            "current_password": factories.PASSWORD,
            "new_password": "n3w-password",
            "confirm": "n3w-password",
        },
    )
    assert ok.status_code == 302
    auth.logout()
    response = client.post("/login", data={"email": user.email, "password": "n3w-password"})
    assert response.status_code == 302


def test_pages_need_login(client, app):
    for url in ("/", "/admin/users", "/projects/new", "/account/password"):
        response = client.get(url)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


def test_htmx_request_when_logged_out_gets_hx_redirect(client, app, htmx):
    response = client.get("/", headers=htmx)
    assert response.headers["HX-Redirect"] == "/login"
    assert response.status_code != 302


def test_an_ended_session_sends_htmx_back_to_the_page_after_logging_in(client, auth, htmx):
    """The htmx request carries the page it came from (HX-Current-URL): log-in's next=."""
    user = auth.login("manager")
    auth.logout()
    page = "http://localhost/projects/3/tasks?ordering=-id&page=2"
    response = client.get("/projects/3/tasks?ordering=id", headers={**htmx, "HX-Current-URL": page})
    assert response.status_code == 204
    assert (
        response.headers["HX-Redirect"] == "/login?next=/projects/3/tasks?ordering%3D-id%26page%3D2"
    )
    login_page = client.get(response.headers["HX-Redirect"])
    assert "Your session ended; log in to continue." in login_page.get_data(as_text=True)
    data = {"email": user.email, "password": factories.PASSWORD}
    logged_in = client.post(response.headers["HX-Redirect"], data=data)
    assert logged_in.headers["Location"] == "/projects/3/tasks?ordering=-id&page=2"


@pytest.mark.parametrize(
    "current",
    [
        "https://evil.example/projects/1/tasks",
        "http://localhost.evil.example/x",
        "//evil.example/x",
        "javascript:alert(1)",
        "http://localhost//evil.example/x",
        "",
    ],
)
def test_an_off_site_current_url_is_not_a_next_target(client, htmx, current):
    response = client.post("/projects/1/review/5", headers={**htmx, "HX-Current-URL": current})
    assert response.headers["HX-Redirect"] == "/login"


def test_a_boosted_link_returns_to_the_page_it_opens(client, htmx):
    headers = {**htmx, "HX-Boosted": "true", "HX-Current-URL": "http://localhost/"}
    response = client.get("/projects/2/dashboard", headers=headers)
    assert response.headers["HX-Redirect"] == "/login?next=/projects/2/dashboard"


def test_a_full_page_load_keeps_next_without_the_session_message(client):
    response = client.get("/projects/2/tasks?page=2")
    assert response.headers["Location"] == "/login?next=/projects/2/tasks?page%3D2"
    assert "Your session ended" not in client.get("/login").get_data(as_text=True)


def test_refuses_default_secret_key_outside_debug(tmp_path, monkeypatch):
    monkeypatch.delenv("REVIEWAPP_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="REVIEWAPP_SECRET_KEY"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
