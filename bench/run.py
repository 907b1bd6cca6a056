"""The benchmark behind `make bench`: import and export times and peak memory.

    BENCH_TASKS=100000 python bench/run.py [--tasks N] [--keep] [--database URL] [--only A,B]

Generates a Label Studio JSON file into bench/out/, builds a fresh database (a SQLite file in
a temporary folder, or with --database / $BENCH_DATABASE_URL = postgresql://user@host:port a
database of its own on that PostgreSQL server, dropped at the end) with the real CLI
(`flask db upgrade`, `create-user`; bench/steps.py for what the CLI has no command for), then
times `flask import` and `flask export` (JSON
and CSV) as child processes and reads each one's peak RSS from os.wait4. Prints a table
with the targets of the issue. Exits non-zero only when a step fails, never for a missed
target. --only (or $BENCH_ONLY) times only the named sections, after the same setup.

Each section is a function taking the Bench and returning table rows; add new ones (for
example page latency against gunicorn) to SECTIONS.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from http_bench import PASSWORD, Client, Server, Timing, print_timings, timed, warm

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
MANAGER = "manager@bench.example.com"
TARGET_TASKS = 100_000
# The targets of the issue, for TARGET_TASKS tasks: (seconds, peak MB or None).
TARGETS = {
    "assign all": (5.0, None),
    "recompute": (60.0, None),
    "import": (30.0, 500.0),
    "export json": (20.0, None),
    "export csv": (20.0, None),
    "bulk accept": (5.0, None),
}
# Steps whose size does not grow with the tasks: their target holds at any BENCH_TASKS.
FIXED_SIZE = {"bulk accept"}


class BenchError(RuntimeError):
    """A step of the benchmark failed; the message has the command and its output."""


@dataclass
class Measured:
    seconds: float
    cpu_seconds: float
    peak_mb: float
    stdout: str


@dataclass
class Row:
    step: str
    seconds: float
    cpu_seconds: float
    peak_mb: float
    output_mb: float | None = None
    note: str = ""


@dataclass
class Bench:
    tasks: int
    workdir: Path
    env: dict[str, str]
    data: dict[str, int] = field(default_factory=dict)
    data_file: Path | None = None
    project_id: int | None = None
    startup_seconds: float = 0.0
    engine: str = "SQLite"
    reports: list[Callable[[], None]] = field(default_factory=list)

    def run(self, *args: str) -> Measured:
        """Run a command from the project root; its wall time, CPU time and own peak RSS."""
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            start = time.perf_counter()
            process = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=out, stderr=err)
            # wait4 gives this child's own rusage; RUSAGE_CHILDREN would report the
            # largest of all children waited for so far.
            _, status, usage = os.wait4(process.pid, 0)
            seconds = time.perf_counter() - start
            process.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            stdout = out.read().decode(errors="replace")
            if process.returncode != 0:
                stderr = err.read().decode(errors="replace")
                raise BenchError(
                    f"{' '.join(args)} exited with {process.returncode}:\n"
                    f"{stdout[-2000:]}{stderr[-4000:]}"
                )
        return Measured(seconds, usage.ru_utime + usage.ru_stime, _rss_mb(usage.ru_maxrss), stdout)

    def flask(self, *args: str) -> Measured:
        return self.run(sys.executable, "-m", "flask", "--app", "app", *args)

    def step(self, *args: str) -> Measured:
        """One of bench/steps.py, which work on the database without the CLI."""
        return self.run(sys.executable, "bench/steps.py", *args)


def _rss_mb(maxrss: int) -> float:
    # ru_maxrss is in KiB on Linux and in bytes on macOS.
    return maxrss / (1024 * 1024) if sys.platform == "darwin" else maxrss / 1024


def _numbers(measured: Measured) -> tuple[float, float, float]:
    return measured.seconds, measured.cpu_seconds, measured.peak_mb


def _mb(path: Path) -> float:
    return path.stat().st_size / 1e6


def generate(bench: Bench) -> list[Row]:
    """Write the Label Studio file with bench/generate.py."""
    OUT.mkdir(parents=True, exist_ok=True)
    bench.data_file = OUT / f"tasks-{bench.tasks}.json"
    measured = bench.run(
        sys.executable, "bench/generate.py", str(bench.data_file), "--tasks", str(bench.tasks)
    )
    bench.data = json.loads(measured.stdout.strip().splitlines()[-1])
    return [Row("generate", *_numbers(measured), _mb(bench.data_file))]


def create_database(bench: Bench) -> list[Row]:
    """An empty database from the migrations, a manager and a text-classification project."""
    startup = bench.flask("routes")
    bench.startup_seconds = startup.seconds
    upgrade = bench.flask("db", "upgrade")
    bench.flask("create-user", "--email", MANAGER, "--password", PASSWORD, "--role", "manager")
    created = bench.step("create-project", MANAGER)
    bench.project_id = int(created.stdout.strip().splitlines()[-1])
    return [
        Row("app startup", *_numbers(startup), note="flask --app app routes"),
        Row("db upgrade", *_numbers(upgrade)),
    ]


def import_file(bench: Bench) -> list[Row]:
    """`flask import` of the generated file into the empty project."""
    measured = bench.flask("import", str(bench.project_id), str(bench.data_file))
    summary = measured.stdout.strip().splitlines()[0] if measured.stdout.strip() else ""
    size = bench.step("database-mb").stdout.split()[-1]
    return [Row("import", *_numbers(measured), float(size), summary)]


def export_files(bench: Bench) -> list[Row]:
    """`flask export` of the whole project as JSON, then as CSV."""
    rows = []
    for fmt in ("json", "csv"):
        path = bench.workdir / f"export.{fmt}"
        measured = bench.flask("export", str(bench.project_id), "--format", fmt, "-o", str(path))
        rows.append(Row(f"export {fmt}", *_numbers(measured), _mb(path)))
    return rows


def shape_import(bench: Bench) -> list[Row]:
    """`flask import` of the same image tasks with boxes, then with 20-point polygons, each
    into a project of its own (bench/shapes.py): the issue asks polygons for < 2x boxes."""
    rows = []
    for shape in ("box", "polygon"):
        path = OUT / f"{shape}-tasks-{bench.tasks}.json"
        written = bench.run(
            sys.executable,
            "bench/shapes.py",
            str(path),
            "--shape",
            shape,
            "--tasks",
            str(bench.tasks),
        )
        regions = json.loads(written.stdout.strip().splitlines()[-1])["regions"]
        created = bench.step("create-project", MANAGER, "--shape", shape)
        project_id = created.stdout.strip().splitlines()[-1]
        measured = bench.flask("import", project_id, str(path))
        rows.append(
            Row(f"import {shape} tasks", *_numbers(measured), _mb(path), f"{regions:,} regions")
        )
    rows[1].note += f"; {rows[1].seconds / rows[0].seconds:.2f}x the boxes (target < 2x)"
    return rows


REVIEWERS = [f"reviewer{i}@bench.example.com" for i in range(1, 9)]
ORDERINGS = (
    "id",
    "agreement",
    "prediction_score",
    "annotator",
    "annotations",
    "review_status",
    "created",
)
FILTERS = {
    "annotator": "annotator={annotator}",
    "reviewer": "reviewer={reviewer}",
    "review status": "review_status=rejected",
    "ground truth": "ground_truth=true",
    "agreement range": "agreement_min=0.2&agreement_max=0.5",
    "prediction score range": "prediction_score_min=0.9&prediction_score_max=0.95",
    "has annotations": "has_annotations=false",
    "skipped": "skipped=true",
    "text in data": "q=warranty",
    "label (any source)": "label=sentiment:Neutral",
    "label from prediction": "label=sentiment:Neutral&label_source=prediction",
    "state": "state=needs_review",
    "state, two of them": "state=done&state=in_review",
    "unresolved comments: some": "unresolved_comments=has",
    "unresolved comments: none": "unresolved_comments=none",
    "annotator is not": "annotator_not={annotator}",
    "agreement empty": "agreement_empty=true",
    "or: ground truth, agreement range": (
        "conjunction=or&ground_truth=true&agreement_min=0.2&agreement_max=0.5"
    ),
    "or: annotator, text in data": "conjunction=or&annotator={annotator}&q=warranty",
}
# Comments written before the Data Manager is timed: on about 1% of the tasks.
COMMENT_SHARE = 100


def add_reviewers(bench: Bench) -> list[Row]:
    """Eight reviewers, members of the project (for assignment and the review stream)."""
    for email in REVIEWERS:
        bench.flask("create-user", "--email", email, "--password", PASSWORD, "--role", "reviewer")
        bench.flask("add-member", str(bench.project_id), email)
    return []


def data_manager(bench: Bench) -> list[Row]:
    """Every ordering and filter of page 1, a deep page, and assigning over all tasks; first,
    comments on about 1% of the tasks (timed one at a time, for the unresolved filter)."""
    comments = max(bench.tasks // COMMENT_SHARE, 1)
    added = bench.step("add-comments", str(bench.project_id), REVIEWERS[0], str(comments))
    comment_p50, comment_p95 = (float(v) for v in added.stdout.split()[-2:])
    server = Server(bench.env)
    try:
        client = Client(server.port, MANAGER)
        base = f"/projects/{bench.project_id}/tasks"
        reviewer_ids = _reviewer_ids(bench)
        annotator = _first_annotator_id(bench)
        cases = [
            (f"order by {s}{o}", f"{base}?ordering={s}{o}") for o in ORDERINGS for s in ("", "-")
        ]
        cases += [
            (
                f"filter {name}",
                f"{base}?{query.format(annotator=annotator, reviewer=reviewer_ids[0])}",
            )
            for name, query in FILTERS.items()
        ]
        warm(server.port, MANAGER, [url for _, url in cases])
        timings = [timed(case, lambda u=url: client.get(u, True)) for case, url in cases]
        deep = f"{base}?page=1000"
        timings.append(timed("page 1,000 (50 rows a page)", lambda: client.get(deep, True)))
        bench.reports.append(
            lambda: print_timings(
                f"Data Manager table fragment over HTTP, {bench.tasks:,} tasks (each answer "
                "carries the matching count)",
                timings,
                25,
                60,
            )
        )
        start = time.perf_counter()
        status, body = client.request(
            "POST",
            f"{base}/bulk",
            {"action": "assign_reviewers", "all_matching": "1", "reviewers": reviewer_ids[:2]},
            htmx=True,
        )
        message = _bulk_message(bench, status, body)
        seconds = time.perf_counter() - start
    finally:
        server.stop()
    note = f"{message}; {comments:,} comments before, one took p50 {comment_p50:.1f} ms, "
    return [Row("assign all", seconds, 0.0, 0.0, note=note + f"p95 {comment_p95:.1f} ms")]


def _bulk_message(bench: Bench, status: int, body: str) -> str:
    """The bulk action's sentence; for one that went on as a job (204 and HX-Redirect to its
    page), the job's, once it is done."""
    if status == 204:
        return "as a job: " + bench.step("wait-job", str(bench.project_id)).stdout.strip()
    message = re.search(r'class="flash [a-z]+">([^<]+)<', body)
    return message.group(1) if message else str(status)


