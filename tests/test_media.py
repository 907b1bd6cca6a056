"""/media/...: a file goes only to admins and members of a project whose task data uses it."""

import os

import pytest

from tests import factories

FILES = ("cat.png", "cat.png.bak", "dog.png", "Cat.png", "a b.png", "orphan.png")


@pytest.fixture
def media(app):
    folder = app.config["MEDIA_FOLDER"]
    os.makedirs(os.path.join(folder, "demo"), exist_ok=True)
    for name in (*FILES, "demo/shapes-1.png"):
        with open(os.path.join(folder, name), "wb") as f:
            f.write(b"\x89PNG " + name.encode())
    with open(os.path.join(os.path.dirname(folder), "secret.txt"), "w") as f:
        f.write("not media")
    member = factories.user("annotator")
    other = factories.user("reviewer")
    cats = factories.project("image", members=(member,), title="Cats")
    factories.tasks(
        cats,
        [
            {"data": {"image": "/media/cat.png"}},
            {"data": {"image": "/media/demo/shapes-1.png", "meta": {"note": "a b"}}},
            {"data": {"image": "/media/a%20b.png"}},
        ],
    )
    dogs = factories.project("image", members=(other,), title="Dogs")
    # Prefixes, a longer value and a value spanning lines, but never /media/dog.png itself.
    factories.tasks(
        dogs,
        [
            {"data": {"image": "/media/dog.png.bak"}},
            {"data": {"image": "/media/cat.png.bak"}},
            {"data": {"image": "x/media/dog.png"}},
            {"data": {"image": "see\n/media/dog.png"}},
            {"data": {"image": "/media/cat.png?v=2"}},
        ],
    )
    return member, other


def fetch(client, auth, user, path):
    auth.login(user)
    response = client.get(path)
    auth.logout()
    response.close()
    return response


def test_an_admin_gets_any_file(client, auth, media):
    admin = factories.user("admin")
    for name in FILES:
        response = fetch(client, auth, admin, "/media/" + name)
        assert response.status_code == 200, name


def test_a_member_of_a_project_using_the_file_gets_it(client, auth, media):
    member, _ = media
    auth.login(member)
    for path in ("/media/cat.png", "/media/demo/shapes-1.png", "/media/a%20b.png"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "private" in response.headers["Cache-Control"]
        response.close()
    assert client.get("/media/cat.png").data == b"\x89PNG cat.png"


def test_a_member_of_another_project_gets_404(client, auth, media):
    member, other = media
    assert fetch(client, auth, other, "/media/cat.png").status_code == 404
    assert fetch(client, auth, factories.user("manager"), "/media/cat.png").status_code == 404
    assert fetch(client, auth, member, "/media/dog.png").status_code == 404


def test_only_the_whole_url_counts(client, auth, media):
    member, other = media
    # Dogs holds /media/cat.png.bak and /media/cat.png?v=2, and dog.png only inside other
    # values: none of them is /media/cat.png or /media/dog.png.
    assert fetch(client, auth, other, "/media/cat.png").status_code == 404
    assert fetch(client, auth, other, "/media/dog.png").status_code == 404
    assert fetch(client, auth, other, "/media/cat.png.bak").status_code == 200
    # Cats holds /media/cat.png, not /media/Cat.png nor /media/cat.png.bak.
    assert fetch(client, auth, member, "/media/Cat.png").status_code == 404
    assert fetch(client, auth, member, "/media/cat.png.bak").status_code == 404


def test_a_file_nobody_uses_is_404_even_for_members(client, auth, media):
    member, other = media
    for user in media:
        assert fetch(client, auth, user, "/media/orphan.png").status_code == 404
        assert fetch(client, auth, user, "/media/missing.png").status_code == 404


def test_path_traversal_is_404(client, auth, app, media):
    member, _ = media
    factories.tasks(
        factories.project("image", members=(member,), title="Sneaky"),
        [
            {"data": {"image": "/media/../secret.txt"}},
            {"data": {"image": "/media/%2e%2e/secret.txt"}},
        ],
    )
    admin = factories.user("admin")
    for user in (admin, member):
        for path in ("/media/../secret.txt", "/media/%2e%2e/secret.txt", "/media/..%2fsecret.txt"):
            response = fetch(client, auth, user, path)
            assert response.status_code == 404, (user.role, path)
            assert b"not media" not in response.data


def test_anonymous_users_are_sent_to_log_in(client, media):
    response = client.get("/media/cat.png")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
