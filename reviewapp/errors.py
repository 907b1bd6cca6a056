"""One error handler: JSON for the API, a fragment into #flash for htmx, else a full page."""

from __future__ import annotations

from flask import Flask, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from reviewapp.extensions import db
from reviewapp.htmx import is_partial

MESSAGES = {
    400: "The request was not understood.",
    401: "Please log in.",
    403: "You are not allowed to do this.",
    404: "Not found.",
    405: "This method is not allowed here.",
    413: "The upload is too large.",
    422: "The input is not valid.",
    429: "Too many attempts. Wait a minute and try again.",
    500: "Something went wrong on our side; nothing was saved.",
}


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return _render(
            400,
            "The form expired or was forged (missing or bad CSRF token). "
            "Reload the page and try again.",
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        message = error.description if error.code not in (404, 500) else None
        if error.code in MESSAGES and (message is None or message == type(error).description):
            message = MESSAGES[error.code]
        return _render(error.code or 500, message or MESSAGES.get(error.code, "Error."))

    @app.errorhandler(PermissionError)
    def refused(error: PermissionError):
        # Services refuse a write the user may not make with PermissionError and a message.
        db.session.rollback()
        return _render(403, str(error) or MESSAGES[403])

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        db.session.rollback()
        app.logger.exception("Unhandled error")
        return _render(500, MESSAGES[500])

    @app.teardown_request
    def rollback_on_error(exc):
        if exc is not None:
            db.session.rollback()


def _render(status: int, message: str):
    if request.blueprint == "api" or request.path.startswith("/api/"):
        return {"error": message}, status
    if is_partial():
        response = make_response(render_template("errors/fragment.html", message=message), status)
        # The fragment belongs in the flash region whatever the request targeted.
        response.headers["HX-Retarget"] = "#flash"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    return render_template("errors/page.html", status=status, message=message), status
