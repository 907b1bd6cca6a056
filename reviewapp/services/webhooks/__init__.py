"""Webhooks: the hooks users set up (hooks), the events written with each change into the
outbox (outbox.emit), and their signed delivery by the job worker, with retries (delivery)."""

from reviewapp.services.webhooks.outbox import EVENTS, emit

__all__ = ["EVENTS", "emit"]
