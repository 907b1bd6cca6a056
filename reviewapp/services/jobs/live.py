"""A running job's progress, heartbeat and cancel request, kept in the queue's storage
(Huey's SQLite file or Redis) rather than in the job row: an import holds SQLite's write
lock for its whole transaction, and a progress bar, a heartbeat or a Cancel click must not
wait for it."""

from __future__ import annotations

import time

from reviewapp.services.jobs.queue import huey


def _key(job_id: int, what: str) -> str:
    return f"job:{job_id}:{what}"


def put_progress(job_id: int, done: int, total: int | None, message: str = "") -> None:
    huey().put(
        _key(job_id, "progress"),
        {"done": done, "total": total, "message": message, "at": time.time()},
    )


def progress(job_id: int) -> dict | None:
    return huey().get(_key(job_id, "progress"), peek=True)


def beat(job_id: int) -> None:
    huey().put(_key(job_id, "beat"), time.time())


def last_beat(job_id: int) -> float | None:
    return huey().get(_key(job_id, "beat"), peek=True)


def request_cancel(job_id: int) -> None:
    huey().put(_key(job_id, "cancel"), True)


def cancel_requested(job_id: int) -> bool:
    return bool(huey().get(_key(job_id, "cancel"), peek=True))


def forget(job_id: int) -> None:
    for what in ("progress", "beat", "cancel"):
        huey().get(_key(job_id, what))  # get without peek removes it
