"""Flask CLI commands: flask --app app <command>."""

from __future__ import annotations

import os
import sys

import click
from flask import Flask

from reviewapp.extensions import db
from reviewapp.models import Project


def register_cli(app: Flask) -> None:
    @app.cli.command("create-admin")
    @click.option("--email", required=True)
    @click.option("--password", required=True)
    def create_admin(email: str, password: str) -> None:
        """Create an admin account."""
        _create(email, password, "admin")

    @app.cli.command("create-user")
    @click.option("--email", required=True)
    @click.option("--password", required=True)
    @click.option(
        "--role", required=True, type=click.Choice(["admin", "manager", "reviewer", "annotator"])
    )
    def create_user(email: str, password: str, role: str) -> None:
        """Create an account with a role."""
        _create(email, password, role)

    @app.cli.command("api-token")
    @click.argument("email")
    def api_token(email: str) -> None:
        """Print a new API token for EMAIL (the previous one stops working)."""
        from reviewapp.services.users import find_user, new_api_token

        user = find_user(email)
        if user is None:
            raise click.ClickException(f"No user with email {email}.")
        token = new_api_token(user)
        db.session.commit()
        click.echo(token)

    @app.cli.command("add-member")
    @click.argument("project_id", type=int)
    @click.argument("email")
    def add_member_command(project_id: int, email: str) -> None:
        """Add the user EMAIL to project PROJECT_ID."""
        from reviewapp.services.users import add_member, find_user

        project = _project(project_id)
        user = find_user(email)
        if user is None:
            raise click.ClickException(f"No user with email {email}.")
        added = add_member(project.id, user)
        db.session.commit()
        click.echo(f"{email} {'added to' if added else 'is already a member of'} {project.title}.")

    @app.cli.command("import")
    @click.argument("project_id", type=int)
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    def import_command(project_id: int, file: str) -> None:
        """Import a Label Studio JSON (or CSV) FILE into project PROJECT_ID."""
        from reviewapp.services.import_export.importer import ImportFailed, import_file

        project = _project(project_id)
        with (
            open(file, "rb") as stream,
            click.progressbar(
                length=os.path.getsize(file), label="Importing", file=sys.stderr
            ) as bar,
        ):

            def progress(_tasks: int) -> None:
                bar.update(stream.tell() - bar.pos)

            try:
                summary = import_file(project, stream, file, progress)
                db.session.commit()
            except ImportFailed as error:
                raise click.ClickException(f"{error} Nothing was imported.") from None
            bar.update(bar.length - bar.pos)
        for line in summary.lines():
            click.echo(line)

    @app.cli.command("export")
    @click.argument("project_id", type=int)
    @click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
    @click.option(
        "--only",
        type=click.Choice(["all", "accepted", "ground-truth", "final"]),
        default="all",
        help="final: one final label per task with its source (docs/metrics.md).",
    )
    @click.option(
        "--include",
        type=click.Choice(["", "all"]),
        default="",
        help="With --only final, 'all' adds every annotation after the final label.",
    )
    @click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
    def export_command(project_id: int, fmt: str, only: str, include: str, output: str) -> None:
        """Export project PROJECT_ID as Label Studio JSON or CSV."""
        from reviewapp.services.import_export.exporter import export_chunks

        project = _project(project_id)
        chunks = export_chunks(project.id, fmt, only, include=include)
        with open(output, "w", encoding="utf-8", newline="") as out:
            for chunk in chunks:
                out.write(chunk)
        click.echo(f"Wrote {output}.")

    @app.cli.command("demo")
    @click.option("--url", default="http://127.0.0.1:5000", help="Where the app answers (printed).")
    def demo_command(url: str) -> None:
        """Load demo users and projects (once; does nothing if they exist) and print logins."""
        from reviewapp.demo.loader import load_demo

        lines = load_demo(url)
        db.session.commit()
        for line in lines:
            click.echo(line)

    @app.cli.command("recompute-metrics")
    @click.argument("project_id", type=int)
    def recompute_metrics_command(project_id: int) -> None:
        """Rebuild every stored agreement and ground-truth score of PROJECT_ID, and its totals."""
        from reviewapp.services.derived.scores import rescore_chunks
        from reviewapp.services.derived.task_columns import recount_project_totals
        from reviewapp.services.projects import project_counts

        project = _project(project_id)
        total = project_counts(project.id)["tasks"]
        count = 0
        with click.progressbar(length=total, label="Scoring tasks", file=sys.stderr) as bar:
            for count in rescore_chunks(project):
                db.session.commit()  # a chunk at a time: never a long hold on the write lock
                bar.update(count - bar.pos)
        recount_project_totals(project.id)
        db.session.commit()
        click.echo(f"Recomputed the scores of {count} tasks of {project.title}.")

    @app.cli.command("worker")
    @click.option("--workers", default=1, show_default=True, help="Jobs run at once.")
    def worker_command(workers: int) -> None:
        """Run background jobs (imports, exports, rescoring, big bulk actions) until Ctrl+C."""
        from reviewapp.services.jobs.queue import huey

        queue = huey()
        where = app.config.get("REDIS_URL") or queue.storage.filename
        click.echo(f"Job worker: {workers} at a time, queue in {where}. Ctrl+C stops it.")
        queue.create_consumer(workers=workers, worker_type="thread", periodic=True).run()

    @app.cli.command("jobs")
    @click.option("--project", "project_id", type=int, help="Only this project's jobs.")
    @click.option("--limit", default=20, show_default=True)
    def jobs_command(project_id: int | None, limit: int) -> None:
        """List recent jobs: id, kind, project, status, progress, message."""
        from sqlalchemy import select

        from reviewapp.models import Job
        from reviewapp.services.jobs.records import describe

        query = select(Job).order_by(Job.id.desc()).limit(limit)
        if project_id is not None:
            query = query.where(Job.project_id == project_id)
        rows = db.session.scalars(query).all()
        if not rows:
            click.echo("No jobs.")
        for job in rows:
            shown = describe(job)
            p = shown["progress"]
            done = f"{p['percent']:.0f}%" if p["percent"] is not None else f"{p['done']}"
            click.echo(
                f"{job.id:>6}  {job.kind:<8} project {job.project_id or '-':<5} "
                f"{job.status:<9} {done:>6}  {job.created_at:%Y-%m-%d %H:%M}  {shown['message']}"
            )


def _create(email: str, password: str, role: str) -> None:
    from reviewapp.services.users import UserError, create_user

    try:
        create_user(email, password, role)
    except UserError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Created {role} {email}.")


def _project(project_id: int) -> Project:
    project = db.session.get(Project, project_id)
    if project is None:
        raise click.ClickException(f"No project with id {project_id}.")
    return project
