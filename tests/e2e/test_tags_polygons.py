"""PolygonLabels in real Chromium: draw a polygon, submit, Fix & Accept by dragging a corner,
see the diff, the fix size and the agreement on the task page."""

import os
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from reviewapp.demo import sample_data
from reviewapp.extensions import db
from reviewapp.models import Annotation, Task
from reviewapp.services.projects import create_project
from reviewapp.services.users import add_member
from tests import factories
from tests.e2e.conftest import log_in
from tests.e2e.test_label import drag

CONFIG = """<View>
  <Image name="img" value="$image"/>
  <PolygonLabels name="shape" toName="img"><Label value="Car"/><Label value="Tree"/></PolygonLabels>
</View>"""
SQUARE = [[10, 10], [30, 10], [30, 30], [10, 30]]


@pytest.fixture(autouse=True)
def no_script_errors(request):
    """Fail a test whose page threw a JavaScript error."""
    errors = []
    request.getfixturevalue("page").on("pageerror", lambda error: errors.append(str(error)))
    yield
    assert errors == []


def polygon_item(points, label="Car"):
    return {
        "id": "bob-1",
        "from_name": "shape",
        "to_name": "img",
        "type": "polygonlabels",
        "value": {"points": points, "polygonlabels": [label]},
    }


def near(points, expected, tolerance=1.0):
    return len(points) == len(expected) and all(
        abs(p[0] - q[0]) < tolerance and abs(p[1] - q[1]) < tolerance
        for p, q in zip(points, expected, strict=True)
    )


def test_draw_fix_and_see_agreement(page, live_server):
    folder = os.path.join(live_server.app.config["MEDIA_FOLDER"], "shapes")
    [(name, _)] = sample_data.make_shape_images(folder, 1, seed=5)
    with live_server.app.app_context():
        ann = factories.user("annotator", email="ann@example.com")
        rita = factories.user("reviewer", email="rita@example.com")
        project = create_project("Polygons", CONFIG, None, overlap=2)
        for member in (ann, rita):
            add_member(project.id, member)
        db.session.commit()
        factories.tasks(
            project,
            [
                {
                    "data": {"image": f"/media/shapes/{name}"},
                    "annotations": [
                        {"completed_by": "bob@example.com", "result": [polygon_item(SQUARE)]}
                    ],
                }
            ],
        )
        project_id = project.id
        task_id = db.session.scalar(select(Task.id))
        db.session.remove()

    log_in(page, "ann@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}/label")
    expect(page.locator("[data-polygons][data-ready] [data-picker]")).to_be_visible()
    page.get_by_role("button", name="Car").click()
    frame = page.locator(".image-frame img").bounding_box()

    def at(px, py):
        return frame["x"] + px / 100 * frame["width"], frame["y"] + py / 100 * frame["height"]

    # Four corners, then back on the first one to close the polygon.
    for corner in ([10, 10], [30, 10], [30, 25], [10, 25], [10, 10]):
        page.mouse.move(*at(*corner))
        page.wait_for_timeout(50)
        page.mouse.click(*at(*corner))
        page.wait_for_timeout(50)
    expect(page.locator(".region-list li")).to_have_count(1)
    expect(page.locator(".region-list")).to_contain_text("polygon of 4 points")
    expect(page.locator(".region-tag")).to_have_attribute("data-label", "Car")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#flash")).to_have_text(f"Saved task {task_id}.")

    with live_server.app.app_context():
        saved = db.session.scalars(select(Annotation).order_by(Annotation.id)).all()[-1]
        [item] = saved.result
        assert item["type"] == "polygonlabels"
        assert item["value"]["polygonlabels"] == ["Car"]
        assert near(item["value"]["points"], [[10, 10], [30, 10], [30, 25], [10, 25]])
        assert (item["original_width"], item["original_height"]) == sample_data.IMAGE_SIZE
        db.session.remove()

    page.context.clear_cookies()
    log_in(page, "rita@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}/review")
    expect(page.locator("h1")).to_contain_text("by bob@example.com")
    # The read-only view: bob's square as an SVG polygon.
    panel = page.locator(".tab-panel").first
    expect(panel.locator("svg.polygons polygon")).to_have_attribute(
        "points", "10,10 30,10 30,30 10,30 "
    )
    page.get_by_text("Fix & Accept").click()
    fix = page.locator("details[data-fix]")  # the Fix & Accept editor, wherever the page puts it
    expect(fix.locator("[data-polygons][data-ready] .region-list")).to_contain_text(
        "polygon of 4 points"
    )
    frame = fix.locator(".image-frame img").bounding_box()
    # Select bob's square, then drag its corner (30, 30) down to (30, 40).
    page.mouse.click(*at(20, 20))
    expect(fix.locator(".region-list li.selected")).to_have_count(1)
    drag(page, at(30, 30), at(30, 40))
    page.keyboard.press("Escape")
    expect(fix.locator(".region-list li.selected")).to_have_count(0)
    page.get_by_role("button", name="Save fix and accept").click()
    flash = page.locator("#flash")
    expect(flash).to_contain_text("shape: 1 region resized")
    # (10, 10), (30, 10), (30, 40), (10, 30): a trapezoid of 20 * (20 + 30) / 2 = 500 that
    # holds the square (400): IoU 0.8, fix size 1 - 0.8 = 0.2 (give or take a pixel).
    # (A fraction here, a percent on main since "fix size ... is a percent": either reads.)
    expect(flash).to_contain_text(re.compile(r"fix size (0\.(19|20|21)|(19|20|21)%)"))

    with live_server.app.app_context():
        fixed = db.session.scalars(select(Annotation).order_by(Annotation.id)).first()
        assert fixed.review_status == "fixed"
        [item] = fixed.result
        assert item["id"] == "bob-1"
        assert near(item["value"]["points"], [[10, 10], [30, 10], [30, 40], [10, 30]])
        db.session.remove()

    page.goto(f"/projects/{project_id}/tasks/{task_id}")
    # The compare grid draws both polygons, the receipt names them.
    expect(page.locator("#compare svg.polygons polygon")).to_have_count(2)
    # ann's rectangle 10..30 x 10..25 (300) lies inside bob's trapezoid (500): IoU 0.6.
    agreement = page.locator("#agreement")
    expect(agreement).to_contain_text("Car polygon of 4 points from 10, 10")
    expect(agreement).to_contain_text(re.compile(r"= 0\.(59|6|61)\b"))
    expect(agreement).to_contain_text(re.compile(r"\b(59|60|61)%"))
