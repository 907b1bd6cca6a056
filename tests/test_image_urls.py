"""Image URLs in task data: script and non-image data: URLs are refused at import, cloud storage
URLs are kept and named, everything else real exports carry is shown (issue 11, point 4)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from reviewapp.extensions import db
from reviewapp.labeling import image_urls
from reviewapp.models import Task
from reviewapp.services.import_export.importer import ImportFailed
from tests import factories

PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9"
    "awAAAABJRU5ErkJggg=="
)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "  JaVaScRiPt:alert(1)",
        "java\tscript:alert(1)",
        "\x01javascript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html,<script>alert(1)</script>",
        "DATA:application/pdf;base64,AAAA",
    ],
)
def test_script_and_non_image_data_urls_are_refused(url):
    assert image_urls.refusal(url)
    assert image_urls.kind(url) == "hidden"


@pytest.mark.parametrize(
    "url, kind",
    [
        ("https://example.com/a.png", "show"),
        ("http://example.com/a.png?x=1", "show"),
        ("/data/upload/1/a.png", "show"),
        ("images/a.png", "show"),
        (PNG, "show"),
        ("s3://bucket/a.png", "cloud"),
        ("gs://bucket/a.png", "cloud"),
        ("azure-blob://container/a.png", "cloud"),
        ("ftp://example.com/a.png", "hidden"),
    ],
)
def test_what_real_exports_carry_is_kept(url, kind):
    assert image_urls.refusal(url) is None
    assert image_urls.kind(url) == kind


def test_import_refuses_a_javascript_image_naming_task_and_field(app):
    project = factories.project("image")
    items = [
        {"data": {"image": "https://example.com/ok.png"}},
        {"data": {"image": " javascript:alert(document.cookie)"}},
    ]
    with pytest.raises(ImportFailed) as refused:
        factories.tasks(project, items)
    assert "Task 2: data.image is a javascript: URL" in str(refused.value)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Task)) == 0


def test_import_through_the_page_says_why_and_keeps_nothing(client, auth, app):
    manager = auth.login("manager")
    project = factories.project("image", members=(manager,))
    body = b'[{"data": {"image": "data:text/html,<b>x</b>"}}]'
    response = client.post(
        f"/projects/{project.id}/import",
        data={"file": (__import__("io").BytesIO(body), "tasks.json")},
        content_type="multipart/form-data",
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "data: URL that is not an image" in text
    assert db.session.scalar(select(func.count()).select_from(Task)) == 0


def test_cloud_images_are_kept_counted_and_named_not_drawn(client, auth, app):
    manager = auth.login("manager")
    project = factories.project("image", members=(manager,))
    summary = factories.tasks(
        project,
        [{"data": {"image": "s3://bucket/cat.png"}}, {"data": {"image": PNG}}],
    )
    assert summary.cloud_images == 1
    assert any("cloud storage" in line for line in summary.lines())
    cloud, inline = db.session.scalars(select(Task).order_by(Task.id)).all()
    assert cloud.data["image"] == "s3://bucket/cat.png"
    table = client.get(f"/projects/{project.id}/tasks?columns=data").get_data(as_text=True)
    page = client.get(f"/projects/{project.id}/tasks/{cloud.id}").get_data(as_text=True)
    for html in (table, page):
        assert 'src="s3://' not in html
    assert "Stored in the cloud: not displayable here" in page
    inline_page = client.get(f"/projects/{project.id}/tasks/{inline.id}").get_data(as_text=True)
    assert f'src="{PNG}"' in inline_page


def test_a_script_url_already_stored_is_never_a_src(client, auth, app):
    """Rows written before the import check, or by hand, are not drawn either."""
    manager = auth.login("manager")
    project = factories.project("image", members=(manager,))
    factories.tasks(project, [{"data": {"image": "https://example.com/a.png"}}])
    task = db.session.scalar(select(Task))
    task.data = {"image": "javascript:alert(1)"}
    db.session.commit()
    page = client.get(f"/projects/{project.id}/tasks/{task.id}").get_data(as_text=True)
    assert 'src="javascript:' not in page
    assert "Not displayable here" in page
