"""What each kind of job does, given its row and a Progress; returns the result summary
(a "message" key becomes the job's message)."""

from __future__ import annotations

import os
from collections.abc import Callable

from flask import current_app
from sqlalchemy import func, select

from reviewapp.extensions import db
from reviewapp.models import Job, Project, Task
from reviewapp.services.jobs.runner import JobRefused, Progress


def run_import(job: Job, progress: Progress) -> dict:
    """The upload the request saved, imported all or nothing, as `flask import` does."""
    from reviewapp.services.import_export.importer import ImportFailed, import_file

    project = _project(job)
    path, filename = job.params["upload"], job.params.get("filename", "")
    size = os.path.getsize(path)
    with open(path, "rb") as stream:

        def step(tasks: int) -> None:
            progress(min(stream.tell(), size), size, f"{tasks:,} tasks read")

        progress(0, size, "Reading the file")
        try:
            summary = import_file(project, stream, filename, progress=step)
        except ImportFailed as error:
            raise JobRefused(f"{error} Nothing was imported.") from None
        progress(size, size, f"{summary.task_count:,} tasks read; saving")
    db.session.commit()
    result = summary.as_dict()
    result["message"] = " ".join(summary.lines())
    return result


def run_export(job: Job, progress: Progress) -> dict:
    """The project's export written to a file in the instance folder, for download."""
    from reviewapp.services.import_export.exporter import export_chunks, export_filename

    project = _project(job)
    fmt, only = job.params.get("format", "json"), job.params.get("only", "all")
    include = job.params.get("include", "")
    filename = export_filename(project.id, fmt, only, include)
    folder = os.path.join(current_app.instance_path, "exports")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"job-{job.id}-{filename}")
    total = _task_count(project)
    written = 0
    try:
        with open(path, "w", encoding="utf-8") as out:
            for count, chunk in enumerate(export_chunks(project.id, fmt, only, include=include), 1):
                out.write(chunk)
                written += len(chunk)
                progress(min(count * 2000, total), total, f"{written / 1e6:.1f} MB written")
    except BaseException:
        if os.path.exists(path):
            os.remove(path)
        raise
    return {
        "path": path,
        "filename": filename,
        "size": os.path.getsize(path),
        "tasks": total,
        "message": f"Exported {total:,} tasks ({os.path.getsize(path) / 1e6:.1f} MB).",
    }


def run_rescore(job: Job, progress: Progress) -> dict:
    """Every stored score again (after an IoU threshold change), committed a chunk at a time:
    a cancelled or killed run leaves finished chunks, and running it again finishes it."""
    from reviewapp.services.derived.scores import rescore_chunks

    project = _project(job)
    total = _task_count(project)
    done = 0
    for done in rescore_chunks(project):
        db.session.commit()
        progress(done, total, f"{done:,} of {total:,} tasks scored")
    return {"tasks": done, "message": f"Recomputed the scores of {done:,} tasks."}


def run_recount(job: Job, progress: Progress) -> dict:
    """Every task's counts and state again (after the overlap or the review criteria
    changed), committed a chunk at a time like a rescore."""
    from reviewapp.models import User
    from reviewapp.services.derived.task_columns import recount_chunks

    project = _project(job)
    user = db.session.get(User, job.user_id) if job.user_id else None
    total = _task_count(project)
    done = 0
    for done in recount_chunks(project, user):
        db.session.commit()
        progress(done, total, f"{done:,} of {total:,} tasks recounted")
    return {"tasks": done, "message": f"Recounted the states of {done:,} tasks."}


def run_bulk(job: Job, progress: Progress) -> dict:
    """A Data Manager bulk action over more tasks than a request should hold."""
    from reviewapp.models import User
    from reviewapp.permissions import has_role
    from reviewapp.services.data_manager.bulk import ACTIONS, BulkError, BulkRequest, run_action
    from reviewapp.services.data_manager.bulk_verdicts import VerdictOptions

    project = _project(job)
    user = db.session.get(User, job.user_id) if job.user_id else None
    if user is None:
        raise JobRefused("The user who started the action no longer exists.")
    action = ACTIONS[job.params["action"]]
    if not has_role(user, action.roles):
        raise JobRefused(f"{action.label} is for {', '.join(action.roles)} only.")
    ids = job.params["task_ids"]
    request = BulkRequest(
        project,
        user,
        ids,
        tuple(job.params.get("reviewer_ids", ())),
        progress,
        VerdictOptions.from_params(job.params.get("verdict")),
    )
    progress(0, len(ids), "Starting")
    try:
        outcome = run_action(request, action)
    except BulkError as error:  # the project's settings changed since it was queued
        raise JobRefused(f"{error} Nothing was changed.") from None
    db.session.commit()
    return {
        "tasks": len(ids),
        "action": action.name,
        "counts": outcome.counts,
        "message": outcome.message,
    }


def _task_count(project: Project) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Task).where(Task.project_id == project.id)
    )


def _project(job: Job) -> Project:
    project = db.session.get(Project, job.project_id)
    if project is None:
        raise JobRefused("The project was deleted.")
    return project


KINDS: dict[str, Callable[[Job, Progress], dict]] = {
    "import": run_import,
    "export": run_export,
    "rescore": run_rescore,
    "recount": run_recount,
    "bulk": run_bulk,
}
