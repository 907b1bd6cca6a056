"""Throughput per day (issue 16 point 4), worked out by hand in each docstring."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from reviewapp.extensions import db
from reviewapp.models import Annotation, utcnow
from reviewapp.services.metrics.throughput import project_throughput, server_day, throughput
from reviewapp.services.review_stream import record_verdict
from tests import factories

NEW_YORK = ZoneInfo("America/New_York")


def new_york_day(utc: datetime) -> date:
    return utc.replace(tzinfo=UTC).astimezone(NEW_YORK).date()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_hours_become_local_days_per_person_and_in_total():
    """New York is UTC-5 in early March 2026. Person 1: 2 annotations at 03:00 UTC on Mar 1
    (22:00 on Feb 28 local) and 1 at 05:00 UTC (00:00 Mar 1 local); person 2: 4 at 12:00 UTC
    Mar 1. Person 3: 2 tasks done at 23:00 UTC Mar 1 (18:00, Mar 1) and 5 reviews at 04:00
    UTC Mar 3 (23:00, Mar 2); 1 task done by nobody then too.

    Totals: Feb 28 annotations 2; Mar 1 annotations 1 + 4 = 5, done 2; Mar 2 reviews 5,
    done 1."""
    hours = [
        ("annotations", 1, at("2026-03-01 03:00"), 2),
        ("annotations", 1, at("2026-03-01 05:00"), 1),
        ("annotations", 2, at("2026-03-01 12:00"), 4),
        ("done", 3, at("2026-03-01 23:00"), 2),
        ("reviews", 3, at("2026-03-03 04:00"), 5),
        ("done", None, at("2026-03-03 04:00"), 1),
    ]
    people = {1: ("ann@x.com", "Ann"), 2: ("ben@x.com", "Ben"), 3: ("rita@x.com", "Rita")}
    result = throughput(hours, people, new_york_day, "EST")
    assert [(d.day.isoformat(), d.annotations, d.reviews, d.done) for d in result.days] == [
        ("2026-02-28", 2, 0, 0),
        ("2026-03-01", 5, 0, 2),
        ("2026-03-02", 0, 5, 1),
    ]
    by_label = {p.label: p for p in result.people}
    assert {d.isoformat(): c.annotations for d, c in by_label["Ann"].days.items()} == {
        "2026-02-28": 2,
        "2026-03-01": 1,
    }
    assert (by_label["Rita"].total("done"), by_label["Rita"].total("reviews")) == (2, 5)
    assert [p.label for p in result.people_with("annotations")] == ["Ann", "Ben"]
    assert result.peak("annotations") == 5


def test_days_without_work_are_listed_with_zeros():
    """Work on Mar 1 and Mar 4 (UTC days): Mar 2 and 3 appear with 0."""
    hours = [
        ("reviews", 1, at("2026-03-01 10:00"), 1),
        ("reviews", 1, at("2026-03-04 10:00"), 3),
    ]
    result = throughput(hours, {1: ("r@x.com", "")}, lambda h: h.date())
    assert [(d.day.day, d.reviews) for d in result.days] == [(1, 1), (2, 0), (3, 0), (4, 3)]


def test_project_throughput_from_the_database(app):
    """Three days ago at 10:00 and 10:30 UTC ann submits two annotations (imported with those
    times), ben one at 09:00 the day after, and a skipped one that does not count. rita
    accepts both of the first task's annotations now, which makes it done: 2 reviews and 1
    done today, by rita."""
    rita = factories.user("reviewer", email="rita@x.com")
    project = factories.project(members=(rita,))
    base = utcnow().replace(hour=10, minute=0, second=0, microsecond=0) - timedelta(days=3)

    def when(hours: float) -> str:
        return (base + timedelta(hours=hours)).isoformat()

    factories.tasks(
        project,
        [
            {
                "data": {"text": "one"},
                "annotations": [
                    factories.annotation("ann@x.com", created_at=when(0)),
                    factories.annotation("ben@x.com", created_at=when(23)),
                ],
            },
            {
                "data": {"text": "two"},
                "annotations": [
                    factories.annotation("ann@x.com", created_at=when(0.5)),
                    {"completed_by": "ben@x.com", "was_cancelled": True, "created_at": when(1)},
                ],
            },
        ],
    )
    first_task = db.session.scalar(select(Annotation.task_id).order_by(Annotation.id).limit(1))
    for annotation in db.session.scalars(
        select(Annotation.id).where(Annotation.task_id == first_task)
    ).all():
        record_verdict(annotation, rita, "accepted")
    db.session.commit()
    result = project_throughput(project.id)
    days = {d.day: d for d in result.days}
    first, today = server_day(base), server_day(utcnow())
    assert len(result.days) == (today - first).days + 1  # every day, quiet ones too
    assert sum(d.annotations for d in result.days) == 3
    assert days[server_day(base + timedelta(hours=23))].annotations >= 1
    assert (days[today].reviews, days[today].done) == (2, 1)
    by_email = {p.email: p for p in result.people}
    assert by_email["ann@x.com"].days[first].annotations == 2
    assert by_email["ben@x.com"].total("annotations") == 1
    assert (by_email["rita@x.com"].total("reviews"), by_email["rita@x.com"].total("done")) == (2, 1)


def test_dashboard_block_csv_and_api_give_the_same_days(client, auth):
    """Two annotations by ann two days ago at 10:00 UTC, one by ben the day after: the lazy
    block draws a bar per day (2, 1) with the numbers under it; the CSV and the API give the
    same counts."""
    import csv
    import io
    import re
    from html import unescape

    manager = auth.login("manager")
    project = factories.project(members=(manager,))
    base = utcnow().replace(hour=10, minute=0, second=0, microsecond=0) - timedelta(days=2)
    factories.tasks(
        project,
        [
            {
                "data": {"text": "one"},
                "annotations": [
                    factories.annotation("ann@x.com", created_at=base.isoformat()),
                    factories.annotation(
                        "ben@x.com", created_at=(base + timedelta(days=1)).isoformat()
                    ),
                ],
            },
            {
                "data": {"text": "two"},
                "annotations": [factories.annotation("ann@x.com", created_at=base.isoformat())],
            },
        ],
    )
    first, second = server_day(base), server_day(base + timedelta(days=1))
    page = client.get(f"/projects/{project.id}/dashboard").get_data(as_text=True)
    placeholder = re.search(r'<section id="throughput"[^>]*hx-get="([^"]+)"', page)
    assert placeholder and "<svg" not in page[page.index('id="throughput"') :][:600]
    block = client.get(unescape(placeholder[1]), headers={"HX-Request": "true"})
    html = block.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="throughput"') and "<html" not in html
    annotations = html[: html.index("<h3>Reviews done</h3>")]
    bars = re.findall(r'<rect[^>]*data-day="([^"]+)" data-value="(\d+)"', annotations)
    assert (first.isoformat(), "2") in bars and (second.isoformat(), "1") in bars
    row = re.search(rf'<tr data-day="{first.isoformat()}">(.*?)</tr>', annotations, re.S)[1]
    assert re.findall(r">(\d+)</td>", row) == ["2", "2", "0"]  # total, ann, ben
    lines = client.get(f"/projects/{project.id}/dashboard/throughput.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(lines)))
    totals = {r["day"]: int(r["annotations"]) for r in rows if r["email"] == "total"}
    assert (totals[first.isoformat()], totals[second.isoformat()]) == (2, 1)
    h = {"Authorization": f"Token {factories.token(manager)}"}
    body = client.get(f"/api/projects/{project.id}/metrics", headers=h).get_json()["throughput"]
    by_day = {d["day"]: d["annotations"] for d in body["days"]}
    assert (by_day[first.isoformat()], by_day[second.isoformat()]) == (2, 1)
    ben = next(p for p in body["people"] if p["email"] == "ben@x.com")
    assert ben["days"] == [{"day": second.isoformat(), "annotations": 1, "reviews": 0, "done": 0}]
