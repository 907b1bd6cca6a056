"""A reviewer comments on a region in the review stream; the annotator sees the counter, opens
the notification, sees the marked region and resolves the comment."""

from playwright.sync_api import expect

from reviewapp.extensions import db
from tests import factories
from tests.e2e.conftest import log_in

TEXT = "Ada Lovelace met Charles Babbage in London."


def test_comment_on_a_region_notify_and_resolve(page, live_server):
    with live_server.app.app_context():
        annotator = factories.user("annotator", email="ann@example.com", name="Ann")
        reviewer = factories.user("reviewer", email="rex@example.com", name="Rex")
        project = factories.project("ner", members=(annotator, reviewer), title="People")
        factories.tasks(
            project,
            [
                {
                    "data": {"text": TEXT},
                    "annotations": [
                        {
                            "completed_by": annotator.email,
                            "result": [
                                {
                                    "id": "r1",
                                    "from_name": "label",
                                    "to_name": "text",
                                    "type": "labels",
                                    "value": {"start": 0, "end": 3, "labels": ["PER"]},
                                }
                            ],
                        }
                    ],
                }
            ],
        )
        project_id = project.id
        db.session.remove()

    log_in(page, "rex@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}/review")
    thread = page.locator("section.comments")
    expect(thread).to_contain_text("No comments yet.")
    thread.get_by_label("New comment").fill("Only <b>Ada</b>? Mark the whole name.")
    thread.get_by_label("On region").select_option(label="PER “Ada”")
    thread.get_by_role("button", name="Comment").click()
    expect(page.locator("#flash")).to_contain_text("Comment added.")
    expect(thread.locator(".comment")).to_contain_text("Only <b>Ada</b>? Mark the whole name.")
    expect(thread.locator(".comment")).to_contain_text("on PER “Ada”")
    expect(thread).to_contain_text("1 unresolved")
    # The region is marked at once, in the annotation under review.
    mark = page.locator('.marked-result mark.span[data-region-id="r1"] .comment-mark.open')
    expect(mark).to_have_text("✎ 1")
    # The review stream is still there, the comment's keys did not give a verdict.
    expect(page.locator(".review-item h1")).to_contain_text("Annotation #")
    expect(page.locator(".progress")).to_contain_text("1 annotation")
    page.get_by_role("button", name="Log out").click()

    log_in(page, "ann@example.com", factories.PASSWORD)
    counter = page.locator(".notifications-link .counter")
    expect(counter).to_have_text("1")
    page.locator(".notifications-link").click()
    expect(page.locator(".notification.unread")).to_contain_text("Rex commented on annotation")
    page.locator(".notification.unread button").click()
    expect(page.locator("h1")).to_contain_text("Annotation #")
    expect(page.locator(".notifications-link .counter")).to_have_count(0)
    marked = page.locator('#annotation-result mark.span[data-region-id="r1"]')
    expect(marked).to_have_class("span lbl-0 commented")
    expect(marked.locator(".comment-mark.open")).to_have_text("✎ 1")

    page.locator("section.comments").get_by_role("button", name="Resolve").click()
    expect(page.locator("#flash")).to_contain_text("Comment resolved.")
    expect(page.locator("section.comments .comment")).to_contain_text("resolved by Ann")
    expect(page.locator("section.comments")).to_contain_text("0 unresolved")
    page.reload()
    expect(marked.locator(".comment-mark")).not_to_have_class("comment-mark open")
