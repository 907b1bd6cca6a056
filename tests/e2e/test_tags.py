"""Number, DateTime and Taxonomy in real Chromium: label them, Fix & Accept, see agreement."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from reviewapp.extensions import db
from reviewapp.models import Annotation, Task
from reviewapp.services.projects import create_project
from reviewapp.services.users import add_member
from tests import factories
from tests.e2e.conftest import log_in

CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Number name="count" toName="text" min="0" max="10" step="1"/>
  <DateTime name="when" toName="text"/>
  <Taxonomy name="kind" toName="text">
    <Choice value="Animals"><Choice value="Dogs"/><Choice value="Cats"/></Choice>
    <Choice value="Plants"><Choice value="Trees"/></Choice>
    <Choice value="Rocks"/>
  </Taxonomy>
</View>"""


def item(name, kind, value):
    return {"from_name": name, "to_name": "text", "type": kind, "value": value}


BOB = [
    item("count", "number", {"number": 5}),
    item("when", "datetime", {"datetime": "2021-01-01T10:00"}),
    item("kind", "taxonomy", {"taxonomy": [["Animals", "Dogs"], ["Rocks"]]}),
]


@pytest.fixture(autouse=True)
def no_script_errors(request):
    """Fail a test whose page threw a JavaScript error."""
    errors = []
    request.getfixturevalue("page").on("pageerror", lambda error: errors.append(str(error)))
    yield
    assert errors == []


def test_label_fix_and_see_agreement(page, live_server):
    with live_server.app.app_context():
        ann = factories.user("annotator", email="ann@example.com")
        rita = factories.user("reviewer", email="rita@example.com")
        project = create_project("Tags", CONFIG, None, overlap=2)
        for member in (ann, rita):
            add_member(project.id, member)
        db.session.commit()
        factories.tasks(
            project,
            [
                {
                    "data": {"text": "A <dog> by a rock"},
                    "annotations": [{"completed_by": "bob@example.com", "result": BOB}],
                }
            ],
        )
        project_id = project.id
        task_id = db.session.scalar(select(Task.id))
        db.session.remove()

    log_in(page, "ann@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}/label")
    expect(page.locator("#label-task")).to_contain_text("A <dog> by a rock")
    count = page.locator('input[type="number"][name="count"]')
    expect(count).to_have_attribute("min", "0")
    expect(count).to_have_attribute("max", "10")
    count.fill("7")
    page.locator('input[type="datetime-local"][name="when"]').fill("2021-01-01T10:00")

    # The filter box narrows the tree to the matching nodes and opens their branches.
    tree = page.locator("[data-taxonomy][data-ready]")
    search = tree.get_by_role("searchbox", name="Filter kind")
    search.fill("dog")
    dogs = tree.get_by_label("Dogs")
    expect(dogs).to_be_visible()
    expect(tree.get_by_label("Trees")).to_be_hidden()
    expect(tree.get_by_label("Rocks")).to_be_hidden()
    dogs.check()
    search.fill("tre")
    expect(dogs).to_be_hidden()
    tree.get_by_label("Trees").check()
    search.press("Enter")  # filtering, not submitting
    expect(page.locator("#flash")).not_to_contain_text("Saved")
    search.fill("zebra")
    expect(tree.locator("[data-taxonomy-empty]")).to_be_visible()
    search.fill("")
    expect(tree.get_by_label("Rocks")).to_be_visible()
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#flash")).to_have_text(f"Saved task {task_id}.")

    with live_server.app.app_context():
        saved = db.session.scalars(select(Annotation).order_by(Annotation.id)).all()[-1]
        assert saved.result == [
            item("count", "number", {"number": 7}),
            item("when", "datetime", {"datetime": "2021-01-01T10:00"}),
            item("kind", "taxonomy", {"taxonomy": [["Animals", "Dogs"], ["Plants", "Trees"]]}),
        ]
        db.session.remove()

    page.context.clear_cookies()
    log_in(page, "rita@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}/review")
    expect(page.locator("h1")).to_contain_text("by bob@example.com")
    panel = page.locator(".tab-panel").first
    expect(panel.locator(".number-value")).to_have_text("5")
    expect(panel.locator(".taxonomy-paths")).to_contain_text("Animals / Dogs")
    page.get_by_text("Fix & Accept").click()
    fix = page.locator("details.fix-main")
    expect(fix.locator('input[name="count"]')).to_have_value("5")
    expect(fix.locator('input[name="when"]')).to_have_value("2021-01-01T10:00")
    expect(fix.get_by_label("Dogs")).to_be_checked()
    expect(fix.get_by_label("Rocks")).to_be_checked()
    fix.locator('input[name="count"]').fill("6")
    fix.locator('input[name="when"]').fill("2021-01-02T09:30")
    fix.get_by_label("Rocks").uncheck()
    fix.get_by_role("searchbox", name="Filter kind").fill("cat")
    fix.get_by_label("Cats").check()
    page.get_by_role("button", name="Save fix and accept").click()
    flash = page.locator("#flash")
    expect(flash).to_contain_text("count: 5 → 6")
    expect(flash).to_contain_text('when: "2021-01-01T10:00" → "2021-01-02T09:30"')
    expect(flash).to_contain_text("kind: Animals / Dogs, Rocks → Animals / Dogs, Animals / Cats")
    # count 1 - |5 - 6| / 10 = 0.9, when 0, kind {Dogs, Rocks} vs {Dogs, Cats} = 1/3:
    # fix size 1 - (0.9 + 0 + 0.333) / 3 = 0.589, shown as a percent.
    expect(flash).to_contain_text("fix size 59%")

    with live_server.app.app_context():
        fixed = db.session.scalars(select(Annotation).order_by(Annotation.id)).first()
        assert fixed.review_status == "fixed"
        assert fixed.result == [
            item("count", "number", {"number": 6}),
            item("when", "datetime", {"datetime": "2021-01-02T09:30"}),
            item("kind", "taxonomy", {"taxonomy": [["Animals", "Dogs"], ["Animals", "Cats"]]}),
        ]
        db.session.remove()

    page.goto(f"/projects/{project_id}/tasks/{task_id}")
    compare = page.locator("#compare")
    expect(compare).to_contain_text("Animals / Cats")
    expect(compare).to_contain_text("2021-01-02T09:30")
    agreement = page.locator("#agreement")
    # bob (fixed) vs ann: count 1 - |6 - 7| / 10 = 0.9, when different 0, kind
    # {Dogs, Cats} vs {Dogs, Trees} = 1/3: (0.9 + 0 + 0.333) / 3 = 41%.
    expect(agreement).to_contain_text("1 - |6 - 7| / (10 - 0) = 0.9")
    expect(agreement).to_contain_text("different -> 0")
    expect(agreement).to_contain_text("Jaccard of paths 1/3 = 0.333")
    expect(agreement).to_contain_text("41%")
