"""JSON for one task (what the task page shows), deleting it, and the ground-truth star.
Results go out with Label Studio's UTF-16 span offsets."""

from __future__ import annotations

from flask import abort
from sqlalchemy import select

from reviewapp.api import bp
from reviewapp.api.auth import api_user, token_required
from reviewapp.api.common import iso, person
from reviewapp.extensions import db
from reviewapp.labeling import LabelConfig, parse_label_config
from reviewapp.labeling.offsets import to_label_studio
from reviewapp.models import REVIEW_STATUSES, TASK_STATES, Annotation, Project, Task, User
from reviewapp.permissions import MANAGERS, REVIEWERS, get_project_for
from reviewapp.services.data_manager.bulk import apply_bulk_action
from reviewapp.services.data_manager.task_page import Receipt, state_history, task_detail
from reviewapp.services.derived.scores import lock_tasks
from reviewapp.services.ground_truth import GroundTruthError, toggle_ground_truth


def _task(task_id: int, roles: tuple[str, ...]) -> tuple[Project, Task]:
    """The task and its project, 404 unless the user may see the project, 403 by role."""
    task = db.session.get(Task, task_id)
    if task is None:
        abort(404)
    return get_project_for(api_user(), task.project_id, roles), task


def _annotation(annotation_id: int, roles: tuple[str, ...]) -> tuple[Project, Annotation]:
    annotation = db.session.get(Annotation, annotation_id)
    if annotation is None:
        abort(404)
    return get_project_for(api_user(), annotation.project_id, roles), annotation


def _config(project: Project) -> LabelConfig:
    return parse_label_config(project.label_config)


def annotation_json(project: Project, annotation: Annotation) -> dict:
    return {
        "id": annotation.id,
        "task_id": annotation.task_id,
        "project_id": annotation.project_id,
        "completed_by": person(annotation.completed_by),
        "result": to_label_studio(_config(project), annotation.result, annotation.task.data),
        "was_cancelled": annotation.was_cancelled,
        "ground_truth": annotation.ground_truth,
        "lead_time": annotation.lead_time,
        "review_status": annotation.review_status,
        "requeued": annotation.requeued,
        "created_at": iso(annotation.created_at),
        "updated_at": iso(annotation.updated_at),
    }


def _receipt(receipt: Receipt | None) -> dict | None:
    if receipt is None:
        return None
    return {
        "score": receipt.score,
        "controls": [
            {
                "name": c.name,
                "tag": c.tag,
                "score": c.score,
                "detail": c.detail,
                "matches": [{"a": m.a, "b": m.b, "iou": m.iou} for m in c.matches],
                "unmatched_a": c.unmatched_a,
                "unmatched_b": c.unmatched_b,
            }
            for c in receipt.controls
        ],
    }


def _review(entry) -> dict:
    return {
        "id": entry.id,
        "annotation_id": entry.annotation_id,
        "annotator_email": entry.annotator_email,
        "reviewer_email": entry.reviewer_email,
        "verdict": entry.verdict,
        "comment": entry.comment,
        "reason": entry.reason,
        "fix_size": entry.fix_size,
        "created_at": iso(entry.created_at),
    }


@bp.get("/tasks/<int:task_id>")
@token_required
def task_api(task_id: int):
    """One task as its page shows it: data, annotations with reviews and ground-truth
    accuracy, predictions, reviewers, review history and the agreement receipt."""
    project, task = _task(task_id, REVIEWERS)
    detail = task_detail(project, task)
    config, data = detail.config, task.data
    emails = {a.annotator_email for a in detail.annotations}
    ids = dict(db.session.execute(select(User.email, User.id).where(User.email.in_(emails))).all())
    gt = detail.ground_truth
    return {
        "id": task.id,
        "project_id": project.id,
        "source_id": task.source_id,
        "state": task.state,
        "data": data,
        "created_at": iso(task.created_at),
        "annotations": [
            {
                "id": a.id,
                "completed_by": {"id": ids.get(a.annotator_email), "email": a.annotator_email},
                "result": to_label_studio(config, a.result, data),
                "review_status": a.review_status,
                "ground_truth": a.ground_truth,
                "was_cancelled": a.was_cancelled,
                "lead_time": a.lead_time,
                "created_at": iso(a.created_at),
                "reviews": [_review(r) for r in a.reviews],
                "gt_accuracy": _receipt(a.gt_accuracy.receipt if a.gt_accuracy else None),
            }
            for a in detail.annotations
        ],
        "predictions": [
            {
                "id": p.id,
                "model_version": p.model_version,
                "score": p.score,
                "result": to_label_studio(config, p.result, data),
                "created_at": iso(p.created_at),
                "gt_accuracy": _receipt(p.gt_accuracy.receipt if p.gt_accuracy else None),
            }
            for p in detail.predictions
        ],
        "reviewers": [
            {
                "email": r.email,
                "assigned_at": iso(r.assigned_at),
                "assigned_by_email": r.assigned_by_email,
                "review_count": r.review_count,
                "last_reviewed_at": iso(r.last_reviewed_at),
            }
            for r in detail.reviewers
        ],
        "reviews": [_review(r) for r in detail.history],
        "ground_truth_annotation_id": gt.id if gt else None,
        "agreement": {
            "score": detail.agreement,
            "pairs": [
                {"a": p.a.id, "b": p.b.id, "score": p.score, "receipt": _receipt(p.receipt)}
                for p in detail.pairs
            ],
        },
    }


