from flask import abort, request
from flask_login import current_user, login_required

from reviewapp import htmx
from reviewapp.dashboard import bp, tables
from reviewapp.downloads import attachment
from reviewapp.models import Project
from reviewapp.permissions import get_project_for, may_see_dashboard
from reviewapp.services.metrics.aggregates import MODEL_SAMPLE_TASKS, project_metrics
from reviewapp.services.metrics.definitions import ANNOTATOR_ORDERS, MIN_N

DEFAULT_ORDER = "annotator"


bp.app_template_global("can_see_dashboard")(may_see_dashboard)


def _project(project_id: int) -> Project:
    """404 for non-members (so the project does not leak), 403 for those not allowed."""
    project = get_project_for(current_user, project_id)
    if not may_see_dashboard(current_user, project):
        abort(403)
    return project


def _order() -> str:
    order = request.args.get("sort", DEFAULT_ORDER)
    return order if order.lstrip("-") in ANNOTATOR_ORDERS else DEFAULT_ORDER


@bp.get("")
@login_required
def show(project_id: int):
    """The project dashboard; a sort link's htmx request gets the annotator table only."""
    project = _project(project_id)
    with_models = request.args.get("models") == "1"
    metrics = project_metrics(project, _order(), include_models=with_models)
    return htmx.page_or_blocks(
        "dashboard/dashboard.html",
        ["annotator_table"],
        project=project,
        metrics=metrics,
        with_models=with_models,
        min_n=MIN_N,
        model_sample=MODEL_SAMPLE_TASKS,
    )


@bp.get("/<any(annotators, matrix, models, reviewers):table>.csv")
@login_required
def table_csv(project_id: int, table: str):
    """One dashboard table as CSV (the annotator rows in the page's sort order)."""
    project = _project(project_id)
    metrics = project_metrics(project, _order(), include_models=request.args.get("models") == "1")
    lines = tables.to_csv(tables.TABLES[table](metrics))
    return attachment(f"project-{project.id}-{table}.csv", lines)
