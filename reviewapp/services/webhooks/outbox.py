"""emit: an event written as one pending delivery per matching active webhook, in the
transaction of the change it reports. A rolled-back change sends nothing; a committed one
is handed to the job worker right after the commit (register_after_commit)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, event, insert, or_, select
from sqlalchemy.orm import Session

from reviewapp.extensions import db
from reviewapp.models import (
    Annotation,
    Job,
    Project,
    Review,
    User,
    Webhook,
    WebhookDelivery,
    utcnow,
)

log = logging.getLogger(__name__)

EVENTS = (
    "tasks.imported",
    "annotation.created",
    "annotation.updated",
    "review.created",
    "ground_truth.changed",
    "task.state_changed",
    "job.finished",
    "project.updated",
)


# What project.updated sends of the project's settings.
PROJECT_FIELDS = (
    "title",
    "description",
    "label_config",
    "overlap",
    "review_criteria",
    "review_only_finished",
    "review_order",
    "review_sample_percent",
    "reject_actions",
    "default_reject_action",
    "require_comment_on_reject",
    "review_only_assigned",
    "allow_self_review",
    "low_agreement_threshold",
    "iou_threshold",
    "keypoint_radius_percent",
)


def _iso(moment) -> str | None:
    return moment.isoformat() + "Z" if moment is not None else None


def _person(user_id: int | None) -> dict | None:
    user = db.session.get(User, user_id) if user_id is not None else None
    return {"id": user.id, "email": user.email} if user is not None else None


def _annotation(a: Annotation) -> dict:
    return {
        "id": a.id,
        "task_id": a.task_id,
        "completed_by": _person(a.completed_by_id),
        "result": a.result,
        "was_cancelled": a.was_cancelled,
        "ground_truth": a.ground_truth,
        "lead_time": a.lead_time,
        "review_status": a.review_status,
        "created_at": _iso(a.created_at),
        "updated_at": _iso(a.updated_at),
    }


def _review(r: Review, task_id: int | None = None) -> dict:
    if task_id is None:
        task_id = db.session.get(Annotation, r.annotation_id).task_id
    return {
        "id": r.id,
        "annotation_id": r.annotation_id,
        "task_id": task_id,
        "reviewer": _person(r.reviewer_id),
        "verdict": r.verdict,
        "comment": r.comment,
        "reason": r.reason,
        "result_before": r.result_before,
        "result_after": r.result_after,
        "fix_size": r.fix_size,
        "created_at": _iso(r.created_at),
    }


def _state_change(row: dict) -> dict:
    return {
        "task_id": row["task_id"],
        "from_state": row["from_state"],
        "to_state": row["to_state"],
        "by": _person(row["by_id"]),
        "reason": row["reason"],
        "at": _iso(row["at"]),
    }


def _project(p: Project) -> dict:
    return {"id": p.id, "title": p.title}


def describe(obj: Any) -> tuple[str, dict, str]:
    """(key in the payload, the object as JSON, the object key that orders deliveries)."""
    if isinstance(obj, Review):
        return "review", _review(obj), f"annotation:{obj.annotation_id}"
    if isinstance(obj, Annotation):
        return "annotation", _annotation(obj), f"annotation:{obj.id}"
    if isinstance(obj, Job):
        from reviewapp.services.jobs.records import describe as describe_job

        return "job", describe_job(obj), f"job:{obj.id}"
    if isinstance(obj, Project):
        settings = {name: getattr(obj, name) for name in PROJECT_FIELDS}
        return "settings", settings, f"project:{obj.id}"
    if isinstance(obj, dict) and "changes" in obj:  # task.state_changed: one batch
        return "state_changes", obj["changes"], f"task_states:{obj['project_id']}"
    if isinstance(obj, dict):  # tasks.imported: the import's summary
        return "import", obj, f"import:{obj.get('project_id')}"
    raise TypeError(f"no webhook payload for {type(obj).__name__}")


def emit(project_id: int | None, event_name: str, obj: Any) -> int:
    """Queue `event_name` about obj for every active webhook of the project and every active
    global one that asked for it; flushes nothing but the inserts. Returns how many."""
    if isinstance(obj, dict) and "changes" in obj:
        # A task's creation (an import) is tasks.imported's news, not a state change.
        obj = {
            **obj,
            "changes": [_state_change(row) for row in obj["changes"] if row["from_state"]],
        }
        if not obj["changes"]:
            return 0
    hooks = subscribed(project_id, event_name)
    if not hooks:
        return 0
    key, data, object_key = describe(obj)
    project = db.session.get(Project, project_id) if project_id is not None else None
    rows = _deliveries(hooks, event_name, project, key, data, object_key)
    db.session.execute(insert(WebhookDelivery), rows)
    db.session.info["webhooks_due"] = True
    return len(rows)


def subscribed(project_id: int | None, event_name: str) -> list[int]:
    """Ids of the active webhooks (the project's and the global ones) that want this event."""
    where = Webhook.project_id.is_(None)
    if project_id is not None:
        where = or_(where, Webhook.project_id == project_id)
    return [
        hook_id
        for hook_id, events in db.session.execute(
            select(Webhook.id, Webhook.events).where(Webhook.active.is_(True), where)
        )
        if event_name in (events or ())
    ]


def _deliveries(hooks, event_name, project, key, data, object_key) -> list[dict]:
    now = utcnow()
    rows = []
    for hook_id in hooks:
        delivery_id = str(uuid.uuid4())
        payload = {
            "event": event_name,
            "delivery_id": delivery_id,
            "created_at": _iso(now),
            "project": _project(project) if project is not None else None,
            key: data,
        }
        rows.append(
            {
                "webhook_id": hook_id,
                "event": event_name,
                "object_key": object_key[:80],
                "delivery_id": delivery_id,
                "payload": payload,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    return rows


def emit_reviews(
    project_id: int, reviewer_id: int, at, annotation_ids: Sequence[int] | Select
) -> int:
    """review.created for each review the reviewer wrote at `at` on these annotations (a list,
    or a select of their ids), as one verdict would send it: for the verdicts written many at
    once by SQL (bulk verdicts, auto-accept). One query for the hooks, and no other when no
    hook wants the event. Returns how many deliveries were queued."""
    hooks = subscribed(project_id, "review.created")
    if not hooks:
        return 0
    if isinstance(annotation_ids, Select):
        annotation_ids = db.session.scalars(annotation_ids).all()
    project = db.session.get(Project, project_id)
    rows = []
    for start in range(0, len(annotation_ids), 1000):
        found = db.session.execute(
            select(Review, Annotation.task_id)
            .join(Annotation, Annotation.id == Review.annotation_id)
            .where(
                Review.annotation_id.in_(annotation_ids[start : start + 1000]),
                Review.reviewer_id == reviewer_id,
                Review.created_at == at,
            )
            .order_by(Review.id)
        ).all()
        for review, task_id in found:
            rows += _deliveries(
                hooks,
                "review.created",
                project,
                "review",
                _review(review, task_id),
                f"annotation:{review.annotation_id}",
            )
    for start in range(0, len(rows), 1000):
        db.session.execute(insert(WebhookDelivery), rows[start : start + 1000])
    if rows:
        db.session.info["webhooks_due"] = True
    return len(rows)


def _after_commit(session: Session) -> None:
    if not session.info.pop("webhooks_due", False):
        return
    from reviewapp.services.jobs.queue import enqueue_deliveries

    try:
        enqueue_deliveries()
    except Exception:  # noqa: BLE001 - the change is committed; the periodic sweep sends it
        log.exception("could not hand webhook deliveries to the worker")


def _after_rollback(session: Session) -> None:
    session.info.pop("webhooks_due", None)


def register_after_commit() -> None:
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
