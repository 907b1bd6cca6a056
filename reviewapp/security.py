"""Response headers every answer carries, and the cookie flags that go with them.

The Content-Security-Policy allows scripts from this site only: no inline `<script>` bodies,
no `on*=` or `hx-on` attributes, no eval (htmx's `allowEval` is off in base.html). Style
attributes stay allowed; task images may point at any host.
"""

from __future__ import annotations

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: http: https:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    )
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
}


def register(app: Flask) -> None:
    """Add the headers to every response (a header a view set itself is kept), and mark the
    session and remember-me cookies Secure when the site is served over HTTPS."""
    if _is_on(app.config.get("HTTPS")):
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True

    @app.after_request
    def security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def _is_on(value: object) -> bool:
    """REVIEWAPP_HTTPS=1 arrives as 1 (from_prefixed_env parses JSON); accept true/yes too."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
