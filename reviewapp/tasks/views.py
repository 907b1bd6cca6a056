from urllib.parse import urlencode

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from reviewapp import htmx
from reviewapp.downloads import attachment
from reviewapp.extensions import db
from reviewapp.labeling import parse_label_config
from reviewapp.models import Membership, SavedView, Task, User
from reviewapp.permissions import (
    MANAGERS,
    REVIEWERS,
    get_in_project,
    get_project_for,
    has_role,
    may_star_ground_truth,
)
from reviewapp.services.comments import thread_views
from reviewapp.services.data_manager import filter_builder
from reviewapp.services.data_manager.bulk import ACTIONS, BulkError, apply_bulk_action
from reviewapp.services.data_manager.query import (
    ORDERINGS,
    PAGE_SIZES,
    STATE_NAMES,
    Selection,
    TableState,
    in_review_ids,
    state_counts,
    table_page,
)
from reviewapp.services.data_manager.saved_views import (
    COLUMNS,
    ViewError,
    delete_saved_view,
    hidden_columns,
    save_view,
    saved_views,
    set_hidden_columns,
)
from reviewapp.services.data_manager.task_page import state_history, task_detail
from reviewapp.services.import_export.exporter import FORMATS, export_chunks, export_filename
from reviewapp.services.jobs.records import wait_for
from reviewapp.services.metrics.final import FINAL_SOURCE_NAMES, task_final_label
from reviewapp.services.projects import reject_reasons
from reviewapp.services.review_stream import offered_reject_actions
from reviewapp.tasks import bp
from reviewapp.tasks.forms import BulkForm


def _members(project_id: int) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.project_id == project_id)
            .order_by(User.email)
        )
    )


def _render_table(project, state: TableState, blocks=("task_table",), **extra):
    """The Data Manager page, or only the named blocks for a partial request; `extra` may
    hold page_or_blocks's message and category."""
    members = _members(project.id)
    config = parse_label_config(project.label_config)
    context = dict(
        project=project,
        state=state,
        page=table_page(project.id, state),
        state_counts=state_counts(project.id),
        state_names=STATE_NAMES,
        columns=COLUMNS,
        hidden=hidden_columns(current_user, project.id),
        views=saved_views(project.id),
        members=members,
        reviewers=[m for m in members if m.role in REVIEWERS and m.active],
        actions=[
            a
            for a in ACTIONS.values()
            if has_role(current_user, a.roles)
            and (a.name != "undo_auto_accept" or project.auto_accept_seed is not None)
        ],
        may_export=has_role(current_user, MANAGERS),
        reject_actions=offered_reject_actions(project),
        reasons=reject_reasons(project),
        label_options=[(c.name, label) for c in config.controls.values() for label in c.labels],
        fields=filter_builder.FIELDS,
        filter_rows=filter_builder.rows_for(state),
        preview=next(iter(config.objects.values())),
        orderings=ORDERINGS,
        page_sizes=PAGE_SIZES,
        confirm=None,
    )
    context.update(extra)
    return htmx.page_or_blocks("tasks/table.html", blocks, **context)


@bp.get("/tasks")
@login_required
def table(project_id: int):
    """The Data Manager: the task table with its filters, order, page and selection."""
    project = get_project_for(current_user, project_id, REVIEWERS)
    people = {m.email.lower(): m.id for m in _members(project.id)}
    builder = filter_builder.submitted(request.args, people)
    state = TableState.from_args(builder.args if builder else request.args)
    for error in state.errors:
        flash(f"Ignored {error}.", "error")
    canonical = url_for("tasks.table", project_id=project.id, **state.to_args())
    # The builder's rows as sent, unfinished ones too (they are not in the URL yet).
    rows = {"filter_rows": builder.rows} if builder else {}
    blocks = ("task_table", "filter_rows_oob")
    return htmx.with_push_url(_render_table(project, state, blocks, **rows), canonical)


@bp.post("/tasks/bulk")
@login_required
def bulk(project_id: int):
    """Run one bulk action over the selected tasks; answers with the refreshed table."""
    project = get_project_for(current_user, project_id, REVIEWERS)
    state = TableState.from_args(request.form)
    selection = Selection.from_form(request.form)
    form = BulkForm()
    if not form.validate_on_submit():
        abort(400, " ".join(error for errors in form.errors.values() for error in errors))
    try:
        outcome = apply_bulk_action(
            form.action.data,
            project,
            current_user,
            selection.task_ids(project.id, state),
            form.reviewers.data,
            confirmed=form.confirm.data,
            verdict=form.verdict_options(),
        )
    except PermissionError as error:
        abort(403, str(error))
    except BulkError as error:
        db.session.rollback()
        return _answer(project, state, str(error), "error")
    db.session.commit()
    if outcome.needs_confirmation:
        action = ACTIONS[form.action.data]
        confirm = {
            "action": action,
            "message": outcome.message,
            "selection": selection,
            "fields": _action_fields(form),
        }
        return _render_table(project, state, blocks=("bulk_confirm",), confirm=confirm)
    if outcome.job is not None:
        # Too big for a request: a job. Done within the short wait, it answers as if it were
        # not; else the page answers at once with the job's progress.
        job = wait_for(outcome.job.id, current_app.config["JOBS_BULK_WAIT"])
        if job.status == "done":
            return _answer(project, state, job.message, "success")
        if job.status == "failed":
            return _answer(project, state, job.message, "error")
        flash(f"{outcome.message} It goes on in the background.", "info")
        return htmx.redirect_response(url_for("jobs.show", job_id=job.id))
    return _answer(project, state, outcome.message, "success")


