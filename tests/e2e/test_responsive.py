"""Every main page fits a phone (390 px) and a laptop (1280 px): no sideways scroll of the
page itself, and Log out stays on screen without opening a menu."""

import pytest
from sqlalchemy import select

from reviewapp.extensions import db
from reviewapp.models import Task
from tests import factories
from tests.e2e.conftest import log_in

VIEWPORTS = {"phone": (390, 844), "laptop": (1280, 800)}
LONG = "an unusually long review without many breaks " * 6 + "x" * 120


def _pages(live_server) -> dict[str, str]:
    """A project with annotated, predicted and unlabelled tasks; the URL of each main page."""
    with live_server.app.app_context():
        admin = factories.user("admin", email="admin-with-a-long-address@example.com")
        factories.user("reviewer", email="rita.reviewer.with.a.long.name@example.com")
        factories.user("annotator", email="annie.annotator.with.a.long.name@example.com")
        project = factories.project(members=(admin,), title="Sentiment of product reviews")
        factories.tasks(
            project,
            [
                {
                    "data": {"text": f"{LONG} {i}"},
                    "annotations": [
                        factories.annotation("ann.with.a.long.address@example.com", "Positive"),
                        factories.annotation("bob.with.a.long.address@example.com", "Negative"),
                    ],
                    "predictions": [{"result": factories.choice("Positive"), "score": i / 10}],
                }
                for i in range(1, 6)
            ]
            + [{"data": {"text": f"{LONG} unlabelled {i}"}} for i in range(3)],
        )
        task_id = db.session.scalars(select(Task.id).order_by(Task.id)).first()
        project_id = project.id
        db.session.remove()
    base = f"/projects/{project_id}"
    return {
        "project list": "/",
        "data manager": f"{base}/tasks",
        "task page": f"{base}/tasks/{task_id}",
        "review stream": f"{base}/review",
        "label stream": f"{base}/label",
        "dashboard": f"{base}/dashboard",
        "admin users": "/admin/users",
    }


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_main_pages_fit_the_width_and_keep_log_out_visible(browser, live_server, viewport):
    width, height = VIEWPORTS[viewport]
    urls = _pages(live_server)
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": height}
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    log_in(page, "admin-with-a-long-address@example.com", factories.PASSWORD)
    overflow, hidden = {}, []
    for name, url in urls.items():
        page.goto(url)
        scroll_width, inner_width = page.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth]"
        )
        print(f"{viewport} {name}: scrollWidth {scroll_width}, innerWidth {inner_width}")
        if scroll_width > inner_width:
            overflow[name] = scroll_width
        log_out = page.get_by_role("button", name="Log out")
        box = log_out.bounding_box()
        inside = box is not None and box["x"] >= 0 and box["x"] + box["width"] <= inner_width
        if not (log_out.is_visible() and inside):
            hidden.append(name)
    # The last page is the users list: at 1280 px its table fits without scrolling in its box.
    users_table = page.locator(".table-scroll", has=page.locator("table.users"))
    table_width, box_width = users_table.evaluate("box => [box.scrollWidth, box.clientWidth]")
    print(f"{viewport} users table: scrollWidth {table_width}, box {box_width}")
    context.close()
    assert overflow == {}, f"pages wider than {width} px (their scrollWidth): {overflow}"
    assert hidden == [], f"Log out not visible on screen: {hidden}"
    if viewport == "laptop":
        assert table_width <= box_width


def test_settings_text_areas_grow_with_their_content(page, live_server):
    with live_server.app.app_context():
        admin = factories.user("admin", email="admin@example.com")
        project_id = factories.project(members=(admin,)).id
        db.session.remove()
    log_in(page, "admin@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}/settings")
    description = page.get_by_label("Description")
    empty = description.evaluate("box => box.clientHeight")
    description.fill("\n".join(f"line {i}" for i in range(1, 9)))
    grown = description.evaluate("box => [box.clientHeight, box.scrollHeight]")
    assert grown[0] > empty * 2
    assert grown[1] <= grown[0]  # all eight lines show, no inner scroll bar
