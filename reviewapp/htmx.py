"""The one place that reads HX-* headers and decides fragment versus full page."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from flask import Flask, Response, abort, flash, make_response, redirect, render_template, request
from flask.typing import ResponseReturnValue
from jinja2_fragments.flask import render_blocks

from reviewapp.urls import safe_next


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def is_partial() -> bool:
    """An htmx request that is neither boosted nor a history restore wants a fragment."""
    return (
        is_htmx()
        and request.headers.get("HX-Boosted") != "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def current_page() -> str | None:
    """The path and query of the page an htmx request came from (HX-Current-URL), if it is on
    this site; for a boosted GET the page being opened. None for other requests."""
    if not is_htmx():
        return None
    if request.headers.get("HX-Boosted") == "true" and request.method == "GET":
        return safe_next(request.full_path.rstrip("?"))
    parts = urlsplit(request.headers.get("HX-Current-URL", ""))
    if parts.scheme not in ("http", "https") or parts.netloc != request.host:
        return None
    return safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))


def page_or_blocks(
    template: str,
    blocks: Sequence[str],
    *,
    message: str | None = None,
    category: str = "info",
    status: int = 200,
    **context,
) -> Response:
    """The whole page, or for a partial request the named blocks alone.

    A message goes out of band into #flash with the template's `flash_oob` block; on a full
    page it is flashed, so base.html shows it.
    """
    if is_partial():
        names = [*blocks, "flash_oob"] if message else list(blocks)
        body = render_blocks(template, names, message=message, category=category, **context)
    else:
        if message:
            flash(message, category)
        body = render_template(template, **context)
    return make_response(body, status)


def after_action(
    url: str,
    message: str | None = None,
    category: str = "success",
    *,
    fragment: Callable[[], ResponseReturnValue],
    code: int = 302,
) -> ResponseReturnValue:
    """After a POST: the updated fragment for a partial request, else the message flashed
    and Post/Redirect/Get to url. The fragment is only built when it is sent."""
    if is_partial():
        return fragment()
    if message:
        flash(message, category)
    return redirect(url, code)


def refuse(template: str, message: str, *, status: int = 422, **context) -> ResponseReturnValue:
    """Invalid input: for htmx the message alone, into #flash by the error handler, so the
    page keeps what the user did; a full page is rendered again with the message as `error`."""
    if is_partial():
        abort(status, message)
    return render_template(template, **{**context, "error": message}), status


def with_push_url(response: Response, url: str) -> Response:
    """A fragment whose request pushed a URL: push the canonical one (no empty filters)."""
    if is_partial():
        response.headers["HX-Push-Url"] = url
    return response


def redirect_response(url: str) -> Response:
    """Send the browser to url: HX-Redirect for htmx (so no page is swapped into a region)."""
    if is_htmx():
        response = Response(status=204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url)


def register(app: Flask) -> None:
    @app.after_request
    def vary_on_htmx(response: Response) -> Response:
        if response.mimetype == "text/html":
            response.vary.add("HX-Request")
        return response
