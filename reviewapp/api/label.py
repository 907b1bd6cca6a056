"""The label stream by token: the next task to label (leased, as the page leases it) and a
skip. Submitting and changing an annotation are in api/annotations.py."""

from __future__ import annotations

from flask import abort, request

from reviewapp.api import bp
from reviewapp.api.annotations import _lead_time
from reviewapp.api.auth import api_user, token_required
from reviewapp.api.common import iso
from reviewapp.api.tasks import annotation_json
from reviewapp.extensions import db
from reviewapp.models import Task
from reviewapp.permissions import LABELLERS, get_project_for
from reviewapp.services import label_stream as stream


@bp.post("/projects/<int:project_id>/label/next")
@token_required
def label_next_api(project_id: int):
    """The token's user's next task to label, leased to them, as the label stream picks it:
    an annotation a reviewer sent back first (with the review), then the task they hold,
    then the next task that needs them. {"task": null} when nothing is left."""
    user = api_user()
    project = get_project_for(user, project_id, LABELLERS)
    item = stream.next_item(project, user)
    db.session.commit()
    if item is None:
        return {"task": None, "lease_until": None, "returned": None}
    returned = None
    if item.annotation is not None:
        returned = {
            "annotation": annotation_json(project, item.annotation),
            "comment": item.comment,
            "reason": item.reason,
        }
    return {
        "task": {"id": item.task.id, "data": item.task.data},
        "lease_until": iso(item.lease_until),
        "returned": returned,
    }


@bp.post("/tasks/<int:task_id>/skip")
@token_required
def skip_task_api(task_id: int):
    """Skip a task, as the label stream's Skip does: a cancelled annotation with an empty
    result (a returned annotation of the user's on the task becomes the skip)."""
    user = api_user()
    task = db.session.get(Task, task_id)
    if task is None:
        abort(404)
    project = get_project_for(user, task.project_id, LABELLERS)
    body = request.get_json(silent=True) if request.get_data() else {}
    if not isinstance(body, dict):  # `null`, a list, or not JSON at all
        abort(400, "Send nothing, or a JSON object with 'lead_time'.")
    lead_time = _lead_time(body)
    try:
        saved = stream.skip(project, user, task, lead_time)
    except stream.AlreadySubmitted as error:
        db.session.rollback()
        abort(409, str(error))
    db.session.commit()
    return {"annotation": annotation_json(project, saved.annotation), "message": saved.message}, 201


from reviewapp.api.schemas import (  # noqa: E402 - the description sits below the routes
    json_body,
    nullable,
    obj,
    op,
    path_id,
    ref,
    with_message,
)

_NEXT = obj(
    {
        "task": nullable(
            obj({"id": {"type": "integer"}, "data": {"type": "object"}}, "The task to label")
        ),
        "lease_until": nullable({"type": "string", "format": "date-time"}),
        "returned": nullable(
            obj(
                {
                    "annotation": ref("Annotation"),
                    "comment": {"type": "string"},
                    "reason": {"type": "string"},
                },
                "Your annotation a reviewer sent back, with the review's comment and reason",
            )
        ),
    }
)

OPENAPI_PATHS = {
    "/api/projects/{project_id}/label/next": {
        "post": op(
            "label_next_api",
            "annotations",
            "Your next task to label (annotators, managers, admins), leased to you as the "
            "label stream does; task null when nothing is left.",
            {200: _NEXT},
            (403, 404),
            parameters=[path_id("project_id", "The project's id")],
        )
    },
    "/api/tasks/{task_id}/skip": {
        "post": op(
            "skip_task_api",
            "annotations",
            "Skip a task, as the label stream's Skip does.",
            {201: with_message("annotation", ref("Annotation"))},
            (400, 403, 404, 409),
            parameters=[path_id("task_id", "The task's id")],
        )
    },
}
# The body is optional: a skip needs nothing but, if known, the seconds spent.
OPENAPI_PATHS["/api/tasks/{task_id}/skip"]["post"]["requestBody"] = {
    "required": False,
    **json_body(
        {
            "type": "object",
            "properties": {
                "lead_time": {
                    "type": ["number", "null"],
                    "minimum": 0,
                    "description": "Seconds spent; null: not known",
                }
            },
        },
        "Optionally the seconds spent",
    ),
}
