from __future__ import annotations

from pathlib import Path

import markdown
from flask import abort, current_app, render_template
from flask_login import login_required
from markupsafe import Markup

from reviewapp.docs import bp


def docs_folder() -> Path:
    return Path(current_app.root_path).parent / "docs"


def render_markdown(text: str) -> tuple[Markup, str]:
    """HTML with an id on every heading, and the first heading's text.

    Raw HTML in the text is escaped rather than passed through, so a stray tag in a doc
    is shown, never run.
    """
    md = markdown.Markdown(extensions=["toc", "tables", "fenced_code"])
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    html = md.convert(text)
    title = md.toc_tokens[0]["name"] if md.toc_tokens else ""
    return Markup(html), title


@bp.get("/<name>")
@login_required
def page(name: str):
    """One doc as a page; ``metrics`` and ``metrics.md`` both name docs/metrics.md."""
    name = name.removesuffix(".md")
    if name not in {path.stem for path in docs_folder().glob("*.md")}:
        abort(404)
    body, title = render_markdown((docs_folder() / f"{name}.md").read_text(encoding="utf-8"))
    return render_template("docs/page.html", body=body, title=title or name)
