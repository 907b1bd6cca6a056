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
from reviewapp.services.metrics.final import (
    FinalInput,
    FinalLabel,
    final_label,
    latest_reviews,
    stored_pair_scores,
)

ONLY = ("all", "accepted", "ground-truth", "final")
FORMATS = ("json", "csv")
# With only=final: "all" also writes every annotation after the final label.
INCLUDE = ("", "all")


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
    return _json_list(_task_objects(project_id, only, task_ids))


def _json_list(chunks: Iterator[list[str]]) -> Iterator[str]:
    """A JSON list streamed from chunks of its items (each already JSON text)."""
    yield "["
    first = True
    for parts in chunks:
        yield ("" if first else ",\n") + ",\n".join(parts)
        first = False
    yield "]\n"


def _task_objects(project_id: int, only: str, task_ids: Select | None) -> Iterator[list[str]]:
    dump = json.dumps
    spans = _span_converter(project_id)
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
            items = ", ".join(_annotation_json(a) for a in annotations[task_id])
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
        yield parts


def _annotation_json(row: tuple) -> str:
    """One annotation row of `_annotations` as Label Studio JSON (its result passed through)."""
    a_id, user_id, email, result, cancelled, gt, lead, status, c_at, u_at, a_source = row
    dump = json.dumps
    return (
        f'{{"id": {a_id}, "completed_by": {{"id": {user_id}, "email": {dump(email)}}}, '
        f'"result": {result}, "was_cancelled": {dump(cancelled)}, '
        f'"ground_truth": {dump(gt)}, "lead_time": {dump(lead)}, '
        f'"review_status": {dump(status)}, "created_at": {_iso(c_at)}, '
        f'"updated_at": {_iso(u_at)}, "source_id": {dump(a_source)}}}'
    )


def _span_converter(project_id: int) -> Callable[[str, str], str] | None:
    """For a config with text spans: the function that turns a stored result (JSON text) into
    one with Label Studio's UTF-16 offsets, given the task's data (JSON text)."""
    config = parse_label_config(db.session.get(Project, project_id).label_config)
    if not any(c.tag == "Labels" for c in config.controls.values()):
        return None
    return lambda result, data: json.dumps(
        to_label_studio(config, json.loads(result), json.loads(data))
    )


def _csv_columns(project_id: int, task_ids: Select | None) -> tuple[dict, list[str]]:
    """Every data field of the exported tasks (first-seen order) and every annotator's email."""
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
    return fields, list(annotators)


def export_csv(project_id: int, only: str = "all", task_ids: Select | None = None) -> Iterator[str]:
    """One row per task: id, each data field, then one column per annotator with their answer
    (several answers of one annotator joined by ' | '), then the ground truth's answer."""
    fields, annotators = _csv_columns(project_id, task_ids)
    header = "".join(csv_lines([["id", *fields, *annotators, "ground_truth"]]))
    for rows in _task_chunks(project_id, only, task_ids):
        annotations = _annotations([row[0] for row in rows], only)
        lines = csv_lines(
            _csv_row(task_id, data, annotations[task_id], fields, annotators)
            for task_id, data, *_ in rows
        )
        yield header + "".join(lines)
        header = ""


def _final_labels(
    project: Project, rows: list, annotations: dict[int, list]
) -> dict[int, FinalLabel | None]:
    """The final label of each task of a chunk, from its annotation rows already read plus
    two queries for the whole chunk (latest verdicts, stored pair scores)."""
    config = parse_label_config(project.label_config)
    ids = [row[0] for row in rows]
    latest, pairs = latest_reviews(ids), stored_pair_scores(ids)
    finals = {}
    for task_id in ids:
        ordered = sorted(annotations[task_id], key=lambda a: (a[8], a[0]))
        inputs = [
            FinalInput(a[0], [] if a[4] else json.loads(a[3]), a[4], a[5], a[7], latest.get(a[0]))
            for a in ordered
        ]
        finals[task_id] = final_label(config, inputs, pairs, project.iou_threshold)
    return finals


def export_final_json(
    project_id: int, include: str = "", task_ids: Select | None = None
) -> Iterator[str]:
    """One final label per task (services.metrics.final) as ``final: {"result", "source",
    "annotation_ids", "agreement"}`` (null when no rule applies; ``sources`` when its
    controls came from different rules); include="all" adds every annotation after it."""
    return _json_list(_final_objects(project_id, include, task_ids))


