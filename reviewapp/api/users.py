"""JSON for the token's own account (GET /api/me) and the admin's users page: list, create,
change role or active, reset a password, and create an API token for a user."""

from __future__ import annotations

from flask import abort
from sqlalchemy import select

from reviewapp.admin.forms import CreateUserForm
from reviewapp.api import bp
from reviewapp.api.auth import api_user, token_required
from reviewapp.api.common import json_object, paginate, user_json
from reviewapp.extensions import db
from reviewapp.models import ROLES, User
from reviewapp.services.users import (
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    UserError,
    create_user,
    find_user,
    new_api_token,
    password_problem,
    set_active,
    set_password,
    set_role,
)


def _admin() -> User:
    user = api_user()
    if user.role != "admin":
        abort(403, "Only admins manage users.")
    return user


def _user(user_id: int) -> User:
    _admin()
    return db.get_or_404(User, user_id)


@bp.get("/me")
@token_required
def me_api():
    """The token's user."""
    return user_json(api_user())


@bp.post("/me/password")
@token_required
def change_own_password_api():
    """Change one's own password, given the current one, as the password page does: the
    user's sessions end; the token keeps working."""
    user = api_user()
    body = json_object("with 'current_password' and 'new_password'")
    current, new = body.get("current_password"), body.get("new_password")
    if not isinstance(current, str) or not isinstance(new, str):
        abort(400, "'current_password' and 'new_password' must be strings.")
    if not user.check_password(current):
        abort(403, "This is not your current password.")
    try:
        set_password(user, new)
    except UserError as error:
        abort(422, f"new_password: {error}")
    db.session.commit()
    return {
        "message": "Your password is changed; your sessions are logged out.",
        "user": user_json(user),
    }


@bp.get("/users")
@token_required
def users_api():
    """Every user, active ones first, by email (as the users page)."""
    _admin()
    meta, users = paginate(select(User).order_by(User.active.desc(), User.email, User.id))
    return {**meta, "users": [user_json(u) for u in users]}


