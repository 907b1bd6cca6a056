"""JSON for the Data Manager's saved views: list, save, delete."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

from flask import abort
from sqlalchemy import select

from reviewapp.api import bp
from reviewapp.api.auth import api_user, token_required
from reviewapp.api.common import iso, json_object, paginate, person, table_state
from reviewapp.extensions import db
from reviewapp.models import SavedView, User
from reviewapp.permissions import REVIEWERS, get_project_for
from reviewapp.services.data_manager.saved_views import (
    COLUMNS,
    ViewError,
    delete_saved_view,
    hidden_columns,
    save_view,
    set_hidden_columns,
)


def view_json(view: SavedView) -> dict:
    filters = {k: v if len(v) > 1 else v[0] for k, v in parse_qs(view.query).items()}
    return {
        "id": view.id,
        "project_id": view.project_id,
        "name": view.name,
        "query": view.query,
        "filters": filters,
        "created_by": person(db.session.get(User, view.created_by_id))
        if view.created_by_id
        else None,
        "created_at": iso(view.created_at),
    }


@bp.get("/projects/<int:project_id>/views")
@token_required
def views_api(project_id: int):
    """The project's saved views (Data Manager tabs), by name."""
    project = get_project_for(api_user(), project_id, REVIEWERS)
    query = select(SavedView).where(SavedView.project_id == project.id)
    meta, views = paginate(query.order_by(SavedView.name, SavedView.id))
    return {**meta, "views": [view_json(v) for v in views]}


@bp.post("/projects/<int:project_id>/views")
@token_required
def create_view_api(project_id: int):
    """Save filters and ordering (the Data Manager's parameters) under a name; the same name
    replaces the earlier view if the user may change it."""
    user = api_user()
    project = get_project_for(user, project_id, REVIEWERS)
    body = json_object("with 'name' and 'filters'")
    name = body.get("name")
    if not isinstance(name, str):
        abort(400, "'name' must be a string.")
    state = table_state(body.get("filters"))
    try:
        view = save_view(project.id, user, name, urlencode(state.filter_args(), doseq=True))
    except ViewError as error:
        db.session.rollback()
        abort(422, str(error))
    db.session.commit()
    return view_json(view), 201


def _columns_json(user: User, project_id: int) -> dict:
    hidden = hidden_columns(user, project_id)
    return {
        "columns": [
            {"name": name, "label": label, "shown": name not in hidden}
            for name, label in COLUMNS.items()
        ]
    }


@bp.get("/projects/<int:project_id>/columns")
@token_required
def columns_api(project_id: int):
    """The Data Manager's columns and which of them the token's user shows in this project."""
    user = api_user()
    project = get_project_for(user, project_id, REVIEWERS)
    return _columns_json(user, project.id)


@bp.put("/projects/<int:project_id>/columns")
@token_required
def set_columns_api(project_id: int):
    """Choose the columns the token's user shows in this project, as the column picker does:
    {"shown": [names]}; every other column is hidden."""
    user = api_user()
    project = get_project_for(user, project_id, REVIEWERS)
    shown = json_object("with 'shown': a list of column names").get("shown")
    if not isinstance(shown, list) or not all(isinstance(name, str) for name in shown):
        abort(400, "'shown' must be a list of column names.")
    unknown = sorted(set(shown) - set(COLUMNS))
    if unknown:
        abort(422, f"Unknown columns: {', '.join(unknown)}; use {', '.join(COLUMNS)}.")
    set_hidden_columns(user, project.id, set(COLUMNS) - set(shown))
    db.session.commit()
    return _columns_json(user, project.id)


@bp.delete("/views/<int:view_id>")
@token_required
def delete_view_api(view_id: int):
    """Delete a saved view: whoever saved it, or a manager or admin."""
    user = api_user()
    view = db.session.get(SavedView, view_id)
    if view is None:
        abort(404)
    get_project_for(user, view.project_id, REVIEWERS)
    name = view.name
    delete_saved_view(view, user)  # PermissionError: 403 with its message
    db.session.commit()
    return {"message": f"Deleted the view {name}."}


from reviewapp.api.schemas import (  # noqa: E402 - the description sits below the routes
    ID,
    MESSAGE,
    PAGE_PARAMETERS,
    TIMESTAMP,
    listing,
    obj,
    op,
    path_id,
    ref,
)

_FILTERS = {
    "type": "object",
    "description": (
        "The Data Manager's filter parameters and ordering, as GET .../tasks takes them "
        "(annotator, reviewer, review_status, ground_truth, agreement_min...); a list repeats "
        "a parameter."
    ),
}
_PROJECT_ID = path_id("project_id", "The project's id")

OPENAPI_SCHEMAS = {
    "SavedView": {
        "type": "object",
        "required": ["id", "project_id", "name", "query", "filters", "created_by", "created_at"],
        "properties": {
            "id": ID,
            "project_id": ID,
            "name": {"type": "string"},
            "query": {"type": "string", "description": "The filters as a URL query string"},
            "filters": _FILTERS,
            "created_by": {"anyOf": [ref("Person"), {"type": "null"}]},
            "created_at": TIMESTAMP,
        },
    },
}

_COLUMNS = obj(
    {
        "columns": {
            "type": "array",
            "items": obj(
                {
                    "name": {"type": "string"},
                    "label": {"type": "string"},
                    "shown": {"type": "boolean"},
                }
            ),
        }
    }
)

OPENAPI_PATHS = {
    "/api/projects/{project_id}/views": {
        "get": op(
            "views_api",
            "views",
            "The project's saved views (Data Manager tabs), by name (reviewers and up).",
            {200: listing("views", ref("SavedView"))},
            (400, 403, 404),
            parameters=[_PROJECT_ID, *PAGE_PARAMETERS],
        ),
        "post": op(
            "create_view_api",
            "views",
            "Save filters and ordering under a name (reviewers and up).",
            {201: ref("SavedView")},
            (400, 403, 404, 422),
            parameters=[_PROJECT_ID],
            body={
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 100},
                    "filters": {**_FILTERS, "type": ["object", "null"]},
                },
            },
            description=(
                "The same name replaces the earlier view when the user saved it or manages "
                "the project (else 422)."
            ),
        ),
    },
    "/api/views/{view_id}": {
        "delete": op(
            "delete_view_api",
            "views",
            "Delete a saved view: whoever saved it, or a manager or admin.",
            {200: MESSAGE},
            (403, 404),
            parameters=[path_id("view_id", "The saved view's id")],
        ),
    },
    "/api/projects/{project_id}/columns": {
        "get": op(
            "columns_api",
            "views",
            "The Data Manager's columns and which the token's user shows here (reviewers and up).",
            {200: _COLUMNS},
            (403, 404),
            parameters=[_PROJECT_ID],
        ),
        "put": op(
            "set_columns_api",
            "views",
            "Choose the columns the token's user shows here; the others are hidden.",
            {200: _COLUMNS},
            (400, 403, 404, 422),
            parameters=[_PROJECT_ID],
            body=obj({"shown": {"type": "array", "items": {"type": "string"}}}),
        ),
    },
}
