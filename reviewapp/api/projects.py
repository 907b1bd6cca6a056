"""JSON for the project list, a project's settings and deletion, and members:
the services and rules of the projects pages."""

from __future__ import annotations

import math

from flask import abort, request
from sqlalchemy import select

from reviewapp.api import bp
from reviewapp.api.auth import api_user, token_required
from reviewapp.api.common import iso, json_object, paginate, person, user_json
from reviewapp.api.jobs import job_json, wait_seconds
from reviewapp.api.views import project_json
from reviewapp.extensions import db
from reviewapp.labeling import LabelConfigError
from reviewapp.models import Membership, Project, User
from reviewapp.permissions import MANAGERS, get_project_for, visible_projects
from reviewapp.projects.forms import SettingsForm
from reviewapp.services.data_manager.query import MAX_ID
from reviewapp.services.derived.task_columns import POLICY_SETTINGS
from reviewapp.services.jobs.records import wait_for
from reviewapp.services.jobs.submit import start_recount, start_rescore
from reviewapp.services.projects import (
    SCORING_SETTINGS,
    SETTINGS,
    delete_project,
    projects_with_progress,
    update_project,
)
from reviewapp.services.users import add_member, find_user, remove_member

FLAG_SETTINGS = (
    "allow_empty_annotations",
    "review_only_finished",
    "require_comment_on_reject",
    "review_only_assigned",
    "allow_self_review",
    "reviewers_see_dashboard",
    "auto_accept",
)
FRACTION_SETTINGS = (
    "low_agreement_threshold",
    "iou_threshold",
    "keypoint_radius_percent",
    "auto_accept_min_agreement",
    "auto_accept_error_target",
)
EDITABLE = ("label_config", *SETTINGS)


def project_settings_json(project: Project) -> dict:
    """A project as GET /api/projects/<id> shows it, with every setting of the settings page."""
    return {**project_json(project), **{name: getattr(project, name) for name in SETTINGS}}


@bp.get("/projects")
@token_required
def projects_api():
    """The projects the user may see, newest first, with their progress."""
    meta, projects = paginate(visible_projects(api_user()))
    ids = [p.id for p in projects]
    rows = projects_with_progress(select(Project).where(Project.id.in_(ids or [-1])))
    by_id = {row.project.id: row for row in rows}
    items = []
    for project in projects:
        row = by_id[project.id]
        progress = {
            "tasks": row.tasks,
            "annotated_tasks": row.annotated_tasks,
            "annotations": row.annotations,
            "reviewed": row.reviewed,
        }
        items.append({**project_json(project), "progress": progress})
    return {**meta, "projects": items}


