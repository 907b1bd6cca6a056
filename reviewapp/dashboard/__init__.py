from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/projects/<int:project_id>/dashboard")

from reviewapp.dashboard import views  # noqa: E402, F401
