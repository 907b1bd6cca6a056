"""JSON for comments on annotations (add, list, resolve, reopen) and the user's notifications;
the same permission rules as the pages (services.comments)."""

from __future__ import annotations

from flask import abort

from reviewapp.api import bp
from reviewapp.api.auth import api_user, token_required
from reviewapp.api.common import iso, json_object, person
from reviewapp.extensions import db
from reviewapp.models import COMMENT_MAX_LENGTH, Comment, Notification
from reviewapp.permissions import get_annotation_for
from reviewapp.services import comments as service


def comment_json(comment: Comment) -> dict:
    return {
        "id": comment.id,
        "annotation_id": comment.annotation_id,
        "task_id": comment.task_id,
        "parent_id": comment.parent_id,
        "text": comment.text,
        "author": person(comment.author),
        "region_id": comment.region_id,
        "control": comment.control,
        "resolved": comment.resolved,
        "resolved_by": person(comment.resolved_by),
        "resolved_at": iso(comment.resolved_at),
        "created_at": iso(comment.created_at),
    }


def _optional_string(body: dict, name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        abort(400, f"'{name}' must be a string.")
    return value or None


@bp.post("/annotations/<int:annotation_id>/comments")
@token_required
def add_annotation_comment(annotation_id: int):
    """Comment on an annotation: {"text", "region_id"?, "control"?, "parent_id"?}."""
    user = api_user()
    _, annotation = get_annotation_for(user, annotation_id)
    body = json_object("with 'text'")
    text = body.get("text")
    if not isinstance(text, str):
        abort(400, "'text' must be a string.")
    parent = None
    parent_id = body.get("parent_id")
    if parent_id is not None:
        if type(parent_id) is not int:
            abort(400, "'parent_id' must be a comment id.")
        parent = db.session.get(Comment, parent_id)
        if parent is None or parent.annotation_id != annotation.id:
            abort(422, f"Annotation #{annotation.id} has no comment {parent_id}.")
    try:
        comment = service.add_comment(
            annotation,
            user,
            text,
            region_id=_optional_string(body, "region_id"),
            control=_optional_string(body, "control"),
            parent=parent,
        )
    except service.CommentError as error:
        db.session.rollback()
        abort(422, str(error))
    db.session.commit()
    return comment_json(comment), 201


@bp.get("/annotations/<int:annotation_id>/comments")
@token_required
def annotation_comments(annotation_id: int):
    """The annotation's comments, oldest first."""
    _, annotation = get_annotation_for(api_user(), annotation_id)
    return {"comments": [comment_json(c) for c in service.comments_for(annotation.id)]}


def _comment(comment_id: int) -> Comment:
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        abort(404)
    get_annotation_for(api_user(), comment.annotation_id)
    return comment


@bp.post("/comments/<int:comment_id>/resolve")
@token_required
def resolve_comment(comment_id: int):
    """Mark a comment resolved."""
    comment = service.resolve(_comment(comment_id), api_user())
    db.session.commit()
    return comment_json(comment)


@bp.post("/comments/<int:comment_id>/reopen")
@token_required
def reopen_comment(comment_id: int):
    """Open a resolved comment again."""
    comment = service.reopen(_comment(comment_id), api_user())
    db.session.commit()
    return comment_json(comment)


@bp.get("/notifications")
@token_required
def notifications_api():
    """The token user's latest notifications, newest first, and the unread count."""
    user = api_user()
    return {
        "unread": service.unread_count(user),
        "notifications": [
            {
                "id": item.notification.id,
                "project_id": item.notification.project_id,
                "created_at": iso(item.notification.created_at),
                "read_at": iso(item.notification.read_at),
                "comment": comment_json(item.comment),
            }
            for item in service.notifications_for(user)
        ],
    }


@bp.post("/notifications/<int:notification_id>/read")
@token_required
def read_notification_api(notification_id: int):
    """Mark one of the token user's notifications read (another user's is a 404)."""
    user = api_user()
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != user.id:
        abort(404)
    service.open_notification(notification, user)
    db.session.commit()
    return {"id": notification.id, "read_at": iso(notification.read_at)}


@bp.post("/notifications/read")
@token_required
def read_all_notifications_api():
    """Mark every unread notification of the token user read."""
    count = service.mark_all_read(api_user())
    db.session.commit()
    return {"marked": count, "unread": 0}


from reviewapp.api.schemas import ID, TIMESTAMP, nullable, obj, op, path_id, ref  # noqa: E402

_COMMENT = {
    **obj(
        {
            "id": ID,
            "annotation_id": ID,
            "task_id": ID,
            "parent_id": nullable(ID),
            "text": {"type": "string"},
            "author": ref("Person"),
            "region_id": {"type": ["string", "null"], "description": "A result id"},
            "control": {"type": ["string", "null"], "description": "A control name"},
            "resolved": {"type": "boolean"},
            "resolved_by": {"anyOf": [ref("Person"), {"type": "null"}]},
            "resolved_at": nullable(TIMESTAMP),
            "created_at": TIMESTAMP,
        },
        "A comment on an annotation.",
    )
}
OPENAPI_SCHEMAS = {"Comment": _COMMENT}
_ONE = ref("Comment")
_ANNOTATION = path_id("annotation_id", "The annotation's id")
_COMMENT_ID = path_id("comment_id", "The comment's id")
_WHO = (
    " The annotation's author and the project's reviewers, managers and admins; for anyone "
    "else the annotation is a 404."
)

OPENAPI_PATHS = {
    "/api/annotations/{annotation_id}/comments": {
        "parameters": [_ANNOTATION],
        "post": op(
            "add_annotation_comment",
            "comments",
            "Comment on an annotation, optionally on one region or control.",
            {201: _ONE},
            (400, 404, 422),
            description="Notifies the annotation's author, its reviewers and earlier "
            "commenters (not the comment's author)." + _WHO,
            body=obj(
                {
                    "text": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": COMMENT_MAX_LENGTH,
                    },
                    "region_id": {
                        "type": ["string", "null"],
                        "description": "A result id of the annotation",
                    },
                    "control": {
                        "type": ["string", "null"],
                        "description": "A control of the label config",
                    },
                    "parent_id": {
                        **nullable(ID),
                        "description": "The comment this answers",
                    },
                },
                optional=("region_id", "control", "parent_id"),
            ),
        ),
        "get": op(
            "annotation_comments",
            "comments",
            "The annotation's comments, oldest first." + _WHO,
            {200: obj({"comments": {"type": "array", "items": ref("Comment")}})},
            (404,),
        ),
    },
    "/api/comments/{comment_id}/resolve": {
        "parameters": [_COMMENT_ID],
        "post": op(
            "resolve_comment",
            "comments",
            "Mark a comment resolved (the same people who may comment).",
            {200: _ONE},
            (403, 404),
        ),
    },
    "/api/comments/{comment_id}/reopen": {
        "parameters": [_COMMENT_ID],
        "post": op(
            "reopen_comment",
            "comments",
            "Open a resolved comment again (the same people who may comment).",
            {200: _ONE},
            (403, 404),
        ),
    },
    "/api/notifications": {
        "get": op(
            "notifications_api",
            "comments",
            "The token user's latest 50 notifications, newest first, and the unread count.",
            {
                200: obj(
                    {
                        "unread": {"type": "integer", "minimum": 0},
                        "notifications": {
                            "type": "array",
                            "items": obj(
                                {
                                    "id": ID,
                                    "project_id": ID,
                                    "created_at": TIMESTAMP,
                                    "read_at": nullable(TIMESTAMP),
                                    "comment": ref("Comment"),
                                }
                            ),
                        },
                    }
                )
            },
        ),
    },
    "/api/notifications/{notification_id}/read": {
        "post": op(
            "read_notification_api",
            "comments",
            "Mark one of your notifications read (as opening it in the page does).",
            {200: obj({"id": ID, "read_at": TIMESTAMP})},
            (404,),
            parameters=[path_id("notification_id", "The notification's id")],
        )
    },
    "/api/notifications/read": {
        "post": op(
            "read_all_notifications_api",
            "comments",
            "Mark every unread notification of yours read.",
            {
                200: obj(
                    {
                        "marked": {"type": "integer", "minimum": 0},
                        "unread": {"type": "integer", "minimum": 0},
                    }
                )
            },
        )
    },
}
