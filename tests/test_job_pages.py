"""Jobs in the browser (issue 13): the job page and its polling block, Cancel, the export
file's download, the project page's list, and the import, settings and export forms that
start jobs."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from reviewapp.config import Defaults
from reviewapp.extensions import db
from reviewapp.models import Job, Task, utcnow
from reviewapp.services.import_export.exporter import export_chunks
from reviewapp.services.jobs import live, records
from reviewapp.services.jobs.submit import start_export, start_rescore
from reviewapp.services.users import add_member
from tests import factories
from tests.conftest import HTMX, make_app
from tests.test_projects import SETTINGS


def _items(n: int) -> bytes:
    return json.dumps([{"data": {"text": f"task {i}"}} for i in range(n)]).encode()


def upload(client, project, content: bytes, name: str = "tasks.json"):
    return client.post(
        f"/projects/{project.id}/import",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def log_in(client, user) -> None:
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    assert response.status_code == 302


def _jobs() -> list[Job]:
    return list(db.session.scalars(select(Job).order_by(Job.id)))


def _block(html: str) -> str:
    """The job_status section of a page: from its opening tag to its end."""
    start = html.index('<section id="job-status"')
    return html[start : html.index("</section>", start)]


@pytest.fixture
def queued(queued_app):
    """A logged-in manager's client of the queued app, with their project."""
    client = queued_app.test_client()
    manager = factories.user("manager")
    project = factories.project(members=(manager,))
    log_in(client, manager)
    return client, manager, project


# -- the import form -------------------------------------------------------------------


def test_an_import_done_within_the_wait_answers_as_before(client, auth):
    manager = auth.login("manager")
    project = factories.project(members=(manager,))
    response = upload(client, project, _items(2))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/projects/{project.id}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Imported 2 tasks, 0 annotations (0 of them skipped) and 0 predictions." in page
    [job] = _jobs()
    assert (job.kind, job.status, job.user_id) == ("import", "done", manager.id)
    assert db.session.scalar(select(func.count()).select_from(Task)) == 2


def test_a_refused_import_shows_the_form_with_the_reason(client, auth):
    manager = auth.login("manager")
    project = factories.project(members=(manager,))
    response = upload(client, project, b'[{"data": {"nope": 1}}]')
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "has no field &#39;text&#39;" in body and "Nothing was imported." in body
    assert 'type="file"' in body  # the form again
    [job] = _jobs()
    assert job.status == "failed"
    assert db.session.scalar(select(func.count()).select_from(Task)) == 0


