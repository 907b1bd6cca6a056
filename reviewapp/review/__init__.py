from flask import Blueprint

bp = Blueprint("review", __name__, url_prefix="/projects/<int:project_id>")

from reviewapp.review import views  # noqa: E402, F401
