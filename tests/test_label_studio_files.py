"""Files as Label Studio and the tools around it really write them (issue: fidelity, part A)."""

import io
import json

import pytest
from sqlalchemy import func, select

from reviewapp.extensions import db
from reviewapp.models import Annotation, Membership, Task, User
from reviewapp.services.import_export.importer import ImportFailed, import_file
from tests import factories


def load(project, items):
    summary = import_file(project, io.BytesIO(json.dumps(items).encode()), "tasks.json")
    db.session.commit()
    return summary


def box(x, y, w, h):
    return {
        "from_name": "label",
        "to_name": "image",
        "type": "rectanglelabels",
        "value": {"x": x, "y": y, "width": w, "height": h, "rectanglelabels": ["Circle"]},
    }


def test_annotations_without_completed_by_go_to_one_unknown_account_per_project(app, auth):
    manager = auth.login("manager")
    project = factories.project()
    other = factories.project(title="Other")
    chosen = {"result": factories.choice("Positive")}
    summary = load(project, [{"data": {"text": t}, "annotations": [chosen]} for t in "ab"])
    load(other, [{"data": {"text": "c"}, "annotations": [chosen]}])
    assert summary.unknown_annotator_annotations == 2
    assert summary.new_annotators == []
    assert any("2 annotations had no completed_by" in line for line in summary.lines())
    authors = db.session.scalars(
        select(User).join(Annotation, Annotation.completed_by_id == User.id).distinct()
    ).all()
    assert len(authors) == 2  # one account in each project, never the importing manager
    assert manager not in authors
    for user in authors:
        assert (user.name, user.active, user.role) == (
            "unknown annotator (import)",
            False,
            "annotator",
        )
    mine = db.session.scalar(
        select(User.id)
        .join(Membership)
        .where(Membership.project_id == project.id, User.id != manager.id)
    )
    assert {
        a.completed_by_id
        for a in db.session.scalars(select(Annotation).where(Annotation.project_id == project.id))
    } == {mine}


def test_boxes_up_to_five_percent_past_the_edge_are_kept_and_counted(app):
    project = factories.project("image")
    a = {"completed_by": "a@x.com", "result": [box(60, 10, 40.43, 20)]}  # x + width = 100.43
    b = {"completed_by": "b@x.com", "result": [box(60, 10, 40, 20)]}
    summary = load(project, [{"data": {"image": "/media/a.png"}, "annotations": [a, b]}])
    assert summary.as_dict()["boxes_past_edge"] == 1
    stored = db.session.scalars(select(Annotation.result).order_by(Annotation.id)).first()
    assert stored[0]["value"]["width"] == 40.43  # as given
    # IoU of the part on the image: a clipped to 60..100 equals b exactly.
    assert db.session.scalar(select(Task.agreement)) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "geometry, message",
    [
        ((-6, 0, 10, 10), "x = -6 is outside -5..100"),
        ((90, 0, 16, 10), "x + width = 106 is past 105"),
        ((10, 10, -3, 10), "width = -3 must be > 0"),
    ],
)
def test_boxes_far_outside_or_negative_are_refused_naming_the_result(app, geometry, message):
    project = factories.project("image")
    item = {
        "data": {"image": "/m.png"},
        "annotations": [{"completed_by": "a@x.com", "result": [box(*geometry)]}],
    }
    with pytest.raises(ImportFailed) as refused:
        load(project, [item])
    assert str(refused.value).startswith('Task 0, annotation 0: result[0] (from_name "label")')
    assert message in str(refused.value)


def test_legacy_completions_are_read_as_annotations_and_said(app):
    project = factories.project()
    summary = load(
        project,
        [{"data": {"text": "old"}, "completions": [factories.annotation("a@x.com", "Negative")]}],
    )
    assert (summary.annotation_count, summary.legacy_completions) == (1, 1)
    assert "Read 1 legacy `completions`" in " ".join(summary.lines())
    with pytest.raises(
        ImportFailed, match=r"^Read 1 legacy `completions`; Task 0: data has no field 'text'"
    ):
        load(project, [{"data": {"txt": "old"}, "completions": [factories.annotation("a@x.com")]}])


def test_a_task_field_that_holds_results_is_an_error_not_dropped(app):
    project = factories.project()
    with pytest.raises(
        ImportFailed, match="the field 'labels' holds results, which would be dropped"
    ):
        load(
            project, [{"data": {"text": "x"}, "labels": [{"result": factories.choice("Positive")}]}]
        )
    drafts = load(
        project, [{"data": {"text": "x"}, "drafts": [{"result": factories.choice("Positive")}]}]
    )
    assert drafts.ignored_fields["task.drafts"] == 1  # unsubmitted work: said, not an error


@pytest.mark.parametrize("empty", [None, {}])
def test_a_skip_with_a_null_or_empty_object_result_is_an_empty_skip(app, empty):
    project = factories.project()
    summary = load(
        project,
        [
            {
                "data": {"text": "x"},
                "annotations": [
                    {"completed_by": "a@x.com", "was_cancelled": True, "result": empty}
                ],
            }
        ],
    )
    assert summary.skipped_annotation_count == 1
    assert db.session.scalar(select(Annotation.result)) == []


def test_a_refused_import_lists_the_first_twenty_problems_and_stores_nothing(app):
    project = factories.project()
    bad = [{"data": {"txt": str(i)}} for i in range(25)]
    good = [{"data": {"text": "fine"}}] * 3
    with pytest.raises(ImportFailed) as refused:
        load(project, good + bad[:2])
    assert str(refused.value) == (
        "2 problems: Task 3: data has no field 'text' (the label config's <Text name=\"text\"> "
        "reads $text); fields: txt. Task 4: data has no field 'text' (the label config's "
        '<Text name="text"> reads $text); fields: txt.'
    )
    with pytest.raises(ImportFailed) as many:
        load(project, good + bad)
    assert str(many.value).startswith("20 problems (the first 20): Task 3:")
    assert "Task 22:" in str(many.value) and "Task 23:" not in str(many.value)
    assert db.session.scalar(select(func.count(Task.id))) == 0
