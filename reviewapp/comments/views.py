"""Comment threads on annotations, and the user's notifications."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from reviewapp import htmx
from reviewapp.comments import bp
from reviewapp.comments.forms import CommentForm, NextForm
from reviewapp.extensions import db
from reviewapp.labeling import parse_label_config
from reviewapp.models import Annotation, Comment, Notification
from reviewapp.permissions import REVIEWERS, get_annotation_for, has_role
from reviewapp.services import comments as service
from reviewapp.urls import safe_next


@bp.app_context_processor
def notifications_counter():
    """unread_notifications() for the header: counted only when a page's header is drawn."""

    def unread_notifications() -> int:
        return service.unread_count(current_user) if current_user.is_authenticated else 0

    return {"unread_notifications": unread_notifications}


def _annotation(project_id: int, annotation_id: int):
    project, annotation = get_annotation_for(current_user, annotation_id)
    if project.id != project_id:
        abort(404)
    return project, annotation


def _comment(project_id: int, comment_id: int):
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        abort(404)
    project, annotation = _annotation(project_id, comment.annotation_id)
    return project, annotation, comment


def annotation_url(project_id: int, annotation: Annotation) -> str:
    """Where a person sees an annotation's comments: its comments page."""
    return url_for("comments.annotation", project_id=project_id, annotation_id=annotation.id)


def _page_context(project, annotation, next_url: str | None = None) -> dict:
    view = service.thread_view(project, annotation, current_user)
    return dict(
        project=project,
        annotation=annotation,
        config=parse_label_config(project.label_config),
        view=view,
        next_url=next_url or annotation_url(project.id, annotation),
        task_url=(
            url_for("tasks.task_page", project_id=project.id, task_id=annotation.task_id)
            if has_role(current_user, REVIEWERS)
            else None
        ),
        own_url=(
            url_for("label.own", project_id=project.id, annotation_id=annotation.id)
            if annotation.completed_by_id == current_user.id
            else None
        ),
    )


def _thread(project, annotation, next_value: str | None, message: str, status: int = 200):
    """After a change: the thread region for htmx, else Post/Redirect/Get to next."""
    back = safe_next(next_value) or annotation_url(project.id, annotation)
    return htmx.after_action(
        back + f"#comments-{annotation.id}",
        message,
        fragment=lambda: htmx.page_or_blocks(
            "comments/annotation.html",
            ["comment_thread", "marked_result_oob"],
            message=message,
            category="success",
            status=status,
            **_page_context(project, annotation, back),
        ),
        code=303,
    )


@bp.get("/projects/<int:project_id>/annotations/<int:annotation_id>/comments")
@login_required
def annotation(project_id: int, annotation_id: int):
    """One annotation with its marked regions and its comment thread."""
    project, annotation = _annotation(project_id, annotation_id)
    return render_template("comments/annotation.html", **_page_context(project, annotation))


@bp.post("/projects/<int:project_id>/annotations/<int:annotation_id>/comments")
@login_required
def add(project_id: int, annotation_id: int):
    """Add a comment (or a reply) to the annotation's thread."""
    project, annotation = _annotation(project_id, annotation_id)
    form = CommentForm()
    if not form.validate_on_submit():
        abort(400, " ".join(e for errors in form.errors.values() for e in errors))
    parent = None
    if form.parent_id.data is not None:
        parent = db.session.get(Comment, form.parent_id.data)
        if parent is None or parent.annotation_id != annotation.id:
            abort(404)
    try:
        service.add_comment(
            annotation,
            current_user,
            form.text.data or "",
            region_id=form.region_id.data or None,
            control=form.control.data or None,
            parent=parent,
        )
    except service.CommentError as error:
        db.session.rollback()
        if htmx.is_partial():
            abort(422, str(error))
        flash(str(error), "error")
        back = safe_next(form.next.data) or annotation_url(project.id, annotation)
        return redirect(back + f"#comments-{annotation.id}", 303)
    db.session.commit()
    return _thread(project, annotation, form.next.data, "Comment added.", 201)


@bp.post("/projects/<int:project_id>/comments/<int:comment_id>/resolve")
@login_required
def resolve(project_id: int, comment_id: int):
    """Mark a comment resolved."""
    return _change(project_id, comment_id, service.resolve, "Comment resolved.")


@bp.post("/projects/<int:project_id>/comments/<int:comment_id>/reopen")
@login_required
def reopen(project_id: int, comment_id: int):
    """Open a resolved comment again."""
    return _change(project_id, comment_id, service.reopen, "Comment reopened.")


def _change(project_id: int, comment_id: int, change, message: str):
    project, annotation, comment = _comment(project_id, comment_id)
    form = NextForm()
    if not form.validate_on_submit():
        abort(400)
    change(comment, current_user)
    db.session.commit()
    return _thread(project, annotation, form.next.data, message)


@bp.get("/notifications")
@login_required
def notifications():
    """The user's latest notifications, newest first; the unread ones marked."""
    return render_template(
        "comments/notifications.html", notifications=service.notifications_for(current_user)
    )


@bp.post("/notifications/<int:notification_id>/open")
@login_required
def open_notification(notification_id: int):
    """Mark the notification read and go to its comment."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != current_user.id:
        abort(404)
    if not NextForm().validate_on_submit():
        abort(400)
    service.open_notification(notification, current_user)
    db.session.commit()
    comment = notification.comment
    url = url_for(
        "comments.annotation", project_id=comment.project_id, annotation_id=comment.annotation_id
    )
    return htmx.redirect_response(f"{url}#comment-{comment.id}")


@bp.post("/notifications/read")
@login_required
def read_all():
    """Mark every notification of the user read."""
    if not NextForm().validate_on_submit():
        abort(400)
    count = service.mark_all_read(current_user)
    db.session.commit()
    flash(f"Marked {count} {'notification' if count == 1 else 'notifications'} read.", "success")
    return redirect(url_for("comments.notifications"), 303)
