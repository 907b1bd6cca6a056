"""The label stream, the labeller's own annotations, and the ground-truth star."""

from __future__ import annotations

import time

from flask import abort, flash, render_template, request, url_for
from flask_login import current_user, login_required

from reviewapp import htmx
from reviewapp.extensions import db
from reviewapp.label import bp
from reviewapp.label.forms import LabelForm
from reviewapp.labeling import LabelConfig, ResultError, parse_label_config
from reviewapp.labeling.form import result_from_form
from reviewapp.models import Annotation, Project, Task
from reviewapp.permissions import (
    LABELLERS,
    MANAGERS,
    get_in_project,
    get_project_for,
    may_star_ground_truth,
)
from reviewapp.prefetch import decline_prefetch, is_prefetch
from reviewapp.services import label_stream as stream
from reviewapp.services.comments import thread_view
from reviewapp.services.ground_truth import GroundTruthError, toggle_ground_truth
from reviewapp.urls import safe_next


@bp.get("/label")
@login_required
def next_task(project_id: int):
    """The label stream: the next task to label, held (leased) for the user while they work."""
    project = get_project_for(current_user, project_id, LABELLERS)
    if is_prefetch():
        return decline_prefetch()
    # Taking a lease on GET is the claim of a work queue, and idempotent: a reload hands back
    # the same task without a write while the lease is fresh (services/leases.py).
    item = stream.next_item(project, current_user)
    db.session.commit()
    return htmx.page_or_blocks(
        "label/stream.html", ["label_task"], **_stream_context(project, item)
    )


@bp.post("/label/<int:task_id>")
@login_required
def save(project_id: int, task_id: int):
    """Submit (action=submit, the default) or skip (action=skip) a task; then the next one."""
    project = get_project_for(current_user, project_id, LABELLERS)
    task = _task_of(project, task_id)
    form = LabelForm()
    if not form.validate_on_submit():
        return _refuse_label(project, task, f"Not saved: {' '.join(form.action.errors)}")
    lead_time = form.seconds_on_screen()
    result = None
    try:
        if form.action.data == "skip":
            saved = stream.skip(project, current_user, task, lead_time)
        else:
            result = result_from_form(_config(project), request.form, task.data)
            star = form.ground_truth.data and may_star_ground_truth(current_user)
            saved = stream.submit(project, current_user, task, result, lead_time, star)
    except ResultError as error:
        db.session.rollback()
        return _refuse_label(project, task, f"Not saved: {error}", draft=result)
    except (stream.AlreadySubmitted, stream.OverlapReached) as error:
        db.session.rollback()
        return _next(project, str(error), "error", 409)
    db.session.commit()
    return _next(project, saved.message, "success")


@bp.get("/my-annotations")
@login_required
def mine(project_id: int):
    """The user's own annotations in the project, newest first, with their latest review."""
    project = get_project_for(current_user, project_id, LABELLERS)
    page = stream.own_annotations(project, current_user, request.args.get("page", 1, type=int))
    return render_template("label/mine.html", project=project, config=_config(project), page=page)


@bp.get("/my-annotations/<int:annotation_id>")
@login_required
def own(project_id: int, annotation_id: int):
    """One of the user's annotations, in the editor while it may still be changed."""
    project = get_project_for(current_user, project_id, LABELLERS)
    annotation = _own_annotation(project, annotation_id)
    return render_template("label/own.html", **_own_context(project, annotation))


@bp.post("/my-annotations/<int:annotation_id>")
@login_required
def update_own(project_id: int, annotation_id: int):
    """Save a new result for the user's annotation while it is pending review or sent back."""
    project = get_project_for(current_user, project_id, LABELLERS)
    annotation = _own_annotation(project, annotation_id)
    result = None
    try:
        result = result_from_form(_config(project), request.form, annotation.task.data)
        saved = stream.update_own(project, current_user, annotation, result)
    except ResultError as error:
        db.session.rollback()
        context = {**_own_context(project, annotation), "draft": result}
        return htmx.refuse("label/own.html", f"Not saved: {error}", **context)
    except stream.NotEditable as error:
        db.session.rollback()
        abort(409, str(error))
    db.session.commit()
    flash(saved.message, "success")
    return htmx.redirect_response(url_for("label.mine", project_id=project.id))


@bp.post("/annotations/<int:annotation_id>/ground-truth")
@login_required
def ground_truth(project_id: int, annotation_id: int):
    """Toggle the ground-truth star (managers, admins): starring moves it, again clears it."""
    project = get_project_for(current_user, project_id, MANAGERS)
    annotation = get_in_project(Annotation, annotation_id, project)
    try:
        message = toggle_ground_truth(project, annotation, current_user)
    except GroundTruthError as error:
        db.session.rollback()
        abort(409, str(error))
    db.session.commit()
    flash(message, "success")
    back = url_for("tasks.task_page", project_id=project.id, task_id=annotation.task_id)
    return htmx.redirect_response(safe_next(request.form.get("next")) or back)


def _config(project: Project) -> LabelConfig:
    return parse_label_config(project.label_config)


def _task_of(project: Project, task_id: int) -> Task:
    return get_in_project(Task, task_id, project)


def _own_annotation(project: Project, annotation_id: int) -> Annotation:
    """The user's annotation in this project; anyone else's is a 404, whatever the role."""
    annotation = get_in_project(Annotation, annotation_id, project)
    if annotation.completed_by_id != current_user.id:
        abort(404)
    return annotation


def _stream_context(project: Project, item: stream.LabelItem | None) -> dict:
    return dict(
        project=project,
        config=_config(project),
        item=item,
        shown_at=f"{time.time():.3f}",
        lease_minutes=round(stream.LEASE.total_seconds() / 60),
        can_star=may_star_ground_truth(current_user),
        error=None,
        draft=None,  # the result the user sent, shown again when it was refused
        thread=(
            thread_view(project, item.annotation, current_user)
            if item is not None and item.annotation is not None
            else None
        ),
    )


def _own_context(project: Project, annotation: Annotation) -> dict:
    return dict(
        project=project,
        config=_config(project),
        annotation=annotation,
        rounds=stream.review_rounds(project, annotation),
        editable=stream.can_edit(annotation),
        thread=thread_view(project, annotation, current_user),
        can_star=may_star_ground_truth(current_user),
        error=None,
        draft=None,
    )


def _next(project: Project, message: str, category: str, status: int = 200):
    """After a submit or skip: the next task with the message, or Post/Redirect/Get."""

    def next_task():
        item = stream.next_item(project, current_user)
        db.session.commit()
        context = _stream_context(project, item)
        return htmx.page_or_blocks(
            "label/stream.html",
            ["label_task"],
            message=message,
            category=category,
            status=status,
            **context,
        )

    url = url_for("label.next_task", project_id=project.id)
    return htmx.after_action(url, message, category, fragment=next_task, code=303)


def _refuse_label(project: Project, task: Task, message: str, draft: list | None = None):
    """422: the message, and on a full page the task again with what the user sent."""
    context = _stream_context(project, stream.item_for(project, current_user, task))
    return htmx.refuse("label/stream.html", message, **{**context, "draft": draft})
