"""The Data Manager at a laptop's size: dense rows, a sticky header, no sideways overflow,
the density toggle, and a bulk bar that counts and does not post twice."""

from playwright.sync_api import expect

from reviewapp.extensions import db
from tests import factories
from tests.e2e.conftest import log_in, pick_people

LONG_WORD = "x" * 800
SENTENCE = "The delivery came two days late and the box was dented, but the product works. "


def _long_project(live_server) -> int:
    """40 tasks of a few hundred characters each, task 3 with an 800-character word; two
    annotators each; a reviewer who is a member."""
    with live_server.app.app_context():
        manager = factories.user("manager", email="manager@example.com")
        reviewer = factories.user("reviewer", email="rita@example.com")
        project = factories.project(members=(manager, reviewer), title="Long texts")
        items = []
        for i in range(1, 41):
            text = f"Review {i}. " + SENTENCE * 4
            if i == 3:
                text = f"Review {i}. {LONG_WORD} " + SENTENCE
            items.append(
                {
                    "data": {"text": text},
                    "annotations": [
                        factories.annotation("ann@example.com"),
                        factories.annotation("bob@example.com", "Negative"),
                    ],
                    "predictions": [{"result": factories.choice("Positive"), "score": i / 40}],
                }
            )
        factories.tasks(project, items)
        project_id = project.id
        db.session.remove()
    return project_id


def _open(page, live_server) -> int:
    project_id = _long_project(live_server)
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, "manager@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}/tasks")
    expect(page.locator(".table-count")).to_contain_text("40 tasks")
    return project_id


def _rows_above_the_fold(page) -> int:
    return page.evaluate(
        """() => [...document.querySelectorAll('table.tasks tbody tr')]
            .filter(row => { const box = row.getBoundingClientRect();
                             return box.top >= 0 && box.bottom <= window.innerHeight; }).length"""
    )


def test_dense_rows_no_overflow_and_sticky_header(page, live_server):
    _open(page, live_server)
    assert _rows_above_the_fold(page) >= 15
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # The 800-character word stays inside its column: the cell ends where its header does,
    # before the next column begins, and its text is cut there.
    row = page.locator("#task-table tbody tr").nth(2)
    expect(row.locator("td.preview")).to_have_attribute(
        "title", f"Review 3. {LONG_WORD} {SENTENCE}"
    )
    cell = row.locator("td.preview").bounding_box()
    text = row.locator("td.preview .preview-text").bounding_box()
    header = page.locator("table.tasks thead th.col-data").bounding_box()
    following = row.locator("td").nth(3).bounding_box()
    assert abs(cell["x"] + cell["width"] - (header["x"] + header["width"])) < 1
    assert text["x"] + text["width"] <= cell["x"] + cell["width"] + 0.5
    assert cell["x"] + cell["width"] <= following["x"] + 0.5

    # Scrolling down the table keeps the header in view, below the bulk bar.
    page.mouse.wheel(0, 900)
    page.wait_for_function("() => window.scrollY > 500")
    head = page.locator("table.tasks thead th.col-id").bounding_box()
    bar = page.locator("#bulk-bar").bounding_box()
    assert head["y"] >= 0 and head["y"] + head["height"] <= 120
    assert head["y"] >= bar["y"] + bar["height"] - 1
    expect(page.get_by_role("link", name="ID ▲")).to_be_visible()


def test_density_toggle_is_remembered(page, live_server):
    _open(page, live_server)
    table = page.locator("table.tasks")
    expect(table).to_have_class("grid tasks compact")
    compact_height = page.locator("#task-table tbody tr").first.bounding_box()["height"]
    toggle = page.get_by_role("button", name="Compact rows")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    toggle.click()
    expect(table).to_have_class("grid tasks comfortable")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    assert page.locator("#task-table tbody tr").first.bounding_box()["height"] > compact_height
    # Still wide enough: the long word wraps inside its cell instead of widening the table.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.reload()
    expect(page.locator("table.tasks")).to_have_class("grid tasks comfortable")
    # A sort swaps the table in: it keeps the chosen density.
    page.get_by_role("link", name="Agreement").click()
    expect(page.get_by_role("link", name="Agreement ▲")).to_be_visible()
    expect(page.locator("table.tasks")).to_have_class("grid tasks comfortable")
    page.get_by_role("button", name="Compact rows").click()
    page.reload()
    expect(page.locator("table.tasks")).to_have_class("grid tasks compact")


def test_bulk_buttons_count_and_a_double_click_posts_once(page, live_server):
    _open(page, live_server)
    assign = page.locator('button[value="assign_reviewers"]')
    delete = page.locator('button[value="delete_tasks"]')
    for button in (assign, delete, page.locator('button[value="delete_ground_truth"]')):
        expect(button).to_be_disabled()
    expect(delete).to_have_class("small danger")
    expect(page.locator('button[value="assign_ground_truth"]')).to_have_class("small secondary")

    for box in page.locator('table.tasks tbody input[name="ids"]').all()[:3]:
        box.check()
    expect(assign).to_be_enabled()
    expect(assign).to_have_text("Assign reviewers (3)")
    expect(delete).to_have_text("Delete tasks (3)")
    expect(page.get_by_role("button", name="Export CSV (3)")).to_be_enabled()

    posts = []
    page.on(
        "request",
        lambda request: posts.append(request.url) if request.method == "POST" else None,
    )
    pick_people(page, "reviewers", "rita@example.com")
    assign.dblclick()
    expect(page.locator("#flash")).to_contain_text(
        "Assigned 1 reviewer to 3 tasks; 0 pairs already existed."
    )
    expect(page.locator("table.tasks .reviewers .assigned")).to_have_count(3)
    page.wait_for_timeout(500)  # a second, queued POST would have gone out by now
    assert len([url for url in posts if url.endswith("/tasks/bulk")]) == 1
    expect(page.locator("#flash")).not_to_contain_text("Select at least one task")
    # The answer's table has no selection: the buttons are off again, without a count.
    expect(assign).to_be_disabled()
    expect(assign).to_have_text("Assign reviewers")

    # The confirmation's button does not post twice either.
    for box in page.locator('table.tasks tbody input[name="ids"]').all()[:2]:
        box.check()
    delete.click()
    confirm = page.get_by_role("button", name="Yes, delete tasks")
    expect(confirm).to_be_visible()
    posts.clear()
    confirm.dblclick()
    expect(page.locator("#flash")).to_contain_text("Deleted 2 tasks.")
    expect(page.locator(".table-count")).to_contain_text("38 tasks")
    page.wait_for_timeout(500)
    assert len([url for url in posts if url.endswith("/tasks/bulk")]) == 1
    expect(page.locator("#flash")).not_to_contain_text("Select at least one task")
