"""Webhooks: a real HTTP receiver on 127.0.0.1 gets signed deliveries of what users do,
in order per object, retried after a 500, and nothing of a rolled-back action; private
targets are refused without the setting; the API's shapes and permissions."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from reviewapp.extensions import db
from reviewapp.models import Task, User, Webhook, WebhookDelivery, utcnow
from reviewapp.services.jobs.records import cancel, create_job
from reviewapp.services.label_stream import submit
from reviewapp.services.projects import update_project
from reviewapp.services.users import add_member
from reviewapp.services.webhooks.delivery import deliver_due
from reviewapp.services.webhooks.hooks import UnsafeTarget, check_target
from tests import factories

SECRET = "s3cret-for-tests"


class Receiver:
    """An HTTP server in a thread that records each POST and answers with the next status
    of `statuses` (then 200)."""

    def __init__(self):
        self.calls: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append(
                    {"headers": dict(self.headers), "body": body, "json": json.loads(body)}
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if status in (301, 302):
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                self.end_headers()
                self.wfile.write(f"answer {status}".encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook?source=reviewapp"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[str]:
        return [call["json"]["event"] for call in self.calls]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(app):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    running = Receiver()
    yield running
    running.close()


def headers(user: User) -> dict:
    return {"Authorization": f"Token {factories.token(user)}"}


def verified(secret: str, body: bytes, signature: str) -> bool:
    """The README's signature check."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def team():
    manager, reviewer = factories.user("manager"), factories.user("reviewer")
    annotator = factories.user("annotator")
    project = factories.project(members=(manager, reviewer, annotator))
    factories.text_tasks(project, "good", "bad")
    tasks = list(db.session.scalars(select(Task).where(Task.project_id == project.id)))
    return project, tasks, manager, reviewer, annotator


def add_hook(client, manager, project, url, events):
    response = client.post(
        f"/api/projects/{project.id}/webhooks",
        json={"url": url, "events": events, "secret": SECRET},
        headers=headers(manager),
    )
    assert response.status_code == 201, response.json
    return response.json


def deliveries() -> list[WebhookDelivery]:
    db.session.expire_all()
    return list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_a_review_is_delivered_signed_with_the_verdict(client, app, receiver):
    project, tasks, manager, reviewer, annotator = team()
    hook = add_hook(client, manager, project, receiver.url, ["review.created"])
    assert "secret" not in hook and hook["events"] == ["review.created"]
    saved = submit(project, annotator, tasks[0], factories.choice("Positive"), 3.0)
    db.session.commit()
    assert receiver.calls == []  # annotation.created was not asked for

    answer = client.post(
        f"/api/annotations/{saved.annotation.id}/review",
        json={"verdict": "accepted"},
        headers=headers(reviewer),
    )
    assert answer.status_code == 201

    [call] = receiver.calls
    assert verified(SECRET, call["body"], call["headers"]["X-Reviewapp-Signature"])
    assert not verified("another secret", call["body"], call["headers"]["X-Reviewapp-Signature"])
    assert call["headers"]["X-Reviewapp-Event"] == "review.created"
    payload = call["json"]
    assert payload["event"] == "review.created"
    assert payload["project"] == {"id": project.id, "title": project.title}
    assert payload["review"]["verdict"] == "accepted"
    assert payload["review"]["annotation_id"] == saved.annotation.id
    assert payload["review"]["reviewer"]["email"] == reviewer.email
    [row] = deliveries()
    assert payload["delivery_id"] == row.delivery_id == call["headers"]["X-Reviewapp-Delivery"]
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 1, 200)
    assert row.response_excerpt == "answer 200"


