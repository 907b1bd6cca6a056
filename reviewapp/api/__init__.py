from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from reviewapp.api import jobs, metrics, review, views  # noqa: E402, F401
