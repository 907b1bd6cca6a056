"""Throughput per day (docs/metrics.md, "Throughput"): annotations submitted, reviews done and
tasks reaching ``done``, per person and in total.

Days are the server's local days (its TZ, DST included). The database counts per person and
per UTC hour (one aggregate per kind, over covering indexes); `throughput` turns those hours
into local days, so a zone whose offset is not a whole number of hours (India, +05:30) puts
the half hour around midnight into the day its hour starts in.

- annotations: non-skipped annotations, by their created_at, per annotator;
- reviews: every verdict, by its time, per reviewer;
- done: every change of a task's state to ``done`` (a task that is reopened and done again
  counts twice), by its time, per the person whose action made it done; one made by nobody
  (the system) counts in the total only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import false, func, literal_column, select

from reviewapp.extensions import db
from reviewapp.models import Annotation, Review, TaskStateChange, User

KINDS = ("annotations", "reviews", "done")
# Longer than this between the first and the last active day, only active days are listed
# (imported annotations can carry times years apart).
MAX_FILLED_DAYS = 366


@dataclass(frozen=True)
class Day:
    day: date
    annotations: int = 0
    reviews: int = 0
    done: int = 0


@dataclass(frozen=True)
class PersonDays:
    """One person's counts per day (only days with a count)."""

    id: int
    email: str
    name: str
    days: dict[date, Day]

    @property
    def label(self) -> str:
        return self.name or self.email

    def total(self, kind: str) -> int:
        return sum(getattr(d, kind) for d in self.days.values())


@dataclass(frozen=True)
class Throughput:
    time_zone: str
    days: list[Day]  # every day from the first to the last with a count (see MAX_FILLED_DAYS)
    people: list[PersonDays] = field(default_factory=list)

    def peak(self, kind: str) -> int:
        return max((getattr(d, kind) for d in self.days), default=0)

    def people_with(self, kind: str) -> list[PersonDays]:
        return [p for p in self.people if p.total(kind)]


def server_day(utc: datetime) -> date:
    """The server's local day of a naive UTC time."""
    return utc.replace(tzinfo=UTC).astimezone().date()


def throughput(
    hours: Iterable[tuple[str, int | None, datetime, int]],
    people: dict[int, tuple[str, str]],
    day_of: Callable[[datetime], date] = server_day,
    time_zone: str = "",
) -> Throughput:
    """Days and people from counts ``(kind, person id or None, UTC hour, n)``; people maps
    ids to (email, name). Totals include counts without a person."""
    totals: dict[date, dict[str, int]] = {}
    per_person: dict[int, dict[date, dict[str, int]]] = {}
    days_of: dict[datetime, date] = {}  # many people share an hour: convert each once
    for kind, person, hour, n in hours:
        day = days_of.get(hour)
        if day is None:
            day = days_of[hour] = day_of(hour)
        totals.setdefault(day, dict.fromkeys(KINDS, 0))[kind] += n
        if person is not None:
            cell = per_person.setdefault(person, {}).setdefault(day, dict.fromkeys(KINDS, 0))
            cell[kind] += n
    listed = sorted(totals)
    if listed and (listed[-1] - listed[0]).days < MAX_FILLED_DAYS:
        listed = [listed[0] + timedelta(days=k) for k in range((listed[-1] - listed[0]).days + 1)]
    days = [Day(d, **totals.get(d, {})) for d in listed]
    rows = [
        PersonDays(uid, *people[uid], {d: Day(d, **c) for d, c in sorted(counts.items())})
        for uid, counts in per_person.items()
    ]
    return Throughput(time_zone, days, sorted(rows, key=lambda p: p.label.lower()))


def _hour(column):
    """The UTC hour of a timestamp column, in SQL (text on SQLite, a timestamp elsewhere),
    labelled so the GROUP BY names it (PostgreSQL would see two different bound 'hour's)."""
    if db.session.get_bind().dialect.name == "sqlite":
        return func.strftime("%Y-%m-%d %H:00:00", column).label("utc_hour")
    return func.date_trunc("hour", column).label("utc_hour")


def _as_datetime(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def project_throughput(project_id: int) -> Throughput:
    """The project's throughput: three grouped counts (per kind, person and hour)."""
    queries = {
        "annotations": select(
            Annotation.completed_by_id, _hour(Annotation.created_at), func.count()
        ).where(Annotation.project_id == project_id, Annotation.was_cancelled == false()),
        "reviews": select(Review.reviewer_id, _hour(Review.created_at), func.count()).where(
            Review.project_id == project_id
        ),
        "done": select(TaskStateChange.by_id, _hour(TaskStateChange.at), func.count()).where(
            TaskStateChange.project_id == project_id, TaskStateChange.to_state == "done"
        ),
    }
    hours = []
    for kind, query in queries.items():
        grouped = query.group_by(query.selected_columns[0], literal_column("utc_hour"))
        for uid, at, n in db.session.execute(grouped):
            hours.append((kind, uid, _as_datetime(at), n))
    ids = {uid for _, uid, _, _ in hours if uid is not None}
    people = {
        uid: (email, name or "")
        for uid, email, name in db.session.execute(
            select(User.id, User.email, User.name).where(User.id.in_(ids))
        )
    }
    zone = datetime.now().astimezone().tzname() or "local"
    return throughput(hours, people, time_zone=zone)
