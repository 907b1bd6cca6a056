"""The Content-Security-Policy in real Chromium: the main pages run with no inline script, no
eval and no refused resource, the editors' libraries included."""

import os

import pytest
from playwright.sync_api import expect

from reviewapp.demo import sample_data
from reviewapp.extensions import db
from tests import factories
from tests.e2e.conftest import log_in

# Records every violation the browser reports, whether or not it also logs it.
WATCH_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__csp.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.fixture
def watched(page):
    """The page, with its console messages, script errors and CSP violations collected."""
    messages, errors = [], []
    page.on("console", lambda message: messages.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(WATCH_VIOLATIONS)
    yield page, messages, errors
    refused = [m for m in messages if "Content Security Policy" in m or "Refused to" in m]
    assert refused == []
    assert errors == []


def violations(page) -> list[str]:
    return page.evaluate("window.__csp || []")


def make_projects(live_server) -> dict[str, int]:
    folder = os.path.join(live_server.app.config["MEDIA_FOLDER"], "shapes")
    [(image, _)] = sample_data.make_shape_images(folder, 1, seed=3)
    with live_server.app.app_context():
        manager = factories.user("manager", email="manager@example.com")
        text = factories.project(members=(manager,), title="Sentiment")
        factories.tasks(
            text,
            [
                {
                    "data": {"text": f"review {i}"},
                    "annotations": [factories.annotation("ann@example.com")],
                }
                for i in range(3)
            ],
        )
        boxes = factories.project("image", members=(manager,), title="Boxes")
        factories.tasks(boxes, [{"data": {"image": f"/media/shapes/{image}"}}])
        spans = factories.project("ner", members=(manager,), title="Entities")
        factories.text_tasks(spans, "Ada Lovelace met Charles Babbage in London.")
        ids = {"text": text.id, "boxes": boxes.id, "spans": spans.id}
        db.session.remove()
    return ids


def test_pages_run_under_the_policy_and_cancel_clears_the_confirmation(watched, live_server):
    page, messages, errors = watched
    ids = make_projects(live_server)
    log_in(page, "manager@example.com", factories.PASSWORD)
    policy = page.request.get("/").headers["content-security-policy"]
    assert "script-src 'self';" in policy

    page.goto(f"/projects/{ids['text']}/tasks")
    expect(page.locator(".table-count")).to_contain_text("3 tasks")
    page.locator('table.tasks tbody input[name="ids"]').first.check()
    expect(page.locator("[data-selected-count]")).to_have_text("1 task selected")
    page.get_by_role("button", name="Delete tasks").click()
    confirm = page.locator("#bulk-confirm")
    expect(confirm).to_contain_text("Delete 1 task")
    page.evaluate("window.__no_reload = 1")
    confirm.get_by_role("link", name="Cancel").click()
    expect(confirm.locator("form")).to_have_count(0)
    assert page.evaluate("window.__no_reload") == 1  # emptied in place, no page load
    expect(page.locator(".table-count")).to_contain_text("3 tasks")

    page.get_by_role("button", name="Review 1 task").click()
    expect(page.locator(".progress")).to_contain_text("1 annotation in 1 task to review")
    page.locator("button.verdict.accept").click()
    expect(page.locator("#flash")).to_contain_text("Accepted annotation")

    page.goto(f"/projects/{ids['text']}/dashboard")
    expect(page.locator("h1")).to_contain_text("Sentiment")

    page.goto(f"/projects/{ids['boxes']}/label")
    expect(page.locator("[data-boxes][data-ready] [data-picker]")).to_be_visible()
    expect(page.locator(".image-frame img")).to_have_js_property("complete", True)

    page.goto(f"/projects/{ids['spans']}")
    page.get_by_role("link", name="Label", exact=True).click()  # boosted: scripts in the body
    expect(page.locator("[data-spans][data-ready] [data-picker]")).to_be_visible()

    assert violations(page) == []
    assert not [m for m in messages if "Refused to" in m]


def test_the_watch_sees_a_refused_inline_handler(page, live_server):
    """The check above would catch an inline handler: the browser refuses and reports it."""
    messages = []
    page.on("console", lambda message: messages.append(message.text))
    page.add_init_script(WATCH_VIOLATIONS)
    page.goto("/login")
    page.evaluate(
        "document.body.insertAdjacentHTML('beforeend', "
        '\'<img src="data:," onerror="window.__ran = 1">\')'
    )
    page.wait_for_function("window.__csp.length > 0")
    assert page.evaluate("window.__ran") is None
    assert any("Content Security Policy" in m or "Refused to" in m for m in messages)
