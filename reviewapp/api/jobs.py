"""JSON for background jobs: a job's state, cancelling it, an export made as a job and its
download; and how an API call that started a job answers (done within `wait`, or 202)."""

from __future__ import annotations

from flask import abort, current_app, request, send_file, url_for

from reviewapp.api import bp
from reviewapp.api.auth import api_user, token_required
from reviewapp.downloads import MIMETYPES
from reviewapp.extensions import db
from reviewapp.models import Job
from reviewapp.permissions import MANAGERS, get_project_for
from reviewapp.services.import_export.exporter import FORMATS, INCLUDE, ONLY, export_refusal
from reviewapp.services.jobs import records
from reviewapp.services.jobs.records import cancel, describe, get_job_for, wait_for
from reviewapp.services.jobs.submit import start_export

WAIT_MAX = 60
BRIEF = ("id", "status", "progress", "url")


def wait_seconds(args) -> float:
    """The `wait` parameter: seconds to wait for the job, 0..60 (default JOBS_WAIT)."""
    raw = args.get("wait")
    if raw is None or raw == "":
        return float(current_app.config["JOBS_WAIT"])
    try:
        seconds = float(raw)
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 <= seconds <= WAIT_MAX:  # also refuses nan
        abort(400, f"wait must be a number of seconds from 0 to {WAIT_MAX}.")
    return seconds


def job_url(job: Job) -> str:
    return url_for("api.job_api", job_id=job.id, _external=True)


def job_json(job: Job) -> dict:
    """describe(job) with its url, a done export's download_url, a done import's summary;
    never the export file's path on the server."""
    out = describe(job)
    out["url"] = job_url(job)
    if job.kind == "export" and isinstance(out["result"], dict):
        out["result"] = {k: v for k, v in out["result"].items() if k != "path"}
    if records.export_file(job):
        out["download_url"] = url_for("api.job_download", job_id=job.id, _external=True)
    if job.kind == "import" and job.status == "done":
        out["summary"] = import_summary(job)
    return out


def import_summary(job: Job) -> dict:
    return {k: v for k, v in (job.result or {}).items() if k != "message"}


def still_running(job: Job):
    """202 with the job's id, status and progress, and where to ask again."""
    full = job_json(job)
    return {"job": {k: full[k] for k in BRIEF}}, 202, {"Location": full["url"]}


def not_done(job: Job):
    """A job that ended without its result: failed (500) or cancelled meanwhile (409)."""
    status = 409 if job.status == "cancelled" else 500
    return {"error": job.message, "job": job_json(job)}, status


@bp.get("/jobs/<int:job_id>")
@token_required
def job_api(job_id: int):
    """A job: status, progress, message, result (summary, download_url when there is one)."""
    return {"job": job_json(get_job_for(api_user(), job_id))}


@bp.post("/jobs/<int:job_id>/cancel")
@token_required
def cancel_job_api(job_id: int):
    """Cancel a queued job at once, a running one at its next step; 409 once finished."""
    user = api_user()
    job = get_job_for(user, job_id)
    finished = job.finished
    message = cancel(job, user)
    if finished:
        return {"error": message}, 409
    db.session.commit()
    return {"job": job_json(job), "message": message}


@bp.post("/projects/<int:project_id>/exports")
@token_required
def start_export_api(project_id: int):
    """Export the project as a job: format, only and wait as query parameters or JSON."""
    user = api_user()
    project = get_project_for(user, project_id, MANAGERS)
    args = _export_args()
    fmt, only = str(args.get("format") or "json"), str(args.get("only") or "all")
    include = str(args.get("include") or "")
    refusal = export_refusal(fmt, only, include)
    if refusal:
        abort(400, refusal)
    seconds = wait_seconds(args)
    job = wait_for(start_export(project, user, fmt, only, include).id, seconds)
    if not job.finished:
        return still_running(job)
    if job.status != "done":
        return not_done(job)
    return {"job": job_json(job)}, 201


