from flask import Blueprint

bp = Blueprint("label", __name__, url_prefix="/projects/<int:project_id>")

from reviewapp.label import views  # noqa: E402, F401
