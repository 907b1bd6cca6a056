from dataclasses import replace

from flask import abort, request

from reviewapp.api import bp
from reviewapp.api.auth import api_user, token_required
from reviewapp.api.jobs import import_summary, not_done, still_running, wait_seconds
from reviewapp.downloads import attachment
from reviewapp.extensions import db
from reviewapp.labeling import LabelConfigError
from reviewapp.permissions import MANAGERS, REVIEWERS, get_project_for
from reviewapp.services.data_manager.query import (
    MAX_ID,
    MAX_PAGE_SIZE,
    Selection,
    TableState,
    table_page,
)
from reviewapp.services.import_export.exporter import (
    FORMATS,
    INCLUDE,
    ONLY,
    export_chunks,
    export_filename,
    export_refusal,
)
from reviewapp.services.jobs.records import wait_for
from reviewapp.services.jobs.submit import start_import
from reviewapp.services.projects import create_project


def project_json(project) -> dict:
    return {
        "id": project.id,
        "title": project.title,
        "description": project.description,
        "label_config": project.label_config,
        "overlap": project.overlap,
        "created_at": project.created_at.isoformat() + "Z",
    }


@bp.post("/projects")
@token_required
def create_project_api():
    """Create a project from JSON {title, label_config, description?}."""
    user = api_user()
    if user.role not in MANAGERS:
        abort(403, "Only managers and admins create projects.")
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not str(body.get("title", "")).strip():
        abort(400, "Send a JSON object with 'title' and 'label_config'.")
    try:
        project = create_project(
            str(body["title"]),
            str(body.get("label_config", "")),
            user,
            description=str(body.get("description", "")),
        )
    except LabelConfigError as error:
        abort(400, f"label_config: {error}")
    db.session.commit()
    return project_json(project), 201


@bp.get("/projects/<int:project_id>")
@token_required
def get_project_api(project_id: int):
    """One project."""
    return project_json(get_project_for(api_user(), project_id))


@bp.post("/projects/<int:project_id>/import")
@token_required
def import_api(project_id: int):
    """Import the request body (Label Studio JSON, CSV or TSV by its Content-Type, or a
    multipart upload of such a file) as a job, all or nothing; waits `wait` seconds for it."""
    user = api_user()
    project = get_project_for(user, project_id, MANAGERS)
    seconds = wait_seconds(request.args)
    stream, name = _import_body()
    job = wait_for(start_import(project, user, stream, name).id, seconds)
    if not job.finished:
        return still_running(job)
    if job.status == "done":
        return import_summary(job), 201
    if job.status == "failed" and (job.error or "").endswith("Nothing was imported."):
        hint = ""
        if job.error.startswith("The file"):  # the body could not be read at all
            hint = f" Send it as {', '.join(BODY_TYPES)}, or as a multipart upload ('file')."
        abort(400, f"{job.error}{hint}")
    return not_done(job)


@bp.get("/projects/<int:project_id>/export")
@token_required
def export_api(project_id: int):
    """Stream the project as Label Studio JSON (format=json) or CSV (format=csv); only=final
    gives one final label per task (include=all adds every annotation)."""
    project = get_project_for(api_user(), project_id, MANAGERS)
    fmt, only = request.args.get("format", "json"), request.args.get("only", "all")
    include = request.args.get("include", "")
    refusal = export_refusal(fmt, only, include)
    if refusal:
        abort(400, refusal)
    # `ids`: only these tasks, as the Data Manager's "Export selected" sends them.
    selection = Selection.from_form(request.args)
    task_ids = None if selection.empty else selection.task_ids(project.id, TableState())
    chunks = export_chunks(project.id, fmt, only, task_ids, include=include)
    return attachment(export_filename(project.id, fmt, only, include), chunks)


