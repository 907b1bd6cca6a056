"""reviewapp.htmx: fragment or page, after an action, refused input."""

import pytest
from flask import get_flashed_messages
from jinja2 import ChoiceLoader, DictLoader
from werkzeug.exceptions import UnprocessableEntity

from reviewapp import htmx

# As the app's pages: the out-of-band block lies outside the layout, so a page leaves it out.
TEMPLATES = {
    "layout.html": "<html>{% block content %}{% endblock %}</html>",
    "page.html": (
        '{% extends "layout.html" %}{% block content %}{% block region %}<p>{{ value }}</p>'
        "{% endblock %}{% if error %}{{ error }}{% endif %}{% endblock %}"
        '{% block flash_oob %}{% from "macros/flash.html" import flash_oob %}'
        "{{ flash_oob(message, category) }}{% endblock %}"
    ),
}


@pytest.fixture
def page(app):
    app.jinja_env.loader = ChoiceLoader([DictLoader(TEMPLATES), app.jinja_env.loader])
    return "page.html"


def request(app, *headers):
    return app.test_request_context("/", headers=dict(headers))


PARTIAL = ("HX-Request", "true")
BOOSTED = ("HX-Boosted", "true")


def test_a_partial_request_gets_the_blocks_and_the_message_out_of_band(app, page):
    with request(app, PARTIAL):
        response = htmx.page_or_blocks(page, ["region"], value=1, status=409)
        assert (response.status_code, response.get_data(as_text=True)) == (409, "<p>1</p>")
        response = htmx.page_or_blocks(page, ["region"], value=1, message="Done.", category="ok")
        assert response.get_data(as_text=True) == (
            '<p>1</p><div id="flash" hx-swap-oob="true"><p class="flash ok">Done.</p></div>'
        )


@pytest.mark.parametrize("headers", [(), (PARTIAL, BOOSTED)])
def test_a_full_page_flashes_the_message(app, page, headers):
    with request(app, *headers):
        response = htmx.page_or_blocks(page, ["region"], value=1, message="Done.", error=None)
        assert response.get_data(as_text=True) == "<html><p>1</p></html>"
        assert get_flashed_messages(with_categories=True) == [("info", "Done.")]


def test_after_action_sends_the_fragment_or_redirects(app):
    with request(app, PARTIAL):
        assert htmx.after_action("/next", "Done.", fragment=lambda: "fragment") == "fragment"
        assert get_flashed_messages() == []
    with request(app):
        response = htmx.after_action("/next", "Done.", fragment=pytest.fail, code=303)
        assert (response.status_code, response.headers["Location"]) == (303, "/next")
        assert get_flashed_messages(with_categories=True) == [("success", "Done.")]


def test_refused_input_goes_to_flash_or_renders_the_page_again(app, page):
    with request(app, PARTIAL), pytest.raises(UnprocessableEntity, match="Not saved"):
        htmx.refuse(page, "Not saved.", value=1)
    with request(app):
        body, status = htmx.refuse(page, "Not saved.", value=1, error=None)
        assert status == 422 and "<p>1</p>Not saved." in body
