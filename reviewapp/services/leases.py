"""Leases keep two people off the same item: a task in the label stream, an annotation in the
review stream. One upsert takes or renews a lease for both.

The stream pages take a lease on GET, on purpose: handing out the next item is the safe claim
of a work queue, not a change to anything the user owns, and it is idempotent. A repeated GET
by the same user returns the item they hold and writes nothing while more than RENEW_BEFORE of
the lease is left; a lease nobody uses expires and the item comes back. The GETs nobody meant,
browser prefetches, take no lease (reviewapp/prefetch.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, case, or_

from reviewapp.db import upsert
from reviewapp.extensions import db
from reviewapp.models import AnnotationLease, TaskLease

LEASE = timedelta(minutes=10)
# A lease with less than this left is renewed when handed out again; a fresher one is handed
# out without a write (writes queue for SQLite's single write lock).
RENEW_BEFORE = LEASE / 2


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
    # A renewal of the holder's own live lease keeps its start; a new holder starts now.
    renewal = and_(lease.user_id == user_id, lease.until > now, lease.leased_at.is_not(None))
    statement = (
        upsert.insert(lease)
        .values({key.name: item_id, "user_id": user_id, "until": until, "leased_at": now})
        .on_conflict_do_update(
            index_elements=[key],
            set_={
                "user_id": user_id,
                "until": until,
                "leased_at": case((renewal, lease.leased_at), else_=now),
            },
            where=or_(lease.user_id == user_id, lease.until <= now),
        )
    )
    return db.session.execute(statement.returning(key)).scalar() is not None
