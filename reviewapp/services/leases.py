"""Leases keep two people off the same item: a task in the label stream, an annotation in the
review stream. One upsert takes or renews a lease for both."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_

from reviewapp.db import upsert
from reviewapp.extensions import db
from reviewapp.models import AnnotationLease, TaskLease

LEASE = timedelta(minutes=10)


def claim(
    lease: type[TaskLease] | type[AnnotationLease], item_id: int, user_id: int, now: datetime
) -> bool:
    """Lease the item to the user until now + LEASE unless someone else holds an unexpired
    lease on it; True when the user holds it now.

    One statement (INSERT ... ON CONFLICT DO UPDATE ... WHERE ... RETURNING), so two people
    claiming the same item at once cannot both win: the loser gets no row back.
    """
    key = lease.__table__.primary_key.columns[0]
    until = now + LEASE
    statement = (
        upsert.insert(lease)
        .values({key.name: item_id, "user_id": user_id, "until": until})
        .on_conflict_do_update(
            index_elements=[key],
            set_={"user_id": user_id, "until": until},
            where=or_(lease.user_id == user_id, lease.until <= now),
        )
    )
    return db.session.execute(statement.returning(key)).scalar() is not None
