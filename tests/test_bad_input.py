"""Bad input is refused whole, with a message naming the task, annotation and field, and
leaves the project as it was; never a 500."""

import io
import json

import pytest
from sqlalchemy import func, select

from reviewapp.extensions import db
from reviewapp.labeling import LabelConfigError, parse_label_config
from reviewapp.models import Annotation, SavedView, Task, User
from reviewapp.services.import_export.importer import ImportFailed, import_file
from tests import factories

GOOD = {"data": {"text": "fine"}, "annotations": [factories.annotation("amy@x.com")]}


def rows() -> tuple[int, int, int]:
    return (
        db.session.scalar(select(func.count(Task.id))),
        db.session.scalar(select(func.count(Annotation.id))),
        db.session.scalar(select(func.count(User.id))),
    )


def refused(project, content: bytes, name: str = "tasks.json") -> str:
    before = rows()
    with pytest.raises(ImportFailed) as caught:
        import_file(project, io.BytesIO(content), name)
    db.session.rollback()
    assert rows() == before  # nothing stored, no account created
    return str(caught.value)


def items(*tasks) -> bytes:
    return json.dumps([GOOD, *tasks]).encode()


def annotated(**fields) -> dict:
    return {"data": {"text": "x"}, "annotations": [{**factories.annotation("bob@x.com"), **fields}]}


def test_json_nested_ten_thousand_deep_is_refused(app):
    project = factories.project()
    deep = b'{"data": {"text": "x", "meta": ' + b"[" * 10_000 + b"]" * 10_000 + b"}}"
    message = refused(project, b"[" + json.dumps(GOOD).encode() + b"," + deep + b"]")
    assert message.startswith("Task 2: data is nested too deeply")


@pytest.mark.parametrize(
    "text, what", [("a\x00b", "a NUL character"), ("a\ud800b", "a lone UTF-16 surrogate")]
)
def test_nul_and_lone_surrogates_are_refused_naming_the_field(app, text, what):
    project = factories.project()
    # json.dumps writes both as \u escapes, as a JavaScript or Python exporter would.
    content = items({"data": {"text": "x", "meta": {"note": text}}})
    assert refused(project, content) == f"Task 2: data.meta.note holds {what}, which is not text."
    in_result = annotated()
    in_result["annotations"][0]["result"][0]["value"]["choices"] = [text]
    assert refused(project, items(in_result)).startswith("Task 2, annotation 1: result.0.value")


@pytest.mark.parametrize(
    "fields, expected",
    [
        ({"was_cancelled": "false"}, "was_cancelled must be true or false, got 'false'"),
        ({"ground_truth": "yes"}, "ground_truth must be true or false, got 'yes'"),
        ({"lead_time": 1e300}, "lead_time must be a number of seconds from 0 to 1e+08"),
        ({"lead_time": -1}, "lead_time must be a number of seconds from 0 to 1e+08"),
        ({"lead_time": True}, "lead_time must be a number of seconds"),
    ],
)
def test_flags_and_numbers_out_of_range_are_refused(app, fields, expected):
    project = factories.project()
    assert refused(project, items(annotated(**fields))).startswith(
        f"Task 2, annotation 1: {expected}"
    )


@pytest.mark.parametrize(
    "completed_by",
    [["a@x.com"], True, 1.5, {"email": None}, "<script>alert(1)</script>@x.com", str(2**64), 0, -3],
)
def test_a_malformed_completed_by_is_refused(app, completed_by):
    project = factories.project()
    message = refused(project, items(annotated(completed_by=completed_by)))
    assert message.startswith("Task 2, annotation 1: completed_by ")
    assert message.endswith("is not an email or a user id.")


def test_an_integer_beyond_64_bits_is_refused_by_the_json_reader(app):
    project = factories.project()
    message = refused(project, items(annotated(completed_by=2**64)))
    assert message.startswith("The file is not valid JSON: parse error: integer overflow")


