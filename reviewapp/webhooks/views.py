"""Webhook pages: a project's webhooks (its managers) and the global ones (admins), each
with its edit form and delivery log, where a delivery can be sent again."""

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from reviewapp.extensions import db
from reviewapp.models import Webhook
from reviewapp.permissions import MANAGERS, get_project_for, role_required
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
from reviewapp.webhooks import bp
from reviewapp.webhooks.forms import EditWebhookForm, WebhookForm

LOG_SIZE = 50


def _list_page(project, form: WebhookForm):
    """The list and the add form (of a project, or the global ones for project None)."""
    if form.validate_on_submit():
        try:
            webhook = create_webhook(
                current_user,
                project,
                form.url.data,
                form.events.data,
                form.secret.data,
                form.active.data,
            )
        except WebhookError as error:
            db.session.rollback()
            form.url.errors.append(str(error))
        else:
            db.session.commit()
            flash(f"Added the webhook to {webhook.url}.", "success")
            return redirect(_list_url(webhook))
    hooks = db.session.scalars(webhooks_of(project)).all()
    status = 422 if form.is_submitted() else 200
    return render_template("webhooks/index.html", project=project, hooks=hooks, form=form), status


def _list_url(webhook: Webhook) -> str:
    if webhook.project_id is None:
        return url_for("webhooks.global_hooks")
    return url_for("webhooks.project_hooks", project_id=webhook.project_id)


@bp.route("/projects/<int:project_id>/webhooks", methods=["GET", "POST"])
@login_required
def project_hooks(project_id: int):
    """The project's webhooks, and a form to add one."""
    return _list_page(get_project_for(current_user, project_id, MANAGERS), WebhookForm())


@bp.route("/admin/webhooks", methods=["GET", "POST"])
@role_required("admin")
def global_hooks():
    """Global webhooks: told about every project's events."""
    return _list_page(None, WebhookForm())


@bp.route("/webhooks/<int:webhook_id>", methods=["GET", "POST"])
@login_required
def edit(webhook_id: int):
    """Change a webhook; its delivery log with a Redeliver button on each line."""
    webhook = get_webhook_for(current_user, webhook_id)
    form = EditWebhookForm(obj=webhook)
    if form.validate_on_submit():
        try:
            update_webhook(
                webhook,
                current_user,
                url=form.url.data,
                events=form.events.data,
                secret=form.secret.data or None,
                active=form.active.data,
            )
        except WebhookError as error:
            db.session.rollback()
            form.url.errors.append(str(error))
        else:
            db.session.commit()
            flash("Webhook saved.", "success")
            return redirect(url_for("webhooks.edit", webhook_id=webhook.id))
    log = db.session.scalars(deliveries_of(webhook).limit(LOG_SIZE)).all()
    project = None
    if webhook.project_id is not None:
        project = get_project_for(current_user, webhook.project_id)
    status = 422 if form.is_submitted() else 200
    page = render_template(
        "webhooks/edit.html", webhook=webhook, project=project, form=form, log=log
    )
    return page, status


@bp.post("/webhooks/<int:webhook_id>/delete")
@login_required
def delete(webhook_id: int):
    """Delete a webhook and its delivery log."""
    webhook = get_webhook_for(current_user, webhook_id)
    back, url = _list_url(webhook), webhook.url
    delete_webhook(webhook, current_user)
    db.session.commit()
    flash(f"Deleted the webhook to {url}.", "success")
    return redirect(back)


@bp.post("/deliveries/<int:delivery_id>/redeliver")
@login_required
def redeliver_delivery(delivery_id: int):
    """Queue a delivery's payload again, as a new delivery."""
    delivery = get_delivery_for(current_user, delivery_id)
    again = redeliver(delivery, current_user)
    db.session.commit()
    flash(f"Queued delivery {again.delivery_id} again ({again.event}).", "success")
    return redirect(url_for("webhooks.edit", webhook_id=delivery.webhook_id))
