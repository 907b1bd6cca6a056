import json
from types import SimpleNamespace

from flask import abort, request, url_for
from flask_login import current_user, login_required

from reviewapp import htmx
from reviewapp.dashboard import bp, tables
from reviewapp.downloads import attachment
from reviewapp.labeling import parse_label_config
from reviewapp.models import Project
from reviewapp.permissions import get_project_for, may_see_dashboard
from reviewapp.services import auto_accept
from reviewapp.services.metrics.aggregates import MODEL_SAMPLE_TASKS, project_metrics
from reviewapp.services.metrics.confusion import (
    TOP_PAIRS,
    gt_annotators,
    project_confusion,
    project_gt_confusion,
)
from reviewapp.services.metrics.definitions import ANNOTATOR_ORDERS, MIN_N
from reviewapp.services.metrics.intervals import WIDE
from reviewapp.services.metrics.throughput import KINDS, project_throughput

DEFAULT_ORDER = "annotator"


bp.app_template_global("can_see_dashboard")(may_see_dashboard)


@bp.app_template_global()
def gt_cell_filter(control: str, answer, truth, annotator: int | None = None) -> str:
    """The Data Manager's gt_confusion value for one cell of the matrix against ground
    truth (services.data_manager.query._gt_confusion)."""
    cell = [control, answer, truth] + ([annotator] if annotator else [])
    return json.dumps(cell, ensure_ascii=False, separators=(",", ":"))


def _project(project_id: int) -> Project:
    """404 for non-members (so the project does not leak), 403 for those not allowed."""
    project = get_project_for(current_user, project_id)
    if not may_see_dashboard(current_user, project):
        abort(403)
    return project


def _order() -> str:
    order = request.args.get("sort", DEFAULT_ORDER)
    return order if order.lstrip("-") in ANNOTATOR_ORDERS else DEFAULT_ORDER


def _gt_annotator() -> int | None:
    """The annotator the matrix against ground truth is for; None (everyone) when absent
    or not a user id."""
    raw = request.args.get("gt_annotator", "")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 2**63 else None


def _gt_context(project: Project) -> dict:
    """The gt_confusion block's variables: the chosen annotator's (or everyone's) matrices
    and the people to choose from."""
    annotator = _gt_annotator()
    config = parse_label_config(project.label_config)
    matrices = project_gt_confusion(project, config, annotator)
    return {"gt": matrices, "gt_annotator": annotator, "gt_people": gt_annotators(project.id)}


@bp.get("")
@login_required
def show(project_id: int):
    """The project dashboard; a sort link's htmx request gets the annotator table only. The
    confusion pairs (part=confusion) and the matrices against ground truth
    (part=gt_confusion) come in requests of their own: the page loads them after it is
    shown, and the annotator select reloads the matrices."""
    project = _project(project_id)
    common = {
        "project": project,
        "min_n": MIN_N,
        "wide": WIDE,
        "top_pairs": TOP_PAIRS,
        "throughput_kinds": KINDS,
    }
    if request.args.get("part") == "confusion" and htmx.is_partial():
        config = parse_label_config(project.label_config)
        pairs = SimpleNamespace(confusion=project_confusion(project, config))
        return htmx.page_or_blocks(
            "dashboard/dashboard.html", ["confusion"], **common, metrics=pairs
        )
    if request.args.get("part") == "throughput" and htmx.is_partial():
        days = SimpleNamespace(throughput=project_throughput(project.id))
        return htmx.page_or_blocks(
            "dashboard/dashboard.html", ["throughput"], **common, metrics=days
        )
    if request.args.get("part") == "gt_confusion" and htmx.is_partial():
        # Only this block is sent: the other numbers are not computed.
        context = _gt_context(project)
        response = htmx.page_or_blocks(
            "dashboard/dashboard.html", ["gt_confusion"], **common, **context
        )
        if request.headers.get("HX-Trigger-Name") != "gt_annotator":
            return response  # the page's own load: its URL is already the right one
        # The pushed URL is the dashboard's, so a reload shows this annotator chosen.
        url = url_for("dashboard.show", project_id=project.id, gt_annotator=context["gt_annotator"])
        return htmx.with_push_url(response, url)
    with_models = request.args.get("models") == "1"
    # The confusion blocks read every choice count and every annotation of the ground-truth
    # tasks (about 60 and 250 ms at 100k tasks): the page is shown first and loads them after.
    metrics = project_metrics(
        project,
        _order(),
        include_models=with_models,
        include_confusion=False,
        include_gt_confusion=False,
        include_throughput=False,
    )
    return htmx.page_or_blocks(
        "dashboard/dashboard.html",
        ["annotator_table"],
        metrics=metrics,
        auto=auto_accept.summary(project),
        with_models=with_models,
        model_sample=MODEL_SAMPLE_TASKS,
        gt=None,
        gt_annotator=_gt_annotator(),
        **common,
    )


@bp.get(f"/<any({', '.join(tables.TABLES)}):table>.csv")
@login_required
def table_csv(project_id: int, table: str):
    """One dashboard table as CSV (the annotator rows in the page's sort order)."""
    project = _project(project_id)
    models = request.args.get("models") == "1"
    lines = tables.table_lines(project, table, _order(), models, _gt_annotator())
    return attachment(f"project-{project.id}-{table}.csv", lines)
