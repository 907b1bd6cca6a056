"""CI gate (issue 13, scale-out): two hosts on one PostgreSQL database and one Redis.

    .venv/bin/python .ci/multihost.py   # $MULTIHOST_POSTGRES, $MULTIHOST_REDIS_URL to move it

The README's several-hosts setup, on one machine: two gunicorn instances (`-w 2`, two
ports) and two `flask --app app worker` processes, all on a fresh PostgreSQL database, the
Redis queue (db 14) and one shared instance folder. Eight reviewers work the review stream
over HTTP at once, four per host (accept, fix by changing the choice, reject with a
comment), while a manager imports a file through the API on one host (`?wait=0`: 202 and a
job) and polls the job on the other until a worker has done it.

Why: on SQLite (the default, and `make test`) the single writer lock serialises every write
and so hides races; on PostgreSQL, tests/test_concurrency.py races threads of one process
calling the services, with one app and no queue between them. Here the writers
are separate processes on separate "hosts" that share only the database and Redis, so a
verdict that recounts a task without holding it, a lease two reviewers both win, a job two
workers both run, or state kept in one process shows up. Afterwards the database is read
directly and must say:

- no annotation has more than one review, and every verdict answered 200 is stored (same
  annotation, reviewer and verdict; a fix stored the posted choice); no verdict was refused
  as stale (the lease keeps two reviewers off one annotation);
- every task's derived columns, scores and the project's totals equal a recount from the
  annotations (`drift` of tests/test_concurrency.py);
- the import job is `done`, once: its tasks exist exactly once (task count = before + the
  file's tasks), and no job is left queued or running;
- no server or worker process logged a traceback or died.

Exit code 0 when all hold; otherwise 1 with every failed check. Everything it starts is
stopped (SIGINT, then SIGKILL), and its database, Redis db 14 and temporary folder are
removed, on failure too.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

POSTGRES = os.environ.get("MULTIHOST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("MULTIHOST_REDIS_URL", "redis://127.0.0.1:6379/14")
PASSWORD = "multihost-password-123"
MANAGER = "manager@multihost.example.com"
REVIEWERS = [f"reviewer{i}@multihost.example.com" for i in range(1, 9)]
ANNOTATORS = [f"annotator{i}@multihost.example.com" for i in range(1, 7)]
LABELS = ("Positive", "Negative", "Neutral")
TASKS = 300  # imported with the CLI before the servers start, 3 annotations each
JOB_TASKS = 150  # imported through the API as a job while reviewers work, 2 annotations each
JOB_SOURCE_IDS = 1_000_000  # the job file's task ids start here (kept as source_id)
VERDICTS_PER_REVIEWER = 60
IMPORT_AFTER_VERDICTS = 16  # the import starts once the reviewers are under way
LOAD_SECONDS = 200  # the reviewers and the import must be done by then
JOB_SECONDS = 120
STOP_SECONDS = 15


class Failed(Exception):
    """A step could not be done; the message says which and why."""


@dataclass
class Answer:
    reviewer: str
    annotation_id: int
    verdict: str
    choice: str | None  # the choice a fix posted
    seconds: float


@dataclass
class Seen:
    """What the reviewers and the import saw over HTTP."""

    answers: list[Answer] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    under_way: threading.Event = field(default_factory=threading.Event)
    job_id: int | None = None
    job_statuses: list[str] = field(default_factory=list)
    job_seconds: float | None = None
    verdicts_during_job: int = 0

    def answered(self, answer: Answer) -> None:
        with self.lock:
            self.answers.append(answer)
            if len(self.answers) >= IMPORT_AFTER_VERDICTS:
                self.under_way.set()

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message[:500])


class Processes:
    """Child processes in their own process groups, each logging to a file."""

    def __init__(self, env: dict[str, str], logs: Path):
        self.env, self.logs = env, logs
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen:
        with open(self.logs / f"{name}.log", "wb") as log:
            process = subprocess.Popen(
                args,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.running[name] = process
        return process

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def died(self) -> list[str]:
        return [
            f"{name} exited with {p.returncode}: {self.log(name)[-1500:]}"
            for name, p in self.running.items()
            if p.poll() is not None
        ]

    def tracebacks(self) -> list[str]:
        found = []
        for name in self.running:
            text = self.log(name)
            if "Traceback" in text:
                found.append(f"{name} logged an error:\n{text[text.index('Traceback') :][:2000]}")
        return found

    def stop(self) -> list[str]:
        """SIGINT to every group, then SIGKILL to those still there after STOP_SECONDS."""
        for process in self.running.values():
            if process.poll() is None:
                _signal(process, signal.SIGINT)
        deadline = time.monotonic() + STOP_SECONDS
        killed = []
        for name, process in self.running.items():
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                _signal(process, signal.SIGKILL)
                process.wait()
                killed.append(name)
        return killed


def _signal(process: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def run(env: dict[str, str], *args: str) -> str:
    """A command from the project root; its stdout, or Failed with its output."""
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise Failed(
            f"{' '.join(args)} exited with {done.returncode}:\n"
            f"{done.stdout[-1500:]}{done.stderr[-3000:]}"
        )
    return done.stdout


def flask(env: dict[str, str], *args: str) -> str:
    return run(env, sys.executable, "-m", "flask", "--app", "app", *args)


def admin_sql(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as connection:
        connection.execute(sql)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(port: int, processes: Processes, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if processes.died():
            raise Failed("; ".join(processes.died()))
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/login")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise Failed(f"gunicorn on port {port} did not answer within {seconds:g} s")


def wait_for_log(processes: Processes, name: str, text: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text in processes.log(name):
            return
        if processes.running[name].poll() is not None:
            break
        time.sleep(0.3)
    raise Failed(f"{name} did not start: {processes.log(name)[-1500:]}")


def api(port: int, method: str, path: str, token: str, body: bytes | None = None):
    """(status, JSON) of an API call with the manager's token."""
    headers = {"Authorization": f"Token {token}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read().decode(errors="replace")
    finally:
        connection.close()
    try:
        return response.status, json.loads(data)
    except ValueError:
        return response.status, {"raw": data[:500]}


def label_studio_tasks(n: int, per_task: int, seed: int, first_id: int) -> list[dict]:
    from reviewapp.demo.sample_data import text_classification_tasks

    tasks = list(text_classification_tasks(n, ANNOTATORS, seed=seed, annotations_per_task=per_task))
    for i, task in enumerate(tasks):
        task["id"] = first_id + i
    return tasks


def setup(app, env: dict[str, str], workdir: Path) -> tuple[int, str, list[dict]]:
    """The schema (`flask db upgrade`), the users, the project and its members (in this
    process, through the services the CLI commands call: 19 CLI starts would take a minute
    on a busy 2-core machine), its first tasks (`flask import`); the project id, the
    manager's API token and the tasks the job will import."""
    from reviewapp.extensions import db
    from reviewapp.labeling.presets import TEXT_CLASSIFICATION
    from reviewapp.services.projects import create_project
    from reviewapp.services.users import add_member, create_user, new_api_token

    flask(env, "db", "upgrade")
    with app.app_context():
        try:
            manager = create_user(MANAGER, PASSWORD, "manager")
            project = create_project("Two hosts", TEXT_CLASSIFICATION, manager, overlap=3)
            for email in REVIEWERS:
                add_member(project.id, create_user(email, PASSWORD, "reviewer"))
            token = new_api_token(manager)
            db.session.commit()
            project_id = project.id
        finally:
            db.session.remove()
    first = workdir / "tasks.json"
    first.write_text(json.dumps(label_studio_tasks(TASKS, 3, seed=13, first_id=1)))
    flask(env, "import", str(project_id), str(first))
    return project_id, token, label_studio_tasks(JOB_TASKS, 2, seed=14, first_id=JOB_SOURCE_IDS)


def review(seen: Seen, port: int, email: str, project_id: int, start: threading.Barrier) -> None:
    """One reviewer: log in, then take the stream and post verdicts (the mix of _verdict)
    until it is empty or VERDICTS_PER_REVIEWER."""
    from http_bench import Client

    stream = f"/projects/{project_id}/review"
    try:
        client = Client(port, email, PASSWORD)
        start.wait()
        page = client.get(stream)
        for n in range(VERDICTS_PER_REVIEWER):
            match = re.search(r'data-annotation-id="(\d+)"', page)
            if not match:
                return
            annotation_id = int(match.group(1))
            verdict, form, choice = _verdict(n, page)
            began = time.perf_counter()
            status, page = client.request("POST", f"{stream}/{annotation_id}", form, htmx=True)
            seconds = time.perf_counter() - began
            if status == 200 and f"annotation #{annotation_id}" in page:
                seen.answered(Answer(email, annotation_id, verdict, choice, seconds))
            elif status == 409:
                with seen.lock:
                    seen.stale.append(f"{email}: annotation {annotation_id}")
            else:
                said = re.search(r'class="flash [a-z]+"[^>]*>([^<]+)<', page)
                seen.error(
                    f"{email}: {verdict} of annotation {annotation_id} answered {status}: "
                    + (said.group(1) if said else page[:200])
                )
                page = client.get(stream)
    except Exception as error:  # noqa: BLE001 - reported as a failed check
        seen.error(f"{email}: {type(error).__name__}: {error}")
    finally:
        seen.under_way.set()  # never leave the import waiting for a reviewer that stopped


def _verdict(n: int, page: str) -> tuple[str, dict, str | None]:
    """Four accepts, then a fix to another choice, then a reject with a comment."""
    if n % 6 == 4:
        picked = re.search(r'name="sentiment" value="([^"]+)"[^>]*\bchecked', page)
        current = picked.group(1) if picked else LABELS[0]
        choice = LABELS[(LABELS.index(current) + 1) % len(LABELS)]
        return "fixed", {"verdict": "fixed", "sentiment": choice}, choice
    if n % 6 == 5:
        return "rejected", {"verdict": "rejected", "comment": "Wrong label (multihost)."}, None
    return "accepted", {"verdict": "accepted"}, None


def import_job(seen: Seen, ports: tuple[int, int], token: str, project_id: int, tasks: list):
    """POST the file on one host with wait=0 (202 and a job), poll the job on the other."""
    try:
        seen.under_way.wait(60)
        verdicts_before = len(seen.answers)
        began = time.perf_counter()
        status, body = api(
            ports[0],
            "POST",
            f"/api/projects/{project_id}/import?wait=0",
            token,
            json.dumps(tasks).encode(),
        )
        if status != 202:
            seen.error(f"import answered {status}, not 202 with a job: {str(body)[:300]}")
            return
        seen.job_id = body["job"]["id"]
        seen.job_statuses.append(body["job"]["status"])
        deadline = time.monotonic() + JOB_SECONDS
        while time.monotonic() < deadline:
            status, body = api(ports[1], "GET", f"/api/jobs/{seen.job_id}", token)
            if status != 200:
                seen.error(f"GET /api/jobs/{seen.job_id} answered {status}: {str(body)[:300]}")
                return
            job = body["job"]
            if not seen.job_statuses or seen.job_statuses[-1] != job["status"]:
                seen.job_statuses.append(job["status"])
            if job["status"] in ("done", "failed", "cancelled"):
                seen.job_seconds = time.perf_counter() - began
                seen.verdicts_during_job = len(seen.answers) - verdicts_before
                if job["status"] != "done":
                    seen.error(f"import job {job['status']}: {job.get('error') or job['message']}")
                return
            time.sleep(0.25)
        seen.error(f"import job {seen.job_id} not done after {JOB_SECONDS} s: {body}")
    except Exception as error:  # noqa: BLE001 - reported as a failed check
        seen.error(f"import: {type(error).__name__}: {error}")


def load(seen: Seen, ports: tuple[int, int], token: str, project_id: int, job_tasks: list):
    start = threading.Barrier(len(REVIEWERS), timeout=60)
    threads = [
        threading.Thread(
            target=review,
            args=(seen, ports[i * 2 // len(REVIEWERS)], email, project_id, start),
            daemon=True,
        )
        for i, email in enumerate(REVIEWERS)
    ]
    threads.append(
        threading.Thread(
            target=import_job, args=(seen, ports, token, project_id, job_tasks), daemon=True
        )
    )
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + LOAD_SECONDS
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0.1))
    if any(thread.is_alive() for thread in threads):
        seen.error(f"reviewers or the import still running after {LOAD_SECONDS} s")


def check(app, project_id: int, seen: Seen, job_tasks: list) -> list[tuple[str, str]]:
    """(check, "" when it holds, else what is wrong) read from the database directly."""
    from sqlalchemy import func, select

    from reviewapp.extensions import db
    from reviewapp.models import Annotation, Job, Review, Task, User
    from tests.test_concurrency import drift

    results = []
    with app.app_context():
        try:
            doubled = db.session.execute(
                select(Review.annotation_id, func.count())
                .group_by(Review.annotation_id)
                .having(func.count() > 1)
            ).all()
            results.append(
                (
                    "no annotation has more than one review",
                    f"{len(doubled)} do: {doubled[:10]}" if doubled else "",
                )
            )

            emails = dict(db.session.execute(select(User.id, User.email)).all())
            stored = Counter(
                (emails[r.reviewer_id], r.annotation_id, r.verdict)
                for r in db.session.scalars(select(Review).where(Review.project_id == project_id))
            )
            answered = Counter((a.reviewer, a.annotation_id, a.verdict) for a in seen.answers)
            problem = ""
            if answered != stored:
                problem = (
                    f"{answered.total()} verdicts answered 200, {stored.total()} reviews stored; "
                    f"answered, not stored: {sorted(answered - stored)[:5]}; "
                    f"stored, not answered: {sorted(stored - answered)[:5]}"
                )
            results.append(("every verdict answered 200 is stored, once", problem))

            statuses = dict(
                db.session.execute(
                    select(Annotation.id, Annotation.review_status).where(
                        Annotation.project_id == project_id
                    )
                ).all()
            )
            wrong = [
                f"annotation {a.annotation_id} is {statuses.get(a.annotation_id)}, not {a.verdict}"
                for a in seen.answers
                if statuses.get(a.annotation_id) != a.verdict
            ]
            fixes = {a.annotation_id: a.choice for a in seen.answers if a.verdict == "fixed"}
            for annotation in db.session.scalars(
                select(Annotation).where(Annotation.id.in_(fixes))
            ):
                picked = [c for item in annotation.result for c in item["value"]["choices"]]
                if picked != [fixes[annotation.id]]:
                    wrong.append(f"fixed annotation {annotation.id} says {picked}")
            results.append(
                ("annotations carry their verdict; fixes the posted choice", "; ".join(wrong[:10]))
            )

            found = drift(project_id)
            results.append(
                (
                    "task columns, scores and project totals equal a recount",
                    f"{len(found)} differences: " + "; ".join(found[:10]) if found else "",
                )
            )

            jobs = db.session.scalars(select(Job).order_by(Job.id)).all()
            described = [(j.id, j.kind, j.status, j.message) for j in jobs]
            problem = ""
            if [(j.id, j.kind, j.status) for j in jobs] != [(seen.job_id, "import", "done")]:
                problem = f"jobs {described}"
            elif (jobs[0].result or {}).get("task_count") != len(job_tasks):
                problem = f"the job imported {(jobs[0].result or {}).get('task_count')} tasks"
            results.append(("one job: the import, done", problem))

            counts = dict(
                db.session.execute(
                    select(Task.source_id, func.count())
                    .where(Task.project_id == project_id)
                    .group_by(Task.source_id)
                ).all()
            )
            total = sum(counts.values())
            wanted = {str(task["id"]) for task in job_tasks}
            missing = sorted(wanted - set(counts))
            twice = sorted(s for s, n in counts.items() if n > 1)
            problem = ""
            if total != TASKS + len(job_tasks) or missing or twice:
                problem = (
                    f"{total} tasks, not {TASKS} + {len(job_tasks)}; "
                    f"job tasks missing: {missing[:5]}; tasks stored more than once: {twice[:5]}"
                )
            results.append(("the job's tasks exist exactly once", problem))

            left = [(j.id, j.status) for j in jobs if j.status in ("queued", "running")]
            results.append(("no job left queued or running", str(left) if left else ""))
        finally:
            db.session.remove()
    return results


def latency(answers: list[Answer]) -> str:
    if not answers:
        return "no verdicts"
    ordered = sorted(a.seconds for a in answers)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"


def main() -> int:
    began = time.perf_counter()
    timings: list[tuple[str, float, str]] = []
    name = f"reviewapp_multihost_{secrets.token_hex(4)}"
    workdir = Path(tempfile.mkdtemp(prefix="reviewapp-multihost-"))
    (workdir / "logs").mkdir()
    config = {
        "DATABASE_URL": f"{POSTGRES}/{name}",
        "SECRET_KEY": secrets.token_hex(),
        "REDIS_URL": REDIS_URL,
        "INSTANCE_PATH": str(workdir / "instance"),
    }
    env = {
        **os.environ,
        **{f"REVIEWAPP_{key}": value for key, value in config.items()},
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    processes = Processes(env, workdir / "logs")
    results: list[tuple[str, str]] = []
    seen = Seen()
    redis = app = None
    print(f"Two hosts on PostgreSQL ({name}) and Redis ({REDIS_URL}), instance {workdir}")
    try:
        import redis as redis_client

        redis = redis_client.Redis.from_url(REDIS_URL)
        redis.flushdb()
        admin_sql(f'CREATE DATABASE "{name}"')

        step = time.perf_counter()
        from reviewapp import create_app

        app = create_app(config)
        project_id, token, job_tasks = setup(app, env, workdir)
        timings.append(
            (
                "setup",
                time.perf_counter() - step,
                f"db upgrade, 9 users, project {project_id}, {TASKS} tasks by flask import",
            )
        )

        step = time.perf_counter()
        ports = (free_port(), free_port())
        for i, port in enumerate(ports, 1):
            processes.start(
                f"web{i}",
                *(sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}"),
                *("--log-level", "warning", "app:app"),
            )
        for i in (1, 2):
            processes.start(f"worker{i}", sys.executable, "-m", "flask", "--app", "app", "worker")
        for port in ports:
            wait_for_http(port, processes)
        for i in (1, 2):
            wait_for_log(processes, f"worker{i}", "Job worker:")
        timings.append(
            (
                "start",
                time.perf_counter() - step,
                f"gunicorn -w 2 on :{ports[0]} and :{ports[1]}, 2 job workers on Redis",
            )
        )

        step = time.perf_counter()
        load(seen, ports, token, project_id, job_tasks)
        by_verdict = {
            v: sum(a.verdict == v for a in seen.answers) for v in ("accepted", "fixed", "rejected")
        }
        timings.append(
            (
                "review",
                time.perf_counter() - step,
                f"{len(REVIEWERS)} reviewers, 4 per host: {len(seen.answers)} verdicts answered "
                f"200 ({', '.join(f'{n} {v}' for v, n in by_verdict.items())}), "
                f"{len(seen.stale)} answered 409; {latency(seen.answers)}",
            )
        )
        if seen.job_seconds is not None:
            timings.append(
                (
                    "import job",
                    seen.job_seconds,
                    f"job {seen.job_id}: 202 on :{ports[0]}, polled on :{ports[1]} "
                    f"({' -> '.join(seen.job_statuses)}); {len(job_tasks)} tasks; "
                    f"{seen.verdicts_during_job} verdicts answered meanwhile",
                )
            )
        results.append(("reviewers and the import ran without errors", "; ".join(seen.errors)))
        results.append(
            ("no verdict refused as stale (409)", "; ".join(seen.stale[:10]) if seen.stale else "")
        )
        broken = processes.died() + processes.tracebacks()
        results.append(("no server or worker died or logged a traceback", "\n".join(broken)))

        step = time.perf_counter()
        killed = processes.stop()
        timings.append(
            (
                "stop",
                time.perf_counter() - step,
                f"SIGINT; killed after {STOP_SECONDS} s: {killed}" if killed else "SIGINT",
            )
        )

        step = time.perf_counter()
        results += check(app, project_id, seen, job_tasks)
        timings.append(("checks", time.perf_counter() - step, "read from the database"))
    except Failed as error:
        results.append(("setup and run", str(error)))
    except Exception:  # noqa: BLE001 - a defect of this script is a failure too, reported
        results.append(("setup and run", traceback.format_exc()))
    finally:
        processes.stop()
        if app is not None:
            from reviewapp.extensions import db

            with app.app_context():
                db.engine.dispose()
        try:
            admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except Exception as error:  # noqa: BLE001 - reported, the rest is still cleaned up
            results.append(("drop the database", str(error)))
        if redis is not None:
            redis.flushdb()
        shutil.rmtree(workdir, ignore_errors=True)

    timings.append(("total", time.perf_counter() - began, ""))
    for step_name, seconds, note in timings:
        print(f"  {step_name:<11}{seconds:7.1f} s  {note}")
    failed = [(check_name, problem) for check_name, problem in results if problem]
    for check_name, problem in results:
        print(f"  {'FAILED' if problem else 'ok':<7}{check_name}")
        if problem:
            print("         " + problem.replace("\n", "\n         "))
    if failed:
        print(f"Two hosts: {len(failed)} of {len(results)} checks FAILED.")
        return 1
    print(f"Two hosts: all {len(results)} checks passed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
