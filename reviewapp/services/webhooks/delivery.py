"""Sending deliveries: a signed JSON POST to the webhook's URL, checked to be a public
http(s) host (hooks.check_target) and connected to the address that was checked, a 5 s
timeout, no redirects. Retried with exponential backoff on timeouts, connection errors, 429
and 5xx for 24 hours; a webhook's deliveries for one object go out in id order."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import socket
import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.orm import aliased

from reviewapp.extensions import db
from reviewapp.models import Webhook, WebhookDelivery, utcnow
from reviewapp.services.webhooks.hooks import UnsafeTarget, check_target

TIMEOUT = 5.0
FIRST_RETRY = 15  # seconds; then doubled each attempt, up to MAX_RETRY
MAX_RETRY = 3600
GIVE_UP_AFTER = timedelta(hours=24)
# A worker that took a delivery and died: the delivery is due again after this.
CLAIM_SECONDS = 60
EXCERPT = 1000
BATCH = 500
# One run of deliver_due goes on while it sends something, for at most this long.
ROUND_SECONDS = 30
USER_AGENT = "reviewapp-webhooks/1"


def sign(secret: str, body: bytes) -> str:
    """The X-Reviewapp-Signature value: sha256=<hex HMAC-SHA256 of the raw body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body_of(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the address that check_target approved, not to a second DNS answer."""

    def __init__(self, host: str, port: int, address: str):
        super().__init__(host, port, timeout=TIMEOUT)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str):
        super().__init__(host, port, timeout=TIMEOUT)
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict) -> tuple[int, str]:
    """(status, the first EXCERPT characters of the answer); raises UnsafeTarget, or
    OSError / HTTPException when the call fails. Redirects are answers, not followed."""
    host, port, addresses = check_target(url)
    parts = urlsplit(url)
    kind = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    connection = kind(host, port, addresses[0])
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(4 * EXCERPT).decode("utf-8", "replace")[:EXCERPT]
        return response.status, excerpt
    finally:
        connection.close()


def retry_delay(attempts: int) -> int:
    """Seconds before attempt attempts + 1: 15, 30, 60... up to an hour."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), MAX_RETRY)


def attempt(delivery: WebhookDelivery, now: datetime | None = None) -> None:
    """One try of the delivery; records the outcome on its row (the caller commits)."""
    webhook = delivery.webhook
    body = body_of(delivery)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Reviewapp-Event": delivery.event,
        "X-Reviewapp-Delivery": delivery.delivery_id,
        "X-Reviewapp-Signature": sign(webhook.secret, body),
    }
    started = time.monotonic()
    status, excerpt, error, retry = None, None, None, False
    try:
        status, excerpt = post(webhook.url, body, headers)
    except UnsafeTarget as refused:
        error = str(refused)
    except (UnicodeError, ValueError) as bad:  # a host name that cannot be looked up at all
        error = f"The URL cannot be called: {bad}"
    except (OSError, http.client.HTTPException) as failure:
        error = f"{type(failure).__name__}: {failure}" if str(failure) else type(failure).__name__
        retry = True
    now = now or utcnow()
    delivery.attempts += 1
    delivery.last_duration_ms = round((time.monotonic() - started) * 1000)
    delivery.last_status_code = status
    delivery.response_excerpt = excerpt
    delivery.last_error = error[:2000] if error else None
    if status is not None and 200 <= status < 300:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = "delivered", now, None
        return
    if status is not None:
        retry = status >= 500 or status == 429
        delivery.last_error = f"The receiver answered {status}." + (
            " Redirects are not followed." if 300 <= status < 400 else ""
        )
    later = now + timedelta(seconds=retry_delay(delivery.attempts))
    if retry and later - delivery.created_at <= GIVE_UP_AFTER:
        delivery.next_attempt_at = later
    else:
        delivery.status, delivery.next_attempt_at = "failed", None


def deliver_due(now: datetime | None = None) -> tuple[int, datetime | None]:
    """Try the due pending deliveries of the active webhooks, oldest first; commits after
    each. A delivery waits while an earlier one of its webhook about the same object is
    pending, and is claimed before it is sent, so two workers never send it twice. When a
    webhook's receiver fails, its other due deliveries wait for that one's retry rather
    than each spending a timeout on it now. Returns (attempts made, when the next pending
    delivery is due, or None)."""
    given, now = now, now or utcnow()
    tried, started = 0, time.monotonic()
    while time.monotonic() - started < ROUND_SECONDS:
        # Another round only when one ended (sent or failed for good): its followers are due.
        round_tried, settled = _deliver_round(given, now)
        tried += round_tried
        if not settled:
            break
    next_due = db.session.scalar(
        select(func.min(WebhookDelivery.next_attempt_at))
        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .where(WebhookDelivery.status == "pending", Webhook.active.is_(True))
    )
    db.session.commit()
    return tried, next_due


def _deliver_round(given: datetime | None, now: datetime) -> tuple[int, int]:
    """The due deliveries in id order, those of one object one after the other; returns
    (attempts, attempts that ended the delivery)."""
    # Left out: a delivery behind an earlier one about its object that is not due yet. An
    # earlier one that is due comes before it in this batch (ids ascend) and goes first.
    earlier = aliased(WebhookDelivery)
    waiting = (
        select(earlier.id)
        .where(
            earlier.webhook_id == WebhookDelivery.webhook_id,
            earlier.object_key == WebhookDelivery.object_key,
            earlier.status == "pending",
            earlier.next_attempt_at > now,
            earlier.id < WebhookDelivery.id,
        )
        .exists()
    )
    rows = db.session.execute(
        select(
            WebhookDelivery.id,
            WebhookDelivery.webhook_id,
            WebhookDelivery.object_key,
            WebhookDelivery.next_attempt_at,
        )
        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .where(
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
            Webhook.active.is_(True),
            ~waiting,
        )
        .order_by(WebhookDelivery.id)
        .limit(BATCH)
    ).all()
    db.session.commit()
    blocked: set[tuple[int, str]] = set()
    stalled: dict[int, datetime] = {}
    tried = settled = 0
    for row in rows:
        key = (row.webhook_id, row.object_key)
        if row.webhook_id in stalled or key in blocked:
            continue
        claimed = db.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == row.id,
                WebhookDelivery.status == "pending",
                WebhookDelivery.next_attempt_at == row.next_attempt_at,
            )
            .values(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS))
        ).rowcount
        db.session.commit()
        if not claimed:  # another worker has it: what follows it waits
            blocked.add(key)
            continue
        delivery = db.session.get(WebhookDelivery, row.id)
        attempt(delivery, given)
        db.session.commit()
        tried += 1
        if delivery.status == "pending":
            stalled[row.webhook_id] = delivery.next_attempt_at
        else:
            settled += 1
    for webhook_id, until in stalled.items():
        db.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.webhook_id == webhook_id,
                WebhookDelivery.status == "pending",
                WebhookDelivery.next_attempt_at <= now,
            )
            .values(next_attempt_at=until)
        )
    db.session.commit()
    return tried, settled
