"""The domain tables of DESIGN.md, as SQLAlchemy 2.0 typed models."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from reviewapp.db import text_search
from reviewapp.extensions import db

ROLES = ("admin", "manager", "reviewer", "annotator")
# What a rejection does: leave every queue, go back to its annotator, or free the task for
# another annotator (the rejected annotation no longer counts toward the overlap).
REJECT_ACTIONS = ("remove", "return", "reassign")
# A task's stored state; "in_review" is read from the live leases, never stored.
TASK_STATES = ("annotating", "needs_review", "returned", "done")
REVIEW_CRITERIA = ("one", "all")
REVIEW_ORDERS = ("table", "random", "by_annotator", "low_agreement_first")
REVIEW_STATUSES = ("pending", "accepted", "fixed", "rejected")
VERDICTS = ("accepted", "fixed", "rejected")
# A task's review state, in the order "review status" sorts: no annotations, some pending,
# all reviewed with a rejection, all reviewed with a fix, all accepted.
REVIEW_RANKS = ("none", "pending", "rejected", "fixed", "accepted")
LABEL_SOURCES = ("annotation", "ground_truth", "prediction")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def hash_token(token: str) -> str:
    # Tokens are 32 random bytes, so a fast unsalted hash is enough and allows an indexed lookup.
    return hashlib.sha256(token.encode()).hexdigest()


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(256), default="")
    role: Mapped[str] = mapped_column(String(16), default="annotator")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    api_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Part of every session cookie and remember-me cookie; bumping it ends all of them.
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # flask-login refuses inactive users
        return self.active

    def get_id(self) -> str:
        # flask-login puts this in the session and the remember-me cookie; the version makes a
        # bump of session_version end both (see auth.views.load_user).
        return f"{self.id}.{self.session_version or 1}"

    @property
    def display_name(self) -> str:
        return self.name or self.email

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


class LoginFailure(db.Model):
    """A failed log-in, counted per account and client address to throttle guessing."""

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        Index("ix_login_failure_email_address_at", "email", "address", "at"),
        Index("ix_login_failure_at", "at"),
    )


JOB_STATUSES = ("queued", "running", "done", "failed", "cancelled")
JOB_FINISHED = ("done", "failed", "cancelled")


class Job(db.Model):
    """Long work done by the job worker, as users see it (services/jobs). While a job runs,
    its progress and heartbeat live in the queue's storage (services/jobs/live.py), so that
    reporting them never waits on a write lock the job itself holds."""

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        Index("ix_job_project_created", "project_id", "created_at"),
        Index("ix_job_status", "status"),
    )

    @property
    def finished(self) -> bool:
        return self.status in JOB_FINISHED

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.kind} {self.status}>"


class SourceUser(db.Model):
    """Which account a Label Studio user id of imported files stands for, per project: so
    `completed_by: 7` in one file and `{"id": 7, "email": ...}` in another are one person."""

    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    )
    source_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)


class Project(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    label_config: Mapped[str] = mapped_column(Text)
    instructions: Mapped[str] = mapped_column(Text, default="")
    overlap: Mapped[int] = mapped_column(Integer, default=1)
    # The reject actions offered (a list of REJECT_ACTIONS) and the one chosen by default.
    reject_actions: Mapped[list] = mapped_column(JSON, default=lambda: ["remove"])
    default_reject_action: Mapped[str] = mapped_column(String(16), default="remove")
    # A task is done when one annotation is accepted or fixed, or when all are reviewed.
    review_criteria: Mapped[str] = mapped_column(String(8), default="all", server_default="all")
    review_only_finished: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    review_order: Mapped[str] = mapped_column(String(24), default="table", server_default="table")
    # Review only this share of each annotator's annotations (services.derived.sampling).
    review_sample_percent: Mapped[int] = mapped_column(Integer, default=100, server_default="100")
    # Auto-accept (services.auto_accept): tasks whose annotators all agree are accepted by
    # the system reviewer once a spot-check of them bounds the share of rejects.
    auto_accept: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    auto_accept_min_agreement: Mapped[float] = mapped_column(
        Float, default=1.0, server_default="1.0"
    )
    auto_accept_min_annotations: Mapped[int] = mapped_column(Integer, default=2, server_default="2")
    auto_accept_error_target: Mapped[float] = mapped_column(
        Float, default=0.05, server_default="0.05"
    )
    auto_accept_seed: Mapped[int | None] = mapped_column(Integer)  # of the spot-check draw
    auto_accept_size: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    auto_accept_rate: Mapped[float] = mapped_column(Float, default=1.0, server_default="1.0")
    auto_accept_stopped: Mapped[str] = mapped_column(Text, default="", server_default="")
    require_comment_on_reject: Mapped[bool] = mapped_column(Boolean, default=True)
    review_only_assigned: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_self_review: Mapped[bool] = mapped_column(Boolean, default=False)
    reviewers_see_dashboard: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_empty_annotations: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    low_agreement_threshold: Mapped[float] = mapped_column(Float, default=0.5)
    iou_threshold: Mapped[float] = mapped_column(Float, default=0.5)
    # Key points within this share (%) of the image diagonal agree in part (metrics.md).
    keypoint_radius_percent: Mapped[float] = mapped_column(Float, default=2.0, server_default="2.0")
    # One reason per line, offered when rejecting.
    reject_reasons: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Sums of the tasks' annotation_count and pending_count, kept with them (task_state), so
    # the review stream's "N of M left" over the whole project reads one row.
    annotation_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pending_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # How many of its tasks are in each stored state, kept like the totals above (shifted by
    # every change of state, written at commit), so the Data Manager's counts read one row.
    annotating_tasks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    needs_review_tasks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    returned_tasks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    done_tasks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    members: Mapped[list[User]] = relationship(
        secondary="membership", order_by="User.email", viewonly=True
    )

    def __repr__(self) -> str:
        return f"<Project {self.id} {self.title!r}>"


class Membership(db.Model):
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (Index("ix_membership_user", "user_id", "project_id"),)


class Task(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    data: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Denormalised for the Data Manager; kept exact in the transaction of every change.
    annotation_count: Mapped[int] = mapped_column(Integer, default=0)  # non-skipped
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)
    prediction_score: Mapped[float | None] = mapped_column(Float)  # max over predictions
    agreement: Mapped[float | None] = mapped_column(Float)
    has_ground_truth: Mapped[bool] = mapped_column(Boolean, default=False)
    accepted_count: Mapped[int] = mapped_column(Integer, default=0)
    fixed_count: Mapped[int] = mapped_column(Integer, default=0)
    rejected_count: Mapped[int] = mapped_column(Integer, default=0)
    pending_count: Mapped[int] = mapped_column(Integer, default=0)
    first_annotator: Mapped[str | None] = mapped_column(String(254))
    review_rank: Mapped[int] = mapped_column(Integer, default=0)  # see REVIEW_RANKS
    # Non-skipped annotations that count toward the overlap (a reassigned rejection does not).
    overlap_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    state: Mapped[str] = mapped_column(
        String(16), default="annotating", server_default="annotating"
    )
    # Auto-accept: "spot_check" (reviewed as usual, counts toward the bound), "pending"
    # (waits for the spot-check, out of the review queue), "accepted", "undone"; None: none.
    auto_accept: Mapped[str | None] = mapped_column(String(16))
    # Comments on the task's annotations not resolved yet (services.comments keeps it).
    unresolved_comments: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Lower-cased string values of data, so a text search does not match JSON keys.
    data_text: Mapped[str] = mapped_column(Text, default="")
    # The imported file's own task id and meta, kept so results join back to the source.
    source_id: Mapped[str | None] = mapped_column(String(100))
    meta: Mapped[dict | None] = mapped_column(JSON)

    project: Mapped[Project] = relationship()
    annotations: Mapped[list[Annotation]] = relationship(
        back_populates="task", order_by="Annotation.id", passive_deletes=True
    )
    predictions: Mapped[list[Prediction]] = relationship(
        order_by="Prediction.id", passive_deletes=True
    )

    __table_args__ = (
        Index("ix_task_project_id", "project_id", "id"),
        Index("ix_task_project_source_id", "project_id", "source_id"),
        Index("ix_task_project_auto_accept", "project_id", "auto_accept"),
        Index("ix_task_project_agreement", "project_id", "agreement", "id"),
        Index("ix_task_project_prediction_score", "project_id", "prediction_score", "id"),
        Index("ix_task_project_first_annotator", "project_id", "first_annotator", "id"),
        Index("ix_task_project_annotation_count", "project_id", "annotation_count", "id"),
        Index("ix_task_project_created_at", "project_id", "created_at", "id"),
        Index("ix_task_project_review_rank", "project_id", "review_rank", "id"),
        # In id order and covering the counts: the review queue walks pending tasks, and the
        # count filters and sums read, index entries rather than rows.
        Index(
            "ix_task_project_counts",
            "project_id",
            "id",
            "pending_count",
            "annotation_count",
            "skipped_count",
            "accepted_count",
            "fixed_count",
            "rejected_count",
        ),
        Index("ix_task_project_ground_truth", "project_id", "has_ground_truth"),
        Index("ix_task_project_state", "project_id", "state", "id"),
        Index("ix_task_project_overlap_count", "project_id", "overlap_count", "id"),
        Index("ix_task_project_unresolved_comments", "project_id", "unresolved_comments", "id"),
    )

    def __repr__(self) -> str:
        return f"<Task {self.id} of project {self.project_id}>"


text_search.install(Task.__table__)


class Annotation(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    completed_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    result: Mapped[list] = mapped_column(JSON, default=list)
    was_cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    ground_truth: Mapped[bool] = mapped_column(Boolean, default=False)
    lead_time: Mapped[float | None] = mapped_column(Float)
    review_status: Mapped[str] = mapped_column(String(16), default="pending")
    # Rejected with the "return" action: back in its annotator's label stream.
    requeued: Mapped[bool] = mapped_column(Boolean, default=False)
    # Rejected with the "reassign" action: no longer counts toward the task's overlap.
    reassigned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Which submission of its annotator the result is: 1, then one more each time they change
    # it (a resubmission after a return, an update while pending). A review keeps the round
    # it judged, so a later verdict on the same round replaces it (an overturn).
    round: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Who returned it: its resubmission comes first in that reviewer's queue.
    returned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    source_id: Mapped[str | None] = mapped_column(String(100))  # the imported file's id
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    task: Mapped[Task] = relationship(back_populates="annotations")
    completed_by: Mapped[User] = relationship(foreign_keys=[completed_by_id])

    __table_args__ = (
        Index("ix_annotation_task", "task_id", "id"),
        Index(
            "ix_annotation_project_user",
            "project_id",
            "completed_by_id",
            "was_cancelled",
            "task_id",
        ),
        Index("ix_annotation_project_status", "project_id", "review_status"),
        Index("ix_annotation_returned_by", "returned_by_id", "review_status"),
        # Covering indexes of the dashboard's per-annotator numbers: the counts by verdict
        # with the latest created_at of each, and the lead times in order for the median.
        Index(
            "ix_annotation_project_user_verdicts",
            "project_id",
            "completed_by_id",
            "was_cancelled",
            "review_status",
            "created_at",
        ),
        Index(
            "ix_annotation_project_user_lead_time",
            "project_id",
            "completed_by_id",
            "was_cancelled",
            "lead_time",
        ),
    )

    def __repr__(self) -> str:
        return f"<Annotation {self.id} on task {self.task_id}>"


class Prediction(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    model_version: Mapped[str] = mapped_column(String(200), default="")
    score: Mapped[float | None] = mapped_column(Float)
    result: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (Index("ix_prediction_project_model", "project_id", "model_version"),)

    def __repr__(self) -> str:
        return f"<Prediction {self.id} on task {self.task_id}>"


class Review(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    annotation_id: Mapped[int] = mapped_column(
        ForeignKey("annotation.id", ondelete="CASCADE"), index=True
    )
    # The annotation's project, so the dashboard reads a project's reviews from one index.
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    verdict: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(String(200), default="")
    result_before: Mapped[list | None] = mapped_column(JSON)
    result_after: Mapped[list | None] = mapped_column(JSON)
    fix_size: Mapped[float | None] = mapped_column(Float)
    round: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Seconds from the start of the reviewer's lease on the annotation to this verdict; None
    # without a lease (a verdict from the task page, the system reviewer, older reviews).
    lease_seconds: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    reviewer: Mapped[User] = relationship()

    __table_args__ = (
        # Covers reviewer activity: each reviewer's verdicts in time order.
        Index("ix_review_project_reviewer", "project_id", "reviewer_id", "created_at", "verdict"),
        # Covers the fix sizes per annotator: only a project's fixes are read.
        Index("ix_review_project_verdict", "project_id", "verdict", "annotation_id", "fix_size"),
        # The review times in order per reviewer, for the median read at its position.
        Index(
            "ix_review_project_reviewer_lease_seconds", "project_id", "reviewer_id", "lease_seconds"
        ),
    )

    def __repr__(self) -> str:
        return f"<Review {self.id} {self.verdict} of annotation {self.annotation_id}>"


class TaskStateChange(db.Model):
    """One change of a task's state: the first is its creation or import."""

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(200), default="")

    by: Mapped[User | None] = relationship()

    __table_args__ = (
        Index("ix_task_state_change_task", "task_id", "id"),
        # Covers the throughput's tasks reaching done per person and hour.
        Index("ix_task_state_change_project_state", "project_id", "to_state", "at", "by_id"),
    )


