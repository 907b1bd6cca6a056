from flask import Blueprint

bp = Blueprint("tasks", __name__, url_prefix="/projects/<int:project_id>")

from reviewapp.tasks import views  # noqa: E402, F401