def test_an_import_still_queued_goes_to_its_page_which_polls_and_offers_cancel(queued):
    client, manager, project = queued
    response = upload(client, project, _items(3))
    [job] = _jobs()
    assert job.status == "queued"
    assert response.status_code == 303
    assert response.headers["Location"] == f"/jobs/{job.id}"
    page = client.get(f"/jobs/{job.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html
    block = _block(html)
    assert "Queued" in block and "Waiting for a worker." in block
    assert f'hx-get="/jobs/{job.id}" hx-trigger="every 1s"' in block
    assert f'action="/jobs/{job.id}/cancel"' in block and ">Cancel</button>" in block
    assert "<progress" in block
    # The poll gets the block alone.
    poll = client.get(f"/jobs/{job.id}", headers=HTMX)
    fragment = poll.get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="job-status"') and "<html" not in fragment
    assert "HX-Request" in poll.headers["Vary"]


def test_cancel_of_a_queued_job_answers_a_block_that_stops_polling(queued):
    client, manager, project = queued
    job = records.wait_for(start_rescore(project, manager).id, 0)
    response = client.post(f"/jobs/{job.id}/cancel", headers=HTMX)
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-status="cancelled"' in fragment and "hx-trigger" not in _block(fragment)
    assert "Cancelled the job before it started." in fragment  # out of band into #flash
    assert 'hx-swap-oob="true"' in fragment and ">Cancel</button>" not in fragment
    assert f'href="/projects/{project.id}/settings"' in fragment
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == "cancelled"
    # Without htmx: Post/Redirect/Get, and a second cancel says it is over.
    again = client.post(f"/jobs/{job.id}/cancel")
    assert again.status_code == 303 and again.headers["Location"] == f"/jobs/{job.id}"
    assert "The job is already cancelled." in client.get(f"/jobs/{job.id}").get_data(as_text=True)


def test_a_cancelled_import_offers_to_start_again(queued):
    client, manager, project = queued
    upload(client, project, _items(3))
    [job] = _jobs()
    client.post(f"/jobs/{job.id}/cancel")
    block = _block(client.get(f"/jobs/{job.id}").get_data(as_text=True))
    assert "Cancelled" in block and "hx-trigger" not in block
    assert f'href="/projects/{project.id}/import">Start again' in block


def test_a_running_job_shows_its_progress_rate_and_time_left(queued):
    client, manager, project = queued
    upload(client, project, _items(3))
    [job] = _jobs()
    started = utcnow() - timedelta(seconds=10)
    db.session.execute(update(Job).values(status="running", started_at=started))
    db.session.commit()
    live.put_progress(job.id, 250_000, 1_000_000, "12,000 tasks read")
    block = _block(client.get(f"/jobs/{job.id}", headers=HTMX).get_data(as_text=True))
    assert '<progress id="job-progress" max="1000000" value="250000">' in block
    assert "25.0 % of the file · 12,000 tasks read" in block
    # 250,000 bytes in 10 s and a little: 25 KB/s; 750,000 bytes to go at that rate, 30 s.
    assert re.search(r"(24|25) KB/s · about (29|30) s left", block), block
    assert "hx-trigger" in block
    client.post(f"/jobs/{job.id}/cancel")
    block = _block(client.get(f"/jobs/{job.id}").get_data(as_text=True))
    assert "Cancelling: the job stops at its next step." in block
    assert ">Cancel</button>" not in block and 'data-status="running"' in block


def test_a_done_jobs_block_does_not_poll_and_links_to_its_result(client, auth):
    manager = auth.login("manager")
    project = factories.project(members=(manager,))
    upload(client, project, _items(2))
    records.wait_for(start_rescore(project, manager).id, 0)  # ends the session's snapshot
    [imported, rescore] = _jobs()
    block = _block(client.get(f"/jobs/{imported.id}", headers=HTMX).get_data(as_text=True))
    assert 'data-status="done"' in block and "hx-trigger" not in block and "hx-get" not in block
    assert "<li>Imported 2 tasks, 0 annotations" in block
    assert f'href="/projects/{project.id}/tasks">Open the Data Manager' in block
    block = _block(client.get(f"/jobs/{rescore.id}").get_data(as_text=True))
    assert "Recomputed the scores of 2 tasks." in block
    assert f'href="/projects/{project.id}/dashboard">Open the dashboard' in block


def test_a_failed_job_shows_its_error_escaped(client, auth):
    manager = auth.login("manager")
    project = factories.project(members=(manager,))
    job = records.create_job("import", project, manager, {})
    job.status, job.message, job.error = "failed", "<b>bad</b> file", "<script>x()</script>"
    db.session.commit()
    html = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "&lt;b&gt;bad&lt;/b&gt; file" in html and "&lt;script&gt;x()" in html
    assert "<script>x()" not in html and "<b>bad" not in html


def test_the_job_page_is_for_its_author_the_projects_managers_and_admins(client, auth, app):
    owner = factories.user("manager")
    project = factories.project(members=(owner,))
    job = records.wait_for(start_rescore(project, owner).id, 0)
    other_project_manager = auth.login("manager")
    assert client.get(f"/jobs/{job.id}").status_code == 404
    assert client.post(f"/jobs/{job.id}/cancel").status_code == 404
    auth.logout()
    annotator = factories.user("annotator")
    add_member(project.id, annotator)
    add_member(project.id, other_project_manager)
    db.session.commit()
    auth.login(annotator)
    assert client.get(f"/jobs/{job.id}").status_code == 404
    auth.logout()
    auth.login(other_project_manager)  # now a manager of the project
    assert client.get(f"/jobs/{job.id}").status_code == 200
    auth.logout()
    auth.login("admin")
    assert client.get(f"/jobs/{job.id}").status_code == 200
    auth.logout()
    assert client.get(f"/jobs/{job.id}").status_code == 302  # to the login page


# -- export jobs and their download ------------------------------------------------------


def test_prepare_in_the_background_then_download_the_file(client, auth):
    manager = auth.login("manager")
    project = factories.project(members=(manager,))
    factories.tasks(
        project, [{"data": {"text": "great"}, "annotations": [factories.annotation(manager)]}]
    )
    page = client.get(f"/projects/{project.id}/export").get_data(as_text=True)
    assert 'name="background"' in page and "Prepare the file in the background" in page
    response = client.post(
        f"/projects/{project.id}/export", data={"format": "csv", "only": "all", "background": "1"}
    )
    [job] = _jobs()
    assert response.status_code == 303 and response.headers["Location"] == f"/jobs/{job.id}"
    block = _block(client.get(f"/jobs/{job.id}").get_data(as_text=True))
    assert f'href="/jobs/{job.id}/download"' in block and "Exported 1 tasks" in block
    download = client.get(f"/jobs/{job.id}/download")
    assert download.status_code == 200
    assert download.data.decode() == "".join(export_chunks(project.id, "csv", "all"))
    assert download.headers["Content-Disposition"] == (
        f"attachment; filename=project-{project.id}-all.csv"
    )
    assert download.mimetype == "text/csv"


def test_the_export_pages_download_button_goes_to_the_streamed_file(client, auth):
    manager = auth.login("manager")
    project = factories.project(members=(manager,))
    response = client.post(f"/projects/{project.id}/export", data={"format": "json", "only": "all"})
    assert response.status_code == 303
    assert response.headers["Location"] == (
        f"/projects/{project.id}/export?download=1&format=json&only=all"
    )
    assert _jobs() == []


def test_no_download_before_done_after_expiry_or_for_others(queued, auth, client, app):
    queued_client, manager, project = queued
    waiting = start_export(project, manager, "json", "all")
    assert queued_client.get(f"/jobs/{waiting.id}/download").status_code == 404
    rescore = start_rescore(project, manager)
    assert queued_client.get(f"/jobs/{rescore.id}/download").status_code == 404
    done = records.create_job("export", project, manager, {})
    done.status = "done"
    done.result = {"path": "/nonexistent/x.json", "filename": "x.json", "expired": True}
    db.session.commit()
    assert queued_client.get(f"/jobs/{done.id}/download").status_code == 404
    finished = records.wait_for(_run_export(project, manager).id, 0)
    assert finished.status == "done"
    assert queued_client.get(f"/jobs/{finished.id}/download").status_code == 200
    # Another manager, not of this project, gets no file of a done export.
    auth.login("manager")
    assert client.get(f"/jobs/{finished.id}/download").status_code == 404
    assert client.get(f"/jobs/{finished.id}").status_code == 404


def _run_export(project, manager) -> Job:
    """An export run now, as a worker would, in the queued app's session."""
    from reviewapp.services.jobs import runner

    job = records.create_job("export", project, manager, {"format": "json", "only": "all"})
    db.session.commit()
    runner.run(job.id)
    return job


# -- the project page and the settings form ----------------------------------------------


def test_the_project_page_lists_recent_jobs_for_managers(client, auth):
    manager = auth.login("manager")
    annotator = factories.user("annotator")
    project = factories.project(members=(manager, annotator), title="Reviews")
    upload(client, project, _items(2))
    records.wait_for(start_rescore(project, manager).id, 0)
    imported, rescore = _jobs()
    html = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "Recent jobs" in html
    assert f'<a href="/jobs/{rescore.id}">Rescore {rescore.id}</a>' in html
    assert f'<a href="/jobs/{imported.id}">Import {imported.id}</a>' in html
    assert html.index(f"/jobs/{rescore.id}") < html.index(f"/jobs/{imported.id}")  # newest first
    assert manager.email in html and "Imported 2 tasks" in html and "Done" in html
    auth.logout()
    auth.login(annotator)
    assert "Recent jobs" not in client.get(f"/projects/{project.id}").get_data(as_text=True)


def _settings(project, iou: str) -> dict:
    return {
        "title": project.title,
        "label_config": project.label_config,
        **SETTINGS,
        # Only the threshold changes: a new overlap would recount the task states too.
        "overlap": str(project.overlap),
        "iou_threshold": iou,
    }


def test_an_iou_change_rescores_as_a_job(client, auth):
    manager = auth.login("manager")
    project = factories.project(members=(manager,))
    factories.text_tasks(project, "a", "b")
    response = client.post(f"/projects/{project.id}/settings", data=_settings(project, "0.7"))
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Settings saved. Agreement and ground-truth scores recomputed for 2 tasks." in page
    [job] = _jobs()
    assert (job.kind, job.status) == ("rescore", "done")


def test_an_iou_change_not_done_in_the_wait_goes_to_the_job(queued):
    client, manager, project = queued
    response = client.post(f"/projects/{project.id}/settings", data=_settings(project, "0.7"))
    [job] = _jobs()
    assert response.status_code == 303 and response.headers["Location"] == f"/jobs/{job.id}"
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "Settings saved. The scores are being recomputed." in page and "Queued" in page
    db.session.expire_all()
    assert project.iou_threshold == 0.7
    # Saving without a threshold change starts no job.
    client.post(f"/projects/{project.id}/settings", data=_settings(project, "0.7"))
    assert len(_jobs()) == 1


# -- CSRF ------------------------------------------------------------------------------


def test_a_cancel_without_csrf_token_is_refused(database_url, tmp_path, app):
    secure = make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    client = secure.test_client()
    with secure.app_context():
        manager = factories.user("manager")
        project = factories.project(members=(manager,))
        job = records.create_job("rescore", project, manager, {})
        db.session.commit()
        login = client.get("/login").get_data(as_text=True)
        token = login.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        data = {"email": manager.email, "password": factories.PASSWORD, "csrf_token": token}
        assert client.post("/login", data=data).status_code == 302
        forged = client.post(f"/jobs/{job.id}/cancel")
        assert forged.status_code == 400 and "CSRF" in forged.get_data(as_text=True)
        forged_export = client.post(
            f"/projects/{project.id}/export", data={"format": "json", "background": "1"}
        )
        assert forged_export.status_code == 400
        db.session.expire_all()
        assert db.session.get(Job, job.id).status == "queued"
        assert len(_jobs()) == 1
        # The page's own form carries the token, and goes through.
        page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
        form_token = _block(page).split('name="csrf_token" value="')[1].split('"')[0]
        ok = client.post(f"/jobs/{job.id}/cancel", data={"csrf_token": form_token})
        assert ok.status_code == 303
        db.session.expire_all()
        assert db.session.get(Job, job.id).status == "cancelled"


# -- bulk actions over the threshold ----------------------------------------------------


def test_a_big_bulk_action_done_within_the_wait_answers_the_table_as_before(client, auth, app):
    manager = auth.login("manager")
    project = factories.project(members=(manager,))
    factories.text_tasks(project, "a", "b", "c")
    ids = [str(t.id) for t in db.session.scalars(select(Task))]
    app.config["JOBS_BULK_THRESHOLD"] = 2
    response = client.post(
        f"/projects/{project.id}/tasks/bulk",
        data={"action": "delete_tasks", "ids": ids, "confirm": "1"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "Deleted 3 tasks." in response.get_data(as_text=True)
    assert [j.kind for j in _jobs()] == ["bulk"]
    assert db.session.scalar(select(func.count()).select_from(Task)) == 0


def test_a_big_bulk_action_not_done_in_the_wait_goes_to_its_job(queued):
    client, manager, project = queued
    factories.text_tasks(project, "a", "b", "c")
    ids = [str(t.id) for t in db.session.scalars(select(Task))]
    client.application.config["JOBS_BULK_THRESHOLD"] = 2
    response = client.post(
        f"/projects/{project.id}/tasks/bulk",
        data={"action": "delete_tasks", "ids": ids, "confirm": "1"},
        headers={"HX-Request": "true"},
    )
    (job,) = _jobs()
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/jobs/{job.id}"
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "Delete tasks: started on 3 tasks. It goes on in the background." in page
    assert db.session.scalar(select(func.count()).select_from(Task)) == 3


def test_a_big_bulk_action_waits_the_short_bulk_wait_not_the_forms_wait(queued, monkeypatch):
    """The page that starts a bulk job answers within a second: it waits JOBS_BULK_WAIT
    (0.5 s by default), not the 10 s an import form waits."""
    from reviewapp.tasks import views

    client, manager, project = queued
    factories.text_tasks(project, "a", "b", "c")
    ids = [str(t.id) for t in db.session.scalars(select(Task))]
    config = client.application.config
    config.update(JOBS_BULK_THRESHOLD=2, JOBS_WAIT=10, JOBS_BULK_WAIT=0.25)
    waited = []
    real = views.wait_for
    monkeypatch.setattr(views, "wait_for", lambda job_id, s: waited.append(s) or real(job_id, s))
    response = client.post(
        f"/projects/{project.id}/tasks/bulk",
        data={"action": "delete_tasks", "ids": ids, "confirm": "1"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 204 and waited == [0.25]
    assert Defaults.JOBS_BULK_WAIT == 0.5
