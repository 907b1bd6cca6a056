from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")


from reviewapp.api import (  # noqa: E402, F401
    annotations,
    bulk,
    comments,
    jobs,
    label,
    metrics,
    openapi,
    projects,
    review,
    saved_views,
    tasks,
    users,
    views,
    webhooks,
)
