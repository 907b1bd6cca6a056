"""Per-user column choices and per-project saved views of the Data Manager."""

from __future__ import annotations

from sqlalchemy import select

from reviewapp.extensions import db
from reviewapp.models import ColumnPreference, SavedView, User
from reviewapp.permissions import may_change_view

# key -> header, in display order; "select" and "id" cannot be hidden.
COLUMNS = {
    "data": "Data",
    "annotations": "Annotations",
    "skipped": "Skipped",
    "annotators": "Annotators",
    "agreement": "Agreement",
    "prediction_score": "Prediction score",
    "reviewers": "Reviewers",
    "state": "State",
    "review_status": "Review status",
    "ground_truth": "Ground truth",
    "unresolved_comments": "Unresolved comments",
    "created": "Created",
}


class ViewError(ValueError):
    """A saved view cannot be stored as asked."""


def hidden_columns(user: User, project_id: int) -> set[str]:
    pref = db.session.get(ColumnPreference, (user.id, project_id))
    return set(pref.hidden.split(",")) & set(COLUMNS) if pref and pref.hidden else set()


def set_hidden_columns(user: User, project_id: int, hidden: set[str]) -> None:
    pref = db.session.get(ColumnPreference, (user.id, project_id))
    if pref is None:
        pref = ColumnPreference(user_id=user.id, project_id=project_id)
        db.session.add(pref)
    pref.hidden = ",".join(sorted(hidden & set(COLUMNS)))


def saved_views(project_id: int) -> list[SavedView]:
    return list(
        db.session.scalars(
            select(SavedView).where(SavedView.project_id == project_id).order_by(SavedView.name)
        )
    )


def save_view(project_id: int, user: User, name: str, query: str) -> SavedView:
    """Store the filters and order under name; the same name replaces the older view."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ViewError("Give the view a name of at most 100 characters.")
    view = db.session.scalar(
        select(SavedView).where(SavedView.project_id == project_id, SavedView.name == name)
    )
    if view is not None and not may_change_view(user, view):
        raise ViewError(f"Someone else saved a view named {name!r}; choose another name.")
    if view is None:
        view = SavedView(project_id=project_id, name=name, created_by_id=user.id)
        db.session.add(view)
    view.query = query
    db.session.flush()
    return view


def delete_saved_view(view: SavedView, user: User) -> None:
    """Delete the view (the tasks are not touched); PermissionError unless the user saved
    it or manages the project."""
    if not may_change_view(user, view):
        raise PermissionError(
            f"The view {view.name} is someone else's; only they or a manager may delete it."
        )
    db.session.delete(view)
    db.session.flush()
