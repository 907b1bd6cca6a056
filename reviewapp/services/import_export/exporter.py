"""Export a project as Label Studio JSON or CSV, streamed a chunk of tasks at a time.

Rows are read as plain columns, and stored JSON (task data, results) is passed through as
text for the JSON export, so a 100,000-task export neither builds ORM objects nor decodes
and re-encodes every result.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime

from sqlalchemy import Select, Text, cast, select

from reviewapp.db import CHUNK
from reviewapp.downloads import csv_lines
from reviewapp.extensions import db
from reviewapp.labeling import parse_label_config
from reviewapp.labeling.offsets import ASTRAL_IN_JSON, to_label_studio
from reviewapp.models import Annotation, Prediction, Project, Task, User

ONLY = ("all", "accepted", "ground-truth")
FORMATS = ("json", "csv")


def _annotation_filter(only: str):
    if only == "accepted":
        return Annotation.review_status.in_(("accepted", "fixed"))
    if only == "ground-truth":
        return Annotation.ground_truth.is_(True)
    return None


def _task_chunks(project_id: int, only: str, task_ids: Select | None) -> Iterator[list]:
    """Chunks of (id, raw data JSON, created_at) in id order.

    With only != "all", tasks without a matching annotation are left out.
    """
    wanted = _annotation_filter(only)
    last_id = 0
    while True:
        query = select(
            Task.id, cast(Task.data, Text), Task.created_at, Task.source_id, cast(Task.meta, Text)
        ).where(Task.project_id == project_id, Task.id > last_id)
        if task_ids is not None:
            query = query.where(Task.id.in_(task_ids))
        if wanted is not None:
            query = query.where(
                select(Annotation.id).where(Annotation.task_id == Task.id, wanted).exists()
            )
        rows = db.session.execute(query.order_by(Task.id).limit(CHUNK)).all()
        if not rows:
            return
        last_id = rows[-1][0]
        yield rows


def _annotations(ids: list[int], only: str) -> dict[int, list]:
    query = (
        select(
            Annotation.task_id,
            Annotation.id,
            Annotation.completed_by_id,
            User.email,
            cast(Annotation.result, Text),
            Annotation.was_cancelled,
            Annotation.ground_truth,
            Annotation.lead_time,
            Annotation.review_status,
            Annotation.created_at,
            Annotation.updated_at,
            Annotation.source_id,
        )
        .join(User, User.id == Annotation.completed_by_id)
        .where(Annotation.task_id.in_(ids))
        .order_by(Annotation.id)
    )
    wanted = _annotation_filter(only)
    if wanted is not None:
        query = query.where(wanted)
    found: dict[int, list] = {i: [] for i in ids}
    for row in db.session.execute(query):
        found[row[0]].append(row[1:])
    return found


def _predictions(ids: list[int]) -> dict[int, list]:
    found: dict[int, list] = {i: [] for i in ids}
    for row in db.session.execute(
        select(
            Prediction.task_id,
            Prediction.id,
            Prediction.model_version,
            Prediction.score,
            cast(Prediction.result, Text),
            Prediction.created_at,
        )
        .where(Prediction.task_id.in_(ids))
        .order_by(Prediction.id)
    ):
        found[row[0]].append(row[1:])
    return found


def export_json(
    project_id: int, only: str = "all", task_ids: Select | None = None
) -> Iterator[str]:
    """Label Studio JSON: a list of tasks with their annotations and predictions.

    Re-importable: importing it into a project with the same config and exporting again gives
    the same tasks, annotations (annotator, result, flags, times) and predictions. ``id`` is
    ours; ``source_id`` (task and annotation) and ``meta`` are the imported file's own.
    """
    dump = json.dumps
    spans = _span_converter(project_id)
    yield "["
    first = True
    for rows in _task_chunks(project_id, only, task_ids):
        ids = [row[0] for row in rows]
        annotations, predictions = _annotations(ids, only), _predictions(ids)
        parts = []
        for task_id, data, created, source_id, meta in rows:
            if spans is not None and ASTRAL_IN_JSON.search(data):
                annotations[task_id] = [
                    (*a[:3], spans(a[3], data), *a[4:]) for a in annotations[task_id]
                ]
                predictions[task_id] = [
                    (*p[:3], spans(p[3], data), *p[4:]) for p in predictions[task_id]
                ]
            items = ", ".join(
                f'{{"id": {a_id}, "completed_by": {{"id": {user_id}, "email": {dump(email)}}}, '
                f'"result": {result}, "was_cancelled": {dump(cancelled)}, '
                f'"ground_truth": {dump(gt)}, "lead_time": {dump(lead)}, '
                f'"review_status": {dump(status)}, "created_at": {_iso(c_at)}, '
                f'"updated_at": {_iso(u_at)}, "source_id": {dump(a_source)}}}'
                for (
                    a_id,
                    user_id,
                    email,
                    result,
                    cancelled,
                    gt,
                    lead,
                    status,
                    c_at,
                    u_at,
                    a_source,
                ) in annotations[task_id]
            )
            preds = ", ".join(
                f'{{"id": {p_id}, "model_version": {dump(version)}, "score": {dump(score)}, '
                f'"result": {result}, "created_at": {_iso(p_at)}}}'
                for p_id, version, score, result, p_at in predictions[task_id]
            )
            parts.append(
                f'{{"id": {task_id}, "source_id": {dump(source_id)}, "data": {data}, '
                f'"meta": {meta or "null"}, "annotations": [{items}], '
                f'"predictions": [{preds}], "created_at": {_iso(created)}}}'
            )
        yield ("" if first else ",\n") + ",\n".join(parts)
        first = False
    yield "]\n"


def _span_converter(project_id: int) -> Callable[[str, str], str] | None:
    """For a config with text spans: the function that turns a stored result (JSON text) into
    one with Label Studio's UTF-16 offsets, given the task's data (JSON text)."""
    config = parse_label_config(db.session.get(Project, project_id).label_config)
    if not any(c.tag == "Labels" for c in config.controls.values()):
        return None
    return lambda result, data: json.dumps(
        to_label_studio(config, json.loads(result), json.loads(data))
    )


def export_csv(project_id: int, only: str = "all", task_ids: Select | None = None) -> Iterator[str]:
    """One row per task: id, each data field, then one column per annotator with their answer
    (several answers of one annotator joined by ' | '), then the ground truth's answer."""
    fields: dict[str, None] = {}
    keys = select(cast(Task.data, Text)).where(Task.project_id == project_id)
    if task_ids is not None:
        keys = keys.where(Task.id.in_(task_ids))
    for (data,) in db.session.execute(keys.execution_options(yield_per=5000)):
        fields.update(dict.fromkeys(json.loads(data)))
    annotators = db.session.scalars(
        select(User.email)
        .where(
            User.id.in_(
                select(Annotation.completed_by_id).where(Annotation.project_id == project_id)
            )
        )
        .order_by(User.email)
    ).all()
    header = "".join(csv_lines([["id", *fields, *annotators, "ground_truth"]]))
    for rows in _task_chunks(project_id, only, task_ids):
        annotations = _annotations([row[0] for row in rows], only)
        lines = csv_lines(
            _csv_row(task_id, data, annotations[task_id], fields, annotators)
            for task_id, data, *_ in rows
        )
        yield header + "".join(lines)
        header = ""


