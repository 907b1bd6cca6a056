"""Export a project as Label Studio JSON or CSV, streamed a chunk of tasks at a time."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from flask import Response, stream_with_context
from sqlalchemy import Select, select

from reviewapp.extensions import db
from reviewapp.models import Annotation, Prediction, Project, Task, User

ONLY = ("all", "accepted", "ground-truth")
FORMATS = ("json", "csv")
CHUNK = 1000


def _annotation_filter(only: str):
    if only == "accepted":
        return Annotation.review_status.in_(("accepted", "fixed"))
    if only == "ground-truth":
        return Annotation.ground_truth.is_(True)
    return None


def _task_chunks(
    project_id: int, only: str, task_ids: Select | None = None
) -> Iterator[list[tuple[Task, list[dict], list[dict]]]]:
    """Chunks of (task, annotation dicts, prediction dicts) in task id order.

    With only != "all", tasks without a matching annotation are left out.
    """
    wanted = _annotation_filter(only)
    last_id = 0
    while True:
        query = select(Task).where(Task.project_id == project_id, Task.id > last_id)
        if task_ids is not None:
            query = query.where(Task.id.in_(task_ids))
        if wanted is not None:
            query = query.where(
                select(Annotation.id).where(Annotation.task_id == Task.id, wanted).exists()
            )
        tasks = db.session.scalars(query.order_by(Task.id).limit(CHUNK)).all()
        if not tasks:
            return
        last_id = tasks[-1].id
        ids = [t.id for t in tasks]
        annotations: dict[int, list[dict]] = {i: [] for i in ids}
        query = (
            select(Annotation, User.email)
            .join(User, User.id == Annotation.completed_by_id)
            .where(Annotation.task_id.in_(ids))
            .order_by(Annotation.id)
        )
        if wanted is not None:
            query = query.where(wanted)
        for a, email in db.session.execute(query):
            annotations[a.task_id].append(
                {
                    "id": a.id,
                    "completed_by": {"id": a.completed_by_id, "email": email},
                    "result": a.result,
                    "was_cancelled": a.was_cancelled,
                    "ground_truth": a.ground_truth,
                    "lead_time": a.lead_time,
                    "review_status": a.review_status,
                    "created_at": _iso(a.created_at),
                    "updated_at": _iso(a.updated_at),
                }
            )
        predictions: dict[int, list[dict]] = {i: [] for i in ids}
        for p in db.session.scalars(
            select(Prediction).where(Prediction.task_id.in_(ids)).order_by(Prediction.id)
        ):
            predictions[p.task_id].append(
                {
                    "id": p.id,
                    "model_version": p.model_version,
                    "score": p.score,
                    "result": p.result,
                    "created_at": _iso(p.created_at),
                }
            )
        yield [(t, annotations[t.id], predictions[t.id]) for t in tasks]
        db.session.expunge_all()  # keep memory flat across chunks


def export_json(
    project_id: int, only: str = "all", task_ids: Select | None = None
) -> Iterator[str]:
    """Label Studio JSON: a list of tasks with their annotations and predictions.

    Re-importable: importing it into a project with the same config and exporting again gives
    the same tasks, annotations (annotator, result, flags, times) and predictions.
    """
    yield "["
    first = True
    for chunk in _task_chunks(project_id, only, task_ids):
        parts = []
        for task, task_annotations, predictions in chunk:
            item = {
                "id": task.id,
                "data": task.data,
                "annotations": task_annotations,
                "predictions": predictions,
                "created_at": _iso(task.created_at),
            }
            parts.append(json.dumps(item, ensure_ascii=False))
        yield ("" if first else ",\n") + ",\n".join(parts)
        first = False
    yield "]\n"


def export_csv(project_id: int, only: str = "all", task_ids: Select | None = None) -> Iterator[str]:
    """One row per task: id, each data field, then one column per annotator with their answer."""
    fields: dict[str, None] = {}
    for (data,) in db.session.execute(
        select(Task.data).where(Task.project_id == project_id).execution_options(yield_per=5000)
    ):
        fields.update(dict.fromkeys(data))
    annotators = db.session.scalars(
        select(User.email)
        .where(
            User.id.in_(
                select(Annotation.completed_by_id).where(Annotation.project_id == project_id)
            )
        )
        .order_by(User.email)
    ).all()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", *fields, *annotators, "ground_truth"])
    for chunk in _task_chunks(project_id, only, task_ids):
        for task, task_annotations, _ in chunk:
            answers: dict[str, str] = {}
            ground_truth = ""
            for a in task_annotations:
                text = "(skipped)" if a["was_cancelled"] else answer_text(a["result"])
                email = a["completed_by"]["email"]
                answers[email] = f"{answers[email]} | {text}" if email in answers else text
                if a["ground_truth"]:
                    ground_truth = text
            writer.writerow(
                [
                    task.id,
                    *(_cell(task.data.get(f)) for f in fields),
                    *(answers.get(e, "") for e in annotators),
                    ground_truth,
                ]
            )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


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
        elif kind == "rating":
            parts.append(f"{item.get('from_name')}={value.get('rating')}")
        elif kind == "textarea":
            parts.append(" / ".join(value.get("text", [])))
    return "; ".join(parts)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _iso(value) -> str | None:
    return value.isoformat() + "Z" if value else None


def export_response(
    project: Project, fmt: str, only: str, task_ids: Select | None = None
) -> Response:
    """A streamed download: memory does not grow with the project."""
    chunks = (export_json if fmt == "json" else export_csv)(project.id, only, task_ids)
    mimetype = "application/json" if fmt == "json" else "text/csv"
    filename = f"project-{project.id}-{only}.{fmt}"
    return Response(
        stream_with_context(chunks),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