def _final_objects(project_id: int, include: str, task_ids: Select | None) -> Iterator[list[str]]:
    project = db.session.get(Project, project_id)
    config = parse_label_config(project.label_config)
    spans = _span_converter(project_id)
    for rows in _task_chunks(project_id, "all", task_ids):
        annotations = _annotations([row[0] for row in rows], "all")
        finals = _final_labels(project, rows, annotations)
        parts = []
        for task_id, data, created, source_id, meta in rows:
            final = finals[task_id]
            answer = final.as_json() if final else None
            astral = spans is not None and ASTRAL_IN_JSON.search(data)
            if answer and astral:
                answer["result"] = to_label_studio(config, answer["result"], json.loads(data))
            extra = ""
            if include == "all":
                own = annotations[task_id]
                if astral:
                    own = [(*a[:3], spans(a[3], data), *a[4:]) for a in own]
                extra = f', "annotations": [{", ".join(_annotation_json(a) for a in own)}]'
            parts.append(
                f'{{"id": {task_id}, "source_id": {json.dumps(source_id)}, "data": {data}, '
                f'"meta": {meta or "null"}, "final": {json.dumps(answer)}{extra}, '
                f'"created_at": {_iso(created)}}}'
            )
        yield parts


def export_final_csv(
    project_id: int, include: str = "", task_ids: Select | None = None
) -> Iterator[str]:
    """One row per task: id, each data field, the final label as text, its source, the ids
    of the annotations it came from (space-separated) and its agreement; include="all" adds
    each annotator's answer and the review status of it (several joined by ' | ')."""
    project = db.session.get(Project, project_id)
    fields, annotators = _csv_columns(project_id, task_ids)
    if include != "all":
        annotators = []
    columns = ["final", "final_source", "final_annotation_ids", "final_agreement"]
    status_columns = [f"{email} status" for email in annotators]
    people = [c for pair in zip(annotators, status_columns, strict=True) for c in pair]
    header = "".join(csv_lines([["id", *fields, *columns, *people]]))
    for rows in _task_chunks(project_id, "all", task_ids):
        annotations = _annotations([row[0] for row in rows], "all")
        finals = _final_labels(project, rows, annotations)
        lines = []
        for task_id, data, *_ in rows:
            values, final = json.loads(data), finals[task_id]
            line = [task_id, *(values.get(f) for f in fields)]
            if final is None:
                line += ["", "", "", ""]
            else:
                ids = " ".join(map(str, final.annotation_ids))
                line += [answer_text(final.result), final.source, ids, final.agreement]
            answers: dict[str, list[str]] = {}
            for _, _, email, result, cancelled, _, _, status, *_ in annotations[task_id]:
                text = "(skipped)" if cancelled else answer_text(json.loads(result))
                answers.setdefault(email, []).append(text)
                answers.setdefault(f"{email} status", []).append(status)
            line += [" | ".join(answers.get(column, ())) for column in people]
            lines.append(line)
        yield header + "".join(csv_lines(lines))
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
    project_id: int,
    fmt: str,
    only: str = "all",
    task_ids: Select | None = None,
    include: str = "",
) -> Iterator[str]:
    """The project in fmt (one of FORMATS), a chunk of tasks at a time; include (one of
    INCLUDE) is for only="final"."""
    if only == "final":
        final = export_final_json if fmt == "json" else export_final_csv
        return final(project_id, include, task_ids)
    return (export_json if fmt == "json" else export_csv)(project_id, only, task_ids)


def export_refusal(fmt: str, only: str, include: str = "") -> str | None:
    """Why these export choices are refused (the message for a 400), or None."""
    if fmt not in FORMATS or only not in ONLY or include not in INCLUDE:
        return (
            f"format must be one of {', '.join(FORMATS)}; only one of {', '.join(ONLY)}; "
            "include empty or all."
        )
    return None


def export_filename(project_id: int, fmt: str, only: str, include: str = "") -> str:
    with_all = "-with-annotations" if only == "final" and include == "all" else ""
    return f"project-{project_id}-{only}{with_all}.{fmt}"
