from flask import Blueprint, abort

from reviewapp.services.data_manager.query import MAX_ID

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.url_value_preprocessor
def ids_in_range(endpoint: str | None, values: dict | None) -> None:
    """An id in the path beyond what the database stores names nothing: 404, not an
    overflow in the driver."""
    if any(type(v) is int and v > MAX_ID for v in (values or {}).values()):
        abort(404)


from reviewapp.api import (  # noqa: E402, F401
    jobs,
    metrics,
    openapi,
    projects,
    review,
    saved_views,
    tasks,
    users,
    views,
)
