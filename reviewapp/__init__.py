"""reviewapp: review the quality of data labels before they train a model."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from reviewapp import security
from reviewapp.config import DEFAULT_SECRET_KEY, Defaults
from reviewapp.db import (
    sqlite,  # noqa: F401  (SQLite's pragmas on every connection)
    text_search,
)
from reviewapp.extensions import csrf, db, login_manager, migrate
from reviewapp.labeling import image_urls
from reviewapp.labeling.config import REGION_TAGS
from reviewapp.services.jobs import queue as jobs_queue
from reviewapp.services.webhooks import outbox as webhooks_outbox

MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app: config, extensions, blueprints, CLI and error handlers."""
    # The instance folder holds the SQLite database, uploads waiting for the job worker and
    # finished exports; the server and the worker must share it.
    instance = (overrides or {}).get("INSTANCE_PATH") or os.environ.get("REVIEWAPP_INSTANCE_PATH")
    app = Flask(__name__, instance_relative_config=True, instance_path=instance or None)
    app.config.from_object(Defaults)
    app.config.from_prefixed_env("REVIEWAPP")
    if overrides:
        app.config.update(overrides)
    os.makedirs(app.instance_path, exist_ok=True)
    proxies = int(app.config.get("PROXY_FIX") or 0)
    if proxies:
        # Only the named number of proxies is trusted, so a client cannot forge its address.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    if app.config["SECRET_KEY"] == DEFAULT_SECRET_KEY and not (app.debug or app.testing):
        raise RuntimeError(
            "Refusing to start with the default secret key: set REVIEWAPP_SECRET_KEY "
            "(for example REVIEWAPP_SECRET_KEY=\"$(python -c 'import secrets; "
            "print(secrets.token_hex())')\")."
        )
    url = app.config.get("DATABASE_URL") or "sqlite:///" + os.path.join(
        app.instance_path, "reviewapp.db"
    )
    app.config["SQLALCHEMY_DATABASE_URI"] = database_uri(url)
    app.config.setdefault("MEDIA_FOLDER", None)
    app.config["MEDIA_FOLDER"] = app.config["MEDIA_FOLDER"] or os.path.join(
        app.instance_path, "media"
    )

    db.init_app(app)
    if not app.testing:
        with app.app_context():
            text_search.notice_at_start(db.engine)
    migrate.init_app(app, db, directory=MIGRATIONS)
    csrf.init_app(app)
    login_manager.init_app(app)
    jobs_queue.init_app(app)
    webhooks_outbox.register_after_commit()

    from reviewapp import auth, errors, htmx, models  # noqa: F401  (models registers tables)
    from reviewapp.admin import bp as admin_bp
    from reviewapp.api import bp as api_bp
    from reviewapp.auth import bp as auth_bp
    from reviewapp.cli import register_cli
    from reviewapp.comments import bp as comments_bp
    from reviewapp.dashboard import bp as dashboard_bp
    from reviewapp.docs import bp as docs_bp
    from reviewapp.jobs import bp as jobs_bp
    from reviewapp.label import bp as label_bp
    from reviewapp.projects import bp as projects_bp
    from reviewapp.review import bp as review_bp
    from reviewapp.tasks import bp as tasks_bp
    from reviewapp.urls import ids_in_range
    from reviewapp.webhooks import bp as webhooks_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(projects_bp)
    app.register_blueprint(tasks_bp)
    app.register_blueprint(review_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(docs_bp)
    app.register_blueprint(label_bp)
    app.register_blueprint(jobs_bp)
    app.register_blueprint(webhooks_bp)
    app.register_blueprint(comments_bp)
    app.register_blueprint(api_bp)
    app.url_value_preprocessor(ids_in_range)
    csrf.exempt(api_bp)  # the API authenticates by token only, never by session cookie
    register_cli(app)
    errors.register(app)
    htmx.register(app)
    security.register(app)
    app.add_template_global(image_urls.kind, "image_kind")
    # The region controls (spans, boxes, polygons), which templates lay out with their object.
    app.add_template_global(sorted(REGION_TAGS), "region_tags")
    return app


def database_uri(url: str) -> str:
    """Plain postgresql:// URLs use psycopg 3, the driver we install."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
