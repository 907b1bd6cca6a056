"""Auto-accept with a stated error bound (issue 14, part 6): the sample size and the bound
worked out by hand, and the rule walked through on a small project."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import func, select

from reviewapp.extensions import db
from reviewapp.models import Annotation, Review, Task
from reviewapp.services import auto_accept
from reviewapp.services.projects import update_project
from reviewapp.services.review_stream import next_for_review, record_verdict
from tests import factories


def test_the_spot_check_size_is_the_zero_failure_sample():
    # ln(0.05) / ln(0.95) = 58.4: 59 tasks; (0.95)^59 = 0.0485 <= 0.05 < (0.95)^58 = 0.0510.
    assert auto_accept.spot_check_size(0.05) == 59
    assert auto_accept.spot_check_size(0.5) == 5  # 0.5^5 = 0.031, 0.5^4 = 0.0625
    assert auto_accept.spot_check_size(0.01) == 299
    with pytest.raises(ValueError):
        auto_accept.spot_check_size(0)


def test_the_upper_bound_is_exact_clopper_pearson():
    # Zero rejects of n: the bound solves (1 - p)^n = 0.05, p = 1 - 0.05^(1/n).
    assert auto_accept.upper_bound(0, 59) == pytest.approx(1 - 0.05 ** (1 / 59))
    assert auto_accept.upper_bound(0, 59) < 0.05
    # One reject of 10: P(X <= 1) = (1-p)^10 + 10 p (1-p)^9 = 0.05 at p = 0.3942.
    p = auto_accept.upper_bound(1, 10)
    assert (1 - p) ** 10 + 10 * p * (1 - p) ** 9 == pytest.approx(0.05)
    assert p == pytest.approx(0.3942, abs=1e-4)
    assert auto_accept.upper_bound(0, 0) is None and auto_accept.upper_bound(3, 3) == 1.0


def _project(tasks: int, target: float = 0.5):
    """`tasks` tasks where amy and bob agree (agreement 1), and one where they differ."""
    rev = factories.user("reviewer", email="rev@x.com")
    manager = factories.user("manager", email="boss@x.com")
    project = factories.project(members=(rev, manager), overlap=2, auto_accept_error_target=target)
    items = [
        {
            "data": {"text": f"t{k}"},
            "annotations": [factories.annotation("amy@x.com"), factories.annotation("bob@x.com")],
        }
        for k in range(tasks)
    ]
    items.append(
        {
            "data": {"text": "disagree"},
            "annotations": [
                factories.annotation("amy@x.com"),
                factories.annotation("bob@x.com", "Negative"),
            ],
        }
    )
    factories.tasks(project, items)
    return project, rev, manager


def _kinds(project) -> dict:
    return dict(
        db.session.execute(
            select(Task.auto_accept, func.count())
            .where(Task.project_id == project.id)
            .group_by(Task.auto_accept)
        ).all()
    )


def _review_all(project, rev, reject_first: int = 0) -> list[int]:
    """Review the stream to its end: reject the first `reject_first`, accept the rest."""
    seen = []
    while (annotation := next_for_review(project, rev)) is not None:
        seen.append(annotation.task_id)
        verdict = "rejected" if len(seen) <= reject_first else "accepted"
        record_verdict(annotation.id, rev, verdict, comment="no" if verdict == "rejected" else "")
        db.session.commit()
    return seen


def test_switch_on_spot_checks_then_accepts_within_the_bound(app):
    project, rev, manager = _project(10)  # target 50%: n = 5
    update_project(project, project.label_config, auto_accept=True)
    db.session.commit()
    # 5 of the 10 agreeing tasks are drawn; the disagreeing one does not qualify.
    assert _kinds(project) == {"spot_check": 5, "pending": 5, None: 1}
    assert project.auto_accept_size == 5 and project.auto_accept_rate == 0.5
    spot = set(db.session.scalars(select(Task.id).where(Task.auto_accept == "spot_check")))
    reviewed = _review_all(project, rev)
    # Only the spot-check tasks and the disagreeing task were offered to the reviewer.
    disagree = db.session.scalar(select(Task.id).where(Task.auto_accept.is_(None)))
    assert set(reviewed) == spot | {disagree}
    # 10 spot-check annotations, none rejected: bound 1 - 0.05^(1/10) = 25.9% <= 50%.
    assert _kinds(project) == {"spot_check": 5, "accepted": 5, None: 1}
    system = auto_accept.system_reviewer()
    auto = db.session.scalars(select(Review).where(Review.reviewer_id == system.id)).all()
    assert len(auto) == 10 and all(r.verdict == "accepted" for r in auto)
    assert "spot-check 0 of 10 rejected, 95% upper bound 25.9% <= 50%" in auto[0].comment
    states = set(db.session.scalars(select(Task.state).where(Task.auto_accept == "accepted")))
    assert states == {"done"}
    summary = auto_accept.summary(project)
    assert (summary["accepted"], summary["spot_checked"], summary["rejects"]) == (5, 5, 0)
    assert summary["upper_bound"] == pytest.approx(1 - 0.05**0.1)
    assert summary["confidence"] == 0.95


def test_too_many_rejects_stop_the_rule(app):
    project, rev, manager = _project(10)
    update_project(project, project.label_config, auto_accept=True)
    db.session.commit()
    spot = set(db.session.scalars(select(Task.id).where(Task.auto_accept == "spot_check")))
    # Reject 4 of the 10 spot-check annotations: the bound is far above 50%.
    seen = []
    while (annotation := next_for_review(project, rev)) is not None:
        if annotation.task_id not in spot:
            record_verdict(annotation.id, rev, "accepted")
        else:
            seen.append(annotation.id)
            verdict = "rejected" if len(seen) <= 4 else "accepted"
            record_verdict(annotation.id, rev, verdict, comment="no")
        db.session.commit()
        if project.auto_accept_stopped:
            break
    db.session.refresh(project)
    waiting = set(db.session.scalars(select(Task.id).where(Task.auto_accept.is_(None))))
    bound = auto_accept.upper_bound(4, 10)
    assert bound > 0.5
    assert project.auto_accept_stopped.startswith("Stopped: 4 of 10 spot-checked annotations")
    # The waiting tasks went to normal review: the stream offers them now.
    assert _kinds(project).get("pending", 0) == 0
    remaining = _review_all(project, rev)
    assert set(remaining) == waiting and len(waiting) >= 5  # the 5 that waited, the rest
    assert (
        db.session.scalar(
            select(func.count()).select_from(Review).where(Review.comment.like("auto-accept%"))
        )
        == 0
    )


def test_later_tasks_are_spot_checked_at_the_rate_or_accepted_while_the_bound_holds(app):
    project, rev, manager = _project(10)
    update_project(project, project.label_config, auto_accept=True)
    db.session.commit()
    _review_all(project, rev)
    assert _kinds(project)["accepted"] == 5
    factories.tasks(
        project,
        [
            {
                "data": {"text": f"later{k}"},
                "annotations": [
                    factories.annotation("amy@x.com"),
                    factories.annotation("bob@x.com"),
                ],
            }
            for k in range(40)
        ],
    )
    kinds = _kinds(project)
    later_checked = kinds["spot_check"] - 5
    # Each later task is a spot-check with probability 0.5 (a stable draw per task).
    assert later_checked + kinds["accepted"] - 5 == 40
    assert 8 <= later_checked <= 32
    expected = sum(
        auto_accept._draw(project.auto_accept_seed, t.id) < 0.5
        for t in db.session.scalars(select(Task).where(Task.data_text.like("%later%")))
    )
    assert later_checked == expected


def test_undo_puts_the_auto_accepted_annotations_back_in_review(app):
    project, rev, manager = _project(10)
    update_project(project, project.label_config, auto_accept=True)
    db.session.commit()
    _review_all(project, rev)
    accepted = list(db.session.scalars(select(Task.id).where(Task.auto_accept == "accepted")))
    undone = auto_accept.undo(project, accepted, manager)
    db.session.commit()
    assert undone == 10
    assert _kinds(project).get("accepted", 0) == 0 and _kinds(project)["undone"] == 5
    pending = db.session.scalar(
        select(func.count())
        .select_from(Annotation)
        .where(Annotation.task_id.in_(accepted), Annotation.review_status == "pending")
    )
    assert pending == 10
    assert len(_review_all(project, rev)) == 10


def test_the_settings_are_validated_in_the_api(client, app):
    project, rev, manager = _project(2)
    headers = {"Authorization": f"Token {factories.token(manager)}"}
    url = f"/api/projects/{project.id}"
    bad = client.patch(url, json={"auto_accept_error_target": 0.9}, headers=headers)
    assert bad.status_code == 422
    bad = client.patch(url, json={"auto_accept": "yes"}, headers=headers)
    assert bad.status_code == 400
    ok = client.patch(url, json={"auto_accept": True}, headers=headers)
    assert ok.status_code == 200 and ok.json["auto_accept"] is True
    # Two qualifying tasks, fewer than the sample (5): both are spot-checks.
    assert _kinds(project)["spot_check"] == 2
    metrics = client.get(f"{url}/metrics", headers=headers).json["auto_accept"]
    assert metrics["on"] is True and metrics["spot_checked"] == 2 and metrics["sample_size"] == 5
    assert math.isclose(metrics["target"], 0.5)


def test_the_data_manager_undoes_auto_accepts_in_bulk(client, auth):
    project, rev, manager = _project(10)
    update_project(project, project.label_config, auto_accept=True)
    db.session.commit()
    _review_all(project, rev)
    auth.login(manager)
    page = client.get(f"/projects/{project.id}/tasks").get_data(as_text=True)
    assert 'value="undo_auto_accept"' in page
    accepted = list(db.session.scalars(select(Task.id).where(Task.auto_accept == "accepted")))
    response = client.post(
        f"/projects/{project.id}/tasks/bulk",
        data={"action": "undo_auto_accept", "ids": [str(i) for i in accepted]},
        headers={"HX-Request": "true"},
    )
    assert "Undid the auto-accept of 10 annotations" in response.get_data(as_text=True)
    assert _kinds(project).get("accepted", 0) == 0
    # A reviewer may not undo: the action is for managers.
    client.post("/logout")
    auth.login(rev)
    response = client.post(
        f"/projects/{project.id}/tasks/bulk",
        data={"action": "undo_auto_accept", "ids": [str(accepted[0])]},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 403


def test_a_bulk_accept_of_the_spot_check_completes_it(app):
    from reviewapp.services.data_manager.bulk import apply_bulk_action

    project, rev, manager = _project(10)
    update_project(project, project.label_config, auto_accept=True)
    db.session.commit()
    spot = select(Task.id).where(Task.auto_accept == "spot_check")
    outcome = apply_bulk_action("accept", project, manager, spot, confirmed=True)
    db.session.commit()
    assert "Accepted 10 annotations" in outcome.message
    # The bulk verdicts completed the spot-check: the waiting tasks were accepted.
    assert _kinds(project) == {"spot_check": 5, "accepted": 5, None: 1}
    rounds = db.session.scalars(select(Review.round).where(Review.reviewer_id == manager.id))
    assert set(rounds) == {1}
