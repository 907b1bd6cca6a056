"""Who may fetch a file served at /media/...: whoever may see a task that uses it."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

from sqlalchemy import ColumnElement, and_, literal, or_, select

from reviewapp.db import text_search
from reviewapp.extensions import db
from reviewapp.models import Membership, Task, User
from reviewapp.permissions import has_role

PREFIX = "/media/"


def may_fetch_media(user: User, filename: str) -> bool:
    """True for admins, and for members of a project with a task whose data holds the file's
    URL (`/media/<filename>`, as written or percent-encoded) as a whole string value.

    A value that merely contains the URL (`/media/x.png.bak`, `/media/x.png?v=2`) does not
    count, nor does an absolute URL or HTML that embeds it; nor do annotations or
    predictions. Everyone else is refused alike, whether or not the file exists.
    """
    if has_role(user, ("admin",)):
        return True
    if not user.is_authenticated:
        return False
    urls = {PREFIX + filename, PREFIX + quote(filename)}
    query = (
        select(Task.data)
        .join(Membership, Membership.project_id == Task.project_id)
        .where(Membership.user_id == user.id, or_(*(_mentions(url) for url in urls)))
    )
    return any(not urls.isdisjoint(_string_values(data)) for data in db.session.scalars(query))


def _mentions(url: str) -> ColumnElement[bool]:
    """Tasks whose data may hold url as a whole value. task.data_text is data's string values
    lower-cased, one per line: a LIKE for the URL between line breaks finds the candidates
    (reading only the user's projects' tasks, ix_task_project_id; on SQLite the trigram index
    narrows them first); may_fetch_media then checks the JSON exactly (case, a value that
    itself spans lines)."""
    needle = url.lower()
    lines = literal("\n") + Task.data_text + literal("\n")
    condition = lines.like(text_search.like_pattern(f"\n{needle}\n"), escape="\\")
    if text_search.indexed(db.session.get_bind().dialect.name, needle):
        condition = and_(Task.id.in_(text_search.matching_ids(needle)), condition)
    return condition


def _string_values(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _string_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from _string_values(item)
