"""The label stream in real Chromium: choices, boxes, spans, skip, two annotators at once."""

import json
import os

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from reviewapp.demo import sample_data
from reviewapp.extensions import db
from reviewapp.models import Annotation, Project
from reviewapp.services.projects import update_project
from tests import factories
from tests.e2e.conftest import log_in


@pytest.fixture(autouse=True)
def no_script_errors(request):
    """Fail a test whose page threw a JavaScript error."""
    if "page" not in request.fixturenames:
        yield
        return
    errors = []
    request.getfixturevalue("page").on("pageerror", lambda error: errors.append(str(error)))
    yield
    assert errors == []


def make_project(live_server, kind="text", emails=("ann@example.com",), tasks=None, **settings):
    with live_server.app.app_context():
        users = [factories.user("annotator", email=email) for email in emails]
        project = factories.project(kind, members=tuple(users), **settings)
        factories.tasks(project, tasks or [{"data": {"text": t}} for t in ("one", "two", "three")])
        return project.id


def annotations(live_server) -> list[Annotation]:
    with live_server.app.app_context():
        rows = db.session.scalars(select(Annotation).order_by(Annotation.id)).all()
        db.session.expunge_all()
        return rows


def drag(page, start, end, steps=8):
    """Press, move in steps a person would take, release (the libraries debounce moves)."""
    page.mouse.move(*start)
    page.mouse.down()
    for i in range(1, steps + 1):
        page.mouse.move(
            start[0] + (end[0] - start[0]) * i / steps, start[1] + (end[1] - start[1]) * i / steps
        )
        page.wait_for_timeout(25)
    page.wait_for_timeout(50)
    page.mouse.up()


def test_label_a_text_task_with_a_choice(page, live_server):
    project_id = make_project(live_server)
    log_in(page, "ann@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}")
    page.get_by_role("link", name="Label", exact=True).click()
    expect(page.locator("#label-task h2")).to_contain_text("Task 1")
    expect(page.locator(".shortcuts")).to_contain_text("Ctrl+Enter submits")
    page.get_by_label("Negative").check()
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#flash")).to_have_text("Saved task 1.")
    expect(page.locator("#label-task h2")).to_contain_text("Task 2")
    # The keyboard: 1 picks the first choice, Ctrl+Enter submits.
    page.keyboard.press("1")
    expect(page.get_by_label("Positive")).to_be_checked()
    page.keyboard.press("Control+Enter")
    expect(page.locator("#flash")).to_have_text("Saved task 2.")
    first, second = annotations(live_server)
    assert first.result[0]["value"] == {"choices": ["Negative"]}
    assert second.result[0]["value"] == {"choices": ["Positive"]}
    assert first.lead_time is not None and first.lead_time >= 0


def test_skip(page, live_server):
    project_id = make_project(live_server)
    log_in(page, "ann@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}/label")
    page.get_by_role("button", name="Skip").click()
    expect(page.locator("#flash")).to_have_text("Skipped task 1.")
    expect(page.locator("#label-task h2")).to_contain_text("Task 2")
    [skipped] = annotations(live_server)
    assert skipped.was_cancelled and skipped.result == []


def test_an_empty_submit_is_refused_and_a_required_choice_is_asked_for(page, live_server):
    project_id = make_project(live_server)
    log_in(page, "ann@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}/label")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#flash")).to_contain_text("Choose at least one label, or Skip")
    expect(page.locator("#label-task h2")).to_contain_text("Task 1")
    with live_server.app.app_context():
        required = factories.CONFIGS["text"].replace(
            '<Choices name="sentiment"', '<Choices name="sentiment" required="true"'
        )
        project = db.session.get(Project, project_id)
        update_project(project, required)
        db.session.commit()
    page.reload()
    page.get_by_role("button", name="Submit").click()
    # The browser asks for the choice itself: nothing is sent.
    sentiment = page.locator('input[name="sentiment"]').first
    assert sentiment.evaluate("input => input.validity.valueMissing")
    page.get_by_role("button", name="Skip").click()  # formnovalidate: a skip answers nothing
    expect(page.locator("#flash")).to_have_text("Skipped task 1.")
    [skipped] = annotations(live_server)
    assert skipped.was_cancelled


