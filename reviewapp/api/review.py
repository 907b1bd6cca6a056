"""JSON for scripts and model-assisted review: claim the next annotation, record a verdict."""

from flask import abort, request

from reviewapp.api import bp
from reviewapp.api.auth import api_user, token_required
from reviewapp.db import commit_before_rendering
from reviewapp.extensions import db
from reviewapp.labeling import LabelConfig, ResultError, parse_label_config
from reviewapp.labeling.offsets import from_label_studio, to_label_studio
from reviewapp.models import REJECT_ACTIONS, Annotation
from reviewapp.permissions import REVIEWERS, get_project_for
from reviewapp.services.data_manager.query import Selection, TableState
from reviewapp.services.review_stream import (
    StaleVerdict,
    VerdictError,
    next_for_review,
    queue_size,
    record_verdict,
)


@bp.post("/projects/<int:project_id>/review/next")
@token_required
def review_next(project_id: int):
    """Claim the next annotation of the set (same parameters as GET .../tasks) with a lease."""
    user = api_user()
    project = get_project_for(user, project_id, REVIEWERS)
    args = request.args.copy()
    body = request.get_json(silent=True)
    if request.is_json and request.get_data() and not isinstance(body, dict):
        abort(400, "Send the filters as a JSON object, or as query parameters.")
    if isinstance(body, dict):
        args.update({k: str(v) for k, v in body.items() if not isinstance(v, list)})
    state = TableState.from_args(args)
    if state.errors:
        abort(400, "; ".join(state.errors))
    selection = Selection.from_form(args)
    task_ids = None if selection.empty else selection.task_ids(project.id, state)
    item = next_for_review(project, user, state, task_ids)
    commit_before_rendering()
    if item is None:
        return {"annotation": None, "remaining": 0}
    return {
        "annotation": {
            "id": item.id,
            "task_id": item.task_id,
            "completed_by": {"id": item.completed_by.id, "email": item.completed_by.email},
            "result": to_label_studio(_config(project), item.result, item.task.data),
        },
        "task": {"id": item.task.id, "data": item.task.data},
        "remaining": queue_size(project, user, state, task_ids),
    }


@bp.post("/annotations/<int:annotation_id>/review")
@token_required
def review_annotation(annotation_id: int):
    """Record a verdict: {"verdict": accepted|fixed|rejected, "result"?, "comment"?, "reason"?,
    "action"?, "change"?}; with "change": true an earlier verdict is changed, as from the task
    page (the history keeps both)."""
    user = api_user()
    annotation = db.session.get(Annotation, annotation_id)
    if annotation is None:
        abort(404)
    project = get_project_for(user, annotation.project_id, REVIEWERS)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, "Send a JSON object with 'verdict'.")
    if (
        body.get("verdict") == "fixed"
        and not body.get("change")
        and not isinstance(body.get("result"), list)
    ):
        abort(400, "A fixed verdict needs 'result', the corrected Label Studio result list.")
    result = body.get("result")
    if result is not None and not (
        isinstance(result, list) and all(isinstance(item, dict) for item in result)
    ):
        abort(400, "'result' must be a Label Studio result list (of objects).")
    for name in ("comment", "reason", "action"):
        if body.get(name) is not None and not isinstance(body[name], str):
            abort(400, f"'{name}' must be a string.")
    if body.get("action") and body["action"] not in REJECT_ACTIONS:
        abort(400, f"'action' must be one of {', '.join(REJECT_ACTIONS)}.")
    if body.get("action") and body.get("verdict") != "rejected":
        abort(400, "'action' goes with a rejection only.")
    if body.get("change") is not None and not isinstance(body["change"], bool):
        abort(400, "'change' must be true or false.")
    change = bool(body.get("change"))
    if change and body.get("verdict") == "fixed" and result is None:
        fixed = annotation.result  # as on the task page: the result stays as it is
    else:
        fixed = _fixed_result(project, annotation, result)
    try:
        outcome = record_verdict(
            annotation_id,
            user,
            str(body.get("verdict", "")),
            result=fixed,
            comment=str(body.get("comment") or ""),
            reason=str(body.get("reason") or ""),
            project=project,
            action=body.get("action") or None,
            change=change,
        )
    except StaleVerdict as error:
        return {"error": str(error)}, 409
    except VerdictError as error:
        return {"error": str(error)}, 422
    db.session.commit()
    review = outcome.review
    return {
        "review": {
            "id": review.id,
            "annotation_id": annotation_id,
            "verdict": review.verdict,
            "comment": review.comment,
            "reason": review.reason,
            "fix_size": review.fix_size,
            "action": _action(outcome),
        },
        "message": outcome.message,
        "diff": outcome.diff,
    }, 201


def _action(outcome) -> str | None:
    """The reject action taken, or None for an accept or fix."""
    if outcome.review.verdict != "rejected":
        return None
    annotation = db.session.get(Annotation, outcome.review.annotation_id)
    return "return" if annotation.requeued else "reassign" if annotation.reassigned else "remove"


def _config(project) -> LabelConfig:
    return parse_label_config(project.label_config)


def _fixed_result(project, annotation: Annotation, result: object) -> object:
    """The API speaks Label Studio's UTF-16 span offsets; we store code points."""
    try:
        return from_label_studio(_config(project), result, annotation.task.data)
    except ResultError as error:
        abort(422, f"The fixed result is not valid: {error}")


from reviewapp.api.schemas import (  # noqa: E402 - the description sits below the routes
    TABLE_PARAMETERS,
    errors,
    json_body,
    path_id,
    ref,
    table_parameters,
)

