from sqlalchemy import select

from reviewapp.extensions import db
from reviewapp.models import User
from tests import factories


def test_admin_sees_users(client, auth):
    admin = auth.login("admin")
    other = factories.user("reviewer")
    body = client.get("/admin/users").get_data(as_text=True)
    assert admin.email in body and other.email in body


def test_admin_creates_user_with_role(client, auth):
    auth.login("admin")
    response = client.post(
        "/admin/users",
        data={
            "email": "New@Example.com",
            "name": "Nia",
            "role": "reviewer",
            "password": "long-enough",
        },
    )
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "new@example.com"))
    assert user.role == "reviewer" and user.active and user.check_password("long-enough")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Created reviewer new@example.com." in page


def test_create_user_refuses_duplicate_short_password_and_bad_role(client, auth):
    auth.login("admin")
    existing = factories.user("annotator")
    duplicate = client.post(
        "/admin/users",
        data={"email": existing.email, "role": "annotator", "password": "long-enough"},
    )
    assert duplicate.status_code == 422
    assert "already exists" in duplicate.get_data(as_text=True)
    short = client.post(
        "/admin/users", data={"email": "s@example.com", "role": "annotator", "password": "short"}
    )
    assert short.status_code == 422
    assert "at least 8 characters" in short.get_data(as_text=True)
    forged_role = client.post(
        "/admin/users", data={"email": "r@example.com", "role": "owner", "password": "long-enough"}
    )
    assert forged_role.status_code == 422
    assert (
        db.session.scalar(select(User).where(User.email.in_(["s@example.com", "r@example.com"])))
        is None
    )


def test_change_role(client, auth):
    auth.login("admin")
    user = factories.user("annotator")
    response = client.post(f"/admin/users/{user.id}/role", data={"role": "manager"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.role == "manager"


def test_admin_cannot_demote_or_deactivate_themselves(client, auth):
    admin = auth.login("admin")
    client.post(f"/admin/users/{admin.id}/role", data={"role": "annotator"})
    client.post(f"/admin/users/{admin.id}/deactivate")
    db.session.refresh(admin)
    assert admin.role == "admin" and admin.active
    assert "cannot" in client.get("/admin/users").get_data(as_text=True)


def test_deactivate_and_reactivate(client, auth):
    auth.login("admin")
    user = factories.user("annotator")
    client.post(f"/admin/users/{user.id}/deactivate")
    db.session.refresh(user)
    assert not user.active
    client.post(f"/admin/users/{user.id}/activate")
    db.session.refresh(user)
    assert user.active


def test_reset_password(client, auth):
    auth.login("admin")
    user = factories.user("annotator")
    client.post(f"/admin/users/{user.id}/password", data={"password": "brand-new-pass"})
    db.session.refresh(user)
    assert user.check_password("brand-new-pass")
    client.post(f"/admin/users/{user.id}/password", data={"password": "tiny"})
    db.session.refresh(user)
    assert user.check_password("brand-new-pass")


def test_unknown_user_is_404(client, auth):
    auth.login("admin")
    assert client.post("/admin/users/9999/role", data={"role": "manager"}).status_code == 404


def test_only_admins_reach_admin_pages(client, auth):
    target = factories.user("annotator")
    for role in ("manager", "reviewer", "annotator"):
        auth.login(role)
        assert client.get("/admin/users").status_code == 403
        assert (
            client.post(f"/admin/users/{target.id}/role", data={"role": "admin"}).status_code == 403
        )
        assert client.post(f"/admin/users/{target.id}/deactivate").status_code == 403
        assert (
            client.post(
                "/admin/users",
                data={"email": "x@example.com", "role": "admin", "password": "long-enough"},
            ).status_code
            == 403
        )
        auth.logout()
    db.session.refresh(target)
    assert target.role == "annotator" and target.active


def test_nav_shows_users_only_to_admin(client, auth):
    auth.login("admin")
    assert b'href="/admin/users"' in client.get("/").data
    auth.logout()
    auth.login("manager")
    assert b'href="/admin/users"' not in client.get("/").data
