"""Sessions end when they should, log-in guessing is throttled across workers, and the
password rule is the same everywhere (issue 11, point 3)."""

from __future__ import annotations

import pytest
import redis as redis_lib
from flask import g
from werkzeug import security

from reviewapp.extensions import db
from reviewapp.models import LoginFailure
from reviewapp.services import users as users_service
from tests import factories
from tests.conftest import make_app

NEW = "another-good-password"


@pytest.fixture(autouse=True)
def separate_browsers(app):
    """The suite's app context outlives requests, so flask-login's cached user in g would be
    shared between test clients; in production every request has its own."""

    @app.teardown_request
    def forget_user(_error):
        g.pop("_login_user", None)


def _login(client, user, password=factories.PASSWORD, remember=False, **environ):
    data = {"email": user.email, "password": password}
    if remember:
        data["remember"] = "y"
    return client.post("/login", data=data, environ_base=environ)


def _second_browser(app, user, remember=False):
    other = app.test_client()
    assert _login(other, user, remember=remember).status_code == 302
    assert other.get("/").status_code == 200
    return other


def _only_remember_cookie(app, client):
    """A browser that was closed: the session cookie is gone, the remember-me cookie stays."""
    name = app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    cookie = client.get_cookie(name)
    assert cookie is not None
    fresh = app.test_client()
    fresh.set_cookie(name, cookie.value)
    return fresh


def test_remember_cookie_alone_logs_in(app):
    user = factories.user("annotator")
    browser = _second_browser(app, user, remember=True)
    assert _only_remember_cookie(app, browser).get("/").status_code == 200


