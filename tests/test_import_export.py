import io
import json

import pytest
from sqlalchemy import func, select

from reviewapp.extensions import db
from reviewapp.models import Annotation, Membership, Prediction, Task, User
from reviewapp.services.import_export.exporter import export_csv, export_json
from reviewapp.services.import_export.importer import ImportFailed, import_file
from tests import factories


def span(start, end, text, label="PER"):
    return {
        "from_name": "label",
        "to_name": "text",
        "type": "labels",
        "value": {"start": start, "end": end, "text": text, "labels": [label]},
    }


def box(x, y, w, h, label="Circle"):
    return {
        "from_name": "label",
        "to_name": "image",
        "type": "rectanglelabels",
        "original_width": 640,
        "original_height": 480,
        "value": {
            "x": x,
            "y": y,
            "width": w,
            "height": h,
            "rotation": 0,
            "rectanglelabels": [label],
        },
    }


def load(project, items, name="tasks.json"):
    return import_file(project, io.BytesIO(json.dumps(items).encode()), name)


def exported(project, only="all"):
    return json.loads("".join(export_json(project.id, only)))


def test_import_keeps_annotators_flags_times_and_predictions(app):
    known = factories.user("annotator", email="known@example.com")
    project = factories.project()
    summary = load(
        project,
        [
            {
                "data": {"text": "Great phone"},
                "created_at": "2024-03-01T10:00:00Z",
                "annotations": [
                    {
                        "completed_by": "Known@Example.com",
                        "result": factories.choice("Positive"),
                        "lead_time": 12.5,
                        "created_at": "2024-03-02T09:00:00.500000Z",
                        "ground_truth": True,
                    },
                    {
                        "completed_by": {"id": 7, "email": "new@example.com"},
                        "result": factories.choice("Neutral"),
                    },
                    {"completed_by": 42, "result": [], "was_cancelled": True},
                ],
                "predictions": [
                    {"result": factories.choice("Positive"), "score": 0.83, "model_version": "m-2"}
                ],
            }
        ],
    )
    assert (summary.task_count, summary.annotation_count, summary.prediction_count) == (1, 3, 1)
    assert summary.new_annotators == ["new@example.com", "labelstudio-user-42@imported.invalid"]
    task = db.session.scalar(select(Task))
    assert task.created_at.isoformat() == "2024-03-01T10:00:00"
    assert (task.annotation_count, task.skipped_count, task.pending_count) == (2, 1, 2)
    assert task.prediction_score == 0.83 and task.has_ground_truth
    assert task.first_annotator == "known@example.com"
    first, second, skipped = task.annotations
    assert first.completed_by_id == known.id and first.lead_time == 12.5 and first.ground_truth
    assert first.created_at.isoformat() == "2024-03-02T09:00:00.500000"
    assert second.completed_by.email == "new@example.com" and not second.completed_by.active
    assert second.completed_by.role == "annotator"
    assert skipped.was_cancelled and skipped.result == []
    prediction = db.session.scalar(select(Prediction))
    assert (prediction.score, prediction.model_version) == (0.83, "m-2")
    members = set(
        db.session.scalars(select(Membership.user_id).where(Membership.project_id == project.id))
    )
    assert {first.completed_by_id, second.completed_by_id, skipped.completed_by_id} <= members


def test_unknown_annotators_are_created_once_and_reused_across_imports(app):
    project = factories.project()
    items = [
        {"data": {"text": f"t{i}"}, "annotations": [{"completed_by": 5, "result": []}]}
        for i in range(3)
    ]
    load(project, items)
    load(project, items)
    assert db.session.scalar(select(func.count(User.id))) == 1
    assert db.session.scalar(select(func.count(Annotation.id))) == 6


