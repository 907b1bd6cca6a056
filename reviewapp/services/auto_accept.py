"""Auto-accept with a stated error bound.

A task qualifies when its annotators all agree: task agreement >= the project's
`auto_accept_min_agreement`, at least `auto_accept_min_annotations` non-skipped annotations,
none reviewed yet. When the rule is switched on, `spot_check_size` of the qualifying tasks,
drawn at random with a stored seed, go to reviewers as usual (task.auto_accept
"spot_check"); the others wait, out of the review queue ("pending"). Once every spot-check
annotation is reviewed, the exact (Clopper-Pearson) one-sided 95 % upper bound on the
share of rejected spot-check annotations decides: within the target, the waiting tasks are
accepted by the system reviewer ("accepted"); above it, the rule stops, says why, and the
waiting tasks go to normal review. Tasks that qualify later are spot-checked at the rate
of the first draw (and always while fewer than the sample size are spot-checked), the
others accepted at once while the bound holds; every spot-check verdict updates the bound.
Definitions and formulas: docs/metrics.md#auto-accept.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, insert, literal, select, update

from reviewapp.extensions import db
from reviewapp.models import Annotation, AnnotationLease, Project, Review, Task, User, utcnow
from reviewapp.services.derived.task_columns import refresh_tasks
from reviewapp.services.webhooks.outbox import emit_reviews

CONFIDENCE = 0.95
SYSTEM_EMAIL = "auto-accept@reviewapp.invalid"
SYSTEM_NAME = "auto-accept (system)"
_PRIME = 1000003


def spot_check_size(target: float, confidence: float = CONFIDENCE) -> int:
    """The zero-failure binomial sample size: the least n with (1 - target)^n <= 1 -
    confidence, i.e. n >= ln(1 - confidence) / ln(1 - target) (59 for 5 % at 95 %)."""
    if not 0 < target < 1:
        raise ValueError("the error target is a share between 0 and 1")
    n = math.ceil(math.log(1 - confidence) / math.log(1 - target))
    # Guard the float division: the least n that really meets the bound.
    while n > 1 and (1 - target) ** (n - 1) <= 1 - confidence:
        n -= 1
    return n


def upper_bound(rejects: int, n: int, confidence: float = CONFIDENCE) -> float | None:
    """Exact (Clopper-Pearson) one-sided upper confidence bound on a binomial share with
    `rejects` of `n`: the p at which P(X <= rejects) = 1 - confidence, i.e. the
    `confidence` quantile of Beta(rejects + 1, n - rejects). None without items; 1 when
    every item is a reject."""
    if n <= 0:
        return None
    if rejects >= n:
        return 1.0
    from scipy.special import betaincinv  # imported here: scipy is slow to import

    return float(betaincinv(rejects + 1, n - rejects, confidence))


@dataclass(frozen=True)
class SpotCheck:
    """Where the rule stands: spot-check tasks, their annotations reviewed and rejected,
    the bound, tasks waiting and tasks accepted."""

    spot_checked: int  # spot-check tasks
    reviewed: int  # their non-skipped annotations with a verdict
    rejects: int  # of those, rejected
    open: int  # their annotations still pending
    waiting: int
    accepted: int
    upper_bound: float | None

    @property
    def complete(self) -> bool:
        return self.spot_checked > 0 and self.open == 0


def system_reviewer() -> User:
    """The account auto verdicts are recorded under: inactive, so nobody logs in as it."""
    user = db.session.scalar(select(User).where(User.email == SYSTEM_EMAIL))
    if user is None:
        user = User(email=SYSTEM_EMAIL, name=SYSTEM_NAME, role="reviewer", active=False)
        db.session.add(user)
        db.session.flush()
    return user


def spot_check(project: Project) -> SpotCheck:
    rows = dict(
        db.session.execute(
            select(Task.auto_accept, func.count())
            .where(Task.project_id == project.id, Task.auto_accept.is_not(None))
            .group_by(Task.auto_accept)
        ).all()
    )
    reviewed, rejects, pending = db.session.execute(
        select(
            func.count().filter(Annotation.review_status != "pending"),
            func.count().filter(Annotation.review_status == "rejected"),
            func.count().filter(Annotation.review_status == "pending"),
        )
        .join(Task, Task.id == Annotation.task_id)
        .where(
            Task.project_id == project.id,
            Task.auto_accept == "spot_check",
            Annotation.was_cancelled.is_(False),
        )
    ).one()
    return SpotCheck(
        rows.get("spot_check", 0),
        reviewed,
        rejects,
        pending,
        rows.get("pending", 0),
        rows.get("accepted", 0),
        upper_bound(rejects, reviewed),
    )


def _qualifying(project: Project, task_ids: list[int] | None = None):
    query = select(Task.id).where(
        Task.project_id == project.id,
        Task.auto_accept.is_(None),
        Task.agreement >= project.auto_accept_min_agreement,
        Task.annotation_count >= max(project.auto_accept_min_annotations, 2),
        Task.accepted_count == 0,
        Task.fixed_count == 0,
        Task.rejected_count == 0,
        Task.pending_count > 0,
    )
    if task_ids is not None:
        query = query.where(Task.id.in_(task_ids))
    return query.order_by(Task.id)


def _draw(seed: int, task_id: int) -> float:
    """A stable uniform draw in [0, 1) per (seed, task): the same task always draws the same."""
    multiplier = 1 + seed % (_PRIME - 1)
    return (task_id * multiplier) % _PRIME / _PRIME


def _mark(task_ids: list[int], value: str | None) -> None:
    for start in range(0, len(task_ids), 1000):
        chunk = task_ids[start : start + 1000]
        db.session.execute(update(Task).where(Task.id.in_(chunk)).values(auto_accept=value))


def switch_on(project: Project) -> str:
    """Draw the spot-check among the qualifying tasks; the others wait. Flushes."""
    project.auto_accept_seed = random.SystemRandom().randrange(1, _PRIME - 1)
    project.auto_accept_stopped = ""
    size = spot_check_size(project.auto_accept_error_target)
    ids = list(db.session.scalars(_qualifying(project)))
    ordered = sorted(ids, key=lambda i: (_draw(project.auto_accept_seed, i), i))
    checked, waiting = ordered[:size], ordered[size:]
    project.auto_accept_size = size
    project.auto_accept_rate = size / len(ids) if len(ids) > size else 1.0
    _mark(checked, "spot_check")
    _mark(waiting, "pending")
    db.session.flush()
    return (
        f"Auto-accept is on: {len(checked):,} of {len(ids):,} qualifying tasks go to "
        f"reviewers as a spot-check (n = {size} for a {project.auto_accept_error_target:.0%} "
        f"target); {len(waiting):,} wait for it."
    )


def switch_off(project: Project) -> None:
    """Waiting tasks go to normal review; auto-accepted ones stay (undo them in bulk)."""
    waiting = list(
        db.session.scalars(
            select(Task.id).where(Task.project_id == project.id, Task.auto_accept == "pending")
        )
    )
    _mark(waiting, None)
    db.session.flush()


def consider(project: Project, task_ids: list[int]) -> None:
    """After the tasks' columns changed (a submit, an import): newly qualifying tasks are
    spot-checked at the rule's rate, or accepted while the bound holds, or wait."""
    if not project.auto_accept or project.auto_accept_stopped or not task_ids:
        return
    ids = list(db.session.scalars(_qualifying(project, task_ids)))
    if not ids:
        return
    state = spot_check(project)
    seen = state.spot_checked + state.waiting + state.accepted
    checked, rest = [], []
    for task_id in ids:
        short = state.spot_checked + len(checked) < project.auto_accept_size
        if not short and project.auto_accept_rate >= 1.0:
            # Fewer tasks qualified at switch-on than the sample: the rate for later ones
            # is the sample over the tasks that qualified until it was full.
            project.auto_accept_rate = project.auto_accept_size / (seen + len(checked) + len(rest))
        draw = _draw(project.auto_accept_seed or 1, task_id) < project.auto_accept_rate
        (checked if short or draw else rest).append(task_id)
    _mark(checked, "spot_check")
    bound = state.upper_bound
    if state.complete and bound is not None and bound <= project.auto_accept_error_target:
        _accept(project, rest, state)
    else:
        _mark(rest, "pending")
    db.session.flush()