@bp.get("/tasks/<int:task_id>/history")
@token_required
def task_history_api(task_id: int):
    """Every change of the task's state, oldest first; the first is its creation or import."""
    _, task = _task(task_id, REVIEWERS)
    return {
        "history": [
            {
                "from": change.from_state,
                "to": change.to_state,
                "at": iso(change.at),
                "by": person(change.by),
                "reason": change.reason,
            }
            for change in state_history(task.id)
        ]
    }


@bp.delete("/tasks/<int:task_id>")
@token_required
def delete_task_api(task_id: int):
    """Delete a task with everything on it (managers): the Data Manager's Delete tasks."""
    project, task = _task(task_id, MANAGERS)
    ids = select(Task.id).where(Task.id == task.id)
    outcome = apply_bulk_action("delete_tasks", project, api_user(), ids, confirmed=True)
    db.session.commit()
    return {"message": outcome.message}


@bp.put("/annotations/<int:annotation_id>/ground_truth")
@token_required
def star_ground_truth_api(annotation_id: int):
    """Make the annotation its task's ground truth (the star moves from any other)."""
    return _set_ground_truth(annotation_id, True)


@bp.delete("/annotations/<int:annotation_id>/ground_truth")
@token_required
def unstar_ground_truth_api(annotation_id: int):
    """Take the ground-truth star off the annotation (the task then has none)."""
    return _set_ground_truth(annotation_id, False)


def _set_ground_truth(annotation_id: int, star: bool):
    project, annotation = _annotation(annotation_id, MANAGERS)
    # Held and read again first, so "already so" is decided on what the toggle will see.
    lock_tasks([annotation.task_id])
    db.session.refresh(annotation)
    if annotation.ground_truth == star:
        state = "is" if star else "is not"
        message = f"Annotation #{annotation.id} already {state} the ground truth."
    else:
        try:
            message = toggle_ground_truth(project, annotation, api_user())
        except GroundTruthError as error:
            db.session.rollback()
            abort(409, str(error))
    db.session.commit()
    return {"annotation": annotation_json(project, annotation), "message": message}


from reviewapp.api.schemas import (  # noqa: E402 - the description sits below the routes
    ID,
    MESSAGE,
    TIMESTAMP,
    nullable,
    op,
    path_id,
    ref,
)

_TEXT = {"type": "string"}
_NUMBER = {"type": "number"}
_PERSON = {
    "type": "object",
    "required": ["id", "email"],
    "properties": {"id": nullable({"type": "integer"}), "email": _TEXT},
    "description": "id is null for an annotator whose account is gone",
}
_RESULT = {
    "type": "array",
    "items": {"type": "object", "required": ["from_name", "to_name", "type", "value"]},
    "description": "Label Studio result list (from_name, to_name, type, value); UTF-16 offsets",
}
_RECEIPT = {
    "type": ["object", "null"],
    "required": ["score", "controls"],
    "description": "How a score was worked out, control by control",
    "properties": {
        "score": _NUMBER,
        "controls": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": _TEXT,
                    "tag": _TEXT,
                    "score": nullable(_NUMBER),
                    "detail": _TEXT,
                    "matches": {"type": "array", "items": {"type": "object"}},
                    "unmatched_a": {"type": "array"},
                    "unmatched_b": {"type": "array"},
                },
            },
        },
    },
}
_REVIEW = {
    "type": "object",
    "required": ["id", "annotation_id", "verdict", "created_at"],
    "properties": {
        "id": ID,
        "annotation_id": ID,
        "annotator_email": nullable(_TEXT),
        "reviewer_email": nullable(_TEXT),
        "verdict": {"type": "string", "enum": ["accepted", "fixed", "rejected"]},
        "comment": nullable(_TEXT),
        "reason": nullable(_TEXT),
        "fix_size": nullable(_NUMBER),
        "created_at": TIMESTAMP,
    },
}
_TASK_ID = path_id("task_id", "The task's id")
_ANNOTATION_ID = path_id("annotation_id", "The annotation's id")
_STAR_ANSWER = {
    "type": "object",
    "required": ["annotation", "message"],
    "properties": {"annotation": ref("Annotation"), "message": _TEXT},
}