def test_well_formed_completed_by_values_still_import(app):
    project = factories.project()
    values = [
        "Ann@X.com",
        7,
        "12",
        {"email": "dev@x.com", "id": 3},
        {"id": 5},
        {"email": None, "id": 9},
    ]
    content = json.dumps([annotated(completed_by=v) for v in values]).encode()
    import_file(project, io.BytesIO(content), "tasks.json")
    db.session.commit()
    emails = db.session.scalars(
        select(User.email)
        .join(Annotation, Annotation.completed_by_id == User.id)
        .order_by(Annotation.id)
    ).all()
    assert emails == [
        "ann@x.com",
        "labelstudio-user-7@imported.invalid",
        "labelstudio-user-12@imported.invalid",
        "dev@x.com",
        "labelstudio-user-5@imported.invalid",
        "labelstudio-user-9@imported.invalid",
    ]


def test_a_csv_row_with_fewer_fields_than_the_header_is_refused(app):
    project = factories.project()
    content = b"text,source\nfirst,web\nsecond\n"
    assert refused(project, content, "tasks.csv") == (
        "CSV line 3: fewer values than the header has columns (2)."
    )


def test_a_file_starting_with_a_utf8_bom_is_read(app):
    project = factories.project()
    summary = import_file(project, io.BytesIO(b"\xef\xbb\xbf" + items()), "tasks.json")
    assert summary.task_count == 1
    csv_summary = import_file(project, io.BytesIO(b"\xef\xbb\xbftext\nhello\n"), "tasks.csv")
    db.session.commit()
    assert csv_summary.task_count == 1
    assert db.session.scalars(select(Task.data).order_by(Task.id)).all()[-1] == {"text": "hello"}


def test_a_label_config_with_a_dtd_is_refused(app):
    config = '<!DOCTYPE View [<!ELEMENT View ANY>]><View><Text name="t" value="$text"/></View>'
    with pytest.raises(LabelConfigError, match="may not use DTDs"):
        parse_label_config(config)


@pytest.mark.parametrize(
    "query",
    [f"annotator={2**64}", f"reviewer={2**64}", "annotator=0", "q=a%00b"],
)
def test_filters_out_of_range_answer_400(client, app, query):
    manager = factories.user("manager")
    project = factories.project(members=(manager,))
    headers = {"Authorization": f"Token {factories.token(manager)}"}
    response = client.get(f"/api/projects/{project.id}/tasks?{query}", headers=headers)
    assert response.status_code == 400
    assert query.split("=")[0] in response.json["error"]


def test_the_data_manager_ignores_them_with_a_message(client, auth, app):
    manager = auth.login("manager")
    project = factories.project(members=(manager,))
    response = client.get(f"/projects/{project.id}/tasks?annotator={2**64}&q=a%00b")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Ignored annotator: expected a user id" in page
    assert "Ignored q: must not contain NUL characters" in page


@pytest.mark.parametrize("big", [2**31, 2**63, 2**64])
def test_an_id_in_a_page_path_beyond_what_the_database_holds_is_not_found(client, auth, big):
    # 500 before: PostgreSQL's INTEGER overflows past 2^31 - 1, SQLite's past 2^63 - 1.
    auth.login("admin")
    project = factories.project()
    paths = [
        f"/projects/{big}",
        f"/projects/{big}/tasks",
        f"/projects/{big}/dashboard",
        f"/projects/{project.id}/tasks/{big}",
    ]
    assert [client.get(path).status_code for path in paths] == [404] * len(paths)
    verdict = client.post(f"/projects/{project.id}/review/{big}", data={"verdict": "accepted"})
    assert verdict.status_code == 404


def test_a_reviewer_deletes_only_their_own_saved_views(client, auth, app):
    owner, other = factories.user("reviewer"), factories.user("reviewer")
    project = factories.project(members=(owner, other))
    view = SavedView(project_id=project.id, name="Mine", created_by_id=owner.id, query="")
    db.session.add(view)
    db.session.commit()
    auth.login(other)
    response = client.post(f"/projects/{project.id}/views/{view.id}/delete")
    assert response.status_code == 403
    assert "only they or a manager may delete it" in response.get_data(as_text=True)
    assert db.session.get(SavedView, view.id) is not None
    saved = client.post(
        f"/projects/{project.id}/views", data={"name": "Mine", "q": "x"}, follow_redirects=True
    )
    assert "Someone else saved a view named &#39;Mine&#39;" in saved.get_data(as_text=True)
    assert db.session.get(SavedView, view.id).query == ""  # not replaced either
    auth.logout()
    auth.login(owner)
    assert client.post(f"/projects/{project.id}/views/{view.id}/delete").status_code == 302
    assert db.session.get(SavedView, view.id) is None
