"""Fix & Accept in the review stream's main column, at the task's size, with undo and redo."""

import os
import re

from playwright.sync_api import expect
from sqlalchemy import select

from reviewapp.demo import sample_data
from reviewapp.extensions import db
from reviewapp.models import Review
from tests import factories
from tests.e2e.conftest import log_in
from tests.e2e.test_label import drag, no_script_errors  # noqa: F401 - the fixture fails on JS errors


def box(x, y, width, height, label="Square"):
    w, h = sample_data.IMAGE_SIZE
    return {
        "id": "b1",
        "from_name": "label",
        "to_name": "image",
        "type": "rectanglelabels",
        "original_width": w,
        "original_height": h,
        "value": {
            "x": x,
            "y": y,
            "width": width,
            "height": height,
            "rotation": 0,
            "rectanglelabels": [label],
        },
    }


def test_fix_a_moved_box_in_the_main_view_with_undo_and_redo(page, live_server):
    folder = os.path.join(live_server.app.config["MEDIA_FOLDER"], "shapes")
    [(name, _)] = sample_data.make_shape_images(folder, 1, seed=5)
    with live_server.app.app_context():
        reviewer = factories.user("reviewer", email="rita@example.com")
        project = factories.project("image", members=(reviewer,))
        factories.tasks(
            project,
            [
                {
                    "data": {"image": f"/media/shapes/{name}"},
                    "annotations": [
                        {"completed_by": "ann@example.com", "result": [box(10, 10, 30, 40)]}
                    ],
                }
            ],
        )
        project_id = project.id
        db.session.remove()
    log_in(page, "rita@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}/review")
    shown = page.locator(".ann-tabs .tab-panel .image-frame img").first
    expect(shown).to_be_visible()
    shown_width = shown.bounding_box()["width"]
    assert shown_width > 400  # the main column, not the 320 px sidebar

    page.keyboard.press("f")
    fix = page.locator("details.fix-main")
    expect(fix).to_have_attribute("open", "")
    expect(page.locator(".ann-tabs")).to_be_hidden()  # the editor takes the annotation's place
    expect(fix.locator("[data-boxes][data-ready] [data-picker]")).to_be_visible()
    undo = fix.get_by_role("button", name="Undo")
    redo = fix.get_by_role("button", name="Redo")
    expect(undo).to_be_disabled()
    image = fix.locator(".image-frame img")
    frame = image.bounding_box()
    assert abs(frame["width"] - shown_width) < 2  # edited at the size it is shown
    x, y, w, h = frame["x"], frame["y"], frame["width"], frame["height"]
    regions = fix.locator(".region-list")
    expect(regions).to_contain_text("x 10.0%")

    # Select the box, then drag it 20 % of the image to the right.
    page.mouse.click(x + 0.25 * w, y + 0.3 * h)
    expect(fix.locator(".region-list li.selected")).to_have_count(1)
    drag(page, (x + 0.25 * w, y + 0.3 * h), (x + 0.45 * w, y + 0.3 * h))
    expect(regions).to_contain_text(re.compile(r"x (29\.\d|30\.\d)%"))
    expect(undo).to_be_enabled()

    page.keyboard.press("Control+z")
    expect(regions).to_contain_text("x 10.0%")
    expect(redo).to_be_enabled()
    expect(undo).to_be_disabled()
    page.keyboard.press("Control+y")
    expect(regions).to_contain_text(re.compile(r"x (29\.\d|30\.\d)%"))
    undo.click()
    expect(regions).to_contain_text("x 10.0%")
    redo.click()
    expect(regions).to_contain_text(re.compile(r"x (29\.\d|30\.\d)%"))

    page.keyboard.press("Escape")
    fix.get_by_role("button", name="Save fix and accept").click()
    flash = page.locator("#flash")
    # Paired by the result id: one region moved, not one removed and one added. Two 30 x 40
    # boxes 20 apart overlap in 10 x 40: IoU 400 / 2000 = 0.2, fix size 1 - 0.2 = 80%.
    expect(flash).to_contain_text("label: 1 region moved")
    expect(flash).to_contain_text(re.compile(r"fix size (79|80|81)%"))
    with live_server.app.app_context():
        [review] = db.session.scalars(select(Review)).all()
        assert review.verdict == "fixed" and 0.79 <= review.fix_size <= 0.81
        [item] = review.result_after
        assert item["id"] == "b1" and abs(item["value"]["x"] - 30) < 1
        assert item["value"]["y"] == 10 and item["value"]["width"] == 30  # untouched numbers stay


def test_cancel_closes_the_fix_and_drops_its_edits(page, live_server):
    with live_server.app.app_context():
        reviewer = factories.user("reviewer", email="rita@example.com")
        project = factories.project(members=(reviewer,))
        factories.tasks(
            project,
            [{"data": {"text": "fine"}, "annotations": [factories.annotation("ann@example.com")]}],
        )
        project_id = project.id
        db.session.remove()
    log_in(page, "rita@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}/review")
    page.get_by_role("link", name="Fix & Accept").click()
    fix = page.locator("details.fix-main")
    expect(fix).to_have_attribute("open", "")
    fix.get_by_label("Negative").check()
    expect(fix.get_by_role("button", name="Undo")).to_be_enabled()
    page.keyboard.press("a")  # the review keys rest while the fix is open
    fix.get_by_role("button", name="Cancel").click()
    expect(fix).not_to_have_attribute("open", "")
    expect(page.locator(".ann-tabs")).to_be_visible()
    page.keyboard.press("f")
    expect(fix.get_by_label("Positive")).to_be_checked()
    with live_server.app.app_context():
        assert db.session.scalars(select(Review)).all() == []


def test_relabel_a_span_in_the_main_view_and_undo_it(page, live_server):
    text = "Ada Lovelace met Charles Babbage in London, and they wrote about the engine."
    span = {
        "id": "s1",
        "from_name": "label",
        "to_name": "text",
        "type": "labels",
        "value": {"start": 17, "end": 32, "text": "Charles Babbage", "labels": ["ORG"]},
    }
    with live_server.app.app_context():
        reviewer = factories.user("reviewer", email="rita@example.com")
        project = factories.project("ner", members=(reviewer,))
        factories.tasks(
            project,
            [
                {
                    "data": {"text": text},
                    "annotations": [{"completed_by": "ann@example.com", "result": [span]}],
                }
            ],
        )
        project_id = project.id
        db.session.remove()
    log_in(page, "rita@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}/review")
    shown = page.locator(".ann-tabs .tab-panel .text-object").first
    expect(shown).to_be_visible()
    shown_width = shown.bounding_box()["width"]
    page.get_by_role("link", name="Fix & Accept").click()
    fix = page.locator("details.fix-main")
    expect(fix.locator("[data-spans][data-ready] [data-picker]")).to_be_visible()
    edited = fix.locator("[data-text]").bounding_box()
    assert edited["width"] > 400 and abs(edited["width"] - shown_width) < 2

    fix.locator(".region-list .tag").click()  # selects the span
    expect(fix.locator(".region-list li.selected")).to_have_count(1)
    page.keyboard.press("1")  # PER
    items = fix.locator(".region-list li")
    expect(items).to_have_text("PER“Charles Babbage”×")
    page.keyboard.press("Control+z")
    expect(items).to_have_text("ORG“Charles Babbage”×")
    page.keyboard.press("Control+Shift+z")
    expect(items).to_have_text("PER“Charles Babbage”×")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#flash")).to_contain_text("label: 1 region relabelled (ORG → PER)")