def _action_fields(form: BulkForm) -> dict:
    """The action's own fields, for the confirmation to post again."""
    fields = {
        "reviewers": [str(i) for i in form.reviewers.data or ()],
        "annotators": [str(i) for i in form.annotators.data or ()],
        "reject_action": form.reject_action.data or "",
        "reason": form.reason.data or "",
        "comment": form.comment.data or "",
    }
    return {name: value for name, value in fields.items() if value}


def _answer(project, state: TableState, message: str, category: str):
    """After an action: the table, the message and an emptied confirmation for htmx."""
    return htmx.after_action(
        url_for("tasks.table", project_id=project.id, **state.to_args()),
        message,
        category,
        fragment=lambda: _render_table(
            project,
            state,
            blocks=("task_table", "bulk_confirm_oob"),
            message=message,
            category=category,
        ),
    )


@bp.post("/tasks/export")
@login_required
def export_selected(project_id: int):
    """Download the selected tasks as Label Studio JSON or CSV."""
    project = get_project_for(current_user, project_id, MANAGERS)
    state = TableState.from_args(request.form)
    selection = Selection.from_form(request.form)
    fmt = request.form.get("format", "json")
    if fmt not in FORMATS:
        abort(400, "Export as json or csv.")
    if selection.empty:
        return _answer(project, state, "Select at least one task to export.", "error")
    chunks = export_chunks(project.id, fmt, "all", selection.task_ids(project.id, state))
    return attachment(export_filename(project.id, fmt, "all"), chunks)


@bp.post("/tasks/columns")
@login_required
def columns(project_id: int):
    """Remember which columns this user shows in this project."""
    project = get_project_for(current_user, project_id, REVIEWERS)
    shown = set(request.form.getlist("columns"))
    set_hidden_columns(current_user, project.id, set(COLUMNS) - shown)
    db.session.commit()
    state = TableState.from_args(request.form)
    return htmx.after_action(
        url_for("tasks.table", project_id=project.id, **state.to_args()),
        fragment=lambda: _render_table(project, state),
    )


@bp.post("/views")
@login_required
def create_view(project_id: int):
    """Save the current filters and order as a named tab."""
    project = get_project_for(current_user, project_id, REVIEWERS)
    state = TableState.from_args(request.form)
    try:
        query = urlencode(state.filter_args(), doseq=True)
        view = save_view(project.id, current_user, request.form.get("name", ""), query)
    except ViewError as error:
        flash(str(error), "error")
        return redirect(url_for("tasks.table", project_id=project.id, **state.to_args()))
    db.session.commit()
    flash(f"Saved the view {view.name}.", "success")
    args = state.filter_args()
    return redirect(url_for("tasks.table", project_id=project.id, view=view.id, **args))


@bp.post("/views/<int:view_id>/delete")
@login_required
def delete_view(project_id: int, view_id: int):
    """Delete a saved view (the tasks are not touched)."""
    project = get_project_for(current_user, project_id, REVIEWERS)
    view = get_in_project(SavedView, view_id, project)
    delete_saved_view(view, current_user)
    db.session.commit()
    flash(f"Deleted the view {view.name}.", "success")
    return redirect(url_for("tasks.table", project_id=project.id))


@bp.get("/tasks/<int:task_id>")
@login_required
def task_page(project_id: int, task_id: int):
    """One task: its data, every annotation, predictions, reviewers and review history."""
    project = get_project_for(current_user, project_id, REVIEWERS)
    task = get_in_project(Task, task_id, project)
    detail = task_detail(project, task)
    threads = thread_views(project, task.annotations, current_user)
    final = task_final_label(detail.config, task.id, project.iou_threshold)
    return render_template(
        "tasks/task.html",
        final=final,
        final_names=FINAL_SOURCE_NAMES,
        project=project,
        task=task,
        detail=detail,
        states=state_history(task.id),
        shown_state="in_review" if task.id in in_review_ids(project.id) else task.state,
        state_names=STATE_NAMES,
        threads=threads,
        selected=request.args.get("annotation", type=int),
        can_star=may_star_ground_truth(current_user),
    )
