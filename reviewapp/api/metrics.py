"""GET /api/projects/<id>/metrics: the dashboard's numbers as JSON, from the same service call."""

from __future__ import annotations

from flask import abort, request

from reviewapp.api import bp
from reviewapp.api.auth import api_user, token_required
from reviewapp.dashboard import tables
from reviewapp.downloads import attachment
from reviewapp.permissions import get_project_for, may_see_dashboard
from reviewapp.services import auto_accept
from reviewapp.services.metrics.aggregates import project_metrics
from reviewapp.services.metrics.definitions import ANNOTATOR_ORDERS, ProjectMetrics


@bp.get("/projects/<int:project_id>/metrics")
@token_required
def metrics_api(project_id: int):
    """Summary, annotators, agreement matrix, model versions, reviewers, alpha and raw
    agreement, confusion pairs and confusion against ground truth."""
    user = api_user()
    project = get_project_for(user, project_id)
    if not may_see_dashboard(user, project):
        abort(403, "Metrics are for managers and admins, and reviewers if the project allows.")
    answer = metrics_json(project_metrics(project))
    answer["auto_accept"] = auto_accept.summary(project)
    return answer


@bp.get(f"/projects/<int:project_id>/metrics/<any({', '.join(tables.TABLES)}):table>.csv")
@token_required
def metrics_csv_api(project_id: int, table: str):
    """One dashboard table as CSV, the same file as the dashboard's download link."""
    user = api_user()
    project = get_project_for(user, project_id)
    if not may_see_dashboard(user, project):
        abort(403, "Metrics are for managers and admins, and reviewers if the project allows.")
    order = request.args.get("sort", "annotator")
    if order.lstrip("-") not in ANNOTATOR_ORDERS:
        abort(400, f"sort must be one of {', '.join(ANNOTATOR_ORDERS)} (or -name).")
    raw = request.args.get("gt_annotator", "")
    gt_annotator = int(raw) if raw.isdigit() and 0 < int(raw) < 2**63 else None
    lines = tables.table_lines(
        project, table, order, request.args.get("models") == "1", gt_annotator
    )
    return attachment(f"project-{project.id}-{table}.csv", lines)


def metrics_json(metrics: ProjectMetrics) -> dict:
    """The documented shape; null where a number has no items. The matrix lists annotators
    only (``cells[i][j]`` for users i and j; the diagonal is null with n 0)."""
    s = metrics.summary
    keep = [k for k, r in enumerate(metrics.matrix.raters) if not r.is_model]
    return {
        "summary": {
            "tasks": s.tasks,
            "annotated_tasks": s.annotated_tasks,
            "annotations": s.annotations,
            "skipped": s.skipped,
            "accepted": s.accepted,
            "fixed": s.fixed,
            "rejected": s.rejected,
            "pending": s.pending,
            "acceptance_rate": s.acceptance_rate,
            "acceptance_rate_ci": s.acceptance_rate_ci,
            "ground_truth_tasks": s.ground_truth_tasks,
            "mean_agreement": s.mean_agreement,
            "low_agreement_tasks": s.low_agreement_tasks,
        },
        "annotators": [
            {
                "id": a.id,
                "email": a.email,
                "annotations": a.annotations,
                "skipped": a.skipped,
                "accepted": a.accepted,
                "fixed": a.fixed,
                "rejected": a.rejected,
                "pending": a.pending,
                "acceptance_rate": a.acceptance_rate,
                "acceptance_rate_ci": a.acceptance_rate_ci,
                "first_pass_acceptance": a.first_pass_acceptance,
                "first_pass_acceptance_ci": a.first_pass_acceptance_ci,
                "first_pass_n": a.first_pass_n,
                "times_rejected": a.times_rejected,
                "agreement": a.agreement,
                "agreement_n": a.agreement_n,
                "gt_accuracy": a.gt_accuracy,
                "gt_n": a.gt_n,
                "mean_fix_size": a.mean_fix_size,
                "median_lead_time": a.median_lead_time,
            }
            for a in metrics.annotators
        ],
        "matrix": {
            "users": [
                {"id": metrics.matrix.raters[i].user_id, "email": metrics.matrix.raters[i].email}
                for i in keep
            ],
            "cells": [
                [
                    {"score": metrics.matrix.cells[i][j].score, "n": metrics.matrix.cells[i][j].n}
                    for j in keep
                ]
                for i in keep
            ],
        },
        "models": [
            {"model_version": m.model_version, "gt_accuracy": m.gt_accuracy, "gt_n": m.gt_n}
            for m in metrics.models
        ],
        "reviewers": [
            {
                "id": r.id,
                "email": r.email,
                "reviews": r.reviews,
                "accepted": r.accepted,
                "fixed": r.fixed,
                "rejected": r.rejected,
                "overturned": r.overturned,
                "overturn_rate": r.overturn_rate,
                "overturn_rate_ci": r.overturn_rate_ci,
                "gt_accuracy": r.gt_accuracy,
                "gt_accuracy_ci": r.gt_accuracy_ci,
                "gt_judged": r.gt_judged,
                "acceptance_rate": r.acceptance_rate,
                "leniency": r.leniency,
                "median_review_time": r.median_review_time,
                "review_time_n": r.review_time_n,
            }
            for r in metrics.reviewers
        ],
        "final_labels": metrics.final_sources,
        "throughput": _throughput_json(metrics.throughput),
        "alpha": {a.control: a.alpha for a in metrics.alpha},
        "raw_agreement": {a.control: a.raw_agreement for a in metrics.alpha},
        "raw_agreement_ci": {a.control: a.raw_agreement_ci for a in metrics.alpha},
        "raw_agreement_n": {a.control: a.pairs for a in metrics.alpha},
        "confusion": {
            control: [{"a": p.a, "b": p.b, "count": p.count} for p in pairs]
            for control, pairs in metrics.confusion.items()
        },
        "confusion_gt": {
            control: {
                "labels": m.labels,
                "cells": [
                    {"answer": c.answer, "truth": c.truth, "count": c.count} for c in m.cells
                ],
            }
            for control, m in metrics.confusion_gt.items()
        },
    }


