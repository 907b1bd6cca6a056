from __future__ import annotations

from typing import NamedTuple

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import Select

from reviewapp import htmx
from reviewapp.db import commit_before_rendering
from reviewapp.extensions import db
from reviewapp.labeling import ResultError, parse_label_config
from reviewapp.labeling.form import items_from_form
from reviewapp.models import Annotation
from reviewapp.permissions import (
    REVIEWERS,
    get_in_project,
    get_project_for,
    may_star_ground_truth,
)
from reviewapp.prefetch import decline_prefetch, is_prefetch
from reviewapp.review import bp
from reviewapp.review.forms import VerdictForm
from reviewapp.services.comments import thread_view
from reviewapp.services.data_manager.query import Selection, TableState
from reviewapp.services.data_manager.task_page import task_detail
from reviewapp.services.projects import reject_reasons
from reviewapp.services.review_stream import (
    REJECT_ACTION_HINTS,
    REJECT_ACTION_KEYS,
    OtherProject,
    StaleVerdict,
    VerdictError,
    next_for_review,
    offered_reject_actions,
    queue_counts,
    queue_task_count,
    record_verdict,
    switch_to,
    upcoming_tasks,
)


class ReviewedSet(NamedTuple):
    """The reviewed set: the table's filters and order, and the selection if any."""

    state: TableState
    selection: Selection
    task_ids: Select | None

    @classmethod
    def from_args(cls, project, args) -> ReviewedSet:
        state = TableState.from_args(args)
        selection = Selection.from_form(args)
        task_ids = None if selection.empty else selection.task_ids(project.id, state)
        return cls(state, selection, task_ids)

    def to_args(self) -> dict:
        return {**self.state.to_args(), **self.selection.to_args()}


def _claim_next(project, reviewed: ReviewedSet, current_task=None) -> Annotation | None:
    return next_for_review(
        project, current_user, reviewed.state, reviewed.task_ids, current_task=current_task
    )


def _render(
    project, reviewed: ReviewedSet, item, *, error: str | None = None, draft=None, **answer
):
    """The stream page, or only its item region for htmx; `draft` is a refused fix, shown
    again in the editor; `answer` is page_or_blocks's message, category and status."""
    left, total = queue_counts(project, current_user, reviewed.state, reviewed.task_ids)
    # At the start of a set, what it holds ("11 annotations in 4 tasks"): one more count.
    tasks = (
        queue_task_count(project, current_user, reviewed.state, reviewed.task_ids)
        if left == total
        else None
    )
    response = htmx.page_or_blocks(
        "review/stream.html",
        ["review_item"],
        project=project,
        state=reviewed.state,
        selection=reviewed.selection,
        set_args=reviewed.to_args(),
        item=item,
        detail=task_detail(project, item.task, scores=False) if item else None,
        thread=thread_view(project, item, current_user) if item else None,
        stream_url=url_for("review.stream", project_id=project.id, **reviewed.to_args()),
        config=parse_label_config(project.label_config),
        left=left,
        total=total,
        tasks=tasks,
        reasons=reject_reasons(project),
        reject_actions=offered_reject_actions,
        action_keys=REJECT_ACTION_KEYS,
        action_hints=REJECT_ACTION_HINTS,
        can_star=may_star_ground_truth(current_user),
        error=error,
        draft=draft,
        **answer,
    )
    # Back and Forward fetch the stream again instead of showing an item already reviewed.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/review")
@login_required
def stream(project_id: int):
    """The review stream: the next pending annotation of the chosen set, one at a time."""
    project = get_project_for(current_user, project_id, REVIEWERS)
    if is_prefetch():
        return decline_prefetch()
    reviewed = ReviewedSet.from_args(project, request.args)
    if "csrf_token" in request.args or "page_ids" in request.args:
        # A Data Manager page from before its form posted (see start): the clean URL.
        return redirect(url_for("review.stream", project_id=project.id, **reviewed.to_args()))
    # Taking a lease on GET is the claim of a work queue, and idempotent: a reload hands back
    # the same annotation without a write while the lease is fresh (services/leases.py).
    error = None
    wanted = request.args.get("annotation", type=int)
    item = (
        switch_to(project, current_user, wanted, reviewed.state, reviewed.task_ids)
        if wanted
        else None
    )
    if wanted and item is None:
        error = f"Annotation #{wanted} is not yours to review now; here is the next one."
    item = item or _claim_next(project, reviewed)
    commit_before_rendering()
    return _render(project, reviewed, item, error=error)


