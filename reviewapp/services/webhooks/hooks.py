"""Create, change, delete and find webhooks, with who may (permissions.may_manage_webhooks):
a project's managers for its hooks, admins for every hook and the global ones."""

from __future__ import annotations

import ipaddress
import socket
import uuid
from urllib.parse import urlsplit

from flask import abort, current_app
from sqlalchemy import Select, select

from reviewapp.extensions import db
from reviewapp.models import Project, User, Webhook, WebhookDelivery, utcnow
from reviewapp.permissions import may_manage_webhooks
from reviewapp.services.webhooks.outbox import EVENTS

MAX_URL = 2000
MAX_SECRET = 200


class WebhookError(ValueError):
    """The webhook cannot be saved as asked; the message says why."""


class UnsafeTarget(WebhookError):
    """The URL is not http(s), or its host is a loopback, link-local or private address."""


def check_target(url: str, resolve: bool = True) -> tuple[str, int, list[str]]:
    """(host, port, addresses) of an http(s) URL whose every address is public, or
    UnsafeTarget; private targets pass when WEBHOOK_ALLOW_PRIVATE is set. With resolve
    (each delivery) the host is looked up, and a failed look-up raises socket.gaierror (an
    OSError: retried); without (saving a webhook, in a request) only an address written in
    the URL and localhost are checked, and no addresses are returned."""
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise UnsafeTarget("The URL must not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        hostname, port = parts.hostname, parts.port
    except ValueError:
        raise UnsafeTarget("The URL is malformed (its host or port).") from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise UnsafeTarget("The URL must start with http:// or https:// and name a host.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("Put no user name or password in the URL; the secret signs each call.")
    port = port or (443 if parts.scheme == "https" else 80)
    if resolve:
        infos = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
    else:
        addresses = []
        try:
            ipaddress.ip_address(hostname)
            addresses = [hostname]
        except ValueError:
            if hostname == "localhost" or hostname.endswith(".localhost"):
                addresses = ["127.0.0.1"]
    if not current_app.config.get("WEBHOOK_ALLOW_PRIVATE"):
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])
            if not ip.is_global or ip.is_multicast:
                raise UnsafeTarget(
                    f"{hostname} is a loopback, link-local or private address "
                    f"({address}); webhooks call public hosts only unless the server sets "
                    "REVIEWAPP_WEBHOOK_ALLOW_PRIVATE=1."
                )
    return hostname, port, [] if not resolve else addresses


def _clean(url, events, secret, active, creating: bool) -> dict:
    values: dict = {}
    if url is not None or creating:
        if not isinstance(url, str) or not url.strip() or len(url.strip()) > MAX_URL:
            raise WebhookError(f"Give the URL (at most {MAX_URL} characters).")
        values["url"] = url.strip()
        check_target(values["url"], resolve=False)
    if events is not None or creating:
        if (
            not isinstance(events, list)
            or not events
            or not all(isinstance(e, str) and e in EVENTS for e in events)
        ):
            raise WebhookError(f"Choose one or more events among {', '.join(EVENTS)}.")
        values["events"] = [e for e in EVENTS if e in set(events)]
    if secret is not None or creating:
        if not isinstance(secret, str) or not secret.strip() or len(secret) > MAX_SECRET:
            raise WebhookError(
                f"Give a secret (1 to {MAX_SECRET} characters): it signs every delivery."
            )
        values["secret"] = secret
    if active is not None:
        if not isinstance(active, bool):
            raise WebhookError("'active' is true or false.")
        values["active"] = active
    return values


def create_webhook(
    by: User, project: Project | None, url, events, secret, active: bool | None = True
) -> Webhook:
    """A new webhook of the project (None: global); flushes. PermissionError unless `by`
    manages it, WebhookError for a bad URL, event list or secret."""
    project_id = project.id if project is not None else None
    if not may_manage_webhooks(by, project_id):
        raise PermissionError(
            "Only admins manage global webhooks."
            if project_id is None
            else "Only the project's managers and admins manage its webhooks."
        )
    values = _clean(url, events, secret, True if active is None else active, creating=True)
    webhook = Webhook(project_id=project_id, created_by_id=by.id, **values)
    db.session.add(webhook)
    db.session.flush()
    return webhook


def update_webhook(webhook: Webhook, by: User, url=None, events=None, secret=None, active=None):
    """Change what is given (None: keep it); flushes. Raises as create_webhook."""
    if not may_manage_webhooks(by, webhook.project_id):
        raise PermissionError("You may not change this webhook.")
    for name, value in _clean(url, events, secret, active, creating=False).items():
        setattr(webhook, name, value)
    db.session.flush()


def delete_webhook(webhook: Webhook, by: User) -> None:
    """Delete the webhook with its delivery log; flushes."""
    if not may_manage_webhooks(by, webhook.project_id):
        raise PermissionError("You may not delete this webhook.")
    db.session.delete(webhook)
    db.session.flush()


def get_webhook_for(user: User, webhook_id: int) -> Webhook:
    """The webhook if user may manage it, else 404 (its existence does not leak)."""
    webhook = db.session.get(Webhook, webhook_id)
    if webhook is None or not may_manage_webhooks(user, webhook.project_id):
        abort(404)
    return webhook


def get_delivery_for(user: User, delivery_id: int) -> WebhookDelivery:
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or not may_manage_webhooks(user, delivery.webhook.project_id):
        abort(404)
    return delivery


def webhooks_of(project: Project | None) -> Select:
    """A project's webhooks (None: the global ones), oldest first."""
    where = Webhook.project_id.is_(None) if project is None else Webhook.project_id == project.id
    return select(Webhook).where(where).order_by(Webhook.id)


def deliveries_of(webhook: Webhook) -> Select:
    """A webhook's delivery log, newest first."""
    return (
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook.id)
        .order_by(WebhookDelivery.id.desc())
    )


def redeliver(delivery: WebhookDelivery, by: User) -> WebhookDelivery:
    """Send a delivery's payload again, as a new delivery (its own delivery_id and log
    line) queued now; flushes. The caller commits, which hands it to the worker."""
    if not may_manage_webhooks(by, delivery.webhook.project_id):
        raise PermissionError("You may not redeliver this webhook's events.")
    new_id = str(uuid.uuid4())
    again = WebhookDelivery(
        webhook_id=delivery.webhook_id,
        event=delivery.event,
        object_key=delivery.object_key,
        delivery_id=new_id,
        payload={**delivery.payload, "delivery_id": new_id},
        status="pending",
        attempts=0,
        next_attempt_at=utcnow(),
    )
    db.session.add(again)
    db.session.flush()
    db.session.info["webhooks_due"] = True
    return again