def _throughput_json(t) -> dict:
    return {
        "time_zone": t.time_zone,
        "days": [
            {
                "day": d.day.isoformat(),
                "annotations": d.annotations,
                "reviews": d.reviews,
                "done": d.done,
            }
            for d in t.days
        ],
        "people": [
            {
                "id": p.id,
                "email": p.email,
                "days": [
                    {
                        "day": d.day.isoformat(),
                        "annotations": d.annotations,
                        "reviews": d.reviews,
                        "done": d.done,
                    }
                    for d in p.days.values()
                ],
            }
            for p in t.people
        ],
    }


from reviewapp.api.schemas import (  # noqa: E402 - the description sits below the routes
    errors,
    json_body,
    obj,
    path_id,
    ref,
)

_COUNT = {"type": "integer", "minimum": 0}
_SCORE = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
_CI = {
    "type": ["array", "null"],
    "items": {"type": "number"},
    "minItems": 2,
    "maxItems": 2,
    "description": "[low, high] of the 95% interval; null without items",
}
_VERDICTS = {name: _COUNT for name in ("accepted", "fixed", "rejected", "pending")}


# Fields the metrics JSON gains with the confusion matrices and intervals (another branch):
# described, not required, so the document holds before and after that lands.
OPTIONAL = {
    "acceptance_rate_ci",
    "raw_agreement",
    "raw_agreement_ci",
    "confusion",
    "confusion_gt",
}


def _day() -> dict:
    return _object(
        {
            "day": {"type": "string", "format": "date"},
            "annotations": _COUNT,
            "reviews": _COUNT,
            "done": _COUNT,
        }
    )


def _object(properties: dict, description: str = "", optional: tuple[str, ...] = ()) -> dict:
    return obj(properties, description, OPTIONAL | set(optional))


def _by_control(values: dict, description: str) -> dict:
    return {"type": "object", "additionalProperties": values, "description": description}


