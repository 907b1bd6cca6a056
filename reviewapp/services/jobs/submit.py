"""Starting jobs. Unlike other services these commit: the worker, another process, can only
see a committed job row, and the upload it will read must be on disk first."""

from __future__ import annotations

import os
import shutil
import uuid
from typing import IO

from flask import current_app

from reviewapp.extensions import db
from reviewapp.models import Job, Project, User
from reviewapp.permissions import MANAGERS
from reviewapp.services.jobs.queue import enqueue
from reviewapp.services.jobs.records import create_job


def submit(
    kind: str, project: Project, user: User, params: dict, roles: tuple[str, ...] = MANAGERS
) -> Job:
    """Queue a job of this kind; PermissionError unless the user's role is one of roles
    (a bulk verdict's job is started by reviewers too)."""
    if user.role not in roles:
        raise PermissionError("Only managers and admins start jobs.")
    job = create_job(kind, project, user, params)
    db.session.commit()
    enqueue(job.id)
    return job


def start_import(project: Project, user: User, stream: IO[bytes], filename: str) -> Job:
    """Save the upload to the instance folder, a megabyte at a time, and queue its import."""
    if user.role not in MANAGERS:
        raise PermissionError("Only managers and admins import tasks.")
    folder = os.path.join(current_app.instance_path, "uploads")
    os.makedirs(folder, exist_ok=True)
    extension = os.path.splitext(filename or "")[1].lower()[:10]
    path = os.path.join(folder, f"{uuid.uuid4().hex}{extension}")
    try:
        # A chunked body over MAX_CONTENT_LENGTH raises 413 while it is read: no partial file.
        with open(path, "wb") as out:
            shutil.copyfileobj(stream, out, 1024 * 1024)
        return submit("import", project, user, {"upload": path, "filename": filename or ""})
    except BaseException:
        if os.path.exists(path):
            os.remove(path)
        raise


def start_export(project: Project, user: User, fmt: str, only: str, include: str = "") -> Job:
    return submit("export", project, user, {"format": fmt, "only": only, "include": include})


def start_rescore(project: Project, user: User) -> Job:
    return submit("rescore", project, user, {})


def start_recount(project: Project, user: User) -> Job:
    return submit("recount", project, user, {})
