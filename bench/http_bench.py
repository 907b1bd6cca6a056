"""Latency of pages and actions over HTTP against gunicorn, for `make bench`.

Each case is timed as a real browser request would be (session cookie, CSRF token, htmx
headers) with http.client (the sync workers close the connection after each answer, so
every request opens one, as behind a proxy), after a warm-up; p50 and p95 are over REPEAT
requests.
"""

from __future__ import annotations

import http.client
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPEAT = 30
WARMUP = 3
PASSWORD = "bench-password-123"


@dataclass
class Timing:
    case: str
    samples: list[float] = field(default_factory=list)
    note: str = ""
    targets: tuple[float, float] | None = None  # (p50, p95) ms, when not the table's own

    @property
    def p50(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn serving the app on a free port of 127.0.0.1, as the README deploys it.

    Sync workers (gunicorn's default): each request goes to a free process. The threaded
    worker keeps a client's connection on one process, so two reviewers could share one
    process (and its GIL) while another idles; measured 2x slower with 4 reviewers.
    """

    def __init__(self, env: dict[str, str], workers: int = 4, port: int | None = None):
        # A fixed port would reach another bench's server on a shared machine.
        self.port = port = port or _free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                str(workers),
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "app:app",
            ],
            cwd=ROOT,
            env=env,
        )
        # The job worker beside it, as `make run` and the README's deploy have: big bulk
        # actions run there.
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/login")
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        for process in (self.process, self.worker):
            process.terminate()
        for process in (self.process, self.worker):
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:  # a loaded machine: do not fail the bench here
                process.kill()
                process.wait()


class Client:
    """A logged-in browser: cookie, CSRF token, its own connection."""

    def __init__(self, port: int, email: str, password: str = PASSWORD):
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookie = ""
        page = self.get("/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        status, _ = self.request(
            "POST", "/login", {"email": email, "password": password, "csrf_token": token}
        )
        if status != 302:
            raise RuntimeError(f"log-in as {email} failed: {status}")
        home = self.get("/")
        self.csrf = re.search(r'"X-CSRFToken": "([^"]+)"', home).group(1)

    def request(self, method: str, path: str, form: dict | list | None = None, htmx=False):
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if htmx:
            headers["HX-Request"] = "true"
        if method == "POST" and getattr(self, "csrf", None):
            headers["X-CSRFToken"] = self.csrf
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            # The server closed the connection: open a new one.
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        data = response.read().decode()
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return response.status, data

    def get(self, path: str, htmx=False) -> str:
        status, body = self.request("GET", path, htmx=htmx)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}")
        return body


def warm(port: int, email: str, paths: list[str], clients: int = 4, rounds: int = 2) -> None:
    """Each worker process compiles templates and queries on its own first requests: send
    every path from several clients at once, so that every worker has served them before
    the timing (a sequential warm-up may reach only one worker)."""

    def run() -> None:
        client = Client(port, email)
        for _ in range(rounds):
            for path in paths:
                client.get(path, True)

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def timed(case: str, call: Callable[[], object], repeat: int = REPEAT) -> Timing:
    for _ in range(WARMUP):
        call()
    timing = Timing(case)
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        timing.samples.append(time.perf_counter() - start)
    return timing


def print_timings(title: str, timings: list[Timing], p50_target: float, p95_target: float):
    print()
    print(f"{title} (p50 target {p50_target:g} ms, p95 target {p95_target:g} ms)")
    print(f"{'case':<44} {'p50 ms':>8} {'p95 ms':>8}  verdict")
    for t in timings:
        p50_max, p95_max = t.targets or (p50_target, p95_target)
        ok = t.p50 <= p50_max and t.p95 <= p95_max
        print(f"{t.case:<44} {t.p50:8.1f} {t.p95:8.1f}  {'met' if ok else 'MISSED'} {t.note}")