def after_verdict(project: Project, task_id: int) -> None:
    """A verdict on a spot-check task updates the bound: once the spot-check is complete,
    the waiting tasks are accepted, or the rule stops."""
    if not project.auto_accept or project.auto_accept_stopped:
        return
    kind = db.session.scalar(select(Task.auto_accept).where(Task.id == task_id))
    if kind != "spot_check":
        return
    state = spot_check(project)
    if not state.complete:
        return
    target = project.auto_accept_error_target
    if state.upper_bound is not None and state.upper_bound <= target:
        waiting = list(
            db.session.scalars(
                select(Task.id).where(Task.project_id == project.id, Task.auto_accept == "pending")
            )
        )
        _accept(project, waiting, state)
        return
    project.auto_accept_stopped = (
        f"Stopped: {state.rejects} of {state.reviewed} spot-checked annotations were rejected; "
        f"the 95% upper bound {state.upper_bound:.1%} is above the {target:.0%} target. "
        "The waiting tasks went to normal review."
    )
    switch_off(project)


def _rule(project: Project, state: SpotCheck) -> str:
    return (
        f"auto-accept: agreement >= {project.auto_accept_min_agreement:g} with at least "
        f"{project.auto_accept_min_annotations} annotations; spot-check {state.rejects} of "
        f"{state.reviewed} rejected, 95% upper bound {state.upper_bound:.1%} <= "
        f"{project.auto_accept_error_target:.0%}"
    )


