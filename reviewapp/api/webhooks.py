"""JSON for webhooks: a project's (its managers) and global ones (admins); their delivery
log and redelivery."""

from __future__ import annotations

from flask import abort

from reviewapp.api import bp
from reviewapp.api.auth import api_user, token_required
from reviewapp.api.common import iso, json_object, paginate, person
from reviewapp.extensions import db
from reviewapp.models import Project, User, Webhook, WebhookDelivery
from reviewapp.permissions import MANAGERS, get_project_for
from reviewapp.services.webhooks.hooks import (
    WebhookError,
    create_webhook,
    delete_webhook,
    deliveries_of,
    get_delivery_for,
    get_webhook_for,
    redeliver,
    update_webhook,
    webhooks_of,
)

FIELDS = "with 'url', 'events' (a list) and 'secret', and optionally 'active'"


def webhook_json(webhook: Webhook) -> dict:
    """The webhook as the API shows it: never its secret."""
    return {
        "id": webhook.id,
        "project_id": webhook.project_id,
        "url": webhook.url,
        "events": list(webhook.events or ()),
        "active": webhook.active,
        "created_by": person(db.session.get(User, webhook.created_by_id))
        if webhook.created_by_id
        else None,
        "created_at": iso(webhook.created_at),
    }


def delivery_json(delivery: WebhookDelivery) -> dict:
    return {
        "id": delivery.id,
        "webhook_id": delivery.webhook_id,
        "event": delivery.event,
        "delivery_id": delivery.delivery_id,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": iso(delivery.next_attempt_at),
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "last_duration_ms": delivery.last_duration_ms,
        "response_excerpt": delivery.response_excerpt,
        "created_at": iso(delivery.created_at),
        "delivered_at": iso(delivery.delivered_at),
        "payload": delivery.payload,
    }


def _fields(body: dict) -> dict:
    """The webhook fields the body names; a field sent as null is a 422, not "keep it"."""
    for name in ("url", "events", "secret", "active"):
        if name in body and body[name] is None:
            abort(422, f"'{name}' cannot be null.")
    return {name: body.get(name) for name in ("url", "events", "secret", "active")}


def _listing(project: Project | None) -> dict:
    meta, hooks = paginate(webhooks_of(project))
    return {**meta, "webhooks": [webhook_json(w) for w in hooks]}


def _create(project: Project | None):
    fields = _fields(json_object(FIELDS))
    try:
        webhook = create_webhook(api_user(), project, **fields)
    except WebhookError as error:
        db.session.rollback()
        abort(422, str(error))
    db.session.commit()
    return webhook_json(webhook), 201


@bp.get("/projects/<int:project_id>/webhooks")
@token_required
def project_webhooks_api(project_id: int):
    """The project's webhooks (its managers and admins)."""
    return _listing(get_project_for(api_user(), project_id, MANAGERS))


@bp.post("/projects/<int:project_id>/webhooks")
@token_required
def create_project_webhook_api(project_id: int):
    """A new webhook of the project."""
    return _create(get_project_for(api_user(), project_id, MANAGERS))


@bp.get("/webhooks")
@token_required
def webhooks_api():
    """The global webhooks: every project's events (admins)."""
    if api_user().role != "admin":
        abort(403, "Global webhooks are for admins.")
    return _listing(None)


@bp.post("/webhooks")
@token_required
def create_webhook_api():
    """A new global webhook (admins)."""
    if api_user().role != "admin":
        abort(403, "Global webhooks are for admins.")
    return _create(None)


@bp.get("/webhooks/<int:webhook_id>")
@token_required
def webhook_api(webhook_id: int):
    """One webhook."""
    return webhook_json(get_webhook_for(api_user(), webhook_id))


@bp.patch("/webhooks/<int:webhook_id>")
@token_required
def update_webhook_api(webhook_id: int):
    """Change a webhook's URL, events, secret or active flag (what the body names)."""
    webhook = get_webhook_for(api_user(), webhook_id)
    fields = _fields(json_object("with any of 'url', 'events', 'secret', 'active'"))
    try:
        update_webhook(webhook, api_user(), **fields)
    except WebhookError as error:
        db.session.rollback()
        abort(422, str(error))
    db.session.commit()
    return webhook_json(webhook)


@bp.delete("/webhooks/<int:webhook_id>")
@token_required
def delete_webhook_api(webhook_id: int):
    """Delete a webhook and its delivery log."""
    webhook = get_webhook_for(api_user(), webhook_id)
    url = webhook.url
    delete_webhook(webhook, api_user())
    db.session.commit()
    return {"message": f"Deleted the webhook to {url}."}


@bp.get("/webhooks/<int:webhook_id>/deliveries")
@token_required
def webhook_deliveries_api(webhook_id: int):
    """The webhook's delivery log, newest first."""
    webhook = get_webhook_for(api_user(), webhook_id)
    meta, rows = paginate(deliveries_of(webhook))
    return {**meta, "deliveries": [delivery_json(d) for d in rows]}


@bp.post("/deliveries/<int:delivery_id>/redeliver")
@token_required
def redeliver_api(delivery_id: int):
    """Send a delivery's payload again, as a new delivery."""
    delivery = get_delivery_for(api_user(), delivery_id)
    again = redeliver(delivery, api_user())
    db.session.commit()
    db.session.refresh(again)
    return delivery_json(again), 201


from reviewapp.api.schemas import (  # noqa: E402 - the description sits below the routes
    ID,
    MESSAGE,
    PAGE_PARAMETERS,
    TIMESTAMP,
    listing,
    nullable,
    obj,
    op,
    path_id,
    ref,
)
from reviewapp.services.webhooks.outbox import EVENTS  # noqa: E402

