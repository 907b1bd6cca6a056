"""The job rows: create, find (with who may see them), wait for, cancel, describe, and the
housekeeping that fails jobs whose worker died and removes expired export files."""

from __future__ import annotations

import os
import time
from datetime import timedelta

from flask import abort, current_app
from sqlalchemy import select, update

from reviewapp.extensions import db
from reviewapp.models import Job, Project, User, utcnow
from reviewapp.permissions import MANAGERS, is_member
from reviewapp.services.jobs import live
from reviewapp.services.webhooks import emit

KIND_NAMES = {
    "import": "Import",
    "export": "Export",
    "rescore": "Rescore",
    "recount": "Recount task states",
    "bulk": "Bulk action",
}


def create_job(kind: str, project: Project | None, user: User | None, params: dict) -> Job:
    """A queued job; flushes. The caller commits, then enqueues (queue.enqueue)."""
    job = Job(
        kind=kind,
        project_id=project.id if project else None,
        user_id=user.id if user else None,
        status="queued",
        params=params,
        done=0,
        message="Waiting for a worker.",
    )
    db.session.add(job)
    db.session.flush()
    return job


def may_see(user: User, job: Job) -> bool:
    if not user.is_authenticated:
        return False
    if user.role == "admin" or job.user_id == user.id:
        return True
    return job.project_id is not None and user.role in MANAGERS and is_member(user, job.project_id)


def get_job_for(user: User, job_id: int) -> Job:
    """The job if user may see it (its author, admins, the project's managers), else 404."""
    job = db.session.get(Job, job_id)
    if job is None or not may_see(user, job):
        abort(404)
    return job


def wait_for(job_id: int, seconds: float) -> Job:
    """The job once finished, or as it is after seconds. Ends the session's transaction on
    every look, so each one sees the worker's latest commit."""
    deadline = time.monotonic() + seconds
    delay = 0.05
    while True:
        db.session.rollback()
        job = db.session.get(Job, job_id)
        if job.finished or time.monotonic() >= deadline:
            return job
        time.sleep(min(delay, max(deadline - time.monotonic(), 0)))
        delay = min(delay * 1.5, 0.5)


def cancel(job: Job, user: User) -> str:
    """Cancel a queued job at once, a running one at its next chunk; flushes."""
    if not may_see(user, job):
        abort(404)
    if job.finished:
        return f"The job is already {job.status}."
    claimed = db.session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status == "queued")
        .values(status="cancelled", finished_at=utcnow(), message="Cancelled before it started.")
    ).rowcount
    if claimed:
        db.session.refresh(job)
        emit(job.project_id, "job.finished", job)
        return "Cancelled the job before it started."
    live.request_cancel(job.id)
    return "Cancelling: the job stops at its next step."


def describe(job: Job) -> dict:
    """What the page and the API show: the row, with the live progress of a running job."""
    done, total, message = job.done, job.total, job.message
    rate = eta = None
    if job.status == "running":
        now = live.progress(job.id)
        if now:
            done, total, message = now["done"], now["total"], now["message"] or message
        if job.started_at and done:
            elapsed = max((utcnow() - job.started_at).total_seconds(), 1e-3)
            rate = done / elapsed
            if total and rate:
                eta = max(total - done, 0) / rate
    return {
        "id": job.id,
        "kind": job.kind,
        "name": KIND_NAMES.get(job.kind, job.kind),
        "project_id": job.project_id,
        "status": job.status,
        "progress": {
            "done": done,
            "total": total,
            "percent": round(100 * done / total, 1) if total else None,
            "rate": rate,
            "seconds_left": eta,
        },
        "message": message,
        "result": job.result,
        "error": job.error,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
    }


def _iso(value) -> str | None:
    return value.isoformat() + "Z" if value else None


def export_file(job: Job) -> str | None:
    """The file a done export wrote, while it is kept (JOBS_EXPORT_RETENTION_HOURS)."""
    result = job.result or {}
    path = result.get("path")
    if job.kind != "export" or job.status != "done" or result.get("expired") or not path:
        return None
    return path if os.path.isfile(path) else None


def recent_jobs(project: Project, limit: int = 10) -> list[Job]:
    return list(
        db.session.scalars(
            select(Job)
            .where(Job.project_id == project.id)
            .order_by(Job.created_at.desc(), Job.id.desc())
            .limit(limit)
        )
    )


def housekeeping() -> None:
    """Fail jobs whose worker stopped beating, and remove export files past retention;
    commits (it runs on its own, in the worker)."""
    fail_stale()
    remove_expired_exports()
    db.session.commit()


def fail_stale() -> int:
    """Mark failed every running job whose heartbeat is older than JOBS_STALE_SECONDS (a
    worker killed with kill -9, or a host gone): never stuck at "running"."""
    stale_after = float(current_app.config["JOBS_STALE_SECONDS"])
    now = time.time()
    failed = 0
    for job in db.session.scalars(select(Job).where(Job.status == "running")):
        beat = live.last_beat(job.id)
        started = job.started_at or job.created_at
        last = beat if beat is not None else started.timestamp()
        if now - last > stale_after:
            stopped = db.session.execute(
                update(Job)
                .where(Job.id == job.id, Job.status == "running")
                .values(
                    status="failed",
                    finished_at=utcnow(),
                    error="The worker stopped while running this job (killed or crashed).",
                    message="Failed: the worker stopped. Nothing of it was kept; start it again.",
                )
            ).rowcount
            if stopped:
                db.session.refresh(job)
                emit(job.project_id, "job.finished", job)
            failed += stopped
            remove_upload(job)
            live.forget(job.id)
    return failed


def remove_upload(job: Job) -> None:
    """The saved upload of an import job, once it is imported, refused or abandoned."""
    path = (job.params or {}).get("upload")
    if path and os.path.exists(path):
        os.remove(path)


def remove_expired_exports() -> int:
    hours = float(current_app.config["JOBS_EXPORT_RETENTION_HOURS"])
    before = utcnow() - timedelta(hours=hours)
    removed = 0
    query = select(Job).where(Job.kind == "export", Job.status == "done", Job.finished_at < before)
    for job in db.session.scalars(query):
        result = dict(job.result or {})
        if result.get("expired"):
            continue
        path = result.get("path")
        if path and os.path.exists(path):
            os.remove(path)
        result["expired"] = True
        job.result = result
        removed += 1
    return removed
