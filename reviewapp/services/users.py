"""Accounts, roles, memberships and API tokens."""

from __future__ import annotations

import secrets
from functools import cache

from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from reviewapp.extensions import db
from reviewapp.models import ROLES, Membership, User, hash_token

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 200


class UserError(ValueError):
    """A user change that cannot be made; the message says why."""


def password_problem(password: str | None) -> str | None:
    """The one password rule, for the forms, the admin pages and the CLI."""
    if not password or len(password) < PASSWORD_MIN_LENGTH:
        return f"Use at least {PASSWORD_MIN_LENGTH} characters."
    if len(password) > PASSWORD_MAX_LENGTH:
        return f"Use at most {PASSWORD_MAX_LENGTH} characters."
    return None


@cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None.

    Exactly one hash is checked whatever the outcome, so an unknown email, an inactive
    account and a wrong password take the same time.
    """
    user = find_user(email)
    if user is None or not user.password_hash:
        check_password_hash(_dummy_hash(), password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    return user


def end_sessions(user: User) -> None:
    """Every session and remember-me cookie of this user stops working on its next request."""
    user.session_version = (user.session_version or 1) + 1


def set_password(user: User, password: str) -> None:
    """A new password; ends the user's sessions (the caller logs the current one in again)."""
    problem = password_problem(password)
    if problem:
        raise UserError(problem)
    user.set_password(password)
    end_sessions(user)


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def create_user(email: str, password: str, role: str, name: str = "") -> User:
    """Create an active user; raises UserError for a taken email or unknown role."""
    if role not in ROLES:
        raise UserError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    if find_user(email):
        raise UserError(f"A user with email {email} already exists.")
    problem = password_problem(password)
    if problem:
        raise UserError(problem)
    user = User(email=email.strip().lower(), name=(name or "").strip(), role=role, active=True)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def set_role(user: User, role: str, acting: User) -> None:
    if role not in ROLES:
        raise UserError(f"Unknown role {role!r}.")
    if user.id == acting.id and role != "admin":
        raise UserError("You cannot take the admin role from yourself.")
    if user.role != role:
        user.role = role
        end_sessions(user)


def set_active(user: User, active: bool, acting: User) -> None:
    if user.id == acting.id and not active:
        raise UserError("You cannot deactivate yourself.")
    if user.active and not active:
        end_sessions(user)
    user.active = active


def new_api_token(user: User) -> str:
    """Give user a new API token (the old one stops working); only its hash is stored."""
    token = secrets.token_urlsafe(32)
    user.api_token_hash = hash_token(token)
    return token


def user_for_token(token: str) -> User | None:
    if not token:
        return None
    user = db.session.scalar(select(User).where(User.api_token_hash == hash_token(token)))
    return user if user and user.active else None


def add_member(project_id: int, user: User) -> bool:
    """Add user to the project; False if already a member."""
    exists = db.session.get(Membership, (project_id, user.id))
    if exists:
        return False
    db.session.add(Membership(project_id=project_id, user_id=user.id))
    db.session.flush()
    return True


def remove_member(project_id: int, user: User) -> bool:
    result = db.session.execute(
        delete(Membership).where(Membership.project_id == project_id, Membership.user_id == user.id)
    )
    return result.rowcount > 0
