"""Creating projects and changing their settings."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, delete, func, select

from reviewapp.extensions import db
from reviewapp.labeling import LabelConfigError, ResultError, parse_label_config, validate_result
from reviewapp.models import REJECT_ACTIONS, Annotation, Prediction, Project, Task, User
from reviewapp.permissions import has_role
from reviewapp.services import auto_accept
from reviewapp.services.users import add_member
from reviewapp.services.webhooks import emit

SETTINGS = (
    "title",
    "description",
    "instructions",
    "overlap",
    "allow_empty_annotations",
    "reject_actions",
    "default_reject_action",
    "review_criteria",
    "review_only_finished",
    "review_order",
    "review_sample_percent",
    "require_comment_on_reject",
    "review_only_assigned",
    "allow_self_review",
    "reviewers_see_dashboard",
    "low_agreement_threshold",
    "iou_threshold",
    "keypoint_radius_percent",
    "reject_reasons",
    "auto_accept",
    "auto_accept_min_agreement",
    "auto_accept_min_annotations",
    "auto_accept_error_target",
)
# The settings every stored score depends on: changing one rescores the project.
SCORING_SETTINGS = ("iou_threshold", "keypoint_radius_percent")


def create_project(title: str, label_config: str, created_by: User | None, **settings) -> Project:
    """Create a project whose creator is a member; raises LabelConfigError for a bad config."""
    parse_label_config(label_config)
    project = Project(title=title.strip(), label_config=label_config, **_canonical(settings))
    if created_by is not None:
        project.created_by_id = created_by.id
    db.session.add(project)
    db.session.flush()
    if created_by is not None:
        add_member(project.id, created_by)
    if project.auto_accept:
        auto_accept.switch_on(project)
    return project


def _canonical(settings: dict) -> dict:
    """Reject actions stored in one order, whatever order a form or a script sent them in."""
    if settings.get("reject_actions") is not None:
        chosen = set(settings["reject_actions"])
        settings = {**settings, "reject_actions": [a for a in REJECT_ACTIONS if a in chosen]}
    return settings


def update_project(project: Project, label_config: str, **settings) -> None:
    """Change settings and label config; a new config must still fit every stored annotation."""
    if label_config != project.label_config:
        config = parse_label_config(label_config)
        rows = db.session.execute(
            select(Annotation.id, Annotation.task_id, Annotation.result)
            .where(Annotation.project_id == project.id)
            .execution_options(yield_per=2000)
        )
        for annotation_id, task_id, result in rows:
            try:
                validate_result(config, result)
            except ResultError as error:
                raise LabelConfigError(
                    f"The new config does not fit annotation {annotation_id} of task {task_id}: "
                    f"{error}"
                ) from None
        project.label_config = label_config
    was_on = project.auto_accept
    for name, value in _canonical(settings).items():
        if name not in SETTINGS:
            raise ValueError(f"unknown project setting {name}")
        setattr(project, name, value)
    if project.auto_accept and not was_on:
        auto_accept.switch_on(project)
    elif was_on and not project.auto_accept:
        auto_accept.switch_off(project)
    emit(project.id, "project.updated", project)


def delete_project(project: Project, by: User) -> None:
    """Delete the project with its tasks, annotations, reviews, scores, views and jobs (the
    database's ON DELETE CASCADE); PermissionError unless `by` is an admin."""
    if not has_role(by, ("admin",)):
        raise PermissionError("Only admins delete projects.")
    project_id = project.id
    db.session.expunge(project)
    db.session.execute(delete(Project).where(Project.id == project_id))
    db.session.flush()


def reject_reasons(project: Project) -> list[str]:
    return [line.strip() for line in project.reject_reasons.splitlines() if line.strip()]


@dataclass(frozen=True)
class ProjectProgress:
    """A project of the list with its progress: tasks, tasks with at least one non-skipped
    annotation, and of the non-skipped annotations how many have a verdict."""

    project: Project
    tasks: int
    annotated_tasks: int

    @property
    def annotations(self) -> int:
        return self.project.annotation_count

    @property
    def reviewed(self) -> int:
        return self.project.annotation_count - self.project.pending_count


def projects_with_progress(projects: Select) -> list[ProjectProgress]:
    """The projects of `projects` (a select() of Project) with their progress, in one query:
    the task counts are one grouped count over those projects' tasks; the annotation totals
    are the project row's own (kept exact with the tasks, services/derived)."""
    ids = projects.with_only_columns(Project.id).order_by(None)
    counts = (
        select(
            Task.project_id,
            func.count(Task.id).label("tasks"),
            func.count(Task.id).filter(Task.annotation_count > 0).label("annotated"),
        )
        .where(Task.project_id.in_(ids))
        .group_by(Task.project_id)
        .subquery()
    )
    rows = db.session.execute(
        projects.add_columns(
            func.coalesce(counts.c.tasks, 0), func.coalesce(counts.c.annotated, 0)
        ).outerjoin(counts, counts.c.project_id == Project.id)
    )
    return [ProjectProgress(project, tasks, annotated) for project, tasks, annotated in rows]


def project_counts(project_id: int) -> dict[str, int]:
    """Tasks, annotations (non-skipped), skipped and predictions: one aggregate query."""
    row = db.session.execute(
        select(
            func.count(Task.id),
            func.coalesce(func.sum(Task.annotation_count), 0),
            func.coalesce(func.sum(Task.skipped_count), 0),
            func.count(Task.id).filter(Task.annotation_count > 0),
            func.count(Task.id).filter(Task.has_ground_truth.is_(True)),
        ).where(Task.project_id == project_id)
    ).one()
    predictions = db.session.scalar(
        select(func.count(Prediction.id)).where(Prediction.project_id == project_id)
    )
    return {
        "tasks": row[0],
        "annotations": int(row[1]),
        "skipped": int(row[2]),
        "annotated_tasks": row[3],
        "ground_truth_tasks": row[4],
        "predictions": predictions,
    }