@bp.get("/projects/<int:project_id>/tasks")
@token_required
def tasks_api(project_id: int):
    """The Data Manager's table as JSON: same parameters as the HTML table."""
    project = get_project_for(api_user(), project_id, REVIEWERS)
    state = TableState.from_args(request.args)
    if state.errors:
        abort(400, "; ".join(state.errors))
    if request.args.get("ids", "").strip():
        state = replace(state, task_ids=_ids(request.args["ids"]))
    page = table_page(project.id, state)
    return {
        "count": page.count,
        "page": state.page,
        "page_size": state.page_size,
        "tasks": [task_json(row) for row in page.rows],
    }


def _ids(raw: str) -> tuple[int, ...]:
    """ids=1,2,3: task ids (400 for anything else; ids of other projects simply match none)."""
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if not parts or not all(p.isdigit() and 0 < int(p) <= MAX_ID for p in parts):
        abort(400, "ids: expected task ids separated by commas, e.g. ids=1,2,3.")
    if len(parts) > MAX_PAGE_SIZE * 10:
        abort(400, f"ids: at most {MAX_PAGE_SIZE * 10} ids at a time.")
    return tuple(dict.fromkeys(int(p) for p in parts))


def task_json(row) -> dict:
    task = row.task
    return {
        "id": task.id,
        "source_id": task.source_id,
        "state": row.state,
        "data": task.data,
        "annotation_count": task.annotation_count,
        "skipped_count": task.skipped_count,
        "annotators": [{"id": p.id, "email": p.email} for p in row.annotators],
        "agreement": task.agreement,
        "prediction_score": task.prediction_score,
        "reviewers": [{"id": p.id, "email": p.email} for p in row.reviewers],
        "review_status": {
            "accepted": task.accepted_count,
            "fixed": task.fixed_count,
            "rejected": task.rejected_count,
            "pending": task.pending_count,
        },
        "ground_truth": task.has_ground_truth,
        "unresolved_comments": task.unresolved_comments,
        "created_at": task.created_at.isoformat() + "Z",
    }


BODY_TYPES = {
    "application/json": "body.json",
    "text/csv": "body.csv",
    "text/tab-separated-values": "body.tsv",
}


