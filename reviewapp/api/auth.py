"""Token authentication for the JSON API: `Authorization: Token <token>`, never a cookie."""

from __future__ import annotations

from functools import wraps

from flask import abort, g, request

from reviewapp.models import User
from reviewapp.services.users import user_for_token


def token_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        user = user_for_token(token.strip()) if scheme.lower() in ("token", "bearer") else None
        if user is None:
            abort(401, "Send a valid 'Authorization: Token <token>' header.")
        g.api_user = user
        return view(*args, **kwargs)

    return wrapped


def api_user() -> User:
    return g.api_user
