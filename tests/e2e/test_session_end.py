import re
from urllib.parse import urlsplit

from playwright.sync_api import expect

from reviewapp.extensions import db
from tests import factories
from tests.e2e.conftest import log_in


def test_an_ended_session_logs_in_again_and_returns_to_the_page(browser, live_server):
    """Log out in one tab; a sort link (htmx) in another tab of the same browser lands on the
    log-in page with the reason, and logging in brings the user back to that page."""
    with live_server.app.app_context():
        manager = factories.user("manager", email="manager@example.com")
        project = factories.project(members=(manager,), title="Sentiment")
        factories.text_tasks(project, *(f"review {i}" for i in range(1, 8)))
        project_id = project.id
        db.session.remove()
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    other_tab, page = context.new_page(), context.new_page()
    log_in(page, "manager@example.com", factories.PASSWORD)
    table = f"/projects/{project_id}/tasks?page_size=5"
    page.goto(table)
    expect(page.locator(".table-count")).to_contain_text("7 tasks")
    on_the_page = page.url

    other_tab.goto("/")
    other_tab.get_by_role("button", name="Log out").click()
    expect(other_tab.locator("#flash")).to_contain_text("You are logged out.")

    page.get_by_role("link", name="Next →").click()
    page.wait_for_url(re.compile(r"/login\?next="))
    expect(page.locator("#flash")).to_contain_text("Your session ended; log in to continue.")
    page.get_by_label("Email").fill("manager@example.com")
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: urlsplit(url).path == f"/projects/{project_id}/tasks")
    assert page.url == on_the_page
    expect(page.locator(".table-count")).to_contain_text("7 tasks")
    context.close()