def test_label_studio_export_quirks_are_reported_with_counts(app):
    project = factories.project()
    summary = load(
        project,
        [
            {
                "id": 101,
                "data": {"text": "a"},
                "meta": {},
                "inner_id": 1,
                "total_annotations": 2,
                "annotations": [
                    {
                        "completed_by": 1,
                        "result": factories.choice("Positive"),
                        "ground_truth": True,
                        "created_at": "2024-01-02T00:00:00Z",
                        "unique_id": "u1",
                        "task": 101,
                    },
                    {
                        "completed_by": 2,
                        "result": factories.choice("Negative"),
                        "ground_truth": True,
                        "created_at": "2024-01-01T00:00:00Z",
                        "unique_id": "u2",
                        "task": 101,
                    },
                ],
                "predictions": [3, 4],
            }
        ],
    )
    annotations = db.session.scalars(select(Annotation).order_by(Annotation.id)).all()
    assert [a.ground_truth for a in annotations] == [False, True]  # the earliest keeps the flag
    assert summary.extra_ground_truth_tasks == 1
    assert summary.predictions_without_result == 2
    assert "task.meta" not in summary.ignored_fields  # kept with the task, and exported back
    assert summary.ignored_fields["annotation.unique_id"] == 2
    text = "\n".join(summary.lines())
    assert "Skipped 2 predictions" in text and "1 tasks had several ground-truth" in text
    assert "Ignored the field annotation.unique_id (2 times)" in text


def test_flat_tasks_and_a_single_task_object(app):
    project = factories.project()
    load(project, [{"text": "flat"}])
    import_file(project, io.BytesIO(b'  {"data": {"text": "single"}}'), "one.json")
    assert db.session.scalars(select(Task.data).order_by(Task.id)).all() == [
        {"text": "flat"},
        {"text": "single"},
    ]


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"this is not json", "x.json", "not JSON"),
        (b'[{"data": {"text": "a"}}, ', "x.json", "not valid JSON"),
        (b"", "x.json", "empty"),
        (b"[]", "x.json", "no tasks"),
        (b'[{"data": {"text": "a"}}, 5]', "x.json", "Task 2: expected an object"),
        (b'[{"data": {"body": "a"}}]', "x.json", "Task 1: data has no field 'text'"),
        (
            b'[{"data": {"text": "a"}, "annotations": {}}]',
            "x.json",
            "Task 1: 'annotations' must be a list",
        ),
        (b"a,b\n1,2,3\n", "x.csv", "CSV line 2"),
    ],
)
def test_bad_files_import_nothing_and_say_why(app, content, name, message):
    project = factories.project()
    factories.text_tasks(project, "already here")
    with pytest.raises(ImportFailed, match=message):
        import_file(project, io.BytesIO(content), name)
    assert db.session.scalar(select(func.count(Task.id))) == 1


def test_invalid_result_after_many_good_tasks_rolls_everything_back(app):
    project = factories.project()
    good = [
        {"data": {"text": f"t{i}"}, "annotations": [factories.annotation("a@example.com")]}
        for i in range(4500)
    ]
    bad = {"data": {"text": "x"}, "annotations": [factories.annotation("b@example.com", "Angry")]}
    with pytest.raises(ImportFailed, match=r"Task 4501, annotation 1: .*Angry"):
        load(project, [*good, bad])
    assert db.session.scalar(select(func.count(Task.id))) == 0
    assert db.session.scalar(select(func.count(Annotation.id))) == 0
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_result_for_a_control_the_config_lacks(app):
    project = factories.project()
    result = [
        {"from_name": "topic", "to_name": "text", "type": "choices", "value": {"choices": ["A"]}}
    ]
    with pytest.raises(ImportFailed, match=r"Task 1, prediction 1: .*topic"):
        load(project, [{"data": {"text": "a"}, "predictions": [{"result": result}]}])


def test_span_text_that_differs_is_kept_and_the_offsets_trusted(app):
    # Label Studio collapses double spaces in value.text; the offsets are the truth.
    project = factories.project("ner")
    summary = load(
        project,
        [
            {
                "data": {"text": "Alice met Bob"},
                "annotations": [{"completed_by": "a@example.com", "result": [span(0, 5, "Bob")]}],
            }
        ],
    )
    assert summary.as_dict()["spans_text_differs"] == 1
    assert "1 spans whose text differs from the task at their offsets" in " ".join(summary.lines())
    value = db.session.scalar(select(Annotation.result))[0]["value"]
    assert (value["start"], value["end"], value["text"]) == (0, 5, "Bob")


