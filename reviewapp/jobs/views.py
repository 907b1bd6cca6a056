from flask import abort, send_file, url_for
from flask_login import current_user, login_required

from reviewapp import htmx
from reviewapp.downloads import MIMETYPES
from reviewapp.extensions import db
from reviewapp.jobs import bp
from reviewapp.models import Job, Project, User
from reviewapp.services.jobs import live, records


def _status(job: Job, **answer):
    """The job page, or for htmx (the poll, the Cancel button) its job_status block alone."""
    return htmx.page_or_blocks(
        "jobs/job.html",
        ["job_status"],
        job=job,
        info=records.describe(job),
        project=db.session.get(Project, job.project_id) if job.project_id else None,
        author=db.session.get(User, job.user_id) if job.user_id else None,
        cancelling=job.status == "running" and live.cancel_requested(job.id),
        downloadable=records.export_file(job) is not None,
        **answer,
    )


@bp.get("/<int:job_id>")
@login_required
def show(job_id: int):
    """A job's progress, then its outcome; the block polls itself until the job ends."""
    return _status(records.get_job_for(current_user, job_id))


@bp.post("/<int:job_id>/cancel")
@login_required
def cancel(job_id: int):
    """Cancel a queued job at once, a running one at its next step."""
    job = records.get_job_for(current_user, job_id)
    message = records.cancel(job, current_user)
    db.session.commit()
    return htmx.after_action(
        url_for("jobs.show", job_id=job.id),
        message,
        "info",
        fragment=lambda: _status(job, message=message, category="info"),
        code=303,
    )


@bp.get("/<int:job_id>/download")
@login_required
def download(job_id: int):
    """The file of a done export job, under its export name; 404 before, or once expired."""
    job = records.get_job_for(current_user, job_id)
    path = records.export_file(job)
    if path is None:
        abort(404)
    filename = job.result["filename"]
    response = send_file(
        path,
        mimetype=MIMETYPES[filename.rsplit(".", 1)[-1]],
        as_attachment=True,
        download_name=filename,
    )
    response.cache_control.private = True
    return response