@bp.get("/review/upcoming")
@login_required
def upcoming(project_id: int):
    """The next tasks of the set, for the stream's look-ahead list (loaded when opened)."""
    project = get_project_for(current_user, project_id, REVIEWERS)
    reviewed = ReviewedSet.from_args(project, request.args)
    after = request.args.get("after", type=int)
    return htmx.page_or_blocks(
        "review/upcoming.html",
        ["upcoming_list"],
        project=project,
        tasks=upcoming_tasks(project, current_user, reviewed.state, reviewed.task_ids, after),
        preview=next(iter(parse_label_config(project.label_config).objects.values())),
        set_args=reviewed.to_args(),
    )


@bp.post("/review")
@login_required
def start(project_id: int):
    """The Data Manager's Review button: the set from its bulk form (CSRF-checked like every
    POST), then 303 to the stream's clean URL, so the form's token never reaches a URL."""
    project = get_project_for(current_user, project_id, REVIEWERS)
    reviewed = ReviewedSet.from_args(project, request.form)
    return redirect(url_for("review.stream", project_id=project.id, **reviewed.to_args()), 303)


@bp.post("/review/<int:annotation_id>")
@login_required
def verdict(project_id: int, annotation_id: int):
    """Accept, fix or reject the annotation, then hand out the next one."""
    project = get_project_for(current_user, project_id, REVIEWERS)
    reviewed = ReviewedSet.from_args(project, request.form)
    form = VerdictForm()
    fixed = outcome = None
    try:
        fixed = _fixed_result(form, project, annotation_id)
        outcome = _record(form, project, annotation_id, fixed)
    except OtherProject:
        abort(404)  # another project's annotation; a deleted one is a stale verdict below
    except VerdictError as error:
        item = db.session.get(Annotation, annotation_id)
        return _render(project, reviewed, item, status=422, error=str(error), draft=fixed)
    except StaleVerdict as error:
        message, category, status = f"{error} Here is the next one.", "error", 409
    else:
        message, status = " ".join([outcome.message, *outcome.diff]), 200
        category = _verdict_category(outcome.review.verdict)
    # Only the fragment shows the next item. Claimed in the verdict's transaction, a verdict
    # takes one turn at the write lock.
    current = outcome.task_id if outcome is not None else None
    item = _claim_next(project, reviewed, current) if htmx.is_partial() else None
    commit_before_rendering()
    return htmx.after_action(
        url_for("review.stream", project_id=project.id, **reviewed.to_args()),
        message,
        category,
        fragment=lambda: _render(
            project, reviewed, item, message=message, category=category, status=status
        ),
    )


@bp.post("/annotations/<int:annotation_id>/verdict")
@login_required
def change_verdict(project_id: int, annotation_id: int):
    """Change an earlier verdict from the task page; the history keeps both."""
    project = get_project_for(current_user, project_id, REVIEWERS)
    annotation = get_in_project(Annotation, annotation_id, project)
    form = VerdictForm()
    # A fix from the task page keeps the result as it is: the service checks it still fits.
    result = annotation.result if form.verdict.data == "fixed" else None
    try:
        outcome = _record(form, project, annotation_id, result, change=True)
    except (VerdictError, StaleVerdict) as error:
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(outcome.message, _verdict_category(outcome.review.verdict))
    return redirect(
        url_for("tasks.task_page", project_id=project.id, task_id=annotation.task_id)
        + f"#annotation-{annotation_id}"
    )


def _verdict_category(verdict: str) -> str:
    """The flash colour of a recorded verdict: a reject is not a success to celebrate."""
    return "warning" if verdict == "rejected" else "success"


def _record(form: VerdictForm, project, annotation_id: int, result, change: bool = False):
    """record_verdict with the form's fields; an invalid form is a VerdictError too."""
    if not form.validate_on_submit():
        raise VerdictError(" ".join(form.verdict.errors))
    return record_verdict(
        annotation_id,
        current_user,
        form.verdict.data,
        result=result,
        comment=form.comment.data,
        reason=form.reason.data,
        project=project,
        change=change,
        action=form.reject_action.data or None,
    )


def _fixed_result(form: VerdictForm, project, annotation_id: int) -> list | None:
    """The result the Fix form's editor fields describe, for the verdict `fixed`."""
    if form.verdict.data != "fixed":
        return None
    annotation = db.session.get(Annotation, annotation_id)
    if annotation is None:
        raise StaleVerdict("This annotation was deleted meanwhile.")
    if annotation.project_id != project.id:
        raise OtherProject(f"Annotation #{annotation_id} is not in this project.")
    try:
        # Read only: record_verdict validates the fixed result where it is written.
        return items_from_form(
            parse_label_config(project.label_config), request.form, annotation.task.data
        )
    except ResultError as error:
        raise VerdictError(f"The fixed result is not valid: {error}") from None
