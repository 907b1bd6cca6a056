"""The Huey instance of an app: SQLite storage in the instance folder by default (nothing to
install), Redis when REVIEWAPP_REDIS_URL is set; immediate (in-process) when JOBS_IMMEDIATE is,
as in the tests."""

from __future__ import annotations

import os
import time

from flask import Flask, current_app
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab


def init_app(app: Flask) -> Huey:
    if app.config.get("JOBS_IMMEDIATE"):
        huey = MemoryHuey("reviewapp", immediate=True)
    elif app.config.get("REDIS_URL"):
        huey = RedisHuey("reviewapp", url=app.config["REDIS_URL"])
    else:
        path = app.config.get("JOBS_PATH") or os.path.join(app.instance_path, "jobs.db")
        huey = SqliteHuey("reviewapp", filename=path)

    @huey.task(name="run_job")
    def run_job(job_id: int) -> None:
        from reviewapp.services.jobs import runner

        with app.app_context():
            runner.run(job_id)

    @huey.periodic_task(crontab(minute="*"), name="housekeeping")
    def housekeeping() -> None:
        from reviewapp.services.jobs import records

        with app.app_context():
            records.housekeeping()

    @huey.on_startup()
    def fail_stale_on_startup() -> None:
        from reviewapp.services.jobs import records

        with app.app_context():
            records.housekeeping()

    @huey.task(name="deliver_webhooks")
    def deliver_webhooks() -> None:
        with app.app_context():
            deliver_and_schedule()

    # The sweep behind the scheduled retries: a lost hand-over is sent within a minute.
    @huey.periodic_task(crontab(minute="*"), name="webhook_sweep")
    def webhook_sweep() -> None:
        with app.app_context():
            deliver_and_schedule()

    huey.run_job = run_job
    huey.deliver_webhooks = deliver_webhooks
    app.extensions["huey"] = huey
    return huey


def huey() -> Huey:
    return current_app.extensions["huey"]


def enqueue(job_id: int) -> None:
    """Hand a committed job to the worker (in immediate mode: run it now, in this thread)."""
    huey().run_job(job_id)


def enqueue_deliveries() -> None:
    """Hand committed webhook deliveries to the worker (immediate mode: send them now)."""
    huey().deliver_webhooks()


def deliver_and_schedule() -> None:
    """Send the due webhook deliveries, then schedule a run for when the next retry is due
    (once: a run already scheduled as early is not doubled)."""
    from reviewapp.models import utcnow
    from reviewapp.services.webhooks.delivery import deliver_due

    _, next_due = deliver_due()
    if next_due is None:
        return
    queue = huey()
    now = time.time()
    due = now + max((next_due - utcnow()).total_seconds(), 1)
    planned = queue.get("webhooks:next", peek=True)
    if planned is not None and now < planned <= due:
        return
    queue.put("webhooks:next", due)
    queue.deliver_webhooks.schedule(delay=due - now)