_RESULT = {
    "type": "array",
    "items": {"type": "object"},
    "description": "Label Studio result list (from_name, to_name, type, value); UTF-16 offsets",
}
# As the Data Manager's form sends a selection: values that are not task ids are dropped.
_SELECTION = {
    "ids": {
        "description": "Only these tasks (repeat the parameter); other values are dropped.",
        "schema": {"type": "array", "items": {"type": "string"}},
    },
    "all_matching": {
        "description": "'1': all tasks matching the filters, less `excluded`; else ignored.",
        "schema": {"type": "string"},
    },
    "excluded": {
        "description": "With all_matching: tasks left out (repeat the parameter).",
        "schema": {"type": "array", "items": {"type": "string"}},
    },
}

OPENAPI_PATHS = {
    "/api/projects/{project_id}/review/next": {
        "parameters": [path_id("project_id", "The project's id")],
        "post": {
            "operationId": "review_next",
            "tags": ["review"],
            "summary": "Claim the next annotation to review, with a lease (reviewers and up).",
            "description": (
                "The set and its order are the Data Manager's: the same filters and ordering "
                "as GET .../tasks, as query parameters or as fields of a JSON object body "
                "(a body field wins), and optionally a selection of tasks. The answer says how "
                "many annotations are left after this one."
            ),
            "parameters": [
                *table_parameters(),
                *(
                    {"name": name, "in": "query", "style": "form", "explode": True, **spec}
                    for name, spec in _SELECTION.items()
                ),
            ],
            "requestBody": {
                "required": False,
                **json_body(
                    {
                        "type": "object",
                        "description": (
                            "Filters as in the query, each read in its text form (true, 0.5); "
                            "list values are ignored."
                        ),
                        "properties": {
                            name: {"description": spec["description"]}
                            for name, spec in {**TABLE_PARAMETERS, **_SELECTION}.items()
                        },
                    },
                    "Filters, ordering and selection (optional)",
                ),
            },
            "responses": {
                "200": json_body(
                    {
                        "type": "object",
                        "required": ["annotation", "remaining"],
                        "properties": {
                            "annotation": {
                                "type": ["object", "null"],
                                "description": "null when nothing is left to review",
                                "required": ["id", "task_id", "completed_by", "result"],
                                "properties": {
                                    "id": {"type": "integer"},
                                    "task_id": {"type": "integer"},
                                    "completed_by": ref("Person"),
                                    "result": _RESULT,
                                },
                            },
                            "task": {
                                "type": "object",
                                "required": ["id", "data"],
                                "properties": {
                                    "id": {"type": "integer"},
                                    "data": {"type": "object"},
                                },
                            },
                            "remaining": {"type": "integer", "minimum": 0},
                        },
                    },
                    "The annotation claimed, or null",
                ),
                **errors(400, 403, 404),
            },
        },
    },
    "/api/annotations/{annotation_id}/review": {
        "parameters": [path_id("annotation_id", "The annotation's id")],
        "post": {
            "operationId": "review_annotation",
            "tags": ["review"],
            "summary": "Record a verdict on an annotation (reviewers and up).",
            "requestBody": {
                "required": True,
                **json_body(
                    {
                        "type": "object",
                        "required": ["verdict"],
                        "properties": {
                            "verdict": {
                                "type": "string",
                                "enum": ["accepted", "fixed", "rejected"],
                            },
                            "result": {
                                **_RESULT,
                                "type": ["array", "null"],
                                "description": "The corrected result: required with 'fixed'",
                            },
                            "comment": {
                                "type": ["string", "null"],
                                "description": "Required on reject when the project says so",
                            },
                            "reason": {
                                "type": ["string", "null"],
                                "description": "One of the project's reject reasons",
                            },
                            "action": {
                                "type": ["string", "null"],
                                "enum": ["remove", "return", "reassign", None],
                                "description": "With 'rejected': one of the project's "
                                "reject_actions (default: its default_reject_action)",
                            },
                            "change": {
                                "type": ["boolean", "null"],
                                "description": "true: change an earlier verdict (as the task "
                                "page does; a fix without 'result' keeps the result)",
                            },
                        },
                    },
                    "The verdict",
                ),
            },
            "responses": {
                "201": json_body(
                    {
                        "type": "object",
                        "required": ["review", "message", "diff"],
                        "properties": {
                            "review": {
                                "type": "object",
                                "required": [
                                    "id",
                                    "annotation_id",
                                    "verdict",
                                    "comment",
                                    "reason",
                                    "fix_size",
                                ],
                                "properties": {
                                    "id": {"type": "integer"},
                                    "annotation_id": {"type": "integer"},
                                    "verdict": {
                                        "type": "string",
                                        "enum": ["accepted", "fixed", "rejected"],
                                    },
                                    "comment": {"type": ["string", "null"]},
                                    "reason": {"type": ["string", "null"]},
                                    "fix_size": {
                                        "type": ["number", "null"],
                                        "description": "1 - s(before, after), for a fix",
                                    },
                                    "action": {
                                        "type": ["string", "null"],
                                        "enum": ["remove", "return", "reassign", None],
                                        "description": "The reject action taken",
                                    },
                                },
                            },
                            "message": {"type": "string"},
                            "diff": {
                                "type": "array",
                                "items": {"type": "string"},
                                "description": "What a fix changed, one line each",
                            },
                        },
                    },
                    "The review recorded",
                ),
                **errors(400, 403, 404, 409, 422),
            },
        },
    },
}