def test_a_500_is_retried_and_later_events_of_the_object_wait(client, app, receiver):
    project, tasks, manager, reviewer, annotator = team()
    add_hook(client, manager, project, receiver.url, ["annotation.created", "review.created"])
    receiver.statuses = [500]
    saved = submit(project, annotator, tasks[0], factories.choice("Positive"), 3.0)
    db.session.commit()
    other = submit(project, annotator, tasks[1], factories.choice("Negative"), 3.0)
    db.session.commit()
    assert receiver.events() == ["annotation.created", "annotation.created"]
    first = deliveries()[0]
    assert (first.status, first.attempts, first.last_status_code) == ("pending", 1, 500)
    assert first.last_error == "The receiver answered 500."
    assert first.next_attempt_at - first.created_at <= timedelta(seconds=30)

    client.post(
        f"/api/annotations/{saved.annotation.id}/review",
        json={"verdict": "accepted"},
        headers=headers(reviewer),
    )
    # The review of the first annotation waits for its annotation.created; other objects don't.
    assert len(receiver.calls) == 2
    client.post(
        f"/api/annotations/{other.annotation.id}/review",
        json={"verdict": "accepted"},
        headers=headers(reviewer),
    )
    assert len(receiver.calls) == 3
    assert receiver.calls[2]["json"]["review"]["annotation_id"] == other.annotation.id

    tried, _ = deliver_due(now=utcnow() + timedelta(seconds=31))
    assert tried == 2
    about_first = [
        (c["json"]["event"], c["json"]["delivery_id"])
        for c in receiver.calls
        if saved.annotation.id
        in (
            c["json"].get("annotation", {}).get("id"),
            c["json"].get("review", {}).get("annotation_id"),
        )
    ]
    assert [event for event, _ in about_first] == [
        "annotation.created",
        "annotation.created",
        "review.created",
    ]
    assert about_first[0][1] == about_first[1][1]  # the retry is the same delivery
    first = deliveries()[0]
    assert (first.status, first.attempts) == ("delivered", 2)


def test_a_rolled_back_action_sends_nothing(client, app, receiver):
    project, tasks, manager, _, annotator = team()
    add_hook(client, manager, project, receiver.url, ["annotation.created", "task.state_changed"])
    submit(project, annotator, tasks[0], factories.choice("Positive"), 3.0)
    assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) >= 1
    db.session.rollback()
    assert deliveries() == []
    assert deliver_due() == (0, None)
    assert receiver.calls == []


def test_private_targets_are_refused_without_the_setting(client, app, receiver):
    project, tasks, manager, _, annotator = team()
    hook = add_hook(client, manager, project, receiver.url, ["annotation.created"])
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    for url in (receiver.url, "http://localhost/x", "http://169.254.169.254/", "http://10.0.0.5/"):
        refused = client.post(
            f"/api/projects/{project.id}/webhooks",
            json={"url": url, "events": ["annotation.created"], "secret": SECRET},
            headers=headers(manager),
        )
        assert refused.status_code == 422, url
        assert "private address" in refused.json["error"]
    for url in ("ftp://example.com/", "file:///etc/passwd", "http://user:pw@example.com/"):
        refused = client.post(
            f"/api/projects/{project.id}/webhooks",
            json={"url": url, "events": ["annotation.created"], "secret": SECRET},
            headers=headers(manager),
        )
        assert refused.status_code == 422, url

    # At each delivery the host is looked up: a name of a loopback address is refused too.
    with pytest.raises(UnsafeTarget, match="private address"):
        check_target(f"http://localhost:{receiver.server.server_port}/")

    # A hook saved while allowed: its delivery is refused, not sent, and not retried.
    submit(project, annotator, tasks[0], factories.choice("Positive"), 3.0)
    db.session.commit()
    assert receiver.calls == []
    [row] = deliveries()
    assert row.webhook_id == hook["id"]
    assert (row.status, row.attempts, row.last_status_code) == ("failed", 1, None)
    assert "private address" in row.last_error


def test_client_errors_and_redirects_fail_at_once_and_retries_stop_after_a_day(
    client, app, receiver
):
    project, tasks, manager, _, annotator = team()
    add_hook(client, manager, project, receiver.url, ["annotation.created"])
    receiver.statuses = [404, 302, 503]
    for task in tasks:
        submit(project, annotator, task, factories.choice("Positive"), 3.0)
        db.session.commit()
    not_found, moved = deliveries()
    assert (not_found.status, not_found.last_status_code) == ("failed", 404)
    assert (moved.status, moved.last_status_code) == ("failed", 302)
    assert "Redirects are not followed" in moved.last_error
    assert len(receiver.calls) == 2  # the redirect was not followed

    project2 = factories.project(members=(manager, annotator), title="Other")
    factories.text_tasks(project2, "x")
    add_hook(client, manager, project2, receiver.url, ["annotation.created"])
    task = db.session.scalar(select(Task).where(Task.project_id == project2.id))
    submit(project2, annotator, task, factories.choice("Positive"), 3.0)
    db.session.commit()
    unavailable = deliveries()[-1]
    assert (unavailable.status, unavailable.last_status_code) == ("pending", 503)
    receiver.statuses = [503]
    deliver_due(now=unavailable.created_at + timedelta(hours=24, minutes=1))
    assert deliveries()[-1].status == "failed"