@bp.patch("/projects/<int:project_id>")
@token_required
def update_project_api(project_id: int):
    """Change settings as the settings form does; a new IoU threshold rescores (a job)."""
    user = api_user()
    project = get_project_for(user, project_id, MANAGERS)
    seconds = wait_seconds(request.args)  # refused before anything is saved
    body = json_object("of project settings to change")
    values = _checked_settings(body)
    data = {name: getattr(project, name) for name in EDITABLE}
    data.update(values)
    form = SettingsForm(formdata=None, data=data, meta={"csrf": False})
    if not form.validate():
        problems = (f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
        abort(422, "; ".join(problems))
    settings = {name: data[name] for name in SETTINGS}
    rescore = any(settings[name] != getattr(project, name) for name in SCORING_SETTINGS)
    recount = any(settings[name] != getattr(project, name) for name in POLICY_SETTINGS)
    try:
        update_project(project, data["label_config"].strip(), **settings)
    except LabelConfigError as error:
        db.session.rollback()
        abort(422, f"label_config: {error}")
    db.session.commit()
    answer = project_settings_json(project)
    if recount:
        # The tasks' states follow the overlap and the review criteria.
        answer["recount_job"] = job_json(wait_for(start_recount(project, user).id, seconds))
    if rescore:
        # Region matches depend on the IoU threshold: every stored score changes.
        job = wait_for(start_rescore(project, user).id, seconds)
        answer["rescore_job"] = job_json(job)
    return answer


def _checked_settings(body: dict) -> dict:
    """The settings in body, each of its JSON type (400 otherwise); the form checks ranges."""
    unknown = sorted(set(body) - set(EDITABLE))
    if unknown:
        abort(400, f"Unknown settings {', '.join(unknown)}; settings are {', '.join(EDITABLE)}.")
    for name, value in body.items():
        check, kind = _KINDS[_kind_of(name)]
        if not check(value):
            abort(400, f"'{name}' must be {kind}.")
    return {k: float(v) if k in FRACTION_SETTINGS else v for k, v in body.items()}


def _kind_of(name: str) -> str:
    if name in FLAG_SETTINGS:
        return "flag"
    if name in FRACTION_SETTINGS:
        return "fraction"
    if name == "reject_actions":
        return "list"
    counts = ("overlap", "review_sample_percent", "auto_accept_min_annotations")
    return "count" if name in counts else "text"


# bool is an int in Python: true is not an overlap, nor 1 a flag.
_KINDS = {
    "text": (lambda v: isinstance(v, str), "a string"),
    "flag": (lambda v: isinstance(v, bool), "true or false"),
    "count": (lambda v: type(v) is int, "a whole number"),
    "list": (lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v), "a list"),
    "fraction": (lambda v: type(v) in (int, float) and math.isfinite(v), "a number"),
}


@bp.delete("/projects/<int:project_id>")
@token_required
def delete_project_api(project_id: int):
    """Delete a project and everything in it (admins); the body must repeat its title."""
    user = api_user()
    project = get_project_for(user, project_id, ("admin",))
    body = request.get_json(silent=True)
    title = project.title
    if not isinstance(body, dict) or body.get("confirm") != title:
        abort(400, f'Send {{"confirm": "<the project\'s title>"}} to delete project {project_id}.')
    delete_project(project, user)
    db.session.commit()
    return {"message": f"Deleted project {title} with its tasks, annotations and reviews."}


def member_json(user: User, since) -> dict:
    return {**user_json(user), "member_since": iso(since)}


@bp.get("/projects/<int:project_id>/members")
@token_required
def members_api(project_id: int):
    """The project's members by email, as the members page lists them."""
    project = get_project_for(api_user(), project_id, MANAGERS)
    query = (
        select(User, Membership.created_at)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.project_id == project.id)
        .order_by(User.email, User.id)
    )
    meta, rows = paginate(query)
    return {**meta, "members": [member_json(user, since) for user, since in rows]}


@bp.post("/projects/<int:project_id>/members")
@token_required
def add_member_api(project_id: int):
    """Add a user by `user_id` (or `email`, as the members page does)."""
    project = get_project_for(api_user(), project_id, MANAGERS)
    body = json_object("with 'user_id' (or 'email')")
    user = _user_from(body)
    role = body.get("role")
    if role is not None and role != user.role:
        # Roles are global, not per project: the page adds people with the role they have.
        abort(
            422,
            f"Roles are global: {user.email} is a {user.role}. An admin changes it with "
            f"PATCH /api/users/{user.id}; leave 'role' out to add them.",
        )
    added = add_member(project.id, user)
    db.session.commit()
    since = db.session.get(Membership, (project.id, user.id)).created_at
    message = f"{user.email} {'added' if added else 'is already a member'}."
    return {"member": member_json(user, since), "added": added, "message": message}, (
        201 if added else 200
    )


def _user_from(body: dict) -> User:
    if "user_id" in body:
        value = body["user_id"]
        if type(value) is not int or not 0 < value <= MAX_ID:
            abort(400, "'user_id' must be a positive integer id.")
        user = db.session.get(User, value)
        if user is None:
            abort(422, f"No user with id {value}.")
        return user
    email = body.get("email")
    if not isinstance(email, str) or not email.strip():
        abort(400, "Send 'user_id' (or 'email') of the user to add.")
    user = find_user(email)
    if user is None:
        abort(422, f"No user with email {email}.")
    return user