def roundtrip_items():
    return [
        {
            "data": {"text": "Alice works at Acme in Paris"},
            "created_at": "2024-05-01T08:00:00Z",
            "annotations": [
                {
                    "completed_by": "a@example.com",
                    "result": [span(0, 5, "Alice"), span(15, 19, "Acme", "ORG")],
                    "lead_time": 3.0,
                    "created_at": "2024-05-01T09:00:00Z",
                    "ground_truth": True,
                },
                {
                    "completed_by": "b@example.com",
                    "result": [span(0, 5, "Alice")],
                    "created_at": "2024-05-01T09:30:00Z",
                },
                {
                    "completed_by": "c@example.com",
                    "result": [],
                    "was_cancelled": True,
                    "created_at": "2024-05-01T10:00:00Z",
                },
            ],
            "predictions": [
                {"result": [span(23, 28, "Paris", "LOC")], "score": 0.4, "model_version": "ner-1"}
            ],
        },
        {"data": {"text": "No entities here"}, "created_at": "2024-05-02T08:00:00Z"},
    ]


def without_ids(tasks):
    for task in tasks:
        task.pop("id")
        for item in task["annotations"] + task["predictions"]:
            item.pop("id")
            if "completed_by" in item:
                item["completed_by"].pop("id")
    return tasks


def test_export_import_export_gives_the_same_tasks(app):
    first = factories.project("ner", title="first")
    load(first, roundtrip_items())
    once = exported(first)
    second = factories.project("ner", title="second")
    load(second, once)
    twice = exported(second)
    assert without_ids(once) == without_ids(twice)
    assert once[0]["annotations"][0]["ground_truth"] is True
    assert once[0]["annotations"][2]["was_cancelled"] is True
    assert once[0]["predictions"][0]["score"] == 0.4


def test_image_boxes_round_trip(app):
    project = factories.project("image")
    load(
        project,
        [
            {
                "data": {"image": "/media/a.png"},
                "annotations": [{"completed_by": "a@example.com", "result": [box(10, 20, 30, 40)]}],
            }
        ],
    )
    result = exported(project)[0]["annotations"][0]["result"][0]
    assert result["value"]["x"] == 10 and result["original_width"] == 640


def test_export_only_accepted_or_ground_truth(app):
    project = factories.project()
    load(
        project,
        [
            {
                "data": {"text": "a"},
                "annotations": [
                    factories.annotation("a@example.com"),
                    factories.annotation("b@example.com", ground_truth=True),
                ],
            },
            {"data": {"text": "b"}, "annotations": [factories.annotation("a@example.com")]},
        ],
    )
    first = db.session.scalars(select(Annotation).order_by(Annotation.id)).first()
    first.review_status = "accepted"
    db.session.commit()
    accepted = exported(project, "accepted")
    assert [t["data"]["text"] for t in accepted] == ["a"]
    assert [a["completed_by"]["email"] for a in accepted[0]["annotations"]] == ["a@example.com"]
    truth = exported(project, "ground-truth")
    assert [a["completed_by"]["email"] for t in truth for a in t["annotations"]] == [
        "b@example.com"
    ]


def test_csv_export_has_one_row_per_task_and_a_column_per_annotator(app):
    project = factories.project("ner")
    load(project, roundtrip_items())
    lines = "".join(export_csv(project.id)).splitlines()
    ids = db.session.scalars(select(Task.id).order_by(Task.id)).all()
    assert lines == [
        "id,text,a@example.com,b@example.com,c@example.com,ground_truth",
        f'{ids[0]},Alice works at Acme in Paris,"PER[0:5] ""Alice""; ORG[15:19] ""Acme""",'
        f'"PER[0:5] ""Alice""",(skipped),"PER[0:5] ""Alice""; ORG[15:19] ""Acme"""',
        f"{ids[1]},No entities here,,,,",
    ]
