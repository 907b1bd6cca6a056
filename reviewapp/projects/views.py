import os

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_login import current_user, login_required

from reviewapp.downloads import attachment
from reviewapp.extensions import db
from reviewapp.labeling import PRESETS, LabelConfigError
from reviewapp.models import User
from reviewapp.permissions import MANAGERS, get_project_for, role_required, visible_projects
from reviewapp.projects import bp
from reviewapp.projects.forms import (
    CreateProjectForm,
    ExportForm,
    ImportForm,
    MemberForm,
    SettingsForm,
)
from reviewapp.services.derived.task_columns import POLICY_SETTINGS
from reviewapp.services.import_export.exporter import export_chunks, export_filename
from reviewapp.services.jobs import records
from reviewapp.services.jobs.submit import (
    start_export,
    start_import,
    start_recount,
    start_rescore,
)
from reviewapp.services.media import may_fetch_media
from reviewapp.services.projects import (
    SCORING_SETTINGS,
    SETTINGS,
    create_project,
    project_counts,
    projects_with_progress,
    update_project,
)
from reviewapp.services.users import add_member, find_user, remove_member


@bp.get("/")
@login_required
def index():
    """The projects the user may see, each with its task count and progress."""
    projects = projects_with_progress(visible_projects(current_user))
    return render_template("projects/index.html", projects=projects)


@bp.route("/projects/new", methods=["GET", "POST"])
@role_required(*MANAGERS)
def new():
    """Create a project from a preset or a pasted label config."""
    form = CreateProjectForm()
    if form.validate_on_submit():
        config = form.label_config.data.strip() or PRESETS[form.preset.data][1]
        settings = {name: getattr(form, name).data for name in SETTINGS if name != "title"}
        project = create_project(form.title.data, config, current_user, **settings)
        db.session.commit()
        flash(f"Created project {project.title}. Import tasks to start.", "success")
        return redirect(url_for("projects.show", project_id=project.id))
    status = 422 if form.is_submitted() else 200
    return render_template("projects/new.html", form=form, presets=PRESETS), status


@bp.get("/projects/<int:project_id>")
@login_required
def show(project_id: int):
    """A project's overview: counts, members and what the user can do here."""
    project = get_project_for(current_user, project_id)
    jobs = _recent_jobs(project) if current_user.role in MANAGERS else []
    return render_template(
        "projects/show.html", project=project, counts=project_counts(project.id), jobs=jobs
    )


def _recent_jobs(project) -> list[dict]:
    """The project's latest jobs for its page: each row, its describe() and who started it."""
    return [
        {
            "job": job,
            "info": records.describe(job),
            "user": db.session.get(User, job.user_id) if job.user_id else None,
        }
        for job in records.recent_jobs(project)
    ]


@bp.route("/projects/<int:project_id>/settings", methods=["GET", "POST"])
@login_required
def settings(project_id: int):
    """Label config and review settings."""
    project = get_project_for(current_user, project_id, MANAGERS)
    form = SettingsForm(obj=project)
    if form.validate_on_submit():
        values = {name: getattr(form, name).data for name in SETTINGS}
        rescore = any(values[name] != getattr(project, name) for name in SCORING_SETTINGS)
        recount = any(values[name] != getattr(project, name) for name in POLICY_SETTINGS)
        try:
            update_project(project, form.label_config.data.strip(), **values)
        except LabelConfigError as error:
            db.session.rollback()
            form.label_config.errors.append(str(error))
        else:
            db.session.commit()
            message = "Settings saved."
            if recount:
                # The tasks' states follow the overlap and the review criteria.
                job = records.wait_for(
                    start_recount(project, current_user).id, current_app.config["JOBS_WAIT"]
                )
                if job.status != "done":
                    flash(f"{message} The task states are being recounted.", "success")
                    return redirect(url_for("jobs.show", job_id=job.id), 303)
                message += f" Task states recounted for {job.result['tasks']:,} tasks."
            if rescore:
                # Region matches depend on the IoU threshold: every stored score changes.
                job = records.wait_for(
                    start_rescore(project, current_user).id, current_app.config["JOBS_WAIT"]
                )
                if job.status != "done":
                    flash(f"{message} The scores are being recomputed.", "success")
                    return redirect(url_for("jobs.show", job_id=job.id), 303)
                tasks = job.result["tasks"]
                message += f" Agreement and ground-truth scores recomputed for {tasks:,} tasks."
            flash(message, "success")
            return redirect(url_for("projects.settings", project_id=project.id))
    status = 422 if form.is_submitted() else 200
    return render_template("projects/settings.html", project=project, form=form), status


