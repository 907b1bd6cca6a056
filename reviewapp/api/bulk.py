"""JSON for the Data Manager's bulk actions: one POST per action, over task ids or the tasks
matching the table's filters, with the page's permission rules and registry."""

from __future__ import annotations

from flask import abort, request
from sqlalchemy import Select, select

from reviewapp.api import bp
from reviewapp.api.auth import api_user, token_required
from reviewapp.api.common import json_object, table_state
from reviewapp.api.jobs import job_json, not_done, wait_seconds
from reviewapp.db import CHUNK
from reviewapp.extensions import db
from reviewapp.models import REJECT_ACTIONS, Project, Task
from reviewapp.permissions import REVIEWERS, get_project_for
from reviewapp.services.data_manager.bulk import ACTIONS, BulkError, apply_bulk_action
from reviewapp.services.data_manager.bulk_verdicts import VerdictOptions
from reviewapp.services.data_manager.query import FILTERS, MAX_ID, filtered_tasks
from reviewapp.services.jobs.records import wait_for

# More ids than this go through the filters (and exclude): a request holds no giant list.
MAX_IDS = 20_000
FIELDS = ("action", "ids", "exclude", "confirm", "reviewers", "annotators")
NOTE_FIELDS = ("reject_action", "reason", "comment")


@bp.post("/projects/<int:project_id>/bulk")
@token_required
def bulk_api(project_id: int):
    """Run one bulk action of the Data Manager over `ids` or the tasks matching the filters."""
    user = api_user()
    project = get_project_for(user, project_id, REVIEWERS)
    body = json_object("with 'action', and 'ids' or the Data Manager's filters")
    unknown = sorted(set(body) - set(FIELDS) - set(NOTE_FIELDS) - set(FILTERS))
    if unknown:
        abort(400, f"Unknown field {', '.join(map(repr, unknown))}.")
    name = body.get("action")
    if not isinstance(name, str) or name not in ACTIONS:
        abort(400, f"'action' must be one of {', '.join(ACTIONS)}.")
    confirm = body.get("confirm", False)
    if not isinstance(confirm, bool):
        abort(400, "'confirm' must be true or false.")
    for field in NOTE_FIELDS:
        if field in body and not isinstance(body[field], str):
            abort(400, f"'{field}' must be a string.")
    if body.get("reject_action") and body["reject_action"] not in REJECT_ACTIONS:
        abort(400, f"'reject_action' must be one of {', '.join(REJECT_ACTIONS)}.")
    verdict = VerdictOptions(
        tuple(_ids(body, "annotators")),
        body.get("reject_action") or None,
        body.get("reason") or "",
        body.get("comment") or "",
    )
    seconds = wait_seconds(request.args)
    try:
        outcome = apply_bulk_action(
            name,
            project,
            user,
            _selection(project, body),
            _ids(body, "reviewers"),
            confirmed=confirm,
            verdict=verdict,
            ask=ACTIONS[name].destructive,  # scripts confirm what removes something
        )
    except PermissionError as error:
        abort(403, str(error))
    except BulkError as error:
        db.session.rollback()
        abort(422, str(error))
    if outcome.needs_confirmation:
        db.session.rollback()
        return {"error": f'{outcome.message} Send it again with "confirm": true.'}, 409
    if outcome.job is not None:
        job = wait_for(outcome.job.id, seconds)
        if not job.finished:
            full = job_json(job)
            return {"job": full, "message": outcome.message}, 202, {"Location": full["url"]}
        if job.status != "done":
            return not_done(job)
        return {"action": name, "message": job.message, "counts": job.result.get("counts", {})}
    db.session.commit()
    return {"action": name, "message": outcome.message, "counts": outcome.counts}


def _ids(body: dict, name: str) -> list[int]:
    """A list of row ids from the body (absent: empty), else 400."""
    value = body.get(name, [])
    valid = isinstance(value, list) and all(
        type(item) is int and 0 < item <= MAX_ID for item in value
    )
    if not valid:
        abort(400, f"'{name}' must be a list of ids (whole numbers from 1).")
    if len(value) > MAX_IDS:
        abort(400, f"Send at most {MAX_IDS:,} {name}; for more, select with the filters.")
    return list(dict.fromkeys(value))


