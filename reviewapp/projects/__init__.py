from flask import Blueprint

bp = Blueprint("projects", __name__)

from reviewapp.projects import views  # noqa: E402, F401
