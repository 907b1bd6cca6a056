"""Checks on URLs the client hands us back."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort

from reviewapp.services.data_manager.query import MAX_ID


def safe_next(value: str | None) -> str | None:
    """value if it is a path on this site, else None, so `next` cannot send the user elsewhere.

    Browsers read `//host` and `/\\host` as another host, and drop tabs and line breaks from
    a URL, so `/<tab>/host` is one too: all of these are refused.
    """
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        return None
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else None


def ids_in_range(endpoint: str | None, values: dict | None) -> None:
    """An id in the path beyond what the database stores names nothing: 404 on every page
    and API path, not an overflow in the driver (a 500)."""
    if any(type(v) is int and v > MAX_ID for v in (values or {}).values()):
        abort(404)
