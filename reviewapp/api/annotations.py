"""Annotators' own annotations: create one on a task, change it while it waits for review or
was sent back. The same services, validation and overlap rule as the label stream; results
come and go with Label Studio's UTF-16 span offsets."""

from __future__ import annotations

import math

from flask import abort

from reviewapp.api import bp
from reviewapp.api.auth import api_user, token_required
from reviewapp.api.common import json_object
from reviewapp.api.tasks import annotation_json
from reviewapp.extensions import db
from reviewapp.labeling import ResultError, parse_label_config, validate_result
from reviewapp.labeling.offsets import from_label_studio
from reviewapp.models import Annotation, Project, Task
from reviewapp.permissions import LABELLERS, get_project_for
from reviewapp.services import label_stream as stream


def _result(project: Project, task: Task, body: dict) -> list[dict]:
    if "result" not in body:
        abort(400, "Send 'result': a Label Studio result list.")
    config = parse_label_config(project.label_config)
    try:
        return validate_result(
            config, from_label_studio(config, body["result"], task.data), task.data
        )
    except ResultError as error:
        abort(422, f"result: {error}")


def _lead_time(body: dict) -> float | None:
    value = body.get("lead_time")
    if value is None:
        return None
    if type(value) not in (int, float) or not math.isfinite(value) or value < 0:
        abort(400, "'lead_time' must be a number of seconds, 0 or more.")
    return float(value)


@bp.post("/tasks/<int:task_id>/annotations")
@token_required
def create_annotation_api(task_id: int):
    """Submit the token's user's annotation of a task, as the label stream's Submit does
    (a returned annotation of theirs on the task is updated instead)."""
    user = api_user()
    task = db.session.get(Task, task_id)
    if task is None:
        abort(404)
    project = get_project_for(user, task.project_id, LABELLERS)
    body = json_object("with 'result' (and optionally 'lead_time')")
    result, lead_time = _result(project, task, body), _lead_time(body)
    try:
        saved = stream.submit(project, user, task, result, lead_time)
    except ResultError as error:  # incomplete for this project
        db.session.rollback()
        abort(422, f"result: {error}")
    except (stream.AlreadySubmitted, stream.OverlapReached) as error:
        db.session.rollback()
        abort(409, str(error))
    db.session.commit()
    return {"annotation": annotation_json(project, saved.annotation), "message": saved.message}, 201


@bp.put("/annotations/<int:annotation_id>")
@token_required
def update_annotation_api(annotation_id: int):
    """Replace the result of the token's user's own annotation while it is pending review or
    sent back to them (a returned one goes back to review)."""
    user = api_user()
    annotation = db.session.get(Annotation, annotation_id)
    if annotation is None:
        abort(404)
    project = get_project_for(user, annotation.project_id, LABELLERS)
    if annotation.completed_by_id != user.id:
        abort(403, "Only its annotator changes an annotation (reviewers use the review API).")
    body = json_object("with 'result'")
    result = _result(project, annotation.task, body)
    try:
        saved = stream.update_own(project, user, annotation, result)
    except ResultError as error:
        db.session.rollback()
        abort(422, f"result: {error}")
    except stream.NotEditable as error:
        db.session.rollback()
        abort(409, str(error))
    db.session.commit()
    return {"annotation": annotation_json(project, saved.annotation), "message": saved.message}


from reviewapp.api.schemas import op, path_id, ref  # noqa: E402 - the description sits below

_BODY = {
    "type": "object",
    "required": ["result"],
    "properties": {
        "result": {
            "type": "array",
            "items": {"type": "object"},
            "description": "Label Studio result list (from_name, to_name, type, value), "
            "with UTF-16 span offsets",
        },
        "lead_time": {
            "type": ["number", "null"],
            "minimum": 0,
            "description": "Seconds spent; null: not known",
        },
    },
}
_ANSWER = {
    "type": "object",
    "required": ["annotation", "message"],
    "properties": {"annotation": ref("Annotation"), "message": {"type": "string"}},
}

OPENAPI_PATHS = {
    "/api/tasks/{task_id}/annotations": {
        "post": op(
            "create_annotation_api",
            "annotations",
            "Submit your annotation of a task (annotators, managers, admins), as the label "
            "stream does: validated, within the project's overlap.",
            {201: _ANSWER},
            (400, 403, 404, 409, 422),
            parameters=[path_id("task_id", "The task's id")],
            body=_BODY,
        )
    },
    "/api/annotations/{annotation_id}": {
        "put": op(
            "update_annotation_api",
            "annotations",
            "Change your own annotation while it is pending review or sent back to you.",
            {200: _ANSWER},
            (400, 403, 404, 409, 422),
            parameters=[path_id("annotation_id", "The annotation's id")],
            body=_BODY,
        )
    },
}
