"""The task page: annotation tabs, compare grid, predictions, reviewers, history, receipts."""

import re

import pytest
from sqlalchemy import event, select

from reviewapp.extensions import db
from reviewapp.models import Annotation, ReviewerAssignment, Task
from reviewapp.services.data_manager.task_page import task_detail
from tests import factories
from tests.test_import_export import box, span

NER_TEXT = "Ada Lovelace met Charles Babbage in London."


def _task(project) -> Task:
    return db.session.scalars(
        select(Task).where(Task.project_id == project.id).order_by(Task.id.desc())
    ).first()


def _annotations(task) -> list[Annotation]:
    return list(
        db.session.scalars(
            select(Annotation).where(Annotation.task_id == task.id).order_by(Annotation.id)
        )
    )


def _section(body: str, section_id: str) -> str:
    """The HTML of <section id=section_id>, up to its closing tag (sections do not nest)."""
    return body.split(f'id="{section_id}"', 1)[1].split("</section>", 1)[0]


def _url(project, task) -> str:
    return f"/projects/{project.id}/tasks/{task.id}"


@pytest.fixture
def classified(app):
    """A text task: three annotators (two agree), a prediction, a GT, an assignment, a review."""
    manager = factories.user("manager")
    reviewer = factories.user("reviewer")
    annotators = [factories.user("annotator") for _ in range(3)]
    project = factories.project("text", members=(manager, reviewer, *annotators))
    first, second, third = annotators
    factories.tasks(
        project,
        [
            {
                "data": {"text": "The kettle works perfectly.", "source": "shop-7"},
                "annotations": [
                    factories.annotation(first, "Positive", ground_truth=True, lead_time=12),
                    factories.annotation(second, "Positive"),
                    factories.annotation(third, "Negative"),
                ],
                "predictions": [
                    {
                        "model_version": "sentiment-v2",
                        "score": 0.87,
                        "result": factories.choice("Negative"),
                    }
                ],
            }
        ],
    )
    task = _task(project)
    gt, agreeing, differing = _annotations(task)
    db.session.add(
        ReviewerAssignment(task_id=task.id, user_id=reviewer.id, assigned_by_id=manager.id)
    )
    factories.review(
        differing,
        reviewer,
        "rejected",
        reason="Wrong label",
        comment="Re-read the last sentence, please.",
    )
    differing.review_status = "rejected"
    db.session.commit()
    return {
        "project": project,
        "task": task,
        "manager": manager,
        "reviewer": reviewer,
        "annotators": annotators,
        "annotations": (gt, agreeing, differing),
    }


def test_text_task_page_shows_tabs_prediction_reviewers_and_history(client, auth, classified):
    auth.login(classified["manager"])
    response = client.get(_url(classified["project"], classified["task"]))
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    body = response.get_data(as_text=True)
    gt, agreeing, differing = classified["annotations"]
    for user, annotation in zip(classified["annotators"], classified["annotations"], strict=True):
        assert f"{user.email} #{annotation.id}" in body  # tab label
    assert body.count('type="radio"') == 3 and body.count(" checked") == 1
    assert 'class="star"' in body.split("</h1>")[0]  # the task has a ground truth
    # In the body, so a boosted navigation (which swaps only the body) loads it too.
    assert "css/task.css" in body.split("<body")[1]
    assert 'href="/projects/{}/tasks"'.format(classified["project"].id) in body
    # The task data: the text object and the other field.
    data = _section(body, "task-data")
    assert "The kettle works perfectly." in data and "shop-7" in data
    predictions = _section(body, "predictions")
    assert "sentiment-v2" in predictions and "0.87" in predictions
    reviewers = _section(body, "reviewers")
    assert classified["reviewer"].email in reviewers
    assert f"by {classified['manager'].email}" in reviewers
    assert "1 review," in reviewers
    history = _section(body, "review-history")
    assert "Re-read the last sentence, please." in history and "Wrong label" in history
    assert f"#{differing.id}" in history and "rejected" in history
    compare = _section(body, "compare")
    assert compare.count('class="compare-item') == 4  # three annotations and the prediction


def test_agreement_receipt_and_ground_truth_accuracy(client, auth, classified):
    auth.login(classified["reviewer"])
    body = client.get(_url(classified["project"], classified["task"])).get_data(as_text=True)
    gt, agreeing, differing = classified["annotations"]
    # Positive/Positive agree (1); each against Negative disagrees (0): (1 + 0 + 0) / 3 = 33%.
    agreement = _section(body, "agreement")
    cells = re.findall(r'href="#pair-(\d+)-(\d+)">(\d+)%', agreement)
    scores = {(int(a), int(b)): int(value) for a, b, value in cells}
    assert scores[gt.id, agreeing.id] == 100
    assert scores[gt.id, differing.id] == 0
    assert scores[agreeing.id, differing.id] == 0
    assert "(100% + 0% + 0%) / 3" in agreement and "<strong>33%</strong>" in agreement
    assert "equal -&gt; 1" in agreement and "different -&gt; 0" in agreement
    assert "33%" in body.split("</header>", 2)[1]  # the header's agreement
    # Ground truth is the first annotation: the second agrees (100%), the third and the
    # Negative prediction do not (0%).
    truth = _section(body, "ground-truth")
    accuracy = dict(
        re.findall(r'id="gt-([a-z]+-\d+)"><th[^>]*>.*?</th><td class="num">(\d+)%', truth)
    )
    prediction_id = classified["task"].predictions[0].id
    assert accuracy == {
        f"annotation-{agreeing.id}": "100",
        f"annotation-{differing.id}": "0",
        f"prediction-{prediction_id}": "0",
    }


