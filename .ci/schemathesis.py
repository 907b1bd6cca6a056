"""CI gate (issue 17): Schemathesis against a live server, with the API's own OpenAPI document.

    .venv/bin/python .ci/schemathesis.py   # SCHEMATHESIS_EXAMPLES=n to change the bound

A fresh SQLite instance folder, migrated, with throwaway accounts (an admin, a manager, an
annotator) and a small project (the annotator a member, a few tasks with annotations, a
prediction, a saved view); gunicorn serves it on a free port, jobs run in the request
(REVIEWAPP_JOBS_IMMEDIATE). Schemathesis then runs over every operation of
/api/openapi.json, first with the annotator's token, then with the admin's, a bounded number
of examples each, and fails on a 5xx, an answer that does not match its schema (status,
content type, body), or an invalid request that was not refused. It leaves out the
operations marked `x-ends-own-credentials` (delete a project, change a role or the active
flag, reset a password, replace a token) so that a run cannot lock itself out.

Exit code 0 when both runs pass; the server's log is printed when it logged a traceback.
Everything it starts is stopped and its temporary folder removed, on failure too.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "25"))
RUN_SECONDS = 130  # each of the two runs; the whole gate stays under five minutes
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "ignored_auth",
)
PASSWORD = "schemathesis-password-123"


def seed(env: dict[str, str]) -> dict[str, str]:
    """Migrate the empty database and create the accounts and the project; their tokens."""
    os.environ.update(env)
    from flask_migrate import upgrade

    from reviewapp import create_app
    from reviewapp.extensions import db
    from reviewapp.labeling.presets import TEXT_CLASSIFICATION
    from reviewapp.models import Webhook
    from reviewapp.services.import_export.importer import import_tasks
    from reviewapp.services.projects import create_project
    from reviewapp.services.users import add_member, create_user, new_api_token
    from reviewapp.services.webhooks import emit

    app = create_app()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        users = {
            role: create_user(f"{role}@schemathesis.example.com", PASSWORD, role)
            for role in ("admin", "manager", "annotator")
        }
        project = create_project("Fuzzed", TEXT_CLASSIFICATION, users["manager"])
        add_member(project.id, users["annotator"])

        def answer(label: str, by: str) -> dict:
            result = {"choices": [label]}
            item = {"from_name": "sentiment", "to_name": "text", "type": "choices"}
            return {"completed_by": by, "result": [{**item, "value": result}]}

        manager, annotator = users["manager"].email, users["annotator"].email
        import_tasks(
            project,
            [
                {
                    "data": {"text": "good"},
                    "annotations": [answer("Positive", manager), answer("Negative", annotator)],
                    "predictions": [
                        {"model_version": "m1", "score": 0.7, **answer("Positive", manager)}
                    ],
                },
                {"data": {"text": "bad"}, "annotations": [answer("Negative", annotator)]},
                {"data": {"text": "plain"}},
            ],
        )
        # A webhook with one delivery, so the webhook operations meet ids that exist; its
        # loopback URL is refused at each delivery (no REVIEWAPP_WEBHOOK_ALLOW_PRIVATE), so
        # nothing the fuzzer does calls out.
        hook = Webhook(
            project_id=project.id,
            url="http://127.0.0.1:9/hook",
            events=["project.updated"],
            secret="fuzz",
            created_by_id=users["manager"].id,
        )
        db.session.add(hook)
        db.session.flush()
        emit(project.id, "project.updated", project)
        tokens = {role: new_api_token(user) for role, user in users.items()}
        db.session.commit()
    return tokens


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            json.load(response)
            return
        time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within 30 s")


def excluded_operations(url: str) -> list[str]:
    """The operation ids marked x-ends-own-credentials in the served document."""
    with urllib.request.urlopen(url, timeout=5) as response:
        document = json.load(response)
    return sorted(
        operation["operationId"]
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and operation.get("x-ends-own-credentials")
    )


def fuzz(url: str, token: str, excluded: list[str], env: dict[str, str], folder: Path) -> int:
    """One schemathesis run; it works in `folder` so that its cache and reports go with it."""
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        url,
        "--header",
        f"Authorization: Token {token}",
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(EXAMPLES),
        "--phases",
        "examples,coverage,fuzzing",
        "--generation-database",
        "none",
        "--seed",
        "17",
        # One worker: hypothesis' caches are not thread-safe (a KeyError inside schemathesis).
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--no-color",
        *(arg for name in excluded for arg in ("--exclude-operation-id", name)),
    ]
    try:
        return subprocess.run(command, cwd=folder, env=env, timeout=RUN_SECONDS).returncode
    except subprocess.TimeoutExpired:
        print(f"schemathesis took longer than {RUN_SECONDS} s")
        return 1


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="reviewapp-schemathesis-"))
    env = {
        **os.environ,
        "REVIEWAPP_SECRET_KEY": secrets.token_hex(32),
        "REVIEWAPP_INSTANCE_PATH": str(folder / "instance"),
        "REVIEWAPP_JOBS_IMMEDIATE": "true",
    }
    server = None
    try:
        tokens = seed(env)
        port = free_port()
        log = open(folder / "gunicorn.log", "wb")  # noqa: SIM115 - open while the server runs
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                # Long generated query strings reach the app (which answers them) instead of
                # gunicorn's own 414, which the document does not describe.
                "--limit-request-line",
                "0",
                "app:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}/api/openapi.json"
        wait_until_up(url, server)
        excluded = excluded_operations(url)
        failed = []
        for role in ("annotator", "admin"):
            print(f"== schemathesis as the {role} ==", flush=True)
            if fuzz(url, tokens[role], excluded, env, folder) != 0:
                failed.append(role)
        text = (folder / "gunicorn.log").read_text(errors="replace")
        if "Traceback" in text:
            print(text[text.index("Traceback") :][:4000])
            failed.append("server log")
        if failed:
            print(f"schemathesis failed: {', '.join(failed)}")
            return 1
        print("schemathesis: both runs passed")
        return 0
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
