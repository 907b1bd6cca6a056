from flask import flash, redirect, request, url_for
from flask_login import current_user, login_required

from reviewapp import htmx
from reviewapp.extensions import db
from reviewapp.labeling import ResultError, parse_label_config
from reviewapp.labeling.form import result_from_form
from reviewapp.models import Annotation
from reviewapp.permissions import REVIEWERS, get_in_project, get_project_for
from reviewapp.review import bp
from reviewapp.services.data_manager.query import Selection, TableState
from reviewapp.services.data_manager.task_page import task_detail
from reviewapp.services.projects import reject_reasons
from reviewapp.services.review_stream import (
    StaleVerdict,
    VerdictError,
    next_for_review,
    queue_counts,
    record_verdict,
)


def _set(project, args):
    """The reviewed set: the table's filters and order, and the selection if any."""
    state = TableState.from_args(args)
    selection = Selection.from_form(args)
    task_ids = None if selection.empty else selection.task_ids(project.id, state)
    return state, selection, task_ids


def _render(project, state, selection, task_ids, item, status=200, **extra):
    """The stream page, or only its item region for htmx."""
    left, total = queue_counts(project, current_user, state, task_ids)
    context = dict(
        project=project,
        state=state,
        selection=selection,
        item=item,
        detail=task_detail(project, item.task, scores=False) if item else None,
        config=parse_label_config(project.label_config),
        left=left,
        total=total,
        reasons=reject_reasons(project),
        message=None,
        category="info",
        error=None,
    )
    context.update(extra)
    blocks = ["review_item", "flash_oob"] if context["message"] else ["review_item"]
    if htmx.is_partial():
        return htmx.render_blocks_only("review/stream.html", blocks, **context), status
    return htmx.render("review/stream.html", **context), status


@bp.get("/review")
@login_required
def stream(project_id: int):
    """The review stream: the next pending annotation of the chosen set, one at a time."""
    project = get_project_for(current_user, project_id, REVIEWERS)
    state, selection, task_ids = _set(project, request.args)
    if "csrf_token" in request.args or "page_ids" in request.args:
        # Sent by the Data Manager's bulk form: a clean URL of the set alone, to share or
        # reload, without the form's token and the page's row ids.
        args = {**state.to_args(), **selection.to_args()}
        return redirect(url_for("review.stream", project_id=project.id, **args))
    item = next_for_review(project, current_user, state, task_ids)
    db.session.commit()
    return _render(project, state, selection, task_ids, item)


@bp.post("/review/<int:annotation_id>")
@login_required
def verdict(project_id: int, annotation_id: int):
    """Accept, fix or reject the annotation, then hand out the next one."""
    project = get_project_for(current_user, project_id, REVIEWERS)
    state, selection, task_ids = _set(project, request.form)
    form = request.form
    try:
        result = _fixed_result(project, annotation_id, form)
        outcome = record_verdict(
            annotation_id,
            current_user,
            form.get("verdict", ""),
            result=result,
            comment=form.get("comment", ""),
            reason=form.get("reason", ""),
            project=project,
        )
    except VerdictError as error:
        item = db.session.get(Annotation, annotation_id)
        return _render(project, state, selection, task_ids, item, 422, error=str(error))
    except StaleVerdict as error:
        message, category, status = str(error) + " Here is the next one.", "error", 409
    else:
        message = " ".join([outcome.message, *outcome.diff])
        category, status = "success", 200
    if not htmx.is_partial():
        db.session.commit()
        flash(message, category)
        args = {**state.to_args(), **selection.to_args()}
        return redirect(url_for("review.stream", project_id=project.id, **args))
    # The verdict and the next item's lease in one transaction: one turn at the write lock.
    item = next_for_review(project, current_user, state, task_ids)
    db.session.commit()
    return _render(
        project, state, selection, task_ids, item, status, message=message, category=category
    )


def _fixed_result(project, annotation_id: int, form) -> list | None:
    if form.get("verdict") != "fixed":
        return None
    annotation = db.session.get(Annotation, annotation_id)
    if annotation is None or annotation.project_id != project.id:
        raise StaleVerdict("This annotation was deleted meanwhile.")
    try:
        return result_from_form(
            parse_label_config(project.label_config), form, annotation.task.data
        )
    except ResultError as error:
        raise VerdictError(f"The fixed result is not valid: {error}") from None


@bp.post("/annotations/<int:annotation_id>/verdict")
@login_required
def change_verdict(project_id: int, annotation_id: int):
    """Change an earlier verdict from the task page; the history keeps both."""
    project = get_project_for(current_user, project_id, REVIEWERS)
    annotation = get_in_project(Annotation, annotation_id, project)
    try:
        outcome = record_verdict(
            annotation_id,
            current_user,
            request.form.get("verdict", ""),
            result=annotation.result if request.form.get("verdict") == "fixed" else None,
            comment=request.form.get("comment", ""),
            reason=request.form.get("reason", ""),
            project=project,
            change=True,
        )
    except (VerdictError, StaleVerdict) as error:
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(outcome.message, "success")
    return redirect(
        url_for("tasks.task_page", project_id=project.id, task_id=annotation.task_id)
        + f"#annotation-{annotation_id}"
    )
