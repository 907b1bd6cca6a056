from playwright.sync_api import expect

from reviewapp.extensions import db
from tests import factories
from tests.e2e.conftest import add_filter, log_in, pick_people


def test_filter_order_select_assign_and_review(page, live_server):
    with live_server.app.app_context():
        manager = factories.user("manager", email="manager@example.com")
        reviewer = factories.user("reviewer", email="rita@example.com")
        project = factories.project(members=(manager, reviewer), title="Sentiment")
        factories.tasks(
            project,
            [
                {
                    "data": {"text": f"{'good' if i % 2 else 'plain'} review {i}"},
                    "annotations": [factories.annotation("ann@example.com")],
                    "predictions": [{"result": factories.choice("Positive"), "score": i / 20}],
                }
                for i in range(1, 13)
            ],
        )
        project_id = project.id
        db.session.remove()
    log_in(page, "manager@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}/tasks")
    expect(page.locator(".table-count")).to_contain_text("12 tasks")

    add_filter(page, "Text in data").get_by_label("Filter 1: text").fill("good")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".table-count")).to_contain_text("6 tasks matching")
    expect(page).to_have_url(f"{live_server.url}/projects/{project_id}/tasks?q=good")

    page.get_by_role("link", name="Prediction score").click()
    page.get_by_role("link", name="Prediction score ▲").click()
    expect(page.get_by_role("link", name="Prediction score ▼")).to_be_visible()
    first_ids = page.locator("table.tasks tbody tr td:nth-child(2)").all_inner_texts()[:3]
    assert "ordering=-prediction_score" in page.url

    marker = page.evaluate("window.__no_reload = 1")
    assert marker == 1
    for box in page.locator('table.tasks tbody input[name="ids"]').all()[:3]:
        box.check()
    expect(page.locator("[data-selected-count]")).to_have_text("3 tasks selected")
    expect(page.locator("[data-review-button]")).to_have_text("Review 3 tasks")

    pick_people(page, "reviewers", "rita@example.com")
    page.get_by_role("button", name="Assign reviewers (3)", exact=True).click()
    expect(page.locator("#flash")).to_contain_text(
        "Assigned 1 reviewer to 3 tasks; 0 pairs already existed."
    )
    expect(page.locator("table.tasks .reviewers .person")).to_have_count(3)
    assert page.evaluate("window.__no_reload") == 1  # the table changed without a page load
    rows = page.locator("table.tasks tbody tr")
    for index in range(3):
        expect(rows.nth(index).locator(".reviewers")).to_contain_text("rita")
    assert page.locator("table.tasks tbody tr td:nth-child(2)").all_inner_texts()[:3] == first_ids

    for box in page.locator('table.tasks tbody input[name="ids"]').all()[:3]:
        box.check()
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.get_by_role("button", name="Review 3 tasks").click()
    expect(page.locator(".progress")).to_contain_text("3 annotations in 3 tasks to review")
    # The button posts the selection; the stream's URL (and every URL on the way) has no token.
    assert f"/projects/{project_id}/review?" in page.url and "csrf_token" not in page.url
    assert requested and not [url for url in requested if "csrf_token" in url]


def test_back_button_restores_the_filtered_table(page, live_server):
    with live_server.app.app_context():
        manager = factories.user("manager", email="manager@example.com")
        project = factories.project(members=(manager,))
        factories.text_tasks(project, "alpha", "beta", "gamma")
        project_id = project.id
        db.session.remove()
    log_in(page, "manager@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}/tasks")
    add_filter(page, "Text in data").get_by_label("Filter 1: text").fill("beta")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".table-count")).to_contain_text("1 task matching")
    page.get_by_role("link", name="ID ▲").click()
    expect(page.get_by_role("link", name="ID ▼")).to_be_visible()
    page.go_back()
    expect(page.locator(".table-count")).to_contain_text("1 task matching")
    page.reload()
    expect(page.locator(".table-count")).to_contain_text("1 task matching")
    expect(page.get_by_label("Filter 1: text")).to_have_value("beta")
