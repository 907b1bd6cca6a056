"""What the API modules for the pages' actions share: the JSON body, pagination, times, people."""

from __future__ import annotations

from datetime import datetime

from flask import abort, request
from sqlalchemy import Select, func, select
from werkzeug.datastructures import MultiDict

from reviewapp.extensions import db
from reviewapp.models import User
from reviewapp.services.data_manager.query import TableState


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() + "Z" if moment is not None else None


def json_object(hint: str) -> dict:
    """The request's JSON object, else 400 with hint (what to send)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, f"Send a JSON object {hint}.")
    return body


def page_args() -> tuple[int, int]:
    """`page` (from 1) and `page_size` (1..200, default as the task table): clamped into
    range as GET /api/projects/<id>/tasks clamps them; 400 when not whole numbers."""
    state = TableState.from_args({k: request.args.get(k, "") for k in ("page", "page_size")})
    if state.errors:
        abort(400, "; ".join(state.errors))
    return state.page, state.page_size


def paginate(query: Select) -> tuple[dict, list]:
    """The page of query's rows the request asks for (objects for a one-entity query, else
    row tuples), and count/page/page_size for the answer; query must be ordered so that the
    pages do not overlap."""
    page, page_size = page_args()
    count = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.execute(query.limit(page_size).offset((page - 1) * page_size)).all()
    if len(query.column_descriptions) == 1:
        rows = [row[0] for row in rows]
    return {"count": count, "page": page, "page_size": page_size}, rows


def table_state(filters: object) -> TableState:
    """The Data Manager's filters and ordering from a JSON object (lists repeat a key), or
    400 naming every bad value."""
    if filters is None:
        filters = {}
    if not isinstance(filters, dict):
        abort(400, "'filters' must be an object of Data Manager filter parameters.")
    args = MultiDict()
    for key, value in filters.items():
        for item in value if isinstance(value, list) else [value]:
            args.add(str(key), str(item).lower() if isinstance(item, bool) else str(item))
    state = TableState.from_args(args)
    if state.errors:
        abort(400, "; ".join(state.errors))
    return state


def user_json(user: User) -> dict:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "active": user.active,
        "created_at": iso(user.created_at),
    }


def person(user: User | None) -> dict | None:
    return {"id": user.id, "email": user.email} if user is not None else None
