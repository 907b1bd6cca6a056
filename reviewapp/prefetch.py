"""Speculative loads: a browser's prefetch (or prerender) of a page, not a person's visit.

The stream pages hand out work and take a lease on GET; a prefetch must not, or hovering a
"Label" link would hold a task for ten minutes that nobody is looking at.
"""

from __future__ import annotations

from flask import Response, request

# Sec-Purpose is the standard (speculation rules, <link rel=prefetch>); Purpose and X-Moz are
# what older Chrome and Firefox send.
PURPOSE_HEADERS = ("Sec-Purpose", "Purpose", "X-Moz")


def is_prefetch() -> bool:
    """The request is a prefetch: one of PURPOSE_HEADERS lists "prefetch" (Sec-Purpose is a
    list of tokens with parameters, "prefetch;prerender")."""
    for header in PURPOSE_HEADERS:
        for token in request.headers.get(header, "").split(","):
            if token.split(";")[0].strip().lower() == "prefetch":
                return True
    return False


def decline_prefetch() -> Response:
    """503 rather than 204: a browser may keep a 2xx prefetch, a 204 too, for the navigation
    that follows, which would then show nothing; a non-2xx one is dropped, and the page loads
    (and takes its lease) when the user really goes there."""
    response = Response("Not prefetched: this page hands out work.\n", 503, mimetype="text/plain")
    response.headers["Retry-After"] = "0"
    response.headers["Cache-Control"] = "no-store"
    return response
