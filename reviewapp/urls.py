"""Checks on URLs the client hands us back."""

from __future__ import annotations

from urllib.parse import urlsplit


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