def _accept(project: Project, task_ids: list[int], state: SpotCheck) -> None:
    if not task_ids:
        return
    system = system_reviewer()
    comment = _rule(project, state)
    now = utcnow()
    for start in range(0, len(task_ids), 1000):
        chunk = task_ids[start : start + 1000]
        pending = and_(
            Annotation.task_id.in_(chunk),
            Annotation.review_status == "pending",
            Annotation.was_cancelled.is_(False),
        )
        db.session.execute(
            insert(Review).from_select(
                [
                    "annotation_id",
                    "project_id",
                    "reviewer_id",
                    "verdict",
                    "comment",
                    "reason",
                    "round",
                    "created_at",
                ],
                select(
                    Annotation.id,
                    Annotation.project_id,
                    literal(system.id),
                    literal("accepted"),
                    literal(comment),
                    literal(""),
                    Annotation.round,
                    literal(now),
                ).where(pending),
            )
        )
        annotation_ids = select(Annotation.id).where(pending)
        emit_reviews(project.id, system.id, now, annotation_ids)
        db.session.execute(
            delete(AnnotationLease).where(AnnotationLease.annotation_id.in_(annotation_ids))
        )
        db.session.execute(
            update(Annotation).where(pending).values(review_status="accepted"),
            execution_options={"synchronize_session": False},
        )
        _mark(list(chunk), "accepted")
        refresh_tasks(
            project, list(chunk), results_changed=False, by=system, reason="auto-accepted"
        )


def undo(project: Project, task_ids: list[int], by: User) -> int:
    """Take back the system reviewer's accepts on these tasks: their annotations are pending
    again and the tasks go to normal review (they are not drawn again). Returns how many
    annotations went back."""
    system = db.session.scalar(select(User.id).where(User.email == SYSTEM_EMAIL))
    if system is None:
        return 0
    ids = list(
        db.session.scalars(
            select(Task.id).where(
                Task.project_id == project.id,
                Task.id.in_(task_ids),
                Task.auto_accept == "accepted",
            )
        )
    )
    undone = 0
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        mine = select(Review.annotation_id).where(
            Review.reviewer_id == system, Review.project_id == project.id
        )
        annotations = and_(
            Annotation.task_id.in_(chunk),
            Annotation.id.in_(mine),
            Annotation.review_status == "accepted",
        )
        undone += db.session.execute(
            update(Annotation).where(annotations).values(review_status="pending"),
            execution_options={"synchronize_session": False},
        ).rowcount
        db.session.execute(
            delete(Review).where(
                Review.reviewer_id == system,
                Review.annotation_id.in_(
                    select(Annotation.id).where(Annotation.task_id.in_(chunk))
                ),
            )
        )
        _mark(list(chunk), "undone")
        refresh_tasks(
            project, list(chunk), results_changed=False, by=by, reason="auto-accept undone"
        )
    return undone


def summary(project: Project) -> dict:
    """The dashboard's and the metrics API's numbers (zeros for a project that never used
    the rule)."""
    state = spot_check(project)
    return {
        "on": bool(project.auto_accept),
        "accepted": state.accepted,
        "spot_checked": state.spot_checked,
        "reviewed": state.reviewed,
        "rejects": state.rejects,
        "waiting": state.waiting,
        "upper_bound": state.upper_bound,
        "confidence": CONFIDENCE,
        "target": project.auto_accept_error_target,
        "sample_size": project.auto_accept_size,
        "stopped": project.auto_accept_stopped or None,
    }