def _export_args() -> dict:
    args = dict(request.args.items())
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            abort(400, "Send a JSON object with 'format', 'only' and 'wait', or query parameters.")
        twice = sorted(set(args) & set(body))
        if twice:
            abort(400, f"Send {', '.join(twice)} once: in the query or in the body.")
        args.update(body)
    return args


@bp.get("/jobs/<int:job_id>/download")
@token_required
def job_download(job_id: int):
    """The file a done export job wrote, under its export name; 404 until then or expired."""
    job = get_job_for(api_user(), job_id)
    if not records.export_file(job):
        abort(404)
    filename = job.result["filename"]
    return send_file(
        job.result["path"],
        mimetype=MIMETYPES[filename.rsplit(".", 1)[-1]],
        as_attachment=True,
        download_name=filename,
    )


from reviewapp.api.schemas import (  # noqa: E402 - the description sits below the routes
    errors,
    json_body,
    path_id,
    ref,
)

_JOB_ID = path_id("job_id", "The job's id")
_RUNNING = {
    "description": "Still running: ask the job's url (also in Location)",
    "headers": {"Location": {"schema": {"type": "string"}}},
    "content": {"application/json": {"schema": ref("JobRunning")}},
}
_EXPORT_FIELDS = {
    "format": {"type": "string", "enum": list(FORMATS), "default": "json"},
    "only": {"type": "string", "enum": list(ONLY), "default": "all"},
    "include": {"type": "string", "enum": list(INCLUDE), "default": ""},
}

OPENAPI_PATHS = {
    "/api/jobs/{job_id}": {
        "parameters": [_JOB_ID],
        "get": {
            "operationId": "job_api",
            "tags": ["jobs"],
            "summary": "A job the token's user started or may see: status, progress, result.",
            "responses": {"200": json_body(ref("JobAnswer"), "The job"), **errors(404)},
        },
    },
    "/api/jobs/{job_id}/cancel": {
        "parameters": [_JOB_ID],
        "post": {
            "operationId": "cancel_job_api",
            "tags": ["jobs"],
            "summary": "Cancel a queued job at once, a running one at its next step.",
            "responses": {
                "200": json_body(ref("JobAnswer"), "Cancelled, or asked to stop"),
                **errors(403, 404, 409),
            },
        },
    },
    "/api/jobs/{job_id}/download": {
        "parameters": [_JOB_ID],
        "get": {
            "operationId": "job_download",
            "tags": ["jobs"],
            "summary": "The file a done export job wrote; 404 until then, or once expired.",
            "responses": {
                "200": {
                    "description": "The export file, as an attachment",
                    "content": {
                        "application/json": {"schema": {"type": "array"}},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                **errors(404),
            },
        },
    },
    "/api/projects/{project_id}/exports": {
        "parameters": [path_id("project_id", "The project's id")],
        "post": {
            "operationId": "start_export_api",
            "tags": ["import-export"],
            "summary": "Export the project as a job (managers and admins).",
            "description": "format, only and wait as query parameters or a JSON object body.",
            "parameters": [
                *({"name": name, "in": "query", "schema": s} for name, s in _EXPORT_FIELDS.items()),
                {
                    "name": "wait",
                    "in": "query",
                    "description": "Seconds to wait for the job before answering 202.",
                    "schema": {"type": "number", "minimum": 0, "maximum": WAIT_MAX},
                },
            ],
            "requestBody": {
                "required": False,
                **json_body(
                    {
                        "type": "object",
                        "properties": {
                            **_EXPORT_FIELDS,
                            "wait": {"type": "number", "minimum": 0, "maximum": WAIT_MAX},
                        },
                    },
                    "The same fields as the query (a body field wins)",
                ),
            },
            "responses": {
                "201": json_body(ref("JobAnswer"), "Done: the job with its download_url"),
                "202": _RUNNING,
                **errors(400, 403, 404),
                "409": json_body(ref("JobNotDone"), "The job was cancelled meanwhile"),
                "500": json_body(ref("JobNotDone"), "The job failed on the server's side"),
            },
        },
    },
}