@bp.delete("/projects/<int:project_id>/members/<int:user_id>")
@token_required
def remove_member_api(project_id: int, user_id: int):
    """Remove a member (their annotations stay)."""
    project = get_project_for(api_user(), project_id, MANAGERS)
    user = db.session.get(User, user_id)
    if user is None or not remove_member(project.id, user):
        abort(404)
    db.session.commit()
    return {"message": f"{user.email} removed from {project.title}.", "user": person(user)}


from reviewapp.api.schemas import (  # noqa: E402 - the description sits below the routes
    MESSAGE,
    PAGE_PARAMETERS,
    TIMESTAMP,
    listing,
    op,
    path_id,
    ref,
    with_message,
)

_UNIT = {"type": "number", "minimum": 0, "maximum": 1}
# What PATCH takes: the settings form's fields and ranges.
_SETTINGS_BODY = {
    "title": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S"},
    "description": {"type": "string", "maxLength": 5000},
    "label_config": {
        "type": "string",
        "description": "Label Studio XML; must fit every annotation",
    },
    "instructions": {"type": "string", "maxLength": 20000},
    "overlap": {"type": "integer", "minimum": 1, "maximum": 50},
    "allow_empty_annotations": {"type": "boolean"},
    "reject_actions": {
        "type": "array",
        "items": {"type": "string", "enum": ["remove", "return", "reassign"]},
        "minItems": 1,
        "uniqueItems": True,
        "description": "The reject actions offered to reviewers",
    },
    "default_reject_action": {"type": "string", "enum": ["remove", "return", "reassign"]},
    "review_criteria": {
        "type": "string",
        "enum": ["one", "all"],
        "description": "done when one annotation is accepted or fixed, or when all are reviewed",
    },
    "review_only_finished": {"type": "boolean"},
    "review_order": {
        "type": "string",
        "enum": ["table", "random", "by_annotator", "low_agreement_first"],
    },
    "review_sample_percent": {"type": "integer", "minimum": 1, "maximum": 100},
    "require_comment_on_reject": {"type": "boolean"},
    "review_only_assigned": {"type": "boolean"},
    "allow_self_review": {"type": "boolean"},
    "reviewers_see_dashboard": {"type": "boolean"},
    "low_agreement_threshold": _UNIT,
    "iou_threshold": _UNIT,
    "keypoint_radius_percent": {
        "type": "number",
        "minimum": 0.1,
        "maximum": 100,
        "description": "Key points closer than this % of the image diagonal agree in part",
    },
    "reject_reasons": {"type": "string", "description": "One reason per line"},
    "auto_accept": {
        "type": "boolean",
        "description": "Switching it on draws the spot-check among the qualifying tasks",
    },
    "auto_accept_min_agreement": _UNIT,
    "auto_accept_min_annotations": {"type": "integer", "minimum": 2, "maximum": 50},
    "auto_accept_error_target": {"type": "number", "minimum": 0.001, "maximum": 0.5},
}
_PROJECT_ID = path_id("project_id", "The project's id")
_MEMBER_ANSWER = {
    "type": "object",
    "required": ["member", "added", "message"],
    "properties": {
        "member": ref("Member"),
        "added": {"type": "boolean", "description": "false: was already a member"},
        "message": {"type": "string"},
    },
}

