"""The docs pages: docs/*.md rendered for logged-in users, and the dashboard's links into
them landing on headings that exist."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from reviewapp.docs.views import render_markdown
from tests.test_metrics import build_small

DOCS = Path(__file__).resolve().parent.parent / "docs"


class Links(HTMLParser):
    """The ids and hrefs of a page, and the number of "How is this computed" notes."""

    def __init__(self, html: str):
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.notes = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and "href" in attrs:
            self.hrefs.append(attrs["href"])
        if tag == "details" and attrs.get("class") == "how":
            self.notes += 1


def doc_page(client, name: str) -> Links:
    response = client.get(f"/docs/{name}")
    assert response.status_code == 200, response.status_code
    return Links(response.get_data(as_text=True))


@pytest.mark.parametrize("name", sorted(path.stem for path in DOCS.glob("*.md")))
def test_each_doc_renders_with_ids_on_its_headings(client, auth, name):
    auth.login("annotator")
    html = client.get(f"/docs/{name}").get_data(as_text=True)
    assert '<article class="doc">' in html
    assert "<h1 id=" in html and "<h2 id=" in html
    assert client.get(f"/docs/{name}.md").get_data(as_text=True) == html


def test_the_metrics_page_has_its_sections(client, auth):
    auth.login("reviewer")
    ids = doc_page(client, "metrics").ids
    assert {"iou-threshold", "task-agreement", "krippendorffs-alpha", "too-few-items-min_n"} <= ids


@pytest.mark.parametrize(
    "path", ["/docs/nope", "/docs/../README", "/docs/..%2FREADME", "/docs/README", "/docs/"]
)
def test_only_the_docs_folder_is_served(client, auth, path):
    auth.login("admin")
    assert client.get(path).status_code == 404


def test_docs_need_a_login(client, htmx):
    response = client.get("/docs/metrics")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert client.get("/docs/metrics", headers=htmx).headers["HX-Redirect"] == "/login"


def test_raw_html_in_a_doc_is_shown_not_run():
    body, title = render_markdown("# Title\n\n<script>alert(1)</script>\n\nan <b onclick='x'>")
    assert title == "Title"
    assert "<script" not in body and "<b " not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_links_between_docs_land_on_headings(client, auth):
    auth.login("annotator")
    pages = {path.stem: doc_page(client, path.stem) for path in DOCS.glob("*.md")}
    for name, page in pages.items():
        for href in page.hrefs:
            target = urlsplit(href)
            if target.scheme or target.path.startswith("/"):
                continue  # the app's own links (top bar) and outside links
            linked = pages[target.path.removesuffix(".md")] if target.path else page
            assert not target.fragment or target.fragment in linked.ids, (name, href)


def test_every_dashboard_note_links_to_a_metrics_heading(client, auth):
    small = build_small()
    auth.login(small.users["mona"])
    response = client.get(f"/projects/{small.project.id}/dashboard", query_string={"models": "1"})
    dashboard = Links(response.get_data(as_text=True))
    links = [urlsplit(href) for href in dashboard.hrefs if href.startswith("/docs/")]
    assert len(links) == dashboard.notes == 10
    ids = doc_page(client, "metrics").ids
    for link in links:
        assert link.path == "/docs/metrics"
        assert link.fragment in ids, link.fragment
