"""Comments on annotations and the notifications they send.

A comment belongs to one annotation, may answer another comment of it (a thread), and may be
anchored to one region of the annotation's result (its result id) or to one control of the
project's config. The task's `unresolved_comments` column counts the comments of its
annotations that are not resolved; every write here recounts it under the task's lock, and
the comments go with their annotation (delete_all_annotations sets the count to 0).

Who may comment: the annotation's author, and reviewers, managers and admins of the project.
Who may resolve or reopen: the same people (the annotation's author resolves what a reviewer
asked of them). The annotation's author, everyone who reviewed it and everyone who commented
on it before are notified of a new comment, except its own author.
Services flush; the caller commits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update

from reviewapp.extensions import db
from reviewapp.labeling import LabelConfig, parse_label_config
from reviewapp.models import (
    COMMENT_MAX_LENGTH,
    Annotation,
    Comment,
    Membership,
    Notification,
    Project,
    Review,
    Task,
    User,
    utcnow,
)
from reviewapp.permissions import may_comment
from reviewapp.services.derived.scores import lock_tasks

# NUL (PostgreSQL's text cannot hold it) and lone UTF-16 surrogates (not Unicode text).
_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")


class CommentError(ValueError):
    """The comment cannot be written as asked (empty text, unknown region or control)."""


class CommentRefused(PermissionError):
    """The user may not comment on, resolve or reopen this."""


@dataclass(frozen=True)
class Region:
    """A region of an annotation's result that a comment may be anchored to."""

    id: str
    control: str
    description: str  # e.g. 'PER “Ada Lovelace”' or 'Car box'


def regions_of(config: LabelConfig, annotation: Annotation) -> list[Region]:
    """The annotation's result items that have an id, described for people: spans and boxes
    by label (and text), other items by their control."""
    data = annotation.task.data
    out = []
    for item in annotation.result or []:
        item_id = item.get("id")
        if not isinstance(item_id, str) or not item_id:
            continue
        control = config.controls.get(item.get("from_name"))
        value = item.get("value") or {}
        labels = " + ".join(
            value.get("labels")
            or value.get("rectanglelabels")
            or value.get("polygonlabels")
            or value.get("keypointlabels")
            or []
        )
        if control is not None and control.tag == "Labels":
            text = data.get(config.objects[control.to_name].value) if control else None
            snippet = ""
            if isinstance(text, str) and isinstance(value.get("start"), int):
                snippet = text[value["start"] : value.get("end", value["start"])]
            description = f"{labels or 'span'} “{snippet[:60]}”"
        elif control is not None and control.tag == "RectangleLabels":
            description = f"{labels or 'no label'} box"
        elif control is not None and control.tag == "PolygonLabels":
            description = f"{labels or 'no label'} polygon"
        elif control is not None and control.tag == "KeyPointLabels":
            description = f"{labels or 'no label'} point"
        else:
            description = str(item.get("from_name", ""))
        out.append(Region(item_id, str(item.get("from_name", "")), description))
    return out


def add_comment(
    annotation: Annotation,
    author: User,
    text: str,
    region_id: str | None = None,
    control: str | None = None,
    parent: Comment | None = None,
) -> Comment:
    """A new comment on the annotation, with its notifications; the task's count moves.

    Raises CommentRefused unless the author may comment (may_comment), CommentError for
    empty or too long text, a region_id that is not a result id of the annotation, a
    control not in the project's config, or a parent of another annotation. A reply with no
    anchor of its own takes its parent's."""
    project = db.session.get(Project, annotation.project_id)
    if not may_comment(author, project, annotation):
        raise CommentRefused("Only the annotation's author, reviewers and managers comment.")
    text = (text or "").strip()
    if not text:
        raise CommentError("Write a comment first: the text is empty.")
    if len(text) > COMMENT_MAX_LENGTH:
        raise CommentError(f"A comment has at most {COMMENT_MAX_LENGTH:,} characters.")
    if _NOT_TEXT.search(text):
        raise CommentError("A comment must not contain NUL characters or lone surrogates.")
    region_id = region_id or None
    control = control or None
    config = parse_label_config(project.label_config)
    if region_id is not None and region_id not in {r.id for r in regions_of(config, annotation)}:
        raise CommentError(f"Annotation #{annotation.id} has no region {region_id!r}.")
    if control is not None and control not in config.controls:
        raise CommentError(f"The label config has no control {control!r}.")
    if parent is not None:
        if parent.annotation_id != annotation.id:
            raise CommentError("A reply goes on the same annotation as the comment it answers.")
        if region_id is None and control is None:
            region_id, control = parent.region_id, parent.control
    lock_tasks([annotation.task_id])
    comment = Comment(
        annotation_id=annotation.id,
        project_id=annotation.project_id,
        task_id=annotation.task_id,
        author_id=author.id,
        parent_id=parent.id if parent is not None else None,
        text=text,
        region_id=region_id,
        control=control,
        resolved=False,
    )
    db.session.add(comment)
    db.session.flush()
    notify(comment, annotation)
    _recount([annotation.task_id])
    return comment


