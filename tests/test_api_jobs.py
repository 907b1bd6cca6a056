"""The API of background jobs (issue 13): imports and exports as jobs that answer when done
within `wait`, else 202 with the job to poll; a job's state, its cancel and its download."""

from __future__ import annotations

import json
import time

from sqlalchemy import func, select, update

from reviewapp.extensions import db
from reviewapp.models import Job, Task, User
from tests import factories
from tests.test_jobs import _stop, _worker


def headers(user: User) -> dict:
    return {"Authorization": f"Token {factories.token(user)}"}


def _tasks(n: int) -> str:
    return json.dumps([{"data": {"text": f"task {i}"}} for i in range(n)])


def _jobs() -> list[Job]:
    db.session.rollback()  # see what the request committed
    return list(db.session.scalars(select(Job).order_by(Job.id)))


def test_import_done_within_the_wait_answers_201_with_the_summary(client, app):
    manager = factories.user("manager")
    project = factories.project(members=(manager,))
    response = client.post(
        f"/api/projects/{project.id}/import?wait=5",
        data=_tasks(3),
        content_type="application/json",
        headers=headers(manager),
    )
    assert response.status_code == 201
    assert response.json["task_count"] == 3
    assert (response.json["annotation_count"], response.json["prediction_count"]) == (0, 0)
    assert "message" not in response.json
    [job] = _jobs()
    assert (job.kind, job.status) == ("import", "done")
    assert job.result == response.json


def test_a_refused_import_answers_400_with_the_jobs_reason(client, app):
    manager = factories.user("manager")
    project = factories.project(members=(manager,))
    h = headers(manager)
    response = client.post(
        f"/api/projects/{project.id}/import", data='[{"data": {"nope": 1}}]', headers=h
    )
    assert response.status_code == 400
    [job] = _jobs()
    assert job.status == "failed"
    assert response.json["error"] == job.error
    assert "has no field 'text'" in job.error and job.error.endswith("Nothing was imported.")
    unreadable = client.post(
        f"/api/projects/{project.id}/import", data="hello", content_type="text/plain", headers=h
    )
    assert unreadable.status_code == 400
    error = unreadable.json["error"]
    assert error.startswith("The file is not JSON") and "Nothing was imported." in error
    assert "text/csv" in error and "multipart upload ('file')" in error  # the hint
    assert [j.status for j in _jobs()] == ["failed", "failed"]
    assert db.session.scalar(select(func.count()).select_from(Task)) == 0


def test_wait_must_be_a_number_from_0_to_60(client, app):
    manager = factories.user("manager")
    project = factories.project(members=(manager,))
    h = headers(manager)
    for wait in ("abc", "-1", "61", "nan"):
        response = client.post(
            f"/api/projects/{project.id}/import?wait={wait}", data=_tasks(1), headers=h
        )
        assert response.status_code == 400, wait
        assert "wait must be a number of seconds from 0 to 60" in response.json["error"]
        response = client.post(f"/api/projects/{project.id}/exports?wait={wait}", headers=h)
        assert response.status_code == 400, wait
    assert _jobs() == []  # refused before any job started


def test_a_queued_job_answers_202_then_is_polled_and_cancelled(app, queued_app):
    with queued_app.app_context():
        manager = factories.user("manager")
        project = factories.project(members=(manager,))
        client, h = queued_app.test_client(), headers(manager)
        started = client.post(
            f"/api/projects/{project.id}/import?wait=0", data=_tasks(2), headers=h
        )
        assert started.status_code == 202
        job = started.json["job"]
        assert set(job) == {"id", "status", "progress", "url"}
        assert job["status"] == "queued"
        assert job["progress"]["done"] == 0
        assert started.headers["Location"] == job["url"]
        assert job["url"].endswith(f"/api/jobs/{job['id']}")

        polled = client.get(started.headers["Location"], headers=h)
        assert polled.status_code == 200
        assert polled.json["job"]["status"] == "queued"
        assert polled.json["job"]["kind"] == "import"
        assert "summary" not in polled.json["job"]

        cancelled = client.post(f"/api/jobs/{job['id']}/cancel", headers=h)
        assert cancelled.status_code == 200
        assert cancelled.json["job"]["status"] == "cancelled"
        assert cancelled.json["message"] == "Cancelled the job before it started."
        assert client.get(job["url"], headers=h).json["job"]["status"] == "cancelled"

        again = client.post(f"/api/jobs/{job['id']}/cancel", headers=h)
        assert again.status_code == 409
        assert again.json == {"error": "The job is already cancelled."}

        export = client.post(f"/api/projects/{project.id}/exports?wait=0", headers=h)
        assert export.status_code == 202
        assert export.json["job"]["status"] == "queued"
        assert export.headers["Location"] == export.json["job"]["url"]
        assert (
            client.get(f"/api/jobs/{export.json['job']['id']}/download", headers=h).status_code
            == 404
        )


def test_cancelling_a_done_job_is_409(client, app):
    manager = factories.user("manager")
    project = factories.project(members=(manager,))
    h = headers(manager)
    client.post(f"/api/projects/{project.id}/import", data=_tasks(1), headers=h)
    [job] = _jobs()
    response = client.post(f"/api/jobs/{job.id}/cancel", headers=h)
    assert response.status_code == 409
    assert response.json == {"error": "The job is already done."}
    assert _jobs()[0].status == "done"