_PROJECT_ID = path_id("project_id", "The project's id")
_WEBHOOK_ID = path_id("webhook_id", "The webhook's id")
_EVENTS = {"type": "array", "items": {"enum": list(EVENTS)}, "minItems": 1}
_URL = {"type": "string", "minLength": 1, "maxLength": 2000, "description": "http(s) URL"}
_SECRET = {"type": "string", "minLength": 1, "maxLength": 200}
_NEW = {
    "type": "object",
    "required": ["url", "events", "secret"],
    "properties": {
        "url": _URL,
        "events": _EVENTS,
        "secret": {**_SECRET, "description": "Signs each delivery; never shown again"},
        "active": {"type": "boolean", "default": True},
    },
}
_CHANGE = {
    "type": "object",
    "properties": {
        "url": _URL,
        "events": _EVENTS,
        "secret": _SECRET,
        "active": {"type": "boolean"},
    },
}
_INT_OR_NULL = {"type": ["integer", "null"]}
_TEXT_OR_NULL = {"type": ["string", "null"]}
_CREATE_TEXT = (
    "The URL must be http(s) and, unless the server sets REVIEWAPP_WEBHOOK_ALLOW_PRIVATE=1, "
    "a public host (422 otherwise). The answer never carries the secret."
)

OPENAPI_SCHEMAS = {
    "Webhook": obj(
        {
            "id": ID,
            "project_id": {**ID, "type": ["integer", "null"]},
            "url": {"type": "string"},
            "events": {"type": "array", "items": {"type": "string"}},
            "active": {"type": "boolean"},
            "created_by": {"anyOf": [ref("Person"), {"type": "null"}]},
            "created_at": TIMESTAMP,
        },
        "A webhook: project_id null for a global one.",
    ),
    "WebhookDelivery": obj(
        {
            "id": ID,
            "webhook_id": ID,
            "event": {"type": "string"},
            "delivery_id": {"type": "string", "description": "A UUID, also in the payload"},
            "status": {"enum": ["pending", "delivered", "failed"]},
            "attempts": {"type": "integer", "minimum": 0},
            "next_attempt_at": nullable(TIMESTAMP),
            "last_status_code": _INT_OR_NULL,
            "last_error": _TEXT_OR_NULL,
            "last_duration_ms": _INT_OR_NULL,
            "response_excerpt": _TEXT_OR_NULL,
            "created_at": TIMESTAMP,
            "delivered_at": nullable(TIMESTAMP),
            "payload": {"type": "object", "description": "The JSON body that is POSTed"},
        },
        "One event sent (or to be sent) to a webhook, with its last attempt.",
    ),
}

OPENAPI_PATHS = {
    "/api/projects/{project_id}/webhooks": {
        "get": op(
            "project_webhooks_api",
            "webhooks",
            "The project's webhooks (its managers and admins).",
            {200: listing("webhooks", ref("Webhook"))},
            (400, 403, 404),
            parameters=[_PROJECT_ID, *PAGE_PARAMETERS],
        ),
        "post": op(
            "create_project_webhook_api",
            "webhooks",
            "Add a webhook to the project (its managers and admins).",
            {201: ref("Webhook")},
            (400, 403, 404, 422),
            parameters=[_PROJECT_ID],
            body=_NEW,
            description=_CREATE_TEXT,
        ),
    },
    "/api/webhooks": {
        "get": op(
            "webhooks_api",
            "webhooks",
            "The global webhooks, told about every project's events (admins).",
            {200: listing("webhooks", ref("Webhook"))},
            (400, 403),
            parameters=list(PAGE_PARAMETERS),
        ),
        "post": op(
            "create_webhook_api",
            "webhooks",
            "Add a global webhook (admins).",
            {201: ref("Webhook")},
            (400, 403, 422),
            body=_NEW,
            description=_CREATE_TEXT,
        ),
    },
    "/api/webhooks/{webhook_id}": {
        "get": op(
            "webhook_api",
            "webhooks",
            "One webhook (whoever manages it).",
            {200: ref("Webhook")},
            (404,),
            parameters=[_WEBHOOK_ID],
        ),
        "patch": op(
            "update_webhook_api",
            "webhooks",
            "Change a webhook's URL, events, secret or active flag.",
            {200: ref("Webhook")},
            (400, 403, 404, 422),
            parameters=[_WEBHOOK_ID],
            body=_CHANGE,
        ),
        "delete": op(
            "delete_webhook_api",
            "webhooks",
            "Delete a webhook with its delivery log.",
            {200: MESSAGE},
            (403, 404),
            parameters=[_WEBHOOK_ID],
        ),
    },
    "/api/webhooks/{webhook_id}/deliveries": {
        "get": op(
            "webhook_deliveries_api",
            "webhooks",
            "The webhook's delivery log, newest first: attempts, status, duration, answer.",
            {200: listing("deliveries", ref("WebhookDelivery"))},
            (400, 404),
            parameters=[_WEBHOOK_ID, *PAGE_PARAMETERS],
        ),
    },
    "/api/deliveries/{delivery_id}/redeliver": {
        "post": op(
            "redeliver_api",
            "webhooks",
            "Send a delivery's payload again, as a new delivery with its own delivery_id.",
            {201: ref("WebhookDelivery")},
            (403, 404),
            parameters=[path_id("delivery_id", "The delivery's id")],
        ),
    },
}
