"""The one place that reads HX-* headers and decides fragment versus full page."""

from __future__ import annotations

from flask import Flask, Response, render_template, request
from jinja2_fragments.flask import render_block, render_blocks


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def is_partial() -> bool:
    """An htmx request that is neither boosted nor a history restore wants a fragment."""
    return (
        is_htmx()
        and request.headers.get("HX-Boosted") != "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render(template: str, block: str | None = None, **context) -> str:
    """Render the named block alone for a partial request, else the whole page."""
    if block and is_partial():
        return render_block(template, block, **context)
    return render_template(template, **context)


def render_blocks_only(template: str, blocks: list[str], **context) -> str:
    """Several blocks of one template, concatenated (a region plus out-of-band swaps)."""
    return render_blocks(template, blocks, **context)


def with_push_url(body: str, url: str) -> Response:
    """A fragment whose request pushed a URL: push the canonical one (no empty filters)."""
    response = Response(body)
    if is_partial():
        response.headers["HX-Push-Url"] = url
    return response


def redirect_response(url: str) -> Response:
    """Send the browser to url: HX-Redirect for htmx (so no page is swapped into a region)."""
    if is_htmx():
        response = Response(status=204)
        response.headers["HX-Redirect"] = url
        return response
    from flask import redirect

    return redirect(url)


def register(app: Flask) -> None:
    @app.after_request
    def vary_on_htmx(response: Response) -> Response:
        if response.mimetype == "text/html":
            response.vary.add("HX-Request")
        return response
