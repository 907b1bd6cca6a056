import re

from playwright.sync_api import expect

from reviewapp.extensions import db
from tests import factories
from tests.e2e.conftest import add_filter, log_in
from tests.test_metrics import build_small


def test_choose_an_annotator_and_drill_down_from_a_matrix_cell(page, live_server):
    with live_server.app.app_context():
        small = build_small()
        project_id, carol = small.project.id, small.users["carol"].id
        t1, t4 = small.tasks["t1"], small.tasks["t4"]
        db.session.remove()
    log_in(page, "mona@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}/dashboard")
    matrix = page.locator("#gt-confusion")
    # Everyone: t1 bob and t4 carol said Positive with the truth; t1 carol said Negative.
    expect(matrix.locator('a[data-cell="Positive|Positive"]')).to_have_text("2")
    expect(matrix.locator('a[data-cell="Negative|Positive"]')).to_have_text("1")

    marker = page.evaluate("window.__no_reload = 1")
    assert marker == 1
    matrix.locator('select[name="gt_annotator"]').select_option(label="Carol C")
    expect(page.locator('#gt-confusion a[data-cell="Positive|Positive"]')).to_have_text("1")
    expect(page).to_have_url(
        f"{live_server.url}/projects/{project_id}/dashboard?gt_annotator={carol}"
    )
    assert page.evaluate("window.__no_reload") == 1  # swapped in place, not reloaded

    page.locator('#gt-confusion a[data-cell="Positive|Positive"]').click()
    expect(page.locator(".table-count")).to_contain_text("1 task matching")
    expect(page.locator(f"#task-{t4}")).to_be_visible()
    expect(page.locator(f"#task-{t1}")).to_have_count(0)
    expect(page.locator('[data-filter="gt_confusion"]')).to_contain_text("by carol@example.com")

    # Another filter keeps the cell's; removing it shows both tasks with that truth again.
    add_filter(page, "Ground truth").get_by_label("Filter 1: value").select_option("true")
    expect(page).to_have_url(re.compile(r"ground_truth=true&.*gt_confusion="))
    expect(page.locator(".table-count")).to_contain_text("1 task matching")
    page.locator('[data-filter="gt_confusion"] a').click()
    expect(page.locator(".table-count")).to_contain_text("2 tasks matching")
    expect(page.locator(f"#task-{t1}")).to_be_visible()