def test_changing_ones_password_ends_other_sessions_not_this_one(app, client, auth):
    user = auth.login("annotator")
    other = _second_browser(app, user)
    remembered = _only_remember_cookie(app, _second_browser(app, user, remember=True))
    response = client.post(
        "/account/password",
        data={"current_password": factories.PASSWORD, "new_password": NEW, "confirm": NEW},
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # the browser that changed it stays in
    assert other.get("/").status_code == 302
    assert remembered.get("/").status_code == 302
    assert _login(app.test_client(), user, NEW).status_code == 302


@pytest.mark.parametrize(
    "action, data",
    [
        ("password", {"password": NEW}),
        ("deactivate", {}),
        ("role", {"role": "reviewer"}),
    ],
)
def test_admin_changes_end_every_session_of_the_user(app, client, auth, action, data):
    auth.login("admin")
    user = factories.user("annotator")
    other = _second_browser(app, user)
    remembered = _only_remember_cookie(app, _second_browser(app, user, remember=True))
    response = client.post(f"/admin/users/{user.id}/{action}", data=data)
    assert response.status_code == 302
    assert other.get("/").status_code == 302
    assert remembered.get("/").status_code == 302
    assert client.get("/").status_code == 200  # the admin is still in


def test_setting_the_same_role_keeps_sessions(app, client, auth):
    auth.login("admin")
    user = factories.user("annotator")
    other = _second_browser(app, user)
    client.post(f"/admin/users/{user.id}/role", data={"role": "annotator"})
    assert other.get("/").status_code == 200


def test_admin_resetting_own_password_stays_logged_in(app, client, auth):
    admin = auth.login("admin")
    other = _second_browser(app, admin)
    assert client.post(f"/admin/users/{admin.id}/password", data={"password": NEW}).status_code
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302


def test_a_session_cookie_without_version_is_refused(app, client, auth):
    user = auth.login("annotator")
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
    assert client.get("/").status_code == 302


# -- throttling ---------------------------------------------------------------------------


def _throttled_app(database_url, tmp_path, **overrides):
    settings = {"LOGIN_MAX_FAILURES": 3, "LOGIN_MAX_FAILURES_PER_ADDRESS": 5}
    settings.update(overrides)
    return make_app(database_url, tmp_path, **settings)


def _statuses(client, user, password, count, address="10.0.0.1", **headers):
    return [
        client.post(
            "/login",
            data={"email": user.email, "password": password},
            environ_base={"REMOTE_ADDR": address},
            headers=headers,
        ).status_code
        for _ in range(count)
    ]


def test_failures_are_counted_across_workers(app, database_url, tmp_path):
    """Two app instances on one database stand for two gunicorn workers (or hosts)."""
    user = factories.user("annotator")
    worker_a = _throttled_app(database_url, tmp_path).test_client()
    worker_b = _throttled_app(database_url, tmp_path).test_client()
    assert _statuses(worker_a, user, "wrong-password", 2) == [401, 401]
    assert _statuses(worker_b, user, "wrong-password", 2) == [401, 429]
    # Refused before the password is looked at: even the right one waits out the window.
    assert _statuses(worker_a, user, factories.PASSWORD, 1) == [429]
    assert "Too many failed log-ins" in worker_a.post(
        "/login",
        data={"email": user.email, "password": "x"},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    ).get_data(as_text=True)


def test_the_owner_logs_in_from_another_address(app, database_url, tmp_path):
    user = factories.user("annotator")
    client = _throttled_app(database_url, tmp_path).test_client()
    assert _statuses(client, user, "wrong-password", 4, "10.0.0.1")[-1] == 429
    assert _statuses(client, user, factories.PASSWORD, 1, "10.0.0.2") == [302]


def test_one_address_guessing_many_accounts_is_slowed(app, database_url, tmp_path):
    client = _throttled_app(database_url, tmp_path).test_client()
    victims = [factories.user("annotator") for _ in range(3)]
    statuses = [s for v in victims for s in _statuses(client, v, "wrong-password", 2)]
    assert statuses == [401, 401, 401, 401, 401, 429]


def test_a_correct_password_forgets_the_failures(app, database_url, tmp_path):
    user = factories.user("annotator")
    client = _throttled_app(database_url, tmp_path).test_client()
    assert _statuses(client, user, "wrong-password", 2) == [401, 401]
    assert _statuses(client, user, factories.PASSWORD, 1) == [302]
    client.post("/logout")
    assert _statuses(client, user, "wrong-password", 2) == [401, 401]
    assert db.session.query(LoginFailure).count() == 2


def test_forwarded_for_is_ignored_unless_proxies_are_trusted(app, database_url, tmp_path):
    user = factories.user("annotator")
    direct = _throttled_app(database_url, tmp_path).test_client()
    # Without PROXY_FIX a forged X-Forwarded-For does not give the attacker fresh addresses.
    forged = [
        _statuses(
            direct, user, "wrong-password", 1, "10.0.0.9", **{"X-Forwarded-For": f"1.1.1.{i}"}
        )[0]
        for i in range(4)
    ]
    assert forged == [401, 401, 401, 429]


def test_behind_a_trusted_proxy_each_client_counts_alone(app, database_url, tmp_path):
    user = factories.user("annotator")
    client = _throttled_app(database_url, tmp_path, PROXY_FIX=1).test_client()
    proxy = "10.0.0.254"
    attacker = _statuses(client, user, "wrong-password", 4, proxy, **{"X-Forwarded-For": "6.6.6.6"})
    assert attacker[-1] == 429
    owner = _statuses(client, user, factories.PASSWORD, 1, proxy, **{"X-Forwarded-For": "7.7.7.7"})
    assert owner == [302]


def _redis_or_skip():
    client = redis_lib.Redis.from_url("redis://127.0.0.1:6379/15")
    try:
        client.ping()
    except redis_lib.ConnectionError:
        if __import__("os").environ.get("CI"):
            raise
        pytest.skip("no Redis on 127.0.0.1:6379")
    client.flushdb()
    return client


def test_failures_are_counted_in_redis_when_configured(app, database_url, tmp_path):
    store = _redis_or_skip()
    user = factories.user("annotator")
    url = "redis://127.0.0.1:6379/15"
    worker_a = _throttled_app(database_url, tmp_path, REDIS_URL=url).test_client()
    worker_b = _throttled_app(database_url, tmp_path, REDIS_URL=url).test_client()
    assert _statuses(worker_a, user, "wrong-password", 2) == [401, 401]
    assert _statuses(worker_b, user, "wrong-password", 2) == [401, 429]
    assert db.session.query(LoginFailure).count() == 0
    assert 0 < store.ttl(f"reviewapp:login-failures:10.0.0.1:{user.email}") <= 900
    assert _statuses(worker_b, user, factories.PASSWORD, 1, "10.0.0.2") == [302]
    store.flushdb()


# -- timing and the password rule ---------------------------------------------------------


def test_unknown_email_and_inactive_account_check_a_hash_like_a_wrong_password(
    app, client, monkeypatch
):
    """The same work in every failure, so the response time does not tell which emails exist."""
    checks = []
    real = security.check_password_hash

    def counting(hash_, password):
        checks.append(hash_)
        return real(hash_, password)

    monkeypatch.setattr(security, "check_password_hash", counting)
    monkeypatch.setattr(users_service, "check_password_hash", counting)
    monkeypatch.setattr("reviewapp.models.check_password_hash", counting)
    user = factories.user("annotator")
    inactive = factories.user("annotator")
    inactive.active = False
    db.session.commit()
    for email, password in [
        (user.email, "wrong-password"),
        ("ghost@example.com", "wrong-password"),
        (inactive.email, factories.PASSWORD),
    ]:
        checks.clear()
        response = client.post("/login", data={"email": email, "password": password})
        assert response.status_code == 401
        assert len(checks) == 1, email
        assert checks[0].split("$")[0] == user.password_hash.split("$")[0]  # same method


def test_cli_refuses_a_short_password(app):
    result = app.test_cli_runner().invoke(
        args=["create-user", "--email", "a@example.com", "--password", "x", "--role", "reviewer"]
    )
    assert result.exit_code != 0
    assert "at least 8 characters" in result.output
    assert users_service.find_user("a@example.com") is None


def test_admin_reset_refuses_a_short_password(client, auth):
    auth.login("admin")
    user = factories.user("annotator")
    response = client.post(f"/admin/users/{user.id}/password", data={"password": "short"})
    assert response.status_code == 302
    assert "at least 8 characters" in client.get("/admin/users").get_data(as_text=True)
    assert user.check_password(factories.PASSWORD)