def test_every_event_reaches_a_global_hook(client, app, receiver):
    admin = factories.user("admin")
    project, tasks, manager, reviewer, annotator = team()
    created = client.post(
        "/api/webhooks",
        json={
            "url": receiver.url,
            "events": [
                "tasks.imported",
                "job.finished",
                "project.updated",
                "ground_truth.changed",
                "task.state_changed",
                "annotation.updated",
            ],
            "secret": SECRET,
        },
        headers=headers(admin),
    )
    assert created.status_code == 201 and created.json["project_id"] is None
    imported = client.post(
        f"/api/projects/{project.id}/import",
        data=json.dumps(
            [{"data": {"text": "new"}, "annotations": [factories.annotation(annotator)]}]
        ),
        headers={**headers(manager), "Content-Type": "application/json"},
    )
    assert imported.status_code == 201
    assert receiver.events() == ["tasks.imported", "job.finished"]
    assert receiver.calls[0]["json"]["import"]["task_count"] == 1
    assert receiver.calls[1]["json"]["job"]["status"] == "done"

    receiver.calls.clear()
    patched = client.patch(
        f"/api/projects/{project.id}", json={"overlap": 2}, headers=headers(manager)
    )
    assert patched.status_code == 200
    events = receiver.events()
    assert events[0] == "project.updated"
    assert receiver.calls[0]["json"]["settings"]["overlap"] == 2
    assert "job.finished" in events  # the recount job

    receiver.calls.clear()
    annotation = submit(project, annotator, tasks[0], factories.choice("Positive"), 3.0).annotation
    db.session.commit()
    assert receiver.events() == []  # one annotation of two: the task's state did not change
    star = client.put(f"/api/annotations/{annotation.id}/ground_truth", headers=headers(manager))
    assert star.status_code == 200
    assert receiver.events() == ["ground_truth.changed"]
    assert receiver.calls[0]["json"]["annotation"]["ground_truth"] is True

    receiver.calls.clear()
    project.overlap = 1
    db.session.commit()
    second = submit(project, annotator, tasks[1], factories.choice("Negative"), 1.0)
    db.session.commit()
    [state] = [c["json"] for c in receiver.calls if c["json"]["event"] == "task.state_changed"]
    [change] = state["state_changes"]
    assert (change["task_id"], change["from_state"], change["to_state"]) == (
        second.annotation.task_id,
        "annotating",
        "needs_review",
    )
    assert change["by"]["email"] == annotator.email