OPENAPI_SCHEMAS = {
    "ProjectSettings": {
        "allOf": [
            ref("Project"),
            {
                "type": "object",
                "required": list(SETTINGS),
                "properties": {
                    name: {"type": spec["type"]} for name, spec in _SETTINGS_BODY.items()
                },
            },
        ],
        "description": "A project with every setting of its settings page.",
    },
    "ProjectListItem": {
        "allOf": [
            ref("Project"),
            {
                "type": "object",
                "required": ["progress"],
                "properties": {
                    "progress": {
                        "type": "object",
                        "required": ["tasks", "annotated_tasks", "annotations", "reviewed"],
                        "properties": {
                            name: {"type": "integer", "minimum": 0}
                            for name in ("tasks", "annotated_tasks", "annotations", "reviewed")
                        },
                    }
                },
            },
        ]
    },
    "Member": {
        "allOf": [
            ref("User"),
            {
                "type": "object",
                "required": ["member_since"],
                "properties": {"member_since": {**TIMESTAMP, "type": ["string", "null"]}},
            },
        ],
        "description": "A user who belongs to the project, and since when.",
    },
}

OPENAPI_PATHS = {
    "/api/projects": {
        "get": op(
            "projects_api",
            "projects",
            "The projects the user may see (admins: all), newest first, with their progress.",
            {200: listing("projects", ref("ProjectListItem"))},
            (400,),
            parameters=PAGE_PARAMETERS,
        ),
    },
    "/api/projects/{project_id}": {
        "patch": op(
            "update_project_api",
            "projects",
            "Change settings as the settings form does (managers and admins).",
            {
                200: {
                    "allOf": [
                        ref("ProjectSettings"),
                        {
                            "type": "object",
                            "properties": {"rescore_job": ref("Job"), "recount_job": ref("Job")},
                        },
                    ]
                }
            },
            (400, 403, 404, 422),
            parameters=[
                _PROJECT_ID,
                {
                    "name": "wait",
                    "in": "query",
                    "description": "Seconds to wait for a rescore job this change starts.",
                    "schema": {"type": "number", "minimum": 0, "maximum": 60},
                },
            ],
            body={"type": "object", "properties": _SETTINGS_BODY},
            description=(
                "Any fields of the settings page; the label config is checked against every "
                "stored annotation (422 naming the first that does not fit). A new IoU "
                "threshold rescores the project as a job (`rescore_job`); a new overlap, "
                "review criterion or sample recounts the task states (`recount_job`)."
            ),
        ),
        "delete": op(
            "delete_project_api",
            "projects",
            "Delete the project with its tasks, annotations and reviews (admins).",
            {200: MESSAGE},
            (400, 403, 404),
            parameters=[_PROJECT_ID],
            body={
                "type": "object",
                "required": ["confirm"],
                "properties": {"confirm": {"type": "string", "description": "The title"}},
            },
            description="The body must repeat the project's title as `confirm` (else 400).",
            ends_own_credentials=True,
        ),
    },
    "/api/projects/{project_id}/members": {
        "get": op(
            "members_api",
            "members",
            "The project's members by email (managers and admins).",
            {200: listing("members", ref("Member"))},
            (400, 403, 404),
            parameters=[_PROJECT_ID, *PAGE_PARAMETERS],
        ),
        "post": op(
            "add_member_api",
            "members",
            "Add a user by `user_id` or `email` (managers and admins).",
            {201: _MEMBER_ANSWER, 200: _MEMBER_ANSWER},
            (400, 403, 404, 422),
            parameters=[_PROJECT_ID],
            body={
                "type": "object",
                "properties": {
                    "user_id": {"type": "integer", "minimum": 1},
                    "email": {"type": "string"},
                    "role": {
                        "type": ["string", "null"],
                        "description": "Must be the user's own role",
                    },
                },
            },
            description=(
                "201 when added, 200 when already a member. Roles are global: a `role` other "
                "than the user's is refused (422)."
            ),
        ),
    },
    "/api/projects/{project_id}/members/{user_id}": {
        "delete": op(
            "remove_member_api",
            "members",
            "Remove a member (managers and admins); their annotations stay.",
            {200: with_message("user", ref("Person"))},
            (403, 404),
            parameters=[_PROJECT_ID, path_id("user_id", "The member's id")],
        ),
    },
}
