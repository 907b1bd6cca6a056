"""Reviewer quality (issue 16 point 3): overturn rate, accuracy against ground truth,
leniency and median review time, worked out by hand in each docstring."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from reviewapp.extensions import db
from reviewapp.models import Annotation, AnnotationLease, Task, utcnow
from reviewapp.services.leases import claim
from reviewapp.services.metrics.aggregates import project_metrics
from reviewapp.services.metrics.definitions import leniency, verdict_right
from reviewapp.services.metrics.intervals import wilson
from reviewapp.services.review_stream import record_verdict
from tests import factories


def test_verdict_right_and_leniency_by_hand():
    """Threshold 0.5: accepting a result scoring 0.5 is right (at or above), 0.4 wrong; a
    fix is judged like an accept on its fixed result; rejecting 0.4 is right, 0.5 wrong."""
    assert verdict_right("accepted", 0.5, 0.5) and not verdict_right("accepted", 0.4, 0.5)
    assert verdict_right("fixed", 1.0, 0.5) and not verdict_right("fixed", 0.0, 0.5)
    assert verdict_right("rejected", 0.4, 0.5) and not verdict_right("rejected", 0.5, 0.5)
    assert leniency(0.9, 0.75) == pytest.approx(0.15)
    assert leniency(None, 0.75) is None


class Case:
    pass


@pytest.fixture
def case(app):
    """T1 ground truth Positive: a1 alice Positive (GT score 1), a2 bob Negative (0).
    T2 ground truth Negative: a3 alice Negative (1), a4 bob Positive (0). T3 no ground
    truth: a5 alice Positive.

    rita accepts a1, a2 and a4. mona, from the task page, fixes a4 to Negative and rejects
    a2; she accepts a3 and fixes a5 to Negative."""
    c = Case()
    c.rita = factories.user("reviewer", email="rita@x.com")
    c.mona = factories.user("reviewer", email="mona@x.com")
    c.project = factories.project(members=(c.rita, c.mona), require_comment_on_reject=False)

    def gt(label):
        return factories.annotation("gt@x.com", label, ground_truth=True)

    factories.tasks(
        c.project,
        [
            {
                "data": {"text": "one"},
                "annotations": [
                    gt("Positive"),
                    factories.annotation("alice@x.com", "Positive"),
                    factories.annotation("bob@x.com", "Negative"),
                ],
            },
            {
                "data": {"text": "two"},
                "annotations": [
                    gt("Negative"),
                    factories.annotation("alice@x.com", "Negative"),
                    factories.annotation("bob@x.com", "Positive"),
                ],
            },
            {"data": {"text": "three"}, "annotations": [factories.annotation("alice@x.com")]},
        ],
    )
    ids = db.session.scalars(
        select(Annotation.id)
        .join(Task, Task.id == Annotation.task_id)
        .where(Annotation.ground_truth.is_(False))
        .order_by(Task.id, Annotation.id)
    ).all()
    a1, a2, a3, a4, a5 = ids
    for annotation in (a1, a2, a4):
        record_verdict(annotation, c.rita, "accepted")
        db.session.commit()
    record_verdict(a4, c.mona, "fixed", result=factories.choice("Negative"), change=True)
    record_verdict(a2, c.mona, "rejected", change=True)
    record_verdict(a3, c.mona, "accepted")
    record_verdict(a5, c.mona, "fixed", result=factories.choice("Negative"))
    db.session.commit()
    c.rows = {r.email: r for r in project_metrics(c.project).reviewers}
    return c


def test_overturn_rate_with_its_interval(case):
    """rita's accepts of a2 and a4 were replaced by mona on the same round: 2 of her 3
    reviews, Wilson interval of 2/3. mona: 0 of 4."""
    rita, mona = case.rows["rita@x.com"], case.rows["mona@x.com"]
    assert (rita.overturned, rita.reviews, rita.overturn_rate) == (2, 3, pytest.approx(2 / 3))
    assert rita.overturn_rate_ci == wilson(2, 3)
    assert (mona.overturn_rate, mona.overturn_rate_ci) == (0.0, wilson(0, 4))


def test_accuracy_against_ground_truth(case):
    """rita: accept a1 (GT score 1): right; accept a2 (0): wrong; accept a4 is not judged,
    as mona fixed a4 afterwards (the result rita accepted is gone): 1 / 2. mona: fix a4 (the
    fixed Negative scores 1): right; reject a2 (0): right; accept a3 (1): right; a5 has no
    ground truth: 3 / 3."""
    rita, mona = case.rows["rita@x.com"], case.rows["mona@x.com"]
    assert (rita.gt_right, rita.gt_judged, rita.gt_accuracy) == (1, 2, 0.5)
    assert rita.gt_accuracy_ci == wilson(1, 2)
    assert (mona.gt_right, mona.gt_judged, mona.gt_accuracy) == (3, 3, 1.0)


def test_leniency(case):
    """Every verdict: rita 3 accepts; mona 1 accept, 2 fixes, 1 reject. The project: 6 of 7
    verdicts accept or fix. rita 3/3 - 6/7 = 1/7; mona 3/4 - 6/7 = -3/28."""
    rita, mona = case.rows["rita@x.com"], case.rows["mona@x.com"]
    assert rita.leniency == pytest.approx(1 / 7)
    assert mona.leniency == pytest.approx(-3 / 28)


def test_dashboard_csv_and_api_show_the_same_reviewer_numbers(case, client, auth):
    from reviewapp.services.users import add_member

    manager = factories.user("manager")
    add_member(case.project.id, manager)
    db.session.commit()
    auth.login(manager)
    pid = case.project.id
    page = client.get(f"/projects/{pid}/dashboard").get_data(as_text=True)
    row = page[page.index('data-user="rita@x.com"', page.index('id="reviewers"')) :]
    row = row[: row.index("</tr>")]
    assert "66.7%" in row and "+14.3 pts" in row and "50.0%" in row
    lines = client.get(f"/projects/{pid}/dashboard/reviewers.csv").get_data(as_text=True)
    header, *rows = [line.split(",") for line in lines.splitlines()]
    rita = dict(zip(header, next(r for r in rows if r[1] == "rita@x.com"), strict=True))
    assert (rita["overturn_rate"], rita["gt_accuracy"], rita["gt_judged"]) == (
        "0.666667",
        "0.5",
        "2",
    )
    assert rita["leniency"] == "0.142857"
    h = {"Authorization": f"Token {factories.token(manager)}"}
    body = client.get(f"/api/projects/{pid}/metrics", headers=h).get_json()
    api = next(r for r in body["reviewers"] if r["email"] == "rita@x.com")
    assert api["overturn_rate"] == pytest.approx(2 / 3)
    assert api["overturn_rate_ci"] == pytest.approx(list(wilson(2, 3)))
    assert (api["gt_accuracy"], api["gt_judged"]) == (0.5, 2)
    assert api["leniency"] == pytest.approx(1 / 7)


def test_a_renewal_keeps_the_lease_start_and_a_new_holder_restarts_it(app):
    """Lease at 12:00 by rita; rita again at 12:06 (renewed: still from 12:00); expired, mona
    at 12:20 (from 12:20)."""
    rita = factories.user("reviewer")
    mona = factories.user("reviewer")
    project = factories.project()
    factories.tasks(
        project, [{"data": {"text": "x"}, "annotations": [factories.annotation("a@x.com")]}]
    )
    annotation = db.session.scalar(select(Annotation.id))
    noon = utcnow().replace(hour=12, minute=0, second=0, microsecond=0)

    def start():
        return db.session.get(AnnotationLease, annotation, populate_existing=True).leased_at

    assert claim(AnnotationLease, annotation, rita.id, noon)
    assert claim(AnnotationLease, annotation, rita.id, noon + timedelta(minutes=6))
    assert start() == noon
    assert claim(AnnotationLease, annotation, mona.id, noon + timedelta(minutes=20))
    assert start() == noon + timedelta(minutes=20)
    db.session.commit()


def test_median_review_time_from_lease_to_verdict(app):
    """rita leases three annotations 90 s, 30 s and 600 s before her verdicts: median 90 s of
    n = 3. A verdict without a lease (a4, as from the task page) has no time."""
    rita = factories.user("reviewer", email="rita@x.com")
    project = factories.project(members=(rita,))
    factories.tasks(
        project,
        [{"data": {"text": t}, "annotations": [factories.annotation("a@x.com")]} for t in "wxyz"],
    )
    ids = db.session.scalars(select(Annotation.id).order_by(Annotation.id)).all()
    for annotation, seconds in zip(ids, (90, 30, 600), strict=False):
        claim(AnnotationLease, annotation, rita.id, utcnow() - timedelta(seconds=seconds))
        record_verdict(annotation, rita, "accepted")
        db.session.commit()
    record_verdict(ids[3], rita, "accepted")
    db.session.commit()
    [row] = project_metrics(project).reviewers
    assert row.review_time_n == 3 and row.reviews == 4
    assert row.median_review_time == pytest.approx(90, abs=5)