def test_api_shapes_and_permissions(client, app, receiver):
    project, tasks, manager, reviewer, annotator = team()
    outsider = factories.user("manager")
    admin = factories.user("admin")
    url = f"/api/projects/{project.id}/webhooks"
    body = {"url": receiver.url, "events": ["annotation.created"], "secret": SECRET}
    assert client.post(url, json=body, headers=headers(reviewer)).status_code == 403
    assert client.post(url, json=body, headers=headers(outsider)).status_code == 404
    assert client.post("/api/webhooks", json=body, headers=headers(manager)).status_code == 403
    assert client.get("/api/webhooks", headers=headers(manager)).status_code == 403
    bad = client.post(url, json={**body, "events": ["nope"]}, headers=headers(manager))
    assert bad.status_code == 422 and "Choose one or more events" in bad.json["error"]
    assert (
        client.post(url, json={**body, "secret": ""}, headers=headers(manager)).status_code == 422
    )
    assert client.post(url, data="x", headers=headers(manager)).status_code == 400

    hook = add_hook(client, manager, project, receiver.url, ["annotation.created"])
    assert set(hook) >= {"id", "project_id", "url", "events", "active", "created_by", "created_at"}
    assert hook["active"] is True and hook["created_by"]["email"] == manager.email
    listed = client.get(url, headers=headers(manager)).json
    assert (listed["count"], listed["page"], [w["id"] for w in listed["webhooks"]]) == (
        1,
        1,
        [hook["id"]],
    )
    assert client.get(url, headers=headers(admin)).json["count"] == 1
    one = f"/api/webhooks/{hook['id']}"
    assert client.get(one, headers=headers(outsider)).status_code == 404
    assert client.patch(one, json={"active": False}, headers=headers(reviewer)).status_code == 404

    nulled = client.patch(one, json={"url": None}, headers=headers(manager))
    assert nulled.status_code == 422 and nulled.json["error"] == "'url' cannot be null."
    assert client.patch(one, json={"active": "no"}, headers=headers(manager)).status_code == 422
    patched = client.patch(one, json={"active": False}, headers=headers(manager))
    assert patched.status_code == 200 and patched.json["active"] is False
    submit(project, annotator, tasks[0], factories.choice("Positive"), 3.0)
    db.session.commit()
    assert receiver.calls == [] and deliveries() == []  # inactive: nothing recorded
    client.patch(one, json={"active": True, "secret": "new secret"}, headers=headers(manager))
    submit(project, annotator, tasks[1], factories.choice("Positive"), 3.0)
    db.session.commit()
    [call] = receiver.calls
    assert verified("new secret", call["body"], call["headers"]["X-Reviewapp-Signature"])

    log = client.get(f"{one}/deliveries", headers=headers(manager))
    assert log.status_code == 200 and log.json["count"] == 1
    [entry] = log.json["deliveries"]
    assert entry["status"] == "delivered" and entry["attempts"] == 1
    assert entry["last_status_code"] == 200 and entry["last_duration_ms"] >= 0
    assert client.get(f"{one}/deliveries", headers=headers(outsider)).status_code == 404

    again = client.post(f"/api/deliveries/{entry['id']}/redeliver", headers=headers(manager))
    assert again.status_code == 201 and again.json["status"] == "delivered"
    assert again.json["delivery_id"] != entry["delivery_id"]
    assert [c["json"]["delivery_id"] for c in receiver.calls] == [
        entry["delivery_id"],
        again.json["delivery_id"],
    ]
    assert (
        client.post(
            f"/api/deliveries/{entry['id']}/redeliver", headers=headers(outsider)
        ).status_code
        == 404
    )

    assert client.delete(one, headers=headers(reviewer)).status_code == 404
    assert client.delete(one, headers=headers(manager)).status_code == 200
    assert client.get(url, headers=headers(manager)).json["count"] == 0
    assert deliveries() == []


