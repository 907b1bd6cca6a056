"""The label stream at a desk's size: Submit and Skip in sight, a word labelled with a
double click."""

from playwright.sync_api import expect

from tests import factories
from tests.e2e.conftest import log_in
from tests.e2e.test_label import annotations, make_project

LONG_TEXT = " ".join(f"Sentence {i} of a long review that goes on and on." for i in range(400))


def test_submit_and_skip_stay_in_sight_below_a_long_task(page, live_server):
    """A 20,000-character text runs far past 800 px; the buttons stick to the bottom."""
    project_id = make_project(live_server, tasks=[{"data": {"text": LONG_TEXT}}])
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, "ann@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}/label")
    submit = page.get_by_role("button", name="Submit")
    expect(submit).to_be_visible()
    assert page.evaluate("document.documentElement.scrollHeight") > 2000
    for scroll in (0, 1000):
        page.evaluate(f"window.scrollTo(0, {scroll})")
        for button in (submit, page.get_by_role("button", name="Skip")):
            box = button.bounding_box()
            assert box["y"] >= 0 and box["y"] + box["height"] <= 800, (scroll, box)
    page.get_by_label("Positive").check()
    submit.click()
    expect(page.locator(".label-end")).to_contain_text("Nothing left to label")
    assert [a.result[0]["value"]["choices"] for a in annotations(live_server)] == [["Positive"]]


def test_double_click_a_word_to_label_it(page, live_server):
    """A double click on "Babbage" makes the span 27..34 (code points: the emoji is one),
    as a drag over the word would."""
    text = "Ada Lovelace 😀 met Charles Babbage in London."
    project_id = make_project(live_server, "ner", tasks=[{"data": {"text": text}}])
    log_in(page, "ann@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}/label")
    expect(page.locator("[data-spans][data-ready] [data-picker]")).to_be_visible()
    rect = page.evaluate(
        """(word) => {
          const node = document.querySelector("[data-text]").firstChild;
          const range = document.createRange();
          const start = node.textContent.indexOf(word);
          range.setStart(node, start);
          range.setEnd(node, start + word.length);
          const r = range.getBoundingClientRect();
          return [r.left, r.top, r.right, r.bottom];
        }""",
        "Babbage",
    )
    page.mouse.dblclick((rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2)
    expect(page.locator(".region-list")).to_contain_text("pick a label")
    page.get_by_role("button", name="PER").click()
    expect(page.locator(".region-list li")).to_have_text("PER“Babbage”×")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#flash")).to_have_text("Saved task 1.")
    [saved] = annotations(live_server)
    assert saved.result[0]["value"] == {
        "start": 27,
        "end": 34,
        "text": "Babbage",
        "labels": ["PER"],
    }
