"""Which image URLs in task data the app shows, refuses or names as stored elsewhere.

Label Studio exports carry http(s) URLs, relative paths such as /data/upload/1/x.png, data:
URLs of images and cloud storage URLs (s3://, gs://, azure-blob://). A javascript:, vbscript:
or non-image data: URL is never an image, only a payload for whoever clicks or opens it.
"""

from __future__ import annotations

import re

CLOUD_SCHEMES = ("s3", "gs", "azure-blob")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):", re.IGNORECASE)
# Browsers drop ASCII control characters and whitespace inside and before a scheme
# ("java\tscript:" runs), so the check looks at the URL as they will.
_IGNORED_BY_BROWSERS = re.compile(r"[\x00-\x20\x7f]")


def scheme_of(url: str) -> str | None:
    match = _SCHEME.match(_IGNORED_BY_BROWSERS.sub("", url))
    return match.group(1).lower() if match else None


def refusal(url: str) -> str | None:
    """Why an imported image URL is refused, or None."""
    scheme = scheme_of(url)
    if scheme in ("javascript", "vbscript"):
        return f"a {scheme}: URL is not an image"
    if scheme == "data" and not _IGNORED_BY_BROWSERS.sub("", url).lower().startswith("data:image/"):
        return "a data: URL that is not an image (only data:image/... is shown)"
    return None


def kind(url: object) -> str:
    """How to show an image value: "show" (an <img>), "cloud" or "hidden"."""
    if not isinstance(url, str) or refusal(url):
        return "hidden"
    scheme = scheme_of(url)
    if scheme is None or scheme in ("http", "https", "data"):
        return "show"
    if scheme in CLOUD_SCHEMES:
        return "cloud"
    return "hidden"
