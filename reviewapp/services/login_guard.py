"""Failed log-ins, counted per account and client address where every worker and host sees them.

The count lives in the database (table login_failure), or in Redis when REVIEWAPP_REDIS_URL is
set, never in one worker's memory: with gunicorn -w 4 a per-worker count let about 34 guesses
through before the first refusal. Keying on (account, address) means an attacker behind the
same proxy as everyone else locks only the account they guess at, and only from their address:
the account's owner logs in from anywhere else. A second, larger limit per address alone slows
one address trying many accounts.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from reviewapp.extensions import db
from reviewapp.models import LoginFailure, utcnow


def _settings() -> tuple[int, int, int]:
    config = current_app.config
    return (
        int(config["LOGIN_MAX_FAILURES"]),
        int(config["LOGIN_MAX_FAILURES_PER_ADDRESS"]),
        int(config["LOGIN_FAILURE_WINDOW"]),
    )


def _redis():
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    import redis

    clients = current_app.extensions.setdefault("reviewapp_redis", {})
    if url not in clients:
        clients[url] = redis.Redis.from_url(url)
    return clients[url]


def _keys(email: str, address: str) -> tuple[str, str]:
    return f"reviewapp:login-failures:{address}:{email}", f"reviewapp:login-failures:{address}"


def refusal(email: str, address: str) -> str | None:
    """Why a log-in for this account from this address is refused now, or None."""
    per_account, per_address, window = _settings()
    client = _redis()
    if client is not None:
        account_key, address_key = _keys(email, address)
        account_count, address_count = (int(v or 0) for v in client.mget(account_key, address_key))
    else:
        since = utcnow() - timedelta(seconds=window)
        recent = select(func.count()).select_from(LoginFailure).where(LoginFailure.at >= since)
        account_count = db.session.scalar(
            recent.where(LoginFailure.email == email, LoginFailure.address == address)
        )
        address_count = (
            db.session.scalar(recent.where(LoginFailure.address == address))
            if account_count < per_account
            else 0
        )
    minutes = max(1, round(window / 60))
    if account_count >= per_account:
        return (
            f"Too many failed log-ins for this account from your address. "
            f"Try again in {minutes} minutes."
        )
    if address_count >= per_address:
        return f"Too many failed log-ins from your address. Try again in {minutes} minutes."
    return None


def record_failure(email: str, address: str) -> None:
    _, _, window = _settings()
    client = _redis()
    if client is not None:
        pipe = client.pipeline()
        for key in _keys(email, address):
            pipe.incr(key)
            # A fixed window from the first failure; NX keeps later failures from extending it.
            pipe.expire(key, window, nx=True)
        pipe.execute()
        return
    now = utcnow()
    db.session.execute(
        delete(LoginFailure).where(LoginFailure.at < now - timedelta(seconds=window))
    )
    db.session.add(LoginFailure(email=email[:254], address=address[:64], at=now))
    db.session.flush()


def clear_failures(email: str, address: str) -> None:
    """A correct password from this address forgets this account's failures from it."""
    client = _redis()
    if client is not None:
        client.delete(_keys(email, address)[0])
        return
    db.session.execute(
        delete(LoginFailure).where(LoginFailure.email == email, LoginFailure.address == address)
    )