def may_resolve(user: User, comment: Comment, annotation: Annotation) -> bool:
    """The comment's author, the annotation's author, reviewers, managers and admins."""
    return comment.author_id == user.id or may_comment(
        user, db.session.get(Project, annotation.project_id), annotation
    )


def resolve(comment: Comment, user: User) -> Comment:
    """Mark the comment resolved (again: nothing changes); raises CommentRefused."""
    return _set_resolved(comment, user, True)


def reopen(comment: Comment, user: User) -> Comment:
    """Mark a resolved comment open again; raises CommentRefused."""
    return _set_resolved(comment, user, False)


def _set_resolved(comment: Comment, user: User, resolved: bool) -> Comment:
    annotation = db.session.get(Annotation, comment.annotation_id)
    if not may_resolve(user, comment, annotation):
        raise CommentRefused("Only its author, the annotation's author and reviewers may.")
    lock_tasks([comment.task_id])
    db.session.refresh(comment)  # as the lock holder before us left it
    if comment.resolved != resolved:
        comment.resolved = resolved
        comment.resolved_by_id = user.id if resolved else None
        comment.resolved_at = utcnow() if resolved else None
        db.session.flush()
        _recount([comment.task_id])
    return comment


def _recount(task_ids: Iterable[int]) -> None:
    """Set the tasks' unresolved_comments from their comments (the tasks are locked)."""
    ids = sorted(set(task_ids))
    unresolved = (
        select(func.count(Comment.id))
        .where(Comment.task_id == Task.id, Comment.resolved.is_(False))
        .scalar_subquery()
    )
    db.session.execute(
        update(Task)
        .where(Task.id.in_(ids))
        .values(unresolved_comments=unresolved)
        .execution_options(synchronize_session=False)
    )
    for task_id in ids:
        task = db.session.get(Task, task_id)
        if task is not None:
            db.session.expire(task, ["unresolved_comments"])


def comments_for(annotation_id: int) -> list[Comment]:
    """The annotation's comments, oldest first, with their authors."""
    return list(
        db.session.scalars(
            select(Comment).where(Comment.annotation_id == annotation_id).order_by(Comment.id)
        )
    )


@dataclass
class Thread:
    """A top-level comment and its replies, oldest first."""

    comment: Comment
    replies: list[Comment]


def threads(comments: list[Comment]) -> list[Thread]:
    """Comments grouped under their top-level comment (a reply to a reply joins the root)."""
    by_id = {c.id: c for c in comments}
    roots: dict[int, Thread] = {}
    for c in comments:
        root = c
        while root.parent_id is not None and root.parent_id in by_id:
            root = by_id[root.parent_id]
        if root.id == c.id:
            roots[c.id] = Thread(c, [])
        else:
            roots.setdefault(root.id, Thread(root, [])).replies.append(c)
    return list(roots.values())


def region_marks(comments: Iterable[Comment]) -> dict[str, dict]:
    """region id -> {"count": comments anchored to it, "open": how many unresolved}."""
    marks: dict[str, dict] = {}
    for c in comments:
        if c.region_id:
            mark = marks.setdefault(c.region_id, {"count": 0, "open": 0})
            mark["count"] += 1
            mark["open"] += not c.resolved
    return marks


def comments_by_annotation(annotation_ids: Iterable[int]) -> dict[int, list[Comment]]:
    """Comments of several annotations in one query (the task page), oldest first."""
    ids = list(annotation_ids)
    out: dict[int, list[Comment]] = {i: [] for i in ids}
    if ids:
        for c in db.session.scalars(
            select(Comment).where(Comment.annotation_id.in_(ids)).order_by(Comment.id)
        ):
            out[c.annotation_id].append(c)
    return out


