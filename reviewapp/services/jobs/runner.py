"""One job's run in the worker: claim it, beat while it works, report progress, stop at the
next step when cancelled, and leave the row done, failed or cancelled, never running."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from flask import current_app
from sqlalchemy import update

from reviewapp.extensions import db
from reviewapp.models import Job, utcnow
from reviewapp.services.jobs import live
from reviewapp.services.jobs.records import remove_upload
from reviewapp.services.webhooks import emit

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """Raised at a step of a job whose cancel was requested."""


class JobRefused(Exception):
    """The job cannot be done as asked (a refused import); the message is for the user."""


class Progress:
    """Called by a job at each step with (done, total, message); publishes at most twice a
    second and raises Cancelled once a cancel is requested."""

    INTERVAL = 0.5

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.done, self.total, self.message = 0, None, ""
        self._last = 0.0

    def __call__(self, done: int, total: int | None = None, message: str = "") -> None:
        self.done, self.total, self.message = done, total, message
        now = time.monotonic()
        if now - self._last < self.INTERVAL and not (total and done >= total):
            return
        self._last = now
        live.put_progress(self.job_id, done, total, message)
        if live.cancel_requested(self.job_id):
            raise Cancelled


def run(job_id: int) -> None:
    """Run a queued job to its end. A job another worker took, or one cancelled while
    queued, is left alone."""
    from reviewapp.services.jobs.kinds import KINDS

    claimed = db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "queued")
        .values(status="running", started_at=utcnow(), message="Running.")
    ).rowcount
    db.session.commit()
    if not claimed:
        return
    job = db.session.get(Job, job_id)
    progress = Progress(job_id)
    stop = _start_heartbeat(job_id)
    try:
        result = KINDS[job.kind](job, progress)
    except Cancelled:
        db.session.rollback()
        _finish(job_id, "cancelled", progress, message="Cancelled; nothing of it was kept.")
    except JobRefused as refused:
        db.session.rollback()
        _finish(job_id, "failed", progress, message=str(refused), error=str(refused))
    except Exception as error:  # noqa: BLE001 - any failure must end the row, not leave it running
        db.session.rollback()
        log.exception("job %s (%s) failed", job_id, job.kind)
        text = f"{type(error).__name__}: {error}"[:2000]
        _finish(
            job_id,
            "failed",
            progress,
            message="Failed on our side; nothing of it was kept. Try again.",
            error=text,
        )
    else:
        message = result.pop("message", "") if isinstance(result, dict) else ""
        _finish(job_id, "done", progress, message=message or "Done.", result=result)
    finally:
        stop()
        remove_upload(job)
        live.forget(job_id)


def _finish(job_id: int, status: str, progress: Progress, **values) -> None:
    done = progress.total if status == "done" and progress.total else progress.done
    db.session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(status=status, finished_at=utcnow(), done=done, total=progress.total, **values)
    )
    job = db.session.get(Job, job_id)
    emit(job.project_id, "job.finished", job)
    db.session.commit()


def _start_heartbeat(job_id: int) -> Callable[[], None]:
    """A thread that beats every JOBS_HEARTBEAT_SECONDS while the job runs, even inside one
    long statement; a killed worker stops beating and housekeeping fails the job."""
    app = current_app._get_current_object()
    every = float(app.config["JOBS_HEARTBEAT_SECONDS"])
    stopped = threading.Event()

    def beat() -> None:
        with app.app_context():
            while True:
                live.beat(job_id)
                if stopped.wait(every):
                    return

    thread = threading.Thread(target=beat, name=f"job-{job_id}-heartbeat", daemon=True)
    thread.start()

    def stop() -> None:
        stopped.set()
        thread.join(timeout=every + 1)

    return stop
