"""Accounts, roles, memberships and API tokens."""

from __future__ import annotations

import secrets

from sqlalchemy import delete, func, select

from reviewapp.extensions import db
from reviewapp.models import ROLES, Membership, User, hash_token


class UserError(ValueError):
    """A user change that cannot be made; the message says why."""


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def create_user(email: str, password: str, role: str, name: str = "") -> User:
    """Create an active user; raises UserError for a taken email or unknown role."""
    if role not in ROLES:
        raise UserError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    if find_user(email):
        raise UserError(f"A user with email {email} already exists.")
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
    user.role = role


def set_active(user: User, active: bool, acting: User) -> None:
    if user.id == acting.id and not active:
        raise UserError("You cannot deactivate yourself.")
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