def test_pages_add_edit_log_redeliver_and_delete(client, app, auth, receiver):
    project, tasks, manager, reviewer, annotator = team()
    auth.login(manager)
    settings = client.get(f"/projects/{project.id}/settings").get_data(as_text=True)
    assert 'id="webhooks"' in settings and f"/projects/{project.id}/webhooks" in settings

    page = client.get(f"/projects/{project.id}/webhooks")
    assert page.status_code == 200 and "No webhooks yet." in page.get_data(as_text=True)
    form = {"url": receiver.url, "events": ["annotation.created"], "secret": SECRET, "active": "y"}
    missing = client.post(f"/projects/{project.id}/webhooks", data={**form, "events": []})
    assert missing.status_code == 422
    assert "Choose at least one event." in missing.get_data(as_text=True)
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    private = client.post(f"/projects/{project.id}/webhooks", data=form)
    assert private.status_code == 422 and "private address" in private.get_data(as_text=True)
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    added = client.post(f"/projects/{project.id}/webhooks", data=form, follow_redirects=True)
    text = added.get_data(as_text=True)
    assert f"Added the webhook to {receiver.url}" in text.replace("&amp;", "&")
    assert "annotation.created" in text and SECRET not in text

    [hook] = db.session.scalars(select(Webhook)).all()
    receiver.statuses = [500]
    submit(project, annotator, tasks[0], factories.choice("Positive"), 3.0)
    db.session.commit()
    log = client.get(f"/webhooks/{hook.id}").get_data(as_text=True)
    assert "annotation.created" in log and "pending" in log and "answer 500" in log
    assert "The receiver answered 500." in log and " ms</td>" in log
    [row] = deliveries()
    again = client.post(f"/deliveries/{row.id}/redeliver", follow_redirects=True)
    assert "Queued delivery" in again.get_data(as_text=True)
    # The first is still waiting for its retry, so the copy (same object) waits behind it.
    assert len(receiver.calls) == 1
    deliver_due(now=utcnow() + timedelta(seconds=31))
    assert [d.status for d in deliveries()] == ["delivered", "delivered"]
    assert len(receiver.calls) == 3

    saved = client.post(
        f"/webhooks/{hook.id}",
        data={"url": receiver.url, "events": ["review.created"], "secret": "", "active": "y"},
        follow_redirects=True,
    )
    assert "Webhook saved." in saved.get_data(as_text=True)
    db.session.refresh(hook)
    assert hook.events == ["review.created"] and hook.secret == SECRET  # blank kept it

    auth.logout()
    auth.login(reviewer)
    assert client.get(f"/projects/{project.id}/webhooks").status_code == 403
    assert client.get(f"/webhooks/{hook.id}").status_code == 404
    assert client.post(f"/deliveries/{row.id}/redeliver").status_code == 404
    auth.logout()
    auth.login(manager)
    assert client.get("/admin/webhooks").status_code == 403
    gone = client.post(f"/webhooks/{hook.id}/delete", follow_redirects=True)
    assert "Deleted the webhook" in gone.get_data(as_text=True)
    assert deliveries() == []


def test_admins_manage_global_webhooks_on_their_page(client, app, auth, receiver):
    auth.login("admin")
    page = client.get("/admin/webhooks")
    assert page.status_code == 200 and "Global webhooks" in page.get_data(as_text=True)
    form = {"url": receiver.url, "events": ["project.updated"], "secret": SECRET, "active": "y"}
    added = client.post("/admin/webhooks", data=form, follow_redirects=True)
    assert "Added the webhook" in added.get_data(as_text=True)
    project = factories.project()
    update_project(project, project.label_config, overlap=3)
    db.session.commit()
    assert receiver.events() == ["project.updated"]
    assert receiver.calls[0]["json"]["project"]["id"] == project.id


def test_the_worker_delivers_after_the_commit_and_schedules_the_retry(
    client, app, queued_app, receiver
):
    """As the web server runs: the request only queues a Huey task; the worker sends."""
    queued_app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    with app.app_context():
        project, tasks, manager, _, annotator = team()
        add_hook(client, manager, project, receiver.url, ["annotation.created"])
        project_id, task_ids, annotator_id = project.id, [t.id for t in tasks], annotator.id
    with queued_app.test_request_context():
        huey = queued_app.extensions["huey"]
        huey.flush()
        project = db.session.get(type(project), project_id)
        task = db.session.get(Task, task_ids[0])
        submit(project, db.session.get(User, annotator_id), task, factories.choice("Positive"), 1)
        db.session.commit()
        assert receiver.calls == [] and huey.pending_count() == 1
        receiver.statuses = [500]
        huey.execute(huey.dequeue())
        assert receiver.events() == ["annotation.created"]
        # The retry is queued to run when due (the consumer holds it until its eta).
        [retry] = huey.pending()
        assert retry.name == "deliver_webhooks"
        assert 0 < (retry.eta - datetime.now(UTC).replace(tzinfo=None)).total_seconds() <= 30
        [row] = deliveries()
        assert (row.status, row.attempts) == ("pending", 1)
        deliver_due(now=utcnow() + timedelta(seconds=31))
        assert [d.status for d in deliveries()] == ["delivered"]
        huey.flush()