OPENAPI_SCHEMAS = {
    "Annotation": {
        "type": "object",
        "required": ["id", "task_id", "project_id", "result", "ground_truth", "review_status"],
        "properties": {
            "id": ID,
            "task_id": ID,
            "project_id": ID,
            "completed_by": {"anyOf": [ref("Person"), {"type": "null"}]},
            "result": _RESULT,
            "was_cancelled": {"type": "boolean", "description": "A skip"},
            "ground_truth": {"type": "boolean"},
            "lead_time": nullable(_NUMBER),
            "review_status": {"type": "string", "enum": list(REVIEW_STATUSES)},
            "requeued": {"type": "boolean"},
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
        },
    },
    "TaskDetail": {
        "type": "object",
        "description": "One task as its page shows it.",
        "required": [
            "id",
            "project_id",
            "source_id",
            "state",
            "data",
            "created_at",
            "annotations",
            "predictions",
            "reviewers",
            "reviews",
            "ground_truth_annotation_id",
            "agreement",
        ],
        "properties": {
            "id": ID,
            "project_id": ID,
            "source_id": nullable(_TEXT),
            "state": {"type": "string", "enum": list(TASK_STATES), "description": "As stored"},
            "data": {"type": "object"},
            "created_at": TIMESTAMP,
            "annotations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "completed_by", "result", "review_status", "reviews"],
                    "properties": {
                        "id": ID,
                        "completed_by": _PERSON,
                        "result": _RESULT,
                        "review_status": {"type": "string", "enum": list(REVIEW_STATUSES)},
                        "ground_truth": {"type": "boolean"},
                        "was_cancelled": {"type": "boolean"},
                        "lead_time": nullable(_NUMBER),
                        "created_at": TIMESTAMP,
                        "reviews": {"type": "array", "items": _REVIEW},
                        "gt_accuracy": _RECEIPT,
                    },
                },
            },
            "predictions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "model_version", "score", "result"],
                    "properties": {
                        "id": ID,
                        "model_version": _TEXT,
                        "score": nullable(_NUMBER),
                        "result": _RESULT,
                        "created_at": TIMESTAMP,
                        "gt_accuracy": _RECEIPT,
                    },
                },
            },
            "reviewers": {
                "type": "array",
                "description": "Assigned, or who gave a verdict",
                "items": {
                    "type": "object",
                    "required": ["email", "review_count"],
                    "properties": {
                        "email": _TEXT,
                        "assigned_at": nullable(TIMESTAMP),
                        "assigned_by_email": nullable(_TEXT),
                        "review_count": {"type": "integer", "minimum": 0},
                        "last_reviewed_at": nullable(TIMESTAMP),
                    },
                },
            },
            "reviews": {"type": "array", "items": _REVIEW, "description": "Newest first"},
            "ground_truth_annotation_id": nullable(ID),
            "agreement": {
                "type": "object",
                "required": ["score", "pairs"],
                "properties": {
                    "score": {"type": ["number", "null"], "description": "null below two"},
                    "pairs": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["a", "b", "score"],
                            "properties": {
                                "a": ID,
                                "b": ID,
                                "score": _NUMBER,
                                "receipt": _RECEIPT,
                            },
                        },
                    },
                },
            },
        },
    },
}

OPENAPI_PATHS = {
    "/api/tasks/{task_id}/history": {
        "get": op(
            "task_history_api",
            "tasks",
            "The task's state changes, oldest first (reviewers and up).",
            {
                200: {
                    "type": "object",
                    "required": ["history"],
                    "properties": {
                        "history": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["from", "to", "at", "by", "reason"],
                                "properties": {
                                    "from": {
                                        "type": ["string", "null"],
                                        "enum": [*TASK_STATES, None],
                                        "description": "null for the creation or import",
                                    },
                                    "to": {"type": "string", "enum": list(TASK_STATES)},
                                    "at": TIMESTAMP,
                                    "by": {"anyOf": [ref("Person"), {"type": "null"}]},
                                    "reason": _TEXT,
                                },
                            },
                        }
                    },
                }
            },
            (403, 404),
            parameters=[_TASK_ID],
        )
    },
    "/api/tasks/{task_id}": {
        "get": op(
            "task_api",
            "tasks",
            "One task with its annotations, predictions, reviews and agreement (reviewers and up).",
            {200: ref("TaskDetail")},
            (403, 404),
            parameters=[_TASK_ID],
        ),
        "delete": op(
            "delete_task_api",
            "tasks",
            "Delete a task with everything on it (managers and admins).",
            {200: MESSAGE},
            (403, 404),
            parameters=[_TASK_ID],
        ),
    },
    "/api/annotations/{annotation_id}/ground_truth": {
        "put": op(
            "star_ground_truth_api",
            "annotations",
            "Star the annotation as its task's ground truth (managers and admins).",
            {200: _STAR_ANSWER},
            (403, 404, 409),
            parameters=[_ANNOTATION_ID],
            description="The star moves from any other annotation of the task; a skip cannot "
            "carry it (409). Starring a starred annotation changes nothing.",
        ),
        "delete": op(
            "unstar_ground_truth_api",
            "annotations",
            "Take the ground-truth star off the annotation (managers and admins).",
            {200: _STAR_ANSWER},
            (403, 404),
            parameters=[_ANNOTATION_ID],
        ),
    },
}