def _first_annotator_id(bench: Bench) -> int:
    return int(bench.step("first-annotator").stdout.split()[-1])


def _reviewer_ids(bench: Bench) -> list[int]:
    out = bench.step("user-ids", *REVIEWERS)
    return [int(v) for v in out.stdout.split()]


VERDICTS_PER_REVIEWER = 60


def review_stream_1(bench: Bench) -> list[Row]:
    """One reviewer alone: next item, and verdict + next item (issue 14: p50 <= 40 ms)."""
    return _review_stream(bench, REVIEWERS[:1], (30, 80), (40, 80))


def review_stream(bench: Bench) -> list[Row]:
    """Four reviewers at once: next item, and verdict + next item, over HTTP."""
    return _review_stream(bench, REVIEWERS[:4], (30, 80), (40, 80))


def review_stream_8(bench: Bench) -> list[Row]:
    """Eight reviewers at once on the same tasks: every verdict holds its task (issue 11)."""
    return _review_stream(bench, REVIEWERS, (30, 80), (60, 120))


def _review_stream(bench: Bench, reviewers: list[str], next_targets, verdict_targets):
    server = Server(bench.env)
    n = len(reviewers)
    stream = f"/projects/{bench.project_id}/review"
    next_timings, verdict_timings = [], []
    recorded = []
    errors: list[str] = []

    def work(email: str) -> None:
        try:
            client = Client(server.port, email)
            page = client.get(stream)
            for _ in range(WARMUP_GETS):
                client.get(stream)
            samples = []
            for _ in range(REPEAT_GETS):
                start = time.perf_counter()
                page = client.get(stream)
                samples.append(time.perf_counter() - start)
            next_timings.extend(samples)
            done = 0
            for _ in range(VERDICTS_PER_REVIEWER):
                match = re.search(r'data-annotation-id="(\d+)"', page)
                if not match:
                    break
                start = time.perf_counter()
                status, page = client.request(
                    "POST", f"{stream}/{match.group(1)}", {"verdict": "accepted"}, htmx=True
                )
                verdict_timings.append(time.perf_counter() - start)
                if status == 200:
                    done += 1
                else:
                    errors.append(f"{email}: verdict answered {status}")
            recorded.append(done)
        except Exception as error:  # noqa: BLE001 - reported below, the bench goes on
            errors.append(f"{email}: {error}")

    try:
        threads = [threading.Thread(target=work, args=(email,)) for email in reviewers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.stop()
    total, doubled = bench.step("count-reviews").stdout.split()[-2:]
    who = "one reviewer" if n == 1 else f"{n} reviewers at once"
    timings = [
        Timing(f"next item ({who})", next_timings, targets=next_targets),
        Timing(f"verdict + next item ({who})", verdict_timings),
    ]
    bench.reports.append(
        lambda: print_timings(
            f"Review stream over HTTP, {bench.tasks:,} tasks, {bench.engine}; targets: next "
            f"item p50 {next_targets[0]} ms, verdict + next p50 {verdict_targets[0]} ms / "
            f"p95 {verdict_targets[1]} ms",
            timings,
            *verdict_targets,
        )
    )
    note = (
        f"{sum(recorded)} verdicts answered 200, {total} reviews stored, "
        f"{doubled} annotations reviewed twice" + (f"; errors: {errors[:3]}" if errors else "")
    )
    return [Row(f"review x{n}", sum(verdict_timings), 0.0, 0.0, note=note)]


WARMUP_GETS = 3
REPEAT_GETS = 30
ANNOTATOR = "annotator@bench.example.com"


def label_stream(bench: Bench) -> list[Row]:
    """An annotator's next task, and submit + next task, over HTTP."""
    bench.flask("create-user", "--email", ANNOTATOR, "--password", PASSWORD, "--role", "annotator")
    bench.flask("add-member", str(bench.project_id), ANNOTATOR)
    server = Server(bench.env)
    label = f"/projects/{bench.project_id}/label"
    try:
        warm(server.port, ANNOTATOR, [label])
        client = Client(server.port, ANNOTATOR)
        page = {"body": client.get(label)}
        next_task = timed("next task", lambda: page.update(body=client.get(label)))

        def submit() -> None:
            task = re.search(r'action="/projects/\d+/label/(\d+)"', page["body"])
            shown = re.search(r'name="shown_at" value="([^"]*)"', page["body"])
            status, body = client.request(
                "POST",
                f"{label}/{task.group(1)}",
                {
                    "action": "submit",
                    "sentiment": "Positive",
                    "lead_time": "4.2",
                    "shown_at": shown.group(1) if shown else "",
                },
                htmx=True,
            )
            if status != 200:
                raise BenchError(f"label submit answered {status}: {body[:300]}")
            page["body"] = body

        submit_next = timed("submit + next task", submit)
    finally:
        server.stop()
    timings = [next_task, submit_next]
    bench.reports.append(
        lambda: print_timings(
            f"Label stream over HTTP, {bench.tasks:,} tasks (tasks needing annotations are "
            "the ones with a skip)",
            timings,
            30,
            60,
        )
    )
    return []


SYNTHETIC_REVIEWS = 150_000


def dashboard(bench: Bench) -> list[Row]:
    """The dashboard page and the metrics JSON; storing one annotation; recompute-metrics."""
    token = bench.flask("api-token", MANAGER).stdout.strip().splitlines()[-1]
    server = Server(bench.env)
    try:
        client = Client(server.port, MANAGER)
        page = f"/projects/{bench.project_id}/dashboard"
        api = f"/api/projects/{bench.project_id}/metrics"

        def metrics_json() -> None:
            client.connection.request("GET", api, headers={"Authorization": f"Token {token}"})
            response = client.connection.getresponse()
            response.read()
            if response.status != 200:
                raise BenchError(f"metrics API answered {response.status}")

        warm(server.port, MANAGER, [page], rounds=1)
        timings = [
            timed("dashboard page", lambda: client.get(page), repeat=15),
            timed("metrics JSON", metrics_json, repeat=15),
        ]
        # Reviewer activity reads every review: time the page again after a full review pass
        # (review rows written straight into the table, by the four bench reviewers).
        bench.step(
            "add-reviews",
            str(bench.project_id),
            str(min(_reviewer_ids(bench))),
            str(SYNTHETIC_REVIEWS),
        )
        timings.append(
            timed(
                f"dashboard page, {SYNTHETIC_REVIEWS:,} more reviews",
                lambda: client.get(page),
                repeat=15,
            )
        )
    finally:
        server.stop()
    stored = bench.step("store-annotations", str(bench.project_id))
    store_p50, store_p95 = (float(v) for v in stored.stdout.split()[-2:])
    recompute = bench.flask("recompute-metrics", str(bench.project_id))
    bench.reports.append(
        lambda: print_timings(
            f"Dashboard over HTTP, {bench.tasks:,} tasks (target p50 300 ms)", timings, 300, 10**6
        )
    )
    note = f"store one annotation with its scores: p50 {store_p50:.1f} ms, p95 {store_p95:.1f} ms"
    return [Row("recompute", *_numbers(recompute), note=note)]


BULK_ACCEPT_ANNOTATIONS = 10_000


def bulk_accept(bench: Bench) -> list[Row]:
    """Bulk Accept of 10,000 pending annotations (those of the first tasks holding them) in
    the Data Manager, over HTTP: the question with its counts, then the verdicts."""
    picked = bench.step("pending-tasks", str(bench.project_id), str(BULK_ACCEPT_ANNOTATIONS))
    *ids, annotations = picked.stdout.strip().splitlines()[-1].split()
    server = Server(bench.env)
    try:
        client = Client(server.port, MANAGER)
        url = f"/projects/{bench.project_id}/tasks/bulk"
        form = {"action": "accept", "ids": ids}
        start = time.perf_counter()
        status, body = client.request("POST", url, form, htmx=True)
        asked = time.perf_counter() - start
        question = re.search(r"<p>(Accept [^<]+)</p>", body)
        if status != 200 or not question:
            raise BenchError(f"bulk accept asked with {status}: {body[:300]}")
        start = time.perf_counter()
        status, body = client.request("POST", url, {**form, "confirm": "1"}, htmx=True)
        message = _bulk_message(bench, status, body)
        seconds = time.perf_counter() - start
    finally:
        server.stop()
    note = (
        f"{annotations} annotations in {len(ids):,} tasks; the question took {asked:.2f} s "
        f"({question.group(1)}); {message}"
    )
    return [Row("bulk accept", seconds, 0.0, 0.0, note=note)]


DELETE_FILTER = {"agreement_max": "0.2"}


def delete_tasks(bench: Bench) -> list[Row]:
    """Bulk "Delete tasks" over the tasks matching a filter (about a tenth of them), with
    their annotations, reviews and scores: last, as it changes the data."""
    server = Server(bench.env)
    try:
        client = Client(server.port, MANAGER)
        start = time.perf_counter()
        status, body = client.request(
            "POST",
            f"/projects/{bench.project_id}/tasks/bulk",
            {"action": "delete_tasks", "all_matching": "1", "confirm": "1", **DELETE_FILTER},
            htmx=True,
        )
        message = _bulk_message(bench, status, body)
        seconds = time.perf_counter() - start
    finally:
        server.stop()
    return [Row("delete tasks", seconds, 0.0, 0.0, note=message)]


SECTIONS: list[Callable[[Bench], list[Row]]] = [
    generate,
    create_database,
    import_file,
    export_files,
    add_reviewers,
    data_manager,
    review_stream_1,
    review_stream,
    review_stream_8,
    label_stream,
    dashboard,
    bulk_accept,
    delete_tasks,
    shape_import,
]


def verdict(row: Row, tasks: int, startup: float) -> str:
    """The target of the step and whether it was met, or a projection to the target size.

    The projection scales the time after app startup linearly with the number of tasks.
    """
    if row.step not in TARGETS:
        return ""
    seconds, peak = TARGETS[row.step]
    target = f"< {seconds:g} s" + (f", < {peak:g} MB" if peak else "")
    if tasks == TARGET_TASKS or row.step in FIXED_SIZE:
        checks = [f"time {'met' if row.seconds < seconds else 'MISSED'}"]
        if peak is not None:
            checks.append(f"memory {'met' if row.peak_mb < peak else 'MISSED'}")
        return f"{target}: {', '.join(checks)}"
    projected = startup + max(row.seconds - startup, 0) * TARGET_TASKS / tasks
    return f"{target} at {TARGET_TASKS:,} tasks; projected {projected:.1f} s"


def print_report(bench: Bench, rows: list[Row]) -> None:
    data = bench.data
    print()
    print(
        f"Data: {data['tasks']:,} tasks, {data['annotations']:,} annotations "
        f"({data['skipped']:,} skipped), {data['predictions']:,} predictions; "
        f"{data['bytes'] / 1e6:.1f} MB of Label Studio JSON ({bench.data_file})"
    )
    print()
    header = f"{'step':<12} {'seconds':>8} {'CPU s':>8} {'peak MB':>8} {'output MB':>10}  target"
    print(header)
    print("-" * max(len(header), 60))
    for row in rows:
        output = f"{row.output_mb:10.1f}" if row.output_mb is not None else " " * 10
        numbers = f"{row.seconds:8.2f} {row.cpu_seconds:8.2f} {row.peak_mb:8.1f} {output}"
        print(f"{row.step:<12} {numbers}  {verdict(row, bench.tasks, bench.startup_seconds)}")
    for report in bench.reports:
        report()
    notes = [f"{row.step}: {row.note}" for row in rows if row.note]
    if notes:
        print()
        print("\n".join(notes))
    print()
    print(
        "Seconds are wall time, CPU s the process's user + system time (a check when the "
        "machine is busy);\npeak MB is the maximum resident set size of that process alone "
        "(os.wait4); output MB is the file written (the database for import)."
    )


@dataclass
class PgDatabase:
    server: str
    name: str

    @property
    def url(self) -> str:
        return f"{self.server.rstrip('/')}/{self.name}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(f"{self.server.rstrip('/')}/postgres", autocommit=True) as conn:
            conn.execute(sql)

    def drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def pg_database(server: str) -> PgDatabase:
    """A new, empty database on the server named by a postgresql://user@host:port URL."""
    server = re.sub(r"/[^/@]*$", "", server) if server.count("/") > 2 else server
    database = PgDatabase(server, f"reviewapp_bench_{secrets.token_hex(4)}")
    database._admin(f'CREATE DATABASE "{database.name}"')
    return database


SETUP = (generate, create_database, import_file, add_reviewers)


def _chosen_sections(only: str) -> list[Callable[[Bench], list[Row]]]:
    names = {name.strip() for name in only.split(",") if name.strip()}
    unknown = names - {section.__name__ for section in SECTIONS}
    if unknown:
        raise SystemExit(f"Unknown bench sections: {', '.join(sorted(unknown))}")
    if not names:
        return SECTIONS
    return [s for s in SECTIONS if s in SETUP or s.__name__ in names]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tasks",
        type=int,
        default=int(os.environ.get("BENCH_TASKS", "10000")),
        help="number of tasks (default: $BENCH_TASKS or 10000)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary database")
    parser.add_argument(
        "--database",
        default=os.environ.get("BENCH_DATABASE_URL", ""),
        help="postgresql://user@host:port to bench on PostgreSQL (default: SQLite)",
    )
    parser.add_argument(
        "--only",
        default=os.environ.get("BENCH_ONLY", ""),
        help="comma-separated sections to time, e.g. review_stream_8,dashboard (default: all;"
        " the data, the database, the import and the reviewers are always set up)",
    )
    args = parser.parse_args(argv)
    sections = _chosen_sections(args.only)
    workdir = Path(tempfile.mkdtemp(prefix="reviewapp-bench-"))
    postgres = pg_database(args.database) if args.database else None
    env = {
        **os.environ,
        "REVIEWAPP_DATABASE_URL": postgres.url if postgres else f"sqlite:///{workdir / 'bench.db'}",
        "REVIEWAPP_SECRET_KEY": secrets.token_hex(),
        "REVIEWAPP_MEDIA_FOLDER": str(workdir / "media"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    bench = Bench(args.tasks, workdir, env, engine="PostgreSQL" if postgres else "SQLite")
    rows: list[Row] = []
    try:
        for section in sections:
            print(f"{section.__name__} ...", flush=True)
            rows += section(bench)
    except BenchError as error:
        print(f"Benchmark failed: {error}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"Kept {workdir}" + (f" and {postgres.url}" if postgres else ""))
        else:
            shutil.rmtree(workdir, ignore_errors=True)
            if postgres:
                postgres.drop()
    print_report(bench, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