def test_a_done_import_job_shows_its_summary(client, app):
    manager = factories.user("manager")
    project = factories.project(members=(manager,))
    h = headers(manager)
    summary = client.post(f"/api/projects/{project.id}/import", data=_tasks(2), headers=h).json
    [job] = _jobs()
    shown = client.get(f"/api/jobs/{job.id}", headers=h).json["job"]
    assert shown["id"] == job.id and shown["status"] == "done"
    assert shown["summary"] == summary and shown["summary"]["task_count"] == 2
    assert shown["message"].startswith("Imported 2 tasks")
    assert shown["progress"]["percent"] == 100.0
    assert "download_url" not in shown


def test_another_users_job_is_not_found(client, app):
    manager, other = factories.user("manager"), factories.user("manager")
    annotator, colleague = factories.user("annotator"), factories.user("manager")
    project = factories.project(members=(manager, annotator, colleague))
    client.post(f"/api/projects/{project.id}/import", data=_tasks(1), headers=headers(manager))
    [job] = _jobs()
    for user in (other, annotator):
        h = headers(user)
        assert client.get(f"/api/jobs/{job.id}", headers=h).status_code == 404
        assert client.post(f"/api/jobs/{job.id}/cancel", headers=h).status_code == 404
        assert client.get(f"/api/jobs/{job.id}/download", headers=h).status_code == 404
    # The project's other managers see it; nobody sees a job that does not exist.
    assert client.get(f"/api/jobs/{job.id}", headers=headers(colleague)).status_code == 200
    assert client.get("/api/jobs/999", headers=headers(manager)).status_code == 404


def test_only_managers_start_export_jobs(client, app):
    reviewer, outsider = factories.user("reviewer"), factories.user("manager")
    project = factories.project(members=(reviewer,))
    assert (
        client.post(f"/api/projects/{project.id}/exports", headers=headers(reviewer)).status_code
        == 403
    )
    assert (
        client.post(f"/api/projects/{project.id}/exports", headers=headers(outsider)).status_code
        == 404
    )
    assert _jobs() == []


def _annotated_project(manager: User):
    project = factories.project(members=(manager,))
    factories.tasks(
        project,
        [
            {"data": {"text": "a"}, "annotations": [factories.annotation(manager)]},
            {"data": {"text": 'b, "quoted"'}},
        ],
    )
    return project


def test_an_export_job_downloads_the_same_bytes_as_the_streamed_export(client, app):
    manager = factories.user("manager")
    project = _annotated_project(manager)
    h = headers(manager)
    for fmt, request in (
        ("json", {"query_string": {"format": "json", "only": "all"}}),
        ("csv", {"json": {"format": "csv", "only": "all", "wait": 5}}),
    ):
        started = client.post(f"/api/projects/{project.id}/exports", headers=h, **request)
        assert started.status_code == 201, started.json
        job = started.json["job"]
        assert (job["kind"], job["status"]) == ("export", "done")
        assert job["result"]["filename"] == f"project-{project.id}-all.{fmt}"
        assert "path" not in job["result"]  # the server's file system stays private
        assert job["download_url"].endswith(f"/api/jobs/{job['id']}/download")
        assert client.get(job["url"], headers=h).json["job"]["download_url"] == job["download_url"]

        downloaded = client.get(job["download_url"], headers=h)
        streamed = client.get(f"/api/projects/{project.id}/export?format={fmt}", headers=h)
        assert downloaded.status_code == 200
        assert downloaded.data == streamed.data and downloaded.data
        disposition = downloaded.headers["Content-Disposition"]
        assert disposition.startswith("attachment") and job["result"]["filename"] in disposition


def test_an_expired_export_has_no_download(client, app):
    manager = factories.user("manager")
    project = _annotated_project(manager)
    h = headers(manager)
    job_id = client.post(f"/api/projects/{project.id}/exports", headers=h).json["job"]["id"]
    job = db.session.get(Job, job_id)
    db.session.execute(
        update(Job).where(Job.id == job_id).values(result={**job.result, "expired": True})
    )
    db.session.commit()
    assert "download_url" not in client.get(f"/api/jobs/{job_id}", headers=h).json["job"]
    assert client.get(f"/api/jobs/{job_id}/download", headers=h).status_code == 404


def test_bad_export_format_or_only_is_400_naming_the_allowed_ones(client, app):
    manager = factories.user("manager")
    project = factories.project(members=(manager,))
    h = headers(manager)
    for request in (
        {"query_string": {"format": "xml"}},
        {"json": {"format": "xml"}},
        {"query_string": {"only": "mine"}},
    ):
        response = client.post(f"/api/projects/{project.id}/exports", headers=h, **request)
        assert response.status_code == 400
        assert response.json["error"] == (
            "format must be one of json, csv; only one of all, accepted, ground-truth, final; "
            "include empty or all."
        )
    assert (
        client.post(f"/api/projects/{project.id}/exports", json=["csv"], headers=h).status_code
        == 400
    )
    assert _jobs() == []


def test_a_worker_process_finishes_an_import_started_with_wait_0(
    app, database_url, queued_app, tmp_path
):
    with queued_app.app_context():
        manager = factories.user("manager")
        project = factories.project(members=(manager,))
        client, h = queued_app.test_client(), headers(manager)
        started = client.post(
            f"/api/projects/{project.id}/import?wait=0", data=_tasks(40), headers=h
        )
        assert started.status_code == 202
        worker = _worker(database_url, tmp_path / "jobs.db", tmp_path / "instance")
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                job = client.get(started.headers["Location"], headers=h).json["job"]
                if job["status"] in ("done", "failed", "cancelled"):
                    break
                time.sleep(0.2)
        finally:
            output = _stop(worker)
        assert job["status"] == "done", (job, output)
        assert job["summary"]["task_count"] == 40
        assert job["message"].startswith("Imported 40 tasks")
        assert db.session.scalar(select(func.count()).select_from(Task)) == 40
