"""The Huey instance of an app: SQLite storage in the instance folder by default (nothing to
install), Redis when REVIEWAPP_REDIS_URL is set; immediate (in-process) when JOBS_IMMEDIATE is,
as in the tests."""

from __future__ import annotations

import os

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

    huey.run_job = run_job
    app.extensions["huey"] = huey
    return huey


def huey() -> Huey:
    return current_app.extensions["huey"]


def enqueue(job_id: int) -> None:
    """Hand a committed job to the worker (in immediate mode: run it now, in this thread)."""
    huey().run_job(job_id)