@bp.post("/users")
@token_required
def create_user_api():
    """Create an active user: {email, password, role, name?}, the create-user form's rules."""
    _admin()
    body = json_object("with 'email', 'password' and 'role'")
    values = {"role": "annotator", "name": ""}
    for name in ("email", "password", "role", "name"):
        if name in body:
            if not isinstance(body[name], str):
                abort(400, f"'{name}' must be a string.")
            values[name] = body[name]
    form = CreateUserForm(formdata=None, data=values, meta={"csrf": False})
    if not form.validate():
        abort(422, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
    if find_user(values["email"]):
        abort(409, f"A user with email {values['email']} already exists.")
    try:
        user = create_user(values["email"], values["password"], values["role"], values["name"])
    except UserError as error:
        abort(422, str(error))
    db.session.commit()
    return user_json(user), 201


@bp.patch("/users/<int:user_id>")
@token_required
def update_user_api(user_id: int):
    """Change a user's role and/or active flag; an admin cannot demote or deactivate
    themselves (as on the users page). Either change ends the user's sessions."""
    acting, user = _admin(), _user(user_id)
    body = json_object("with 'role' and/or 'active'")
    unknown = sorted(set(body) - {"role", "active"})
    if unknown or not body:
        abort(400, "Send 'role' (a role name) and/or 'active' (true or false), nothing else.")
    if "role" in body and not isinstance(body["role"], str):
        abort(400, "'role' must be a string.")
    if "active" in body and not isinstance(body["active"], bool):
        abort(400, "'active' must be true or false.")
    try:
        if "role" in body:
            set_role(user, body["role"], acting)
        if "active" in body:
            set_active(user, body["active"], acting)
    except UserError as error:
        db.session.rollback()
        abort(422, str(error))
    db.session.commit()
    return user_json(user)


@bp.post("/users/<int:user_id>/password")
@token_required
def reset_password_api(user_id: int):
    """Set a new password for a user (ends their sessions; their API token keeps working)."""
    user = _user(user_id)
    body = json_object("with 'password'")
    password = body.get("password")
    if not isinstance(password, str):
        abort(400, "'password' must be a string.")
    problem = password_problem(password)
    if problem:
        abort(422, f"password: {problem}")
    set_password(user, password)
    db.session.commit()
    return {"message": f"New password set for {user.email}.", "user": user_json(user)}


@bp.post("/users/<int:user_id>/token")
@token_required
def create_token_api(user_id: int):
    """A new API token for the user, shown this once; their previous token stops working."""
    user = _user(user_id)
    token = new_api_token(user)
    db.session.commit()
    return {"token": token, "user": user_json(user)}, 201


from reviewapp.api.schemas import (  # noqa: E402 - the description sits below the routes
    ID,
    PAGE_PARAMETERS,
    TIMESTAMP,
    listing,
    obj,
    op,
    path_id,
    ref,
    with_message,
)

_ROLE = {"type": "string", "enum": list(ROLES)}
_PASSWORD = {"type": "string", "minLength": PASSWORD_MIN_LENGTH, "maxLength": PASSWORD_MAX_LENGTH}
_USER_ID = path_id("user_id", "The user's id")

OPENAPI_SCHEMAS = {
    "User": {
        "type": "object",
        "required": ["id", "email", "name", "role", "active", "created_at"],
        "properties": {
            "id": ID,
            "email": {"type": "string"},
            "name": {"type": "string"},
            "role": _ROLE,
            "active": {"type": "boolean", "description": "false: may not log in nor use a token"},
            "created_at": TIMESTAMP,
        },
    },
}

OPENAPI_PATHS = {
    "/api/me": {
        "get": op("me_api", "users", "The token's user.", {200: ref("User")}),
    },
    "/api/me/password": {
        "post": op(
            "change_own_password_api",
            "users",
            "Change your own password, given the current one; ends your sessions, not your token.",
            {200: with_message("user", ref("User"))},
            (400, 403, 422),
            body={
                "type": "object",
                "required": ["current_password", "new_password"],
                "properties": {
                    "current_password": {"type": "string"},
                    "new_password": _PASSWORD,
                },
            },
            ends_own_credentials=True,
        ),
    },
    "/api/users": {
        "get": op(
            "users_api",
            "users",
            "Every user, active ones first, by email (admins).",
            {200: listing("users", ref("User"))},
            (400, 403),
            parameters=PAGE_PARAMETERS,
        ),
        "post": op(
            "create_user_api",
            "users",
            "Create an active user (admins); the create-user form's rules apply.",
            {201: ref("User")},
            (400, 403, 409, 422),
            body={
                "type": "object",
                "required": ["email", "password"],
                "properties": {
                    "email": {"type": "string", "format": "email", "maxLength": 254},
                    "password": _PASSWORD,
                    "role": {**_ROLE, "default": "annotator"},
                    "name": {"type": "string", "maxLength": 120},
                },
            },
        ),
    },
    "/api/users/{user_id}": {
        "patch": op(
            "update_user_api",
            "users",
            "Change a user's role and/or active flag (admins); ends the user's sessions.",
            {200: ref("User")},
            (400, 403, 404, 422),
            parameters=[_USER_ID],
            body={
                "type": "object",
                "minProperties": 1,
                "properties": {"role": _ROLE, "active": {"type": "boolean"}},
            },
            description="An admin cannot demote or deactivate themselves (422).",
            ends_own_credentials=True,
        ),
    },
    "/api/users/{user_id}/password": {
        "post": op(
            "reset_password_api",
            "users",
            "Set a new password for a user (admins); ends their sessions, not their token.",
            {200: with_message("user", ref("User"))},
            (400, 403, 404, 422),
            parameters=[_USER_ID],
            body={
                "type": "object",
                "required": ["password"],
                "properties": {"password": _PASSWORD},
            },
            ends_own_credentials=True,
        ),
    },
    "/api/users/{user_id}/token": {
        "post": op(
            "create_token_api",
            "users",
            "A new API token for the user (admins), shown once; the previous one stops working.",
            {201: obj({"token": {"type": "string"}, "user": ref("User")})},
            (403, 404),
            parameters=[_USER_ID],
            ends_own_credentials=True,
        ),
    },
}