def notify(comment: Comment, annotation: Annotation) -> list[int]:
    """One unread notification for each person concerned by the comment (the annotation's
    author, its reviewers, earlier commenters on it), not its author, only active members of
    the project (or admins); returns their user ids."""
    reviewers = select(Review.reviewer_id).where(Review.annotation_id == annotation.id)
    commenters = select(Comment.author_id).where(
        Comment.annotation_id == annotation.id, Comment.id != comment.id
    )
    candidates = {annotation.completed_by_id}
    candidates.update(db.session.scalars(reviewers))
    candidates.update(db.session.scalars(commenters))
    candidates.discard(comment.author_id)
    if not candidates:
        return []
    # Only people who can open it: active, and members of the project (or admins).
    member = select(Membership.user_id).where(
        Membership.project_id == comment.project_id, Membership.user_id == User.id
    )
    users = sorted(
        db.session.scalars(
            select(User.id).where(
                User.id.in_(candidates),
                User.active.is_(True),
                or_(User.role == "admin", member.exists()),
            )
        )
    )
    for user_id in users:
        db.session.add(
            Notification(user_id=user_id, comment_id=comment.id, project_id=comment.project_id)
        )
    db.session.flush()
    return users


def unread_count(user: User) -> int:
    """How many of the user's notifications are unread (one index range)."""
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)
        )
    )


NOTIFICATIONS_PAGE = 50


@dataclass(frozen=True)
class NotificationItem:
    notification: Notification
    comment: Comment
    author: str  # the comment author's display name
    project_title: str

    @property
    def unread(self) -> bool:
        return self.notification.read_at is None


def notifications_for(user: User, limit: int = NOTIFICATIONS_PAGE) -> list[NotificationItem]:
    """The user's latest notifications, newest first, unread or not, with their comments."""
    rows = db.session.execute(
        select(Notification, Comment, User, Project.title)
        .join(Comment, Comment.id == Notification.comment_id)
        .join(User, User.id == Comment.author_id)
        .join(Project, Project.id == Notification.project_id)
        .where(Notification.user_id == user.id)
        .order_by(Notification.id.desc())
        .limit(limit)
    )
    return [NotificationItem(n, c, u.display_name, title) for n, c, u, title in rows]


def open_notification(notification: Notification, user: User) -> Notification:
    """Mark the user's notification read (an opened one stays read); PermissionError for
    another user's."""
    if notification.user_id != user.id:
        raise CommentRefused("This notification is someone else's.")
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.flush()
    return notification


def mark_all_read(user: User) -> int:
    """Mark every unread notification of the user read; returns how many."""
    return db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount


@dataclass
class ThreadView:
    """What a comment thread shows for one annotation: its threads, the regions and controls a
    new comment may be anchored to, the marks for its result, and whether the user may write."""

    project_id: int
    annotation: Annotation
    threads: list[Thread]
    regions: list[Region]
    controls: list[str]
    marks: dict[str, dict]
    open_count: int
    can_comment: bool

    @property
    def region_names(self) -> dict[str, str]:
        return {r.id: r.description for r in self.regions}


def thread_view(
    project: Project, annotation: Annotation, user: User, comments: list[Comment] | None = None
) -> ThreadView:
    """The thread of the annotation as `user` sees it; comments if already loaded."""
    if comments is None:
        comments = comments_for(annotation.id)
    config = parse_label_config(project.label_config)
    return ThreadView(
        project_id=project.id,
        annotation=annotation,
        threads=threads(comments),
        regions=regions_of(config, annotation),
        controls=list(config.controls),
        marks=region_marks(comments),
        open_count=sum(not c.resolved for c in comments),
        can_comment=may_comment(user, project, annotation),
    )


def thread_views(
    project: Project, annotations: Iterable[Annotation], user: User
) -> dict[int, ThreadView]:
    """thread_view of each annotation, their comments read in one query."""
    annotations = list(annotations)
    comments = comments_by_annotation(a.id for a in annotations)
    return {a.id: thread_view(project, a, user, comments[a.id]) for a in annotations}
