"""Background jobs: the row's life (queued, running, done, failed, cancelled), the kinds, and a
real worker process, killed with kill -9 (issue 13)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from reviewapp.extensions import db
from reviewapp.models import Job, Task, utcnow
from reviewapp.services.import_export.exporter import export_chunks
from reviewapp.services.jobs import live, records, runner
from reviewapp.services.jobs.submit import start_export, start_import, start_rescore
from tests import factories

ROOT = Path(__file__).resolve().parent.parent


def _file(n: int, start: int = 0) -> io.BytesIO:
    items = [{"data": {"text": f"task {i}"}} for i in range(start, start + n)]
    return io.BytesIO(json.dumps(items).encode())


def _count_tasks() -> int:
    return db.session.scalar(select(func.count()).select_from(Task))


def _uploads(app) -> list[str]:
    folder = Path(app.instance_path) / "uploads"
    return sorted(os.listdir(folder)) if folder.exists() else []


def test_an_import_job_imports_and_keeps_the_summary(app):
    manager = factories.user("manager")
    project = factories.project(members=(manager,))
    job = start_import(project, manager, _file(3), "tasks.json")
    job = records.wait_for(job.id, 1)
    assert job.status == "done"
    assert job.result["task_count"] == 3
    assert job.message.startswith("Imported 3 tasks")
    assert job.started_at and job.finished_at
    assert _count_tasks() == 3
    assert _uploads(app) == []  # the saved upload is removed once imported


def test_a_refused_import_fails_the_job_with_the_reason_and_imports_nothing(app):
    manager = factories.user("manager")
    project = factories.project(members=(manager,))
    job = start_import(project, manager, io.BytesIO(b'[{"data": {"nope": 1}}]'), "x.json")
    job = records.wait_for(job.id, 1)
    assert job.status == "failed"
    assert "has no field 'text'" in job.error and "Nothing was imported" in job.error
    assert _count_tasks() == 0
    assert _uploads(app) == []


def test_only_managers_start_jobs(app):
    reviewer = factories.user("reviewer")
    project = factories.project(members=(reviewer,))
    with pytest.raises(PermissionError):
        start_import(project, reviewer, _file(1), "x.json")
    with pytest.raises(PermissionError):
        start_export(project, reviewer, "json", "all")
    assert db.session.scalar(select(func.count()).select_from(Job)) == 0
    assert _uploads(app) == []


def _queued(project, manager, kind="import", **params) -> Job:
    job = records.create_job(kind, project, manager, params)
    db.session.commit()
    return job


def test_cancel_before_it_starts_and_the_worker_leaves_it(app):
    manager = factories.user("manager")
    project = factories.project(members=(manager,))
    job = _queued(project, manager, "rescore")
    assert records.cancel(job, manager) == "Cancelled the job before it started."
    db.session.commit()
    runner.run(job.id)
    db.session.refresh(job)
    assert job.status == "cancelled"


def test_cancel_while_running_stops_at_the_next_step_and_keeps_nothing(app, tmp_path):
    manager = factories.user("manager")
    project = factories.project(members=(manager,))
    upload = tmp_path / "big.json"
    upload.write_bytes(_file(5000).getvalue())
    job = _queued(project, manager, upload=str(upload), filename="big.json")
    live.request_cancel(job.id)
    runner.run(job.id)
    db.session.refresh(job)
    assert job.status == "cancelled"
    assert _count_tasks() == 0
    assert not upload.exists()


def test_another_users_job_is_not_found(app):
    manager, other = factories.user("manager"), factories.user("manager")
    project = factories.project(members=(manager,))
    job = _queued(project, manager, "rescore")
    with pytest.raises(Exception) as refused:
        records.get_job_for(other, job.id)
    assert getattr(refused.value, "code", None) == 404
    assert records.get_job_for(manager, job.id) is job


def test_export_job_writes_the_same_file_and_retention_removes_it(app):
    manager = factories.user("manager")
    project = factories.project(members=(manager,))
    factories.tasks(
        project,
        [{"data": {"text": "a"}, "annotations": [factories.annotation(manager)]}],
    )
    job = records.wait_for(start_export(project, manager, "json", "all").id, 1)
    assert job.status == "done" and job.result["tasks"] == 1
    path = Path(job.result["path"])
    assert path.read_text() == "".join(export_chunks(project.id, "json", "all"))
    db.session.execute(
        update(Job).where(Job.id == job.id).values(finished_at=utcnow() - timedelta(hours=25))
    )
    db.session.commit()
    records.housekeeping()
    db.session.refresh(job)
    assert not path.exists() and job.result["expired"] is True


def test_rescore_job_counts_the_tasks(app):
    manager = factories.user("manager")
    project = factories.project(members=(manager,))
    factories.text_tasks(project, "a", "b")
    job = records.wait_for(start_rescore(project, manager).id, 1)
    assert job.status == "done" and job.result["tasks"] == 2 and job.done == 2


def test_a_running_job_without_heartbeat_is_failed_by_housekeeping(app):
    manager = factories.user("manager")
    project = factories.project(members=(manager,))
    silent = _queued(project, manager, "rescore")
    beating = _queued(project, manager, "rescore")
    long_ago = utcnow() - timedelta(minutes=10)
    db.session.execute(
        update(Job).values(status="running", started_at=long_ago, created_at=long_ago)
    )
    db.session.commit()
    live.beat(beating.id)
    records.housekeeping()
    db.session.refresh(silent)
    db.session.refresh(beating)
    assert silent.status == "failed" and "worker stopped" in silent.error
    assert beating.status == "running"


# -- a real worker process --------------------------------------------------------------


def _worker(database_url: str, jobs_path: Path, instance: Path, **env) -> subprocess.Popen:
    environment = {
        **os.environ,
        "REVIEWAPP_SECRET_KEY": "test-secret",
        "REVIEWAPP_DATABASE_URL": database_url,
        "REVIEWAPP_JOBS_PATH": str(jobs_path),
        "REVIEWAPP_INSTANCE_PATH": str(instance),
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "worker"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen, sig=signal.SIGINT) -> str:
    if process.poll() is None:
        os.killpg(process.pid, sig)
    try:
        out, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, _ = process.communicate()
    return out.decode(errors="replace")


def _wait(job_id: int, status: str | tuple, seconds: float = 60) -> Job:
    statuses = (status,) if isinstance(status, str) else status
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = records.wait_for(job_id, 0.5)
        if job.status in statuses:
            return job
    return job


def test_a_worker_process_runs_an_import(app, database_url, queued_app, tmp_path):
    with queued_app.app_context():
        manager = factories.user("manager")
        project = factories.project(members=(manager,))
        job = start_import(project, manager, _file(50), "tasks.json")
        assert job.status == "queued"
        worker = _worker(database_url, tmp_path / "jobs.db", tmp_path / "instance")
        try:
            job = _wait(job.id, ("done", "failed"))
        finally:
            output = _stop(worker)
        assert job.status == "done", (job.error, output)
        assert job.result["task_count"] == 50 and _count_tasks() == 50
        assert worker.returncode is not None


def test_kill_9_during_an_import_leaves_nothing_and_a_failed_job(
    app, database_url, queued_app, tmp_path
):
    with queued_app.app_context():
        manager = factories.user("manager")
        project = factories.project(members=(manager,))
        job = start_import(project, manager, _file(60000), "big.json")
        env = {"REVIEWAPP_JOBS_HEARTBEAT_SECONDS": "1", "REVIEWAPP_JOBS_STALE_SECONDS": "3"}
        worker = _worker(database_url, tmp_path / "jobs.db", tmp_path / "instance", **env)
        try:
            running = _wait(job.id, "running", 30)
            assert running.status == "running", _stop(worker)
            # Let it store some chunks, then kill the worker as the OOM killer would.
            deadline = time.monotonic() + 20
            while (live.progress(job.id) or {}).get("done", 0) == 0:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        finally:
            _stop(worker, signal.SIGKILL)
        assert records.wait_for(job.id, 0).status == "running"
        time.sleep(4)
        again = _worker(database_url, tmp_path / "jobs.db", tmp_path / "instance", **env)
        try:
            failed = _wait(job.id, "failed", 30)
        finally:
            _stop(again)
        assert failed.status == "failed" and "worker stopped" in failed.error
        assert _count_tasks() == 0
        assert _uploads(queued_app) == []
