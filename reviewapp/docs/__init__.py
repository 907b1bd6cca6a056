"""The project's own documentation, the Markdown files of the repository's docs/ folder."""

from flask import Blueprint

bp = Blueprint("docs", __name__, url_prefix="/docs")

from reviewapp.docs import views  # noqa: E402, F401