COMMENT_MAX_LENGTH = 5000


class Comment(db.Model):
    """A comment on an annotation, optionally anchored to one of its regions (a result id) or
    to one control; a reply has a parent. Resolving and reopening keep the row."""

    id: Mapped[int] = mapped_column(primary_key=True)
    annotation_id: Mapped[int] = mapped_column(ForeignKey("annotation.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comment.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    region_id: Mapped[str | None] = mapped_column(String(100))
    control: Mapped[str | None] = mapped_column(String(100))
    resolved: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])

    __table_args__ = (
        Index("ix_comment_annotation", "annotation_id", "id"),
        Index("ix_comment_task_resolved", "task_id", "resolved"),
        Index("ix_comment_parent", "parent_id"),
    )

    def __repr__(self) -> str:
        return f"<Comment {self.id} on annotation {self.annotation_id}>"


class Notification(db.Model):
    """A comment someone should read: unread until read_at."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    comment_id: Mapped[int] = mapped_column(ForeignKey("comment.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)

    comment: Mapped[Comment] = relationship()

    __table_args__ = (
        Index("ix_notification_user_read", "user_id", "read_at", "id"),
        Index("ix_notification_comment", "comment_id"),
    )

    def __repr__(self) -> str:
        return f"<Notification {self.id} for user {self.user_id}>"


class ReviewerAssignment(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("task_id", "user_id", name="uq_reviewer_assignment_task_user"),
        Index("ix_reviewer_assignment_user", "user_id", "task_id"),
    )

    def __repr__(self) -> str:
        return f"<ReviewerAssignment task {self.task_id} user {self.user_id}>"


class TaskLabel(db.Model):
    """Which labels a task carries, by source: the index behind the Data Manager's label filter.

    Rewritten with the task's annotations, predictions and ground truth.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))  # one of LABEL_SOURCES
    control: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        # task_id before source: one probe answers "has this label from any source", and
        # the task ids of a label come in order (a distinct count without sorting).
        Index("ix_task_label_lookup", "project_id", "control", "label", "task_id", "source"),
        Index("ix_task_label_task", "task_id"),
    )

    def __repr__(self) -> str:
        return f"<TaskLabel task {self.task_id} {self.source} {self.control}:{self.label}>"