def test_draw_a_box_move_it_submit_and_find_it_where_it_was(page, live_server):
    folder = os.path.join(live_server.app.config["MEDIA_FOLDER"], "shapes")
    [(name, _)] = sample_data.make_shape_images(folder, 1, seed=5)
    project_id = make_project(
        live_server, "image", tasks=[{"data": {"image": f"/media/shapes/{name}"}}]
    )
    log_in(page, "ann@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}/label")
    page.get_by_role("button", name="Square").click()
    image = page.locator(".image-frame img")
    expect(page.locator("[data-boxes][data-ready] [data-picker]")).to_be_visible()
    box = image.bounding_box()
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    drag(page, (x + 0.1 * w, y + 0.1 * h), (x + 0.4 * w, y + 0.5 * h))
    expect(page.locator(".region-list li")).to_have_count(1)
    expect(page.locator(".region-list")).to_contain_text("Square")
    # Select the box, then move it 20% right and 10% down.
    page.mouse.click(x + 0.25 * w, y + 0.3 * h)
    expect(page.locator(".region-list li.selected")).to_have_count(1)
    drag(page, (x + 0.25 * w, y + 0.3 * h), (x + 0.45 * w, y + 0.4 * h))
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#label-task")).to_contain_text("Nothing left to label")

    [saved] = annotations(live_server)
    [item] = saved.result
    value = item["value"]
    assert (item["original_width"], item["original_height"]) == tuple(sample_data.IMAGE_SIZE)
    assert value["rectanglelabels"] == ["Square"]
    for key, expected in (("x", 30), ("y", 20), ("width", 30), ("height", 40)):
        assert abs(value[key] - expected) < 1.5, (key, value)

    page.goto(f"/projects/{project_id}/my-annotations/{saved.id}")
    expect(page.locator(".region-tag")).to_have_attribute("data-label", "Square")
    shape = page.locator(".a9s-annotation").first.bounding_box()
    box = page.locator(".image-frame img").bounding_box()
    assert abs(shape["x"] - (box["x"] + 0.3 * box["width"])) < 4
    assert abs(shape["y"] - (box["y"] + 0.2 * box["height"])) < 4
    page.reload()
    expect(page.locator(".region-list")).to_contain_text("x 30")


def test_select_a_span_and_label_it(page, live_server):
    text = "Ada Lovelace 😀 met Charles Babbage in London."
    project_id = make_project(live_server, "ner", tasks=[{"data": {"text": text}}])
    log_in(page, "ann@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}")
    page.get_by_role("link", name="Label", exact=True).click()  # boosted: scripts come in the body
    expect(page.locator("[data-spans][data-ready] [data-picker]")).to_be_visible()
    rect = page.evaluate(
        """(word) => {
          const node = document.querySelector("[data-text]").firstChild;
          const range = document.createRange();
          const start = node.textContent.indexOf(word);
          range.setStart(node, start);
          range.setEnd(node, start + word.length);
          const r = range.getBoundingClientRect();
          return [r.left, r.top, r.right, r.bottom];
        }""",
        "Charles Babbage",
    )
    middle = (rect[1] + rect[3]) / 2
    drag(page, (rect[0] + 1, middle), (rect[2] - 1, middle))
    expect(page.locator(".region-list")).to_contain_text("pick a label")
    page.get_by_role("button", name="PER").click()
    expect(page.locator(".region-list li")).to_have_text("PER“Charles Babbage”×")
    expect(page.locator(".region-tag")).to_have_count(1)
    page.keyboard.press("Control+Enter")
    expect(page.locator("#flash")).to_have_text("Saved task 1.")
    [saved] = annotations(live_server)
    [item] = saved.result
    # Offsets count code points, as Python does: the emoji is one character.
    assert item["value"] == {"start": 19, "end": 34, "text": "Charles Babbage", "labels": ["PER"]}
    assert text[19:34] == "Charles Babbage"


def test_two_annotators_at_once_get_different_tasks(browser, live_server):
    project_id = make_project(live_server, emails=("ann1@example.com", "ann2@example.com"))
    pages = []
    for email in ("ann1@example.com", "ann2@example.com"):
        context = browser.new_context(base_url=live_server.url)
        page = context.new_page()
        page.set_default_timeout(10_000)
        log_in(page, email, factories.PASSWORD)
        page.goto(f"/projects/{project_id}/label")
        pages.append(page)
    first, second = (p.locator("#label-task h2").inner_text() for p in pages)
    assert first.startswith("Task 1") and second.startswith("Task 2")
    pages[0].get_by_label("Positive").check()
    pages[0].get_by_role("button", name="Submit").click()
    expect(pages[0].locator("#label-task h2")).to_contain_text("Task 3")
    pages[1].reload()
    expect(pages[1].locator("#label-task h2")).to_contain_text("Task 2")  # still theirs
    for page in pages:
        page.context.close()
    assert json.dumps(annotations(live_server)[0].result).count("Positive") == 1
