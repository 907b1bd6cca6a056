"""Who may do what: every role set and every "may" rule. Views load rows through these
loaders, so none forgets a check; services call the rules that guard a write."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import ColumnElement, and_, select

from reviewapp.extensions import db
from reviewapp.models import Annotation, Membership, Project, ReviewerAssignment, User

MANAGERS = ("admin", "manager")
REVIEWERS = ("admin", "manager", "reviewer")
# Reviewers are left out: their own annotations would land in the queue they review.
LABELLERS = ("admin", "manager", "annotator")


def has_role(user: User, roles: tuple[str, ...]) -> bool:
    return user.is_authenticated and user.role in roles


def may_see_dashboard(user: User, project: Project) -> bool:
    """Managers and admins; reviewers when the project lets them."""
    return has_role(user, MANAGERS) or (
        has_role(user, ("reviewer",)) and project.reviewers_see_dashboard
    )


def may_star_ground_truth(user: User) -> bool:
    """Managers and admins set and clear the ground-truth star."""
    return has_role(user, MANAGERS)


def may_change_view(user: User, view) -> bool:
    """A saved view is replaced or deleted by whoever saved it, or by a manager or admin."""
    return has_role(user, MANAGERS) or view.created_by_id == user.id


def may_manage_webhooks(user: User, project_id: int | None) -> bool:
    """A project's webhooks: its managers (members) and admins; global webhooks: admins."""
    if project_id is None:
        return has_role(user, ("admin",))
    return has_role(user, ("admin",)) or (has_role(user, MANAGERS) and is_member(user, project_id))


def may_comment(user: User, project: Project, annotation: Annotation) -> bool:
    """Comment on an annotation (and resolve or reopen its comments): its author, and the
    project's reviewers, managers and admins (the caller has checked they see the project)."""
    if not user.is_authenticated or annotation.project_id != project.id:
        return False
    return annotation.completed_by_id == user.id or has_role(user, REVIEWERS)


def get_annotation_for(user: User, annotation_id: int) -> tuple[Project, Annotation]:
    """The annotation and its project if the user may see it: a member (or admin) who is
    its author or a reviewer, manager or admin; 404 otherwise, so it does not leak."""
    annotation = db.session.get(Annotation, annotation_id)
    if annotation is None:
        abort(404)
    project = get_project_for(user, annotation.project_id)
    if not may_comment(user, project, annotation):
        abort(404)
    return project, annotation


def verdict_refusal(user: User, project: Project, annotation: Annotation) -> str | None:
    """Why the user may not review this annotation, or None when they may: reviewers,
    managers and admins; not their own annotation unless the project allows self-review;
    only tasks assigned to them when the project says so (the review queue's rules)."""
    if not has_role(user, REVIEWERS):
        return "Reviews are for reviewers, managers and admins."
    if annotation.completed_by_id == user.id and not project.allow_self_review:
        return "This project does not allow reviewing your own annotations."
    if project.review_only_assigned and not is_assigned(user, annotation.task_id):
        return (
            f"Task {annotation.task_id} is not assigned to you, and this project's reviewers "
            "review only the tasks assigned to them."
        )
    return None


# Why a bulk verdict leaves an annotation alone, by the key verdict_refusals_sql gives it.
VERDICT_SKIPS = {"own": "your own", "not_assigned": "not assigned to you"}


def verdict_refusals_sql(user: User, project: Project) -> list[tuple[str, ColumnElement]]:
    """verdict_refusal's per-annotation rules as SQL conditions on Annotation, in its order,
    for a verdict over many annotations at once: (VERDICT_SKIPS key, condition true when the
    user may not review the annotation). The role is the caller's check (the bulk action's
    roles), as it is the same for every annotation."""
    rules: list[tuple[str, ColumnElement]] = []
    if not project.allow_self_review:
        rules.append(("own", Annotation.completed_by_id == user.id))
    if project.review_only_assigned:
        assigned = select(ReviewerAssignment.id).where(
            ReviewerAssignment.task_id == Annotation.task_id, ReviewerAssignment.user_id == user.id
        )
        rules.append(("not_assigned", ~assigned.exists()))
    return rules


def is_assigned(user: User, task_id: int) -> bool:
    return (
        db.session.scalar(
            select(ReviewerAssignment.id).where(
                ReviewerAssignment.task_id == task_id, ReviewerAssignment.user_id == user.id
            )
        )
        is not None
    )


def role_required(*roles: str):
    """Log-in required, and the user's role must be one of roles (else 403)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def is_member(user: User, project_id: int) -> bool:
    return (
        db.session.scalar(
            select(Membership.user_id).where(
                Membership.project_id == project_id, Membership.user_id == user.id
            )
        )
        is not None
    )


def visible_projects(user: User):
    """A select() of the projects user may see: admins all, others those they belong to."""
    query = select(Project).order_by(Project.id.desc())
    if user.role != "admin":
        query = query.join(Membership, Membership.project_id == Project.id).where(
            Membership.user_id == user.id
        )
    return query


def get_project_for(user: User, project_id: int, roles: tuple[str, ...] | None = None) -> Project:
    """The project if user may see it (404 otherwise, so its existence does not leak);
    403 if roles is given and the user's role is not among them."""
    if not user.is_authenticated:
        abort(404)
    # The project and the membership in one round trip: every project page asks this first.
    row = db.session.execute(
        select(Project, Membership.user_id)
        .outerjoin(
            Membership,
            and_(Membership.project_id == Project.id, Membership.user_id == user.id),
        )
        .where(Project.id == project_id)
    ).first()
    if row is None or (user.role != "admin" and row.user_id is None):
        abort(404)
    project = row.Project
    if roles is not None and user.role not in roles:
        abort(403)
    return project


def get_in_project(model, object_id: int, project: Project):
    """The row of model (anything with a project_id) if it belongs to project, else 404:
    a forged id of another project's task or annotation gets no further."""
    row = db.session.get(model, object_id)
    if row is None or row.project_id != project.id:
        abort(404)
    return row