def _selection(project: Project, body: dict) -> Select:
    """select(Task.id) of the tasks the body names: `ids` (all of this project, else 422
    and nothing done), or the tasks matching its filters less `exclude`."""
    filters = {key: value for key, value in body.items() if key in FILTERS}
    if "ids" in body:
        if filters or "exclude" in body:
            abort(400, "Send either 'ids' or filters (with 'exclude'), not both.")
        ids = _ids(body, "ids")
        if not ids:
            abort(400, "'ids' is empty: name at least one task.")
        found = set()
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            found.update(
                db.session.scalars(
                    select(Task.id).where(Task.project_id == project.id, Task.id.in_(chunk))
                )
            )
        missing = [str(i) for i in ids if i not in found]
        if missing:
            shown = ", ".join(missing[:10]) + (", ..." if len(missing) > 10 else "")
            # 422, not 404: a 404 answers only "Not found.", and this says which ids.
            abort(422, f"No task {shown} in this project; nothing was done.")
        return select(Task.id).where(Task.project_id == project.id, Task.id.in_(ids))
    query = filtered_tasks(project.id, table_state(filters))
    exclude = _ids(body, "exclude")
    if exclude:
        query = query.where(Task.id.not_in(exclude))
    return query


from reviewapp.api.schemas import (  # noqa: E402 - the description sits below the routes
    ID,
    TABLE_PARAMETERS,
    json_body,
    obj,
    op,
    path_id,
    ref,
)

_ID_LIST = {"type": "array", "items": ID, "maxItems": MAX_IDS}
_COUNTS = {
    "type": "object",
    "additionalProperties": {"type": "integer", "minimum": 0},
    "description": (
        "The action's numbers: always `tasks` (selected); accept and reject add `accepted` or "
        "`rejected`, `reviewed_tasks`, `skipped`, `skipped_own`, `skipped_not_assigned`; "
        "the others what they changed (`removed`, `marked`, `deleted`...)."
    ),
}
# As GET .../tasks takes them, read as text (a list repeats one): typed loosely here, as
# table_state reads "0.5" as it reads 0.5; a value it cannot parse is a 400 naming it.
_FILTER_FIELDS = {
    name: {"description": spec["description"]}
    for name, spec in TABLE_PARAMETERS.items()
    if name in FILTERS
}

_BULK = op(
    "bulk_api",
    "tasks",
    "Run a Data Manager bulk action over task ids or the matching tasks.",
    {
        200: obj({"action": {"type": "string"}, "message": {"type": "string"}, "counts": _COUNTS}),
        202: ref("JobAnswer"),
    },
    (400, 403, 404, 409, 422),
    parameters=[
        path_id("project_id", "The project's id"),
        {
            "name": "wait",
            "in": "query",
            "description": "Seconds to wait for a job before answering 202.",
            "schema": {"type": "number", "minimum": 0, "maximum": 60},
        },
    ],
    body={
        "type": "object",
        "required": ["action"],
        "properties": {
            "action": {"type": "string", "enum": list(ACTIONS)},
            "ids": {**_ID_LIST, "minItems": 1, "description": "Tasks of this project"},
            **_FILTER_FIELDS,
            "exclude": {**_ID_LIST, "description": "With the filters: tasks left out"},
            "confirm": {
                "type": "boolean",
                "description": "Needed by the destructive actions (else 409)",
            },
            "reviewers": {**_ID_LIST, "description": "assign/unassign_reviewers"},
            "annotators": {
                **_ID_LIST,
                "description": "accept/reject: only these annotators' annotations",
            },
            "reject_action": {"type": "string", "enum": ["", *REJECT_ACTIONS]},
            "reason": {"type": "string", "description": "One of the project's reasons"},
            "comment": {"type": "string"},
        },
    },
    description=(
        "`action` is one of the Data Manager's: " + ", ".join(ACTIONS) + ". The tasks "
        "are `ids` (every one of this project, else 422 and nothing is done) or, "
        "without `ids`, every task matching the filters (the names of GET .../tasks; "
        "none: every task) less `exclude`. Destructive actions (delete_ground_truth, "
        'delete_annotations, delete_tasks) answer 409 with the question unless "confirm": '
        "true. accept and reject act on the tasks' pending, non-skipped annotations "
        "(in the review sample), optionally only `annotators`', with a single "
        "verdict's rules: the ones the user may not review (their own, a task not "
        "assigned to them) are skipped and counted; reject takes `reject_action` "
        "(default: the project's), `reason` and `comment` (required when the project "
        "says so, else 422). Over the job threshold (5,000 tasks) the action runs as a "
        "job: done within `wait`, it answers as if it were not; else 202 with the job."
    ),
)
# A job that failed within `wait` answers as GET /api/jobs/<id> would (cancelled: the 409).
_BULK["responses"]["500"] = json_body(ref("JobNotDone"), "The job failed on the server's side")

OPENAPI_PATHS = {"/api/projects/{project_id}/bulk": {"post": _BULK}}