OPENAPI_SCHEMAS = {
    "Metrics": _object(
        {
            "summary": _object(
                {
                    "tasks": _COUNT,
                    "annotated_tasks": _COUNT,
                    "annotations": _COUNT,
                    "skipped": _COUNT,
                    **_VERDICTS,
                    "acceptance_rate": _SCORE,
                    "acceptance_rate_ci": _CI,
                    "ground_truth_tasks": _COUNT,
                    "mean_agreement": _SCORE,
                    "low_agreement_tasks": _COUNT,
                },
                optional=("acceptance_rate",),
            ),
            "annotators": {
                "type": "array",
                "items": _object(
                    {
                        "id": {"type": "integer"},
                        "email": {"type": "string"},
                        "annotations": _COUNT,
                        "skipped": _COUNT,
                        **_VERDICTS,
                        "acceptance_rate": _SCORE,
                        "acceptance_rate_ci": _CI,
                        "first_pass_acceptance": _SCORE,
                        "first_pass_acceptance_ci": _CI,
                        "first_pass_n": _COUNT,
                        "times_rejected": _COUNT,
                        "agreement": _SCORE,
                        "agreement_n": _COUNT,
                        "gt_accuracy": _SCORE,
                        "gt_n": _COUNT,
                        "mean_fix_size": _SCORE,
                        "median_lead_time": {"type": ["number", "null"], "description": "s"},
                    }
                ),
            },
            "matrix": _object(
                {
                    "users": {"type": "array", "items": ref("Person")},
                    "cells": {
                        "type": "array",
                        "description": "cells[i][j] for users i and j; the diagonal is null, n 0",
                        "items": {
                            "type": "array",
                            "items": _object({"score": _SCORE, "n": _COUNT}),
                        },
                    },
                },
                "Annotator agreement matrix",
            ),
            "models": {
                "type": "array",
                "items": _object(
                    {"model_version": {"type": "string"}, "gt_accuracy": _SCORE, "gt_n": _COUNT}
                ),
            },
            "reviewers": {
                "type": "array",
                "items": _object(
                    {
                        "id": {"type": "integer"},
                        "email": {"type": "string"},
                        "reviews": _COUNT,
                        "accepted": _COUNT,
                        "fixed": _COUNT,
                        "rejected": _COUNT,
                        "overturned": _COUNT,
                        "overturn_rate": _SCORE,
                        "overturn_rate_ci": _CI,
                        "gt_accuracy": {
                            **_SCORE,
                            "description": "Verdicts agreeing with ground truth / gt_judged",
                        },
                        "gt_accuracy_ci": _CI,
                        "gt_judged": _COUNT,
                        "acceptance_rate": _SCORE,
                        "leniency": {
                            "type": ["number", "null"],
                            "minimum": -1,
                            "maximum": 1,
                            "description": "Their acceptance rate minus the project's",
                        },
                        "median_review_time": {
                            "type": ["number", "null"],
                            "description": "s, from the lease to the verdict",
                        },
                        "review_time_n": _COUNT,
                    }
                ),
            },
            "throughput": _object(
                {
                    "time_zone": {"type": "string", "description": "The server's, for the days"},
                    "days": {"type": "array", "items": _day()},
                    "people": {
                        "type": "array",
                        "items": _object(
                            {
                                "id": {"type": "integer"},
                                "email": {"type": "string"},
                                "days": {"type": "array", "items": _day()},
                            }
                        ),
                    },
                },
                "Per day: annotations submitted, reviews done and tasks reaching done, in "
                "total (every day from the first to the last) and per person (their days)",
            ),
            "final_labels": _object(
                {key: _COUNT for key in ("ground_truth", "review", "annotators", "none")},
                "Tasks by the rule that gives their final label (the final-label export): "
                "ground truth, else an accepted or fixed annotation, else the annotators' "
                "majority or consensus winner, else none",
            ),
            "alpha": _by_control(
                {"type": ["number", "null"]}, "Krippendorff's alpha per Choices control"
            ),
            "raw_agreement": _by_control(_SCORE, "Share of agreeing pairs per Choices control"),
            "raw_agreement_ci": _by_control(_CI, "Its 95% interval"),
            "confusion": _by_control(
                {
                    "type": "array",
                    "items": _object({"a": {}, "b": {}, "count": _COUNT}),
                },
                "Pairs of answers given by two annotators to one task, per control",
            ),
            "confusion_gt": _by_control(
                _object(
                    {
                        "labels": {"type": "array"},
                        "cells": {
                            "type": "array",
                            "items": _object({"answer": {}, "truth": {}, "count": _COUNT}),
                        },
                    }
                ),
                "Annotators' answers against ground truth, per control",
            ),
            "auto_accept": _object(
                {
                    "on": {"type": "boolean"},
                    "accepted": _COUNT,
                    "spot_checked": _COUNT,
                    "reviewed": _COUNT,
                    "rejects": _COUNT,
                    "waiting": _COUNT,
                    "upper_bound": _SCORE,
                    "confidence": {"type": "number"},
                    "target": {"type": "number"},
                    "sample_size": _COUNT,
                    "stopped": {"type": ["string", "null"]},
                },
                "The auto-accept rule: tasks accepted, spot-check tasks, their annotations "
                "reviewed and rejected, the exact one-sided upper bound on the reject share",
            ),
        },
        "The dashboard's numbers; null where a number has no items. See docs/metrics.md.",
    )
}

OPENAPI_PATHS = {
    "/api/projects/{project_id}/metrics": {
        "parameters": [path_id("project_id", "The project's id")],
        "get": {
            "operationId": "metrics_api",
            "tags": ["metrics"],
            "summary": "The dashboard's numbers (managers, admins; reviewers if allowed).",
            "responses": {
                "200": json_body(ref("Metrics"), "The project's metrics"),
                **errors(403, 404),
            },
        },
    },
    "/api/projects/{project_id}/metrics/{table}.csv": {
        "parameters": [
            path_id("project_id", "The project's id"),
            {
                "name": "table",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "enum": list(tables.TABLES)},
                "description": "Which dashboard table",
            },
        ],
        "get": {
            "operationId": "metrics_csv_api",
            "tags": ["metrics"],
            "summary": "One dashboard table as CSV, as the dashboard's download (managers, "
            "admins; reviewers if allowed).",
            "parameters": [
                {
                    "name": "sort",
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": "The annotator table's order (as on the dashboard)",
                },
                {
                    "name": "models",
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": "'1': include the model versions (table models)",
                },
                {
                    "name": "gt_annotator",
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": "confusion_gt for one annotator (a user id)",
                },
            ],
            "responses": {
                "200": {
                    "description": "The table as CSV, one header line",
                    "content": {"text/csv": {"schema": {"type": "string"}}},
                },
                **errors(400, 403, 404),
            },
        },
    },
}