@bp.route("/projects/<int:project_id>/import", methods=["GET", "POST"])
@login_required
def import_tasks(project_id: int):
    """Upload a Label Studio JSON or CSV file; all of it is imported or none. The import runs
    as a job: done within JOBS_WAIT, the page answers as a plain import would; else the
    job's page shows its progress."""
    project = get_project_for(current_user, project_id, MANAGERS)
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        job = start_import(project, current_user, upload.stream, upload.filename or "")
        job = records.wait_for(job.id, current_app.config["JOBS_WAIT"])
        if job.status == "done":
            for line in job.result["messages"]:
                flash(line, "success")
            return redirect(url_for("projects.show", project_id=project.id))
        if job.status != "failed":
            return redirect(url_for("jobs.show", job_id=job.id), 303)
        form.file.errors.append(job.message)
    status = 422 if form.is_submitted() else 200
    return render_template("projects/import.html", project=project, form=form), status


@bp.get("/projects/<int:project_id>/export")
@login_required
def export(project_id: int):
    """Choose a format; with ?download=1 stream the file."""
    project = get_project_for(current_user, project_id, MANAGERS)
    form = ExportForm(request.args)
    if "download" in request.args:
        if not form.validate():
            abort(400, "Choose a format (json or csv) and which annotations to export.")
        fmt, only, include = form.format.data, form.only.data, form.include_value
        return attachment(
            export_filename(project.id, fmt, only, include),
            export_chunks(project.id, fmt, only, include=include),
        )
    return render_template("projects/export.html", project=project, form=form)


@bp.post("/projects/<int:project_id>/export")
@login_required
def export_choice(project_id: int):
    """The export page's form: Download redirects to the streamed file; Prepare in the
    background starts an export job and shows its page (with the link once done)."""
    project = get_project_for(current_user, project_id, MANAGERS)
    form = ExportForm(request.form)
    if not form.validate():
        abort(400, "Choose a format (json or csv) and which annotations to export.")
    fmt, only, include = form.format.data, form.only.data, form.include_value
    if "background" not in request.form:
        args = {"download": 1, "format": fmt, "only": only}
        if include:
            args["include"] = "all"
        return redirect(url_for("projects.export", project_id=project.id, **args), 303)
    job = start_export(project, current_user, fmt, only, include)
    records.wait_for(job.id, current_app.config["JOBS_WAIT"])
    return redirect(url_for("jobs.show", job_id=job.id), 303)


@bp.route("/projects/<int:project_id>/members", methods=["GET", "POST"])
@login_required
def members(project_id: int):
    """Add members by email; list them with a remove button."""
    project = get_project_for(current_user, project_id, MANAGERS)
    form = MemberForm()
    if form.validate_on_submit():
        user = find_user(form.email.data)
        if user is None:
            form.email.errors.append(f"No user with email {form.email.data}.")
        else:
            added = add_member(project.id, user)
            db.session.commit()
            flash(
                f"{user.email} {'added' if added else 'is already a member'}.",
                "success" if added else "info",
            )
            return redirect(url_for("projects.members", project_id=project.id))
    status = 422 if form.is_submitted() else 200
    return render_template("projects/members.html", project=project, form=form), status


@bp.post("/projects/<int:project_id>/members/<int:user_id>/remove")
@login_required
def remove(project_id: int, user_id: int):
    """Remove a member from the project (their annotations stay)."""
    project = get_project_for(current_user, project_id, MANAGERS)
    user = db.get_or_404(User, user_id)
    if remove_member(project.id, user):
        flash(f"{user.email} removed from {project.title}.", "success")
    db.session.commit()
    return redirect(url_for("projects.members", project_id=project.id))


@bp.get("/media/<path:filename>")
@login_required
def media(filename: str):
    """A file task data points at (the demo's images), for those who may see such a task;
    404 to anyone else, so it does not tell which files exist."""
    folder = current_app.config["MEDIA_FOLDER"]
    if not os.path.isdir(folder) or not may_fetch_media(current_user, filename):
        abort(404)
    response = send_from_directory(folder, filename)
    response.cache_control.private = True  # a shared cache must not serve it to others
    return response