def test_a_job_cancelled_before_it_ran_is_finished_too(client, app, receiver):
    project, _, manager, _, _ = team()
    add_hook(client, manager, project, receiver.url, ["job.finished"])
    job = create_job("export", project, manager, {"format": "json", "only": "all"})
    db.session.commit()
    assert cancel(job, manager) == "Cancelled the job before it started."
    db.session.commit()
    [call] = receiver.calls
    assert call["json"]["job"]["id"] == job.id
    assert call["json"]["job"]["status"] == "cancelled"


def test_a_failing_receiver_costs_one_call_per_round_not_one_per_event(client, app, receiver):
    project, tasks, manager, _, annotator = team()
    project.overlap = 3
    db.session.commit()
    add_hook(client, manager, project, receiver.url, ["annotation.created"])
    others = [factories.user("annotator") for _ in range(2)]
    for user in others:
        add_member(project.id, user)
    receiver.statuses = [500]
    for user in (annotator, *others):
        submit(project, user, tasks[0], factories.choice("Positive"), 1.0)
    db.session.commit()  # one transaction, three events about three annotations
    assert len(receiver.calls) == 1
    rows = deliveries()
    assert [r.attempts for r in rows] == [1, 0, 0]
    assert len({r.next_attempt_at for r in rows}) == 1  # the others wait for the retry
    tried, _ = deliver_due(now=utcnow() + timedelta(seconds=31))
    assert tried == 3 and [r.status for r in deliveries()] == ["delivered"] * 3
    ids = [c["json"]["annotation"]["id"] for c in receiver.calls[1:]]
    assert ids == sorted(ids)


def test_a_bulk_accept_sends_one_review_created_per_verdict(client, app, receiver):
    project, tasks, manager, reviewer, annotator = team()
    add_hook(client, manager, project, receiver.url, ["review.created"])
    made = [submit(project, annotator, t, factories.choice("Positive"), 3.0) for t in tasks]
    db.session.commit()
    answer = client.post(
        f"/api/projects/{project.id}/bulk",
        json={"action": "accept", "ids": [t.id for t in tasks]},
        headers=headers(reviewer),
    )
    assert answer.status_code == 200, answer.json
    assert answer.json["counts"]["accepted"] == 2
    payloads = sorted((c["json"] for c in receiver.calls), key=lambda p: p["review"]["id"])
    assert [p["event"] for p in payloads] == ["review.created", "review.created"]
    assert [p["review"]["annotation_id"] for p in payloads] == [m.annotation.id for m in made]
    assert [p["review"]["task_id"] for p in payloads] == [t.id for t in tasks]
    assert {p["review"]["verdict"] for p in payloads} == {"accepted"}
    assert {p["review"]["reviewer"]["email"] for p in payloads} == {reviewer.email}
    assert all(
        verified(SECRET, c["body"], c["headers"]["X-Reviewapp-Signature"]) for c in receiver.calls
    )
    assert len({p["delivery_id"] for p in payloads}) == 2


def test_auto_accepts_are_delivered_as_reviews_by_the_system_reviewer(client, app, receiver):
    from reviewapp.services import auto_accept
    from reviewapp.services.review_stream import next_for_review, record_verdict

    rev = factories.user("reviewer")
    manager = factories.user("manager")
    project = factories.project(members=(rev, manager), overlap=2, auto_accept_error_target=0.5)
    both = [factories.annotation("amy@x.com"), factories.annotation("bob@x.com")]
    factories.tasks(project, [{"data": {"text": f"t{k}"}, "annotations": both} for k in range(10)])
    add_hook(client, manager, project, receiver.url, ["review.created"])
    update_project(project, project.label_config, auto_accept=True)
    db.session.commit()
    # The spot-check (5 tasks, 10 annotations) is accepted by hand, then the 5 waiting tasks
    # are accepted by the rule: 10 more reviews.
    while (annotation := next_for_review(project, rev)) is not None:
        record_verdict(annotation.id, rev, "accepted")
        db.session.commit()
    system = auto_accept.system_reviewer()
    by_system = [
        c["json"] for c in receiver.calls if c["json"]["review"]["reviewer"]["id"] == system.id
    ]
    assert len(receiver.calls) == 20 and len(by_system) == 10
    assert {p["review"]["verdict"] for p in by_system} == {"accepted"}
    assert "95% upper bound" in by_system[0]["review"]["comment"]
