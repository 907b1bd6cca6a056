"""KeyPointLabels in real Chromium: click a point, submit, Fix & Accept by dragging a point,
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
  <KeyPointLabels name="kp" toName="img"><Label value="Eye"/><Label value="Nose"/></KeyPointLabels>
</View>"""


@pytest.fixture(autouse=True)
def no_script_errors(request):
    """Fail a test whose page threw a JavaScript error."""
    errors = []
    request.getfixturevalue("page").on("pageerror", lambda error: errors.append(str(error)))
    yield
    assert errors == []


def test_click_fix_and_see_agreement(page, live_server):
    folder = os.path.join(live_server.app.config["MEDIA_FOLDER"], "shapes")
    [(name, _)] = sample_data.make_shape_images(folder, 1, seed=5)
    width, height = sample_data.IMAGE_SIZE
    bob = {
        "id": "bob-1",
        "from_name": "kp",
        "to_name": "img",
        "type": "keypointlabels",
        "original_width": width,
        "original_height": height,
        "value": {"x": 50, "y": 50, "width": 1, "keypointlabels": ["Eye"]},
    }
    with live_server.app.app_context():
        ann = factories.user("annotator", email="ann@example.com")
        rita = factories.user("reviewer", email="rita@example.com")
        project = create_project("Points", CONFIG, None, overlap=2)
        for member in (ann, rita):
            add_member(project.id, member)
        db.session.commit()
        factories.tasks(
            project,
            [
                {
                    "data": {"image": f"/media/shapes/{name}"},
                    "annotations": [{"completed_by": "bob@example.com", "result": [bob]}],
                }
            ],
        )
        project_id = project.id
        task_id = db.session.scalar(select(Task.id))
        db.session.remove()

    log_in(page, "ann@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}/label")
    expect(page.locator("[data-keypoints][data-ready] [data-picker]")).to_be_visible()
    frame = page.locator(".image-frame img").bounding_box()

    def at(px, py):
        return frame["x"] + px / 100 * frame["width"], frame["y"] + py / 100 * frame["height"]

    # A click without a label waits for one; picking it labels the point.
    page.mouse.click(*at(49, 50))
    expect(page.locator(".region-list")).to_contain_text("pick a label")
    page.get_by_role("button", name="Eye").click()
    expect(page.locator(".region-list li")).to_have_count(1)
    expect(page.locator(".region-list")).to_contain_text("point at 49")
    expect(page.locator(".region-tag")).to_have_attribute("data-label", "Eye")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#flash")).to_have_text(f"Saved task {task_id}.")

    with live_server.app.app_context():
        saved = db.session.scalars(select(Annotation).order_by(Annotation.id)).all()[-1]
        [item] = saved.result
        assert item["type"] == "keypointlabels"
        assert item["value"]["keypointlabels"] == ["Eye"]
        assert abs(item["value"]["x"] - 49) < 0.5 and abs(item["value"]["y"] - 50) < 0.5
        assert (item["original_width"], item["original_height"]) == (width, height)
        db.session.remove()

    page.context.clear_cookies()
    log_in(page, "rita@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}/review")
    expect(page.locator("h1")).to_contain_text("by bob@example.com")
    expect(page.locator(".tab-panel").first.locator(".keypoint")).to_have_attribute(
        "style", "left: 50%; top: 50%;"
    )
    page.get_by_text("Fix & Accept").click()
    fix = page.locator("details[data-fix]")  # the Fix & Accept editor, wherever the page puts it
    expect(fix.locator("[data-keypoints][data-ready] .region-list")).to_contain_text(
        "point at 50.0%, 50.0%"
    )
    frame = fix.locator(".image-frame img").bounding_box()
    # Drag bob's point 2 % of the width to the left.
    drag(page, at(50, 50), at(48, 50))
    expect(fix.locator(".region-list")).to_contain_text("point at 48")
    page.get_by_role("button", name="Save fix and accept").click()
    flash = page.locator("#flash")
    expect(flash).to_contain_text("kp: 1 region moved")
    # 640 x 480: r = 2 % of the 800 px diagonal = 16 px; 2 % of 640 = 12.8 px:
    # 1 - 12.8 / 16 = 0.2, fix size 0.8 (give or take a pixel).
    # (A fraction here, a percent on main since "fix size ... is a percent": either reads.)
    expect(flash).to_contain_text(re.compile(r"fix size (0\.(7[5-9]|8[0-5])|(7[5-9]|8[0-5])%)"))

    with live_server.app.app_context():
        fixed = db.session.scalars(select(Annotation).order_by(Annotation.id)).first()
        assert fixed.review_status == "fixed"
        [item] = fixed.result
        assert item["id"] == "bob-1" and abs(item["value"]["x"] - 48) < 0.5
        db.session.remove()

    page.goto(f"/projects/{project_id}/tasks/{task_id}")
    expect(page.locator("#compare .keypoint")).to_have_count(2)
    # bob at 48 %, ann at 49 %: 1 % of 640 = 6.4 px, 1 - 6.4 / 16 = 0.6.
    agreement = page.locator("#agreement")
    expect(agreement).to_contain_text("Eye point at 48")
    expect(agreement).to_contain_text(re.compile(r"\b(5[6-9]|6[0-4])%"))