def _csv_row(task_id: int, data: str, annotations: list, fields: dict, annotators: list) -> list:
    values = json.loads(data)
    answers: dict[str, str] = {}
    ground_truth = ""
    for _, _, email, result, cancelled, gt, *_ in annotations:
        text = "(skipped)" if cancelled else answer_text(json.loads(result))
        answers[email] = f"{answers[email]} | {text}" if email in answers else text
        if gt:
            ground_truth = text
    return [
        task_id,
        *(values.get(f) for f in fields),
        *(answers.get(e, "") for e in annotators),
        ground_truth,
    ]


def answer_text(result: list[dict]) -> str:
    """A result as short readable text, e.g. 'Positive' or 'PER[0:5] "Alice"; ORG[10:14] "Acme"'."""
    parts = []
    for item in result:
        value, kind = item.get("value", {}), item.get("type")
        if kind == "choices":
            parts.append(", ".join(value.get("choices", [])))
        elif kind == "labels":
            label = ", ".join(value.get("labels", []))
            text = f' "{value["text"]}"' if value.get("text") else ""
            parts.append(f"{label}[{value.get('start')}:{value.get('end')}]{text}")
        elif kind == "rectanglelabels":
            label = ", ".join(value.get("rectanglelabels", []))
            box = ",".join(f"{value.get(k, 0):.1f}" for k in ("x", "y", "width", "height"))
            parts.append(f"{label}({box})")
        elif kind == "polygonlabels":
            label = ", ".join(value.get("polygonlabels", []))
            parts.append(f"{label}(polygon of {len(value.get('points', []))} points)")
        elif kind == "keypointlabels":
            label = ", ".join(value.get("keypointlabels", []))
            parts.append(f"{label}({value.get('x', 0):.1f},{value.get('y', 0):.1f})")
        elif kind == "rating":
            parts.append(f"{item.get('from_name')}={value.get('rating')}")
        elif kind == "textarea":
            parts.append(" / ".join(value.get("text", [])))
        elif kind in ("number", "datetime"):
            parts.append(f"{item.get('from_name')}={value.get(kind)}")
        elif kind == "taxonomy":
            parts.append(", ".join(" / ".join(path) for path in value.get("taxonomy", [])))
    return "; ".join(parts)


def _iso(value: datetime | None) -> str:
    return f'"{value.isoformat()}Z"' if value else "null"


def export_chunks(
    project_id: int, fmt: str, only: str = "all", task_ids: Select | None = None
) -> Iterator[str]:
    """The project in fmt (one of FORMATS), a chunk of tasks at a time."""
    return (export_json if fmt == "json" else export_csv)(project_id, only, task_ids)


def export_filename(project_id: int, fmt: str, only: str) -> str:
    return f"project-{project_id}-{only}.{fmt}"