def test_task_detail_runs_the_same_queries_however_many_annotations(app):
    project = factories.project("text")
    people = [factories.user("annotator") for _ in range(5)]
    few = [factories.annotation(p, "Positive") for p in people[:2]]
    many = [factories.annotation(p, "Negative") for p in people]
    factories.tasks(project, [{"data": {"text": "few"}, "annotations": few}])
    factories.tasks(project, [{"data": {"text": "many"}, "annotations": many}])
    tasks = db.session.scalars(select(Task).where(Task.project_id == project.id).order_by(Task.id))

    counts = []
    for task in tasks:
        statements = []

        def count(*args, statements=statements):
            statements.append(args)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            detail = task_detail(project, task)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        counts.append(len(statements))
        assert len(detail.pairs) == len(detail.annotations) * (len(detail.annotations) - 1) // 2
        assert detail.agreement == pytest.approx(task.agreement)
    assert counts[0] == counts[1] <= 4


def test_ner_task_highlights_spans_and_lists_region_matches(client, auth, app):
    manager = factories.user("manager")
    project = factories.project("ner", members=(manager,))
    ada, charles, london = (
        NER_TEXT.index(s) for s in ("Ada Lovelace", "Charles Babbage", "London")
    )
    one = [span(ada, ada + 12, "Ada Lovelace", "PER"), span(london, london + 6, "London", "LOC")]
    two = [
        span(ada, ada + 12, "Ada Lovelace", "PER"),
        span(charles, charles + 15, "Charles Babbage"),
    ]
    factories.tasks(
        project,
        [
            {
                "data": {"text": NER_TEXT},
                "annotations": [
                    {"completed_by": "ner1@example.com", "result": one},
                    {"completed_by": "ner2@example.com", "result": two},
                ],
            }
        ],
    )
    auth.login(manager)
    body = client.get(_url(project, _task(project))).get_data(as_text=True)
    assert re.search(
        r'<mark class="span lbl-0"[^>]*>Ada Lovelace<small class="tag">PER</small></mark>', body
    )
    assert re.search(
        r'<mark class="span lbl-2"[^>]*>London<small class="tag">LOC</small></mark>', body
    )
    # The text between spans is kept as it is.
    assert "</mark> met <mark" in body
    # Receipt: Ada matched with IoU 1; London and Charles Babbage unmatched:
    # 1 / (2 + 2 - 1) = 0.333.
    agreement = _section(body, "agreement")
    assert "IoU 1.00" in agreement
    assert f"[{london}–{london + 6}] LOC" in agreement
    assert f"[{charles}–{charles + 15}] PER" in agreement
    assert "/ (2 + 2 - 1 matched) = 0.333" in agreement
    assert "<strong>33%</strong>" in agreement


def test_overlapping_spans_are_listed_under_the_text(client, auth, app):
    manager = factories.user("manager")
    project = factories.project("ner", members=(manager,))
    result = [span(0, 12, "Ada Lovelace", "PER"), span(4, 12, "Lovelace", "MISC")]
    factories.tasks(
        project,
        [
            {
                "data": {"text": NER_TEXT},
                "annotations": [{"completed_by": "ner@example.com", "result": result}],
            }
        ],
    )
    auth.login(manager)
    body = client.get(_url(project, _task(project))).get_data(as_text=True)
    listed = body.split('<ul class="span-list">', 1)[1].split("</ul>", 1)[0]
    assert "Lovelace" in listed and "MISC" in listed and "[4–12]" in listed


def test_image_task_draws_boxes_in_percent(client, auth, app):
    manager = factories.user("manager")
    project = factories.project("image", members=(manager,))
    factories.tasks(
        project,
        [
            {
                "data": {"image": "/media/demo/shapes-1.png"},
                "annotations": [
                    {"completed_by": "img@example.com", "result": [box(10, 20, 30, 40, "Square")]}
                ],
            }
        ],
    )
    auth.login(manager)
    body = client.get(_url(project, _task(project))).get_data(as_text=True)
    assert 'src="/media/demo/shapes-1.png"' in body
    assert 'style="left: 10%; top: 20%; width: 30%; height: 40%;"' in body
    assert '<span class="box-label">Square</span>' in body