def _import_body():
    """The file to import and a name whose extension says how to read it."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            abort(400, "Send the file as the multipart field 'file'.")
        return upload.stream, upload.filename or "upload.json"
    # Anything else is read as JSON, as before (curl -d sends x-www-form-urlencoded).
    return request.stream, BODY_TYPES.get(request.mimetype, "body.json")


from reviewapp.api.schemas import (  # noqa: E402 - the description sits below the routes
    errors,
    json_body,
    path_id,
    ref,
    table_parameters,
)

_PROJECT_ID = path_id("project_id", "The project's id")
_WAIT = {
    "name": "wait",
    "in": "query",
    "description": "Seconds to wait for the job before answering 202 (default: the server's).",
    "schema": {"type": "number", "minimum": 0, "maximum": 60},
}
_LABEL_STUDIO_TASK = {
    "type": "object",
    "required": ["data"],
    "description": "A Label Studio task: data, and optionally its annotations and predictions.",
    "properties": {
        "id": {"type": ["integer", "string"], "description": "Kept as the task's source_id"},
        "data": {"type": "object", "description": "The fields the label config names ($text)"},
        "annotations": {"type": "array", "items": {"type": "object"}},
        "predictions": {"type": "array", "items": {"type": "object"}},
        "meta": {"type": "object"},
    },
}

OPENAPI_PATHS = {
    "/api/projects": {
        "post": {
            "operationId": "create_project_api",
            "tags": ["projects"],
            "summary": "Create a project (managers and admins).",
            "requestBody": {
                "required": True,
                **json_body(
                    {
                        "type": "object",
                        "required": ["title", "label_config"],
                        "properties": {
                            "title": {"type": "string", "minLength": 1, "pattern": "\\S"},
                            "label_config": {
                                "type": "string",
                                "description": "Label Studio XML config, validated as in the form",
                            },
                            "description": {"type": "string"},
                        },
                    },
                    "The new project",
                ),
            },
            "responses": {
                "201": json_body(ref("Project"), "The project created"),
                **errors(400, 403),
            },
        }
    },
    "/api/projects/{project_id}": {
        "parameters": [_PROJECT_ID],
        "get": {
            "operationId": "get_project_api",
            "tags": ["projects"],
            "summary": "One project the token's user may see.",
            "responses": {"200": json_body(ref("Project"), "The project"), **errors(404)},
        },
    },
    "/api/projects/{project_id}/import": {
        "parameters": [_PROJECT_ID],
        "post": {
            "operationId": "import_api",
            "tags": ["import-export"],
            "summary": "Import tasks, all or nothing, as a job (managers and admins).",
            "description": (
                "The body is a Label Studio JSON file (a list of tasks or one task), a CSV or "
                "TSV (by its Content-Type), or a multipart upload of such a file as 'file'. "
                "Waits `wait` seconds for the job: 201 with its summary, else 202 with the job."
            ),
            "parameters": [_WAIT],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "oneOf": [
                                {"type": "array", "items": _LABEL_STUDIO_TASK},
                                _LABEL_STUDIO_TASK,
                            ]
                        }
                    },
                    "text/csv": {"schema": {"type": "string"}},
                    "text/tab-separated-values": {"schema": {"type": "string"}},
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file"],
                            "properties": {"file": {"type": "string", "format": "binary"}},
                        }
                    },
                },
            },
            "responses": {
                "201": json_body(ref("ImportSummary"), "Imported"),
                "202": {
                    "description": "Still running: ask the job's url (also in Location)",
                    "headers": {"Location": {"schema": {"type": "string"}}},
                    "content": {"application/json": {"schema": ref("JobRunning")}},
                },
                **errors(400, 403, 404, 413),
                "409": json_body(ref("JobNotDone"), "The job was cancelled meanwhile"),
                "500": json_body(ref("JobNotDone"), "The job failed on the server's side"),
            },
        },
    },
    "/api/projects/{project_id}/export": {
        "parameters": [_PROJECT_ID],
        "get": {
            "operationId": "export_api",
            "tags": ["import-export"],
            "summary": "Download the project as Label Studio JSON or CSV (managers and admins).",
            "parameters": [
                {
                    "name": "format",
                    "in": "query",
                    "schema": {"type": "string", "enum": list(FORMATS), "default": "json"},
                },
                {
                    "name": "only",
                    "in": "query",
                    "description": "Which annotations: all, the accepted ones, ground truth, "
                    "or final: one final label per task, as final: {result, source "
                    "(ground_truth|review|majority|winner), annotation_ids, agreement} and "
                    "sources per control when its controls came from different rules "
                    "(docs/metrics.md, 'Final label').",
                    "schema": {"type": "string", "enum": list(ONLY), "default": "all"},
                },
                {
                    "name": "include",
                    "in": "query",
                    "description": "When only is final, 'all' adds every annotation of the "
                    "task after its final label, each with its review status.",
                    "schema": {"type": "string", "enum": list(INCLUDE), "default": ""},
                },
                {
                    "name": "ids",
                    "in": "query",
                    "description": "Only these tasks (repeat the parameter), as the Data "
                    "Manager's Export selected; values that are no task id are dropped.",
                    "schema": {"type": "array", "items": {"type": "string"}},
                },
            ],
            "responses": {
                "200": {
                    "description": "The file, as an attachment",
                    "content": {
                        "application/json": {"schema": {"type": "array"}},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                **errors(400, 403, 404),
            },
        },
    },
    "/api/projects/{project_id}/tasks": {
        "parameters": [_PROJECT_ID],
        "get": {
            "operationId": "tasks_api",
            "tags": ["tasks"],
            "summary": "The Data Manager's table: filters, ordering, a page (reviewers and up).",
            "parameters": [
                *table_parameters(),
                {
                    "name": "ids",
                    "in": "query",
                    "description": "Only these tasks: ids separated by commas (1,2,3).",
                    "schema": {
                        "type": "string",
                        "pattern": "^\\s*(\\d+(\\s*,\\s*\\d+)*\\s*,?)?\\s*$",
                    },
                },
            ],
            "responses": {
                "200": json_body(ref("TaskList"), "A page of tasks"),
                **errors(400, 403, 404),
            },
        },
    },
}