class SavedView(db.Model):
    """A named tab of the Data Manager: its filters and order as a query string."""

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_saved_view_project_name"),)

    def __repr__(self) -> str:
        return f"<SavedView {self.id} {self.name!r}>"


class ColumnPreference(db.Model):
    """The Data Manager columns a user has hidden in a project."""

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    )
    hidden: Mapped[str] = mapped_column(Text, default="")  # comma-separated column keys


class AgreementPair(db.Model):
    """s(a, b) for one pair of non-skipped annotations of a task (a.id < b.id)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"))
    annotation_a_id: Mapped[int] = mapped_column(ForeignKey("annotation.id", ondelete="CASCADE"))
    annotation_b_id: Mapped[int] = mapped_column(ForeignKey("annotation.id", ondelete="CASCADE"))
    user_a_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    user_b_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    score: Mapped[float] = mapped_column(Float)

    __table_args__ = (
        Index("ix_agreement_pair_task", "task_id"),
        # Deleting an annotation cascades here: without these, a scan of every pair per
        # annotation (deleting 10,000 tasks took minutes).
        Index("ix_agreement_pair_annotation_a", "annotation_a_id"),
        Index("ix_agreement_pair_annotation_b", "annotation_b_id"),
        # Covers the dashboard's sums per pair of annotators.
        Index(
            "ix_agreement_pair_project_users_score", "project_id", "user_a_id", "user_b_id", "score"
        ),
    )


class GtScore(db.Model):
    """s(result, ground truth) of one annotation or prediction on a task with ground truth."""

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"))
    annotation_id: Mapped[int | None] = mapped_column(
        ForeignKey("annotation.id", ondelete="CASCADE")
    )
    prediction_id: Mapped[int | None] = mapped_column(
        ForeignKey("prediction.id", ondelete="CASCADE")
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    model_version: Mapped[str | None] = mapped_column(String(200))
    score: Mapped[float] = mapped_column(Float)

    __table_args__ = (
        Index("ix_gt_score_task", "task_id"),
        Index("ix_gt_score_annotation", "annotation_id"),  # cascades, as for agreement_pair
        Index("ix_gt_score_prediction", "prediction_id"),
        Index("ix_gt_score_project_user", "project_id", "user_id"),
        Index("ix_gt_score_project_model", "project_id", "model_version"),
    )


class ChoiceCount(db.Model):
    """A unit of Krippendorff's alpha: how many of a task's non-skipped annotations gave one
    value to a Choices control, beside the task's number of values for that control.

    A value is the set of choices an annotation picked for the control (one choice for a
    single choice), keyed by `services.derived.scores.choice_value`. Only tasks with two or more
    values for the control have rows. Rewritten with the task's AgreementPair rows.
    """

    task_id: Mapped[int] = mapped_column(
        ForeignKey("task.id", ondelete="CASCADE"), primary_key=True
    )
    control: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    count: Mapped[int] = mapped_column(Integer)  # annotations giving this value
    unit_size: Mapped[int] = mapped_column(Integer)  # the task's values for the control

    __table_args__ = (
        Index("ix_choice_count_alpha", "project_id", "control", "unit_size", "value", "count"),
    )

    def __repr__(self) -> str:
        return f"<ChoiceCount task {self.task_id} {self.control}={self.value} x{self.count}>"


class TaskLease(db.Model):
    """An annotator holds a task in the label stream until `until`; then it comes back."""

    task_id: Mapped[int] = mapped_column(
        ForeignKey("task.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    until: Mapped[datetime] = mapped_column(DateTime)
    leased_at: Mapped[datetime | None] = mapped_column(DateTime)  # kept by renewals


class AnnotationLease(db.Model):
    """A reviewer holds an annotation in the review stream until `until`."""

    annotation_id: Mapped[int] = mapped_column(
        ForeignKey("annotation.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    until: Mapped[datetime] = mapped_column(DateTime)
    # When its holder took it; a renewal by the same holder keeps it (review.lease_seconds).
    leased_at: Mapped[datetime | None] = mapped_column(DateTime)


class Webhook(db.Model):
    """A URL told about a project's events (project_id) or every project's (None: global,
    admins only). Deliveries are signed with the secret (services/webhooks)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (Index("ix_webhook_project", "project_id", "active"),)

    def __repr__(self) -> str:
        return f"<Webhook {self.id} {self.url!r}>"


class WebhookDelivery(db.Model):
    """One event for one webhook: written in the transaction of the change it reports (the
    outbox), then sent by the job worker, retried, and kept as the webhook's delivery log.
    object_key names what the event is about ("annotation:12"): a webhook's deliveries
    for one object go out in id order."""

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhook.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(40))
    object_key: Mapped[str] = mapped_column(String(80))
    delivery_id: Mapped[str] = mapped_column(String(36), unique=True)
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime, default=utcnow)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_duration_ms: Mapped[int | None] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)

    webhook: Mapped[Webhook] = relationship()

    __table_args__ = (
        Index("ix_webhook_delivery_webhook", "webhook_id", "id"),
        # The due ones, and "an earlier one about this object is pending".
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_object", "webhook_id", "object_key", "id"),
    )

    def __repr__(self) -> str:
        return f"<WebhookDelivery {self.id} {self.event} {self.status}>"