def test_task_data_is_escaped(client, auth, app):
    manager = factories.user("manager")
    text_project = factories.project("text", members=(manager,))
    factories.tasks(
        text_project,
        [{"data": {"text": "<script>alert(1)</script>", "note": "<img src=x onerror=alert(2)>"}}],
    )
    ner_project = factories.project("ner", members=(manager,))
    evil = "<script>alert(3)</script> by Ada"
    result = [span(evil.index("Ada"), len(evil), "Ada", "PER")]
    factories.tasks(
        ner_project,
        [
            {
                "data": {"text": evil},
                "annotations": [{"completed_by": "x@example.com", "result": result}],
            }
        ],
    )
    auth.login(manager)
    body = client.get(_url(text_project, _task(text_project))).get_data(as_text=True)
    assert "<script>alert(1)" not in body and "&lt;script&gt;alert(1)" in body
    assert "<img src=x" not in body and "&lt;img src=x onerror=alert(2)&gt;" in body
    body = client.get(_url(ner_project, _task(ner_project))).get_data(as_text=True)
    assert (
        "<script>alert(3)" not in body and "&lt;script&gt;alert(3)&lt;/script&gt; by <mark" in body
    )


def test_task_of_another_project_is_not_found(client, auth, app):
    manager = factories.user("manager")
    mine = factories.project("text", members=(manager,))
    other = factories.project("text", members=(manager,), title="Other")
    factories.text_tasks(mine, "mine")
    factories.text_tasks(other, "theirs")
    auth.login(manager)
    assert client.get(_url(mine, _task(other))).status_code == 404
    assert client.get(_url(mine, _task(mine))).status_code == 200


def test_non_member_gets_404_and_annotator_403(client, auth, app):
    annotator = factories.user("annotator")
    project = factories.project("text", members=(annotator,))
    factories.text_tasks(project, "hello")
    task = _task(project)
    auth.login("reviewer")  # not a member
    assert client.get(_url(project, task)).status_code == 404
    auth.logout()
    auth.login(annotator)
    assert client.get(_url(project, task)).status_code == 403


def test_manager_stars_any_annotation_from_the_task_page(client, auth, classified):
    """Each tab of a manager's task page has a star; starring the third annotator's moves
    the task's ground truth there from the first's. A reviewer sees no star button."""
    project, task = classified["project"], classified["task"]
    gt, agreeing, differing = classified["annotations"]
    auth.login(classified["reviewer"])
    assert "Mark as ground truth" not in client.get(_url(project, task)).get_data(as_text=True)
    auth.logout()
    auth.login(classified["manager"])
    body = client.get(_url(project, task)).get_data(as_text=True)
    assert body.count("Mark as ground truth") == 2 and body.count("Clear ground truth") == 1
    star = f'action="/projects/{project.id}/annotations/{differing.id}/ground-truth"'
    assert star in body.split(f'id="annotation-{differing.id}"')[1]

    back = f"{_url(project, task)}?annotation={differing.id}"
    response = client.post(
        f"/projects/{project.id}/annotations/{differing.id}/ground-truth", data={"next": back}
    )
    assert response.status_code == 302 and response.headers["Location"] == back
    db.session.expire_all()
    assert [a.ground_truth for a in _annotations(task)] == [False, False, True]
    page = client.get(back).get_data(as_text=True)
    assert "is now the ground truth" in page
    assert page.count("Mark as ground truth") == 2 and page.count("Clear ground truth") == 1


def test_image_task_draws_the_image_full_size_once(client, auth, app):
    """One annotation and one prediction: the annotation's tab draws the image full size;
    the Data section, the final label and the two compare items draw thumbnails linking to
    the image."""
    manager = factories.user("manager")
    project = factories.project("image", members=(manager,))
    src = "/media/demo/shapes-1.png"
    factories.tasks(
        project,
        [
            {
                "data": {"image": src},
                "annotations": [
                    {"completed_by": "img@example.com", "result": [box(10, 20, 30, 40, "Square")]}
                ],
                "predictions": [{"result": [box(12, 20, 30, 40, "Square")], "score": 0.5}],
            }
        ],
    )
    auth.login(manager)
    body = client.get(_url(project, _task(project))).get_data(as_text=True)
    thumb = f'<a class="image-thumb" href="{src}" target="_blank" rel="noopener"'
    assert body.count(f'src="{src}"') == 5
    assert body.count(thumb) == 4
    assert thumb in _section(body, "task-data") and _section(body, "compare").count(thumb) == 2
    assert thumb in _section(body, "final-label")
    assert thumb not in _section(body, "annotations").split("Comments")[0]

    # No annotation yet: the Data section is the one full-size drawing.
    bare = factories.project("image", members=(manager,), title="Bare")
    factories.tasks(bare, [{"data": {"image": src}}])
    page = client.get(_url(bare, _task(bare))).get_data(as_text=True)
    assert "image-thumb" not in _section(page, "task-data")
