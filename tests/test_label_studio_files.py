"""Files as Label Studio and the tools around it really write them (issue: fidelity, part A)."""

import io
import json

import pytest
from sqlalchemy import func, select

from reviewapp.extensions import db
from reviewapp.models import Annotation, Membership, Task, User
from reviewapp.services.import_export.importer import ImportFailed, import_file
from tests import factories


def load(project, items):
    summary = import_file(project, io.BytesIO(json.dumps(items).encode()), "tasks.json")
    db.session.commit()
    return summary


def box(x, y, w, h):
    return {
        "from_name": "label",
        "to_name": "image",
        "type": "rectanglelabels",
        "value": {"x": x, "y": y, "width": w, "height": h, "rectanglelabels": ["Circle"]},
    }


def test_annotations_without_completed_by_go_to_one_unknown_account_per_project(app, auth):
    manager = auth.login("manager")
    project = factories.project()
    other = factories.project(title="Other")
    chosen = {"result": factories.choice("Positive")}
    summary = load(project, [{"data": {"text": t}, "annotations": [chosen]} for t in "ab"])
    load(other, [{"data": {"text": "c"}, "annotations": [chosen]}])
    assert summary.unknown_annotator_annotations == 2
    assert summary.new_annotators == []
    assert any("2 annotations had no completed_by" in line for line in summary.lines())
    authors = db.session.scalars(
        select(User).join(Annotation, Annotation.completed_by_id == User.id).distinct()
    ).all()
    assert len(authors) == 2  # one account in each project, never the importing manager
    assert manager not in authors
    for user in authors:
        assert (user.name, user.active, user.role) == (
            "unknown annotator (import)",
            False,
            "annotator",
        )
    mine = db.session.scalar(
        select(User.id)
        .join(Membership)
        .where(Membership.project_id == project.id, User.id != manager.id)
    )
    assert {
        a.completed_by_id
        for a in db.session.scalars(select(Annotation).where(Annotation.project_id == project.id))
    } == {mine}


def test_boxes_up_to_five_percent_past_the_edge_are_kept_and_counted(app):
    project = factories.project("image")
    a = {"completed_by": "a@x.com", "result": [box(60, 10, 40.43, 20)]}  # x + width = 100.43
    b = {"completed_by": "b@x.com", "result": [box(60, 10, 40, 20)]}
    summary = load(project, [{"data": {"image": "/media/a.png"}, "annotations": [a, b]}])
    assert summary.as_dict()["boxes_past_edge"] == 1
    stored = db.session.scalars(select(Annotation.result).order_by(Annotation.id)).first()
    assert stored[0]["value"]["width"] == 40.43  # as given
    # IoU of the part on the image: a clipped to 60..100 equals b exactly.
    assert db.session.scalar(select(Task.agreement)) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "geometry, message",
    [
        ((-6, 0, 10, 10), "x = -6 is outside -5..100"),
        ((90, 0, 16, 10), "x + width = 106 is past 105"),
        ((10, 10, -3, 10), "width = -3 must be > 0"),
    ],
)
def test_boxes_far_outside_or_negative_are_refused_naming_the_result(app, geometry, message):
    project = factories.project("image")
    item = {
        "data": {"image": "/m.png"},
        "annotations": [{"completed_by": "a@x.com", "result": [box(*geometry)]}],
    }
    with pytest.raises(ImportFailed) as refused:
        load(project, [item])
    assert str(refused.value).startswith('Task 1, annotation 1: result[0] (from_name "label")')
    assert message in str(refused.value)


def test_legacy_completions_are_read_as_annotations_and_said(app):
    project = factories.project()
    summary = load(
        project,
        [{"data": {"text": "old"}, "completions": [factories.annotation("a@x.com", "Negative")]}],
    )
    assert (summary.annotation_count, summary.legacy_completions) == (1, 1)
    assert "Read 1 legacy `completions`" in " ".join(summary.lines())
    with pytest.raises(
        ImportFailed, match=r"^Read 1 legacy `completions`; Task 1: data has no field 'text'"
    ):
        load(project, [{"data": {"txt": "old"}, "completions": [factories.annotation("a@x.com")]}])


def test_a_task_field_that_holds_results_is_an_error_not_dropped(app):
    project = factories.project()
    with pytest.raises(
        ImportFailed, match="the field 'labels' holds results, which would be dropped"
    ):
        load(
            project, [{"data": {"text": "x"}, "labels": [{"result": factories.choice("Positive")}]}]
        )
    drafts = load(
        project, [{"data": {"text": "x"}, "drafts": [{"result": factories.choice("Positive")}]}]
    )
    assert drafts.ignored_fields["task.drafts"] == 1  # unsubmitted work: said, not an error


@pytest.mark.parametrize("empty", [None, {}])
def test_a_skip_with_a_null_or_empty_object_result_is_an_empty_skip(app, empty):
    project = factories.project()
    summary = load(
        project,
        [
            {
                "data": {"text": "x"},
                "annotations": [
                    {"completed_by": "a@x.com", "was_cancelled": True, "result": empty}
                ],
            }
        ],
    )
    assert summary.skipped_annotation_count == 1
    assert db.session.scalar(select(Annotation.result)) == []


def test_a_refused_import_lists_the_first_twenty_problems_and_stores_nothing(app):
    project = factories.project()
    bad = [{"data": {"txt": str(i)}} for i in range(25)]
    good = [{"data": {"text": "fine"}}] * 3
    with pytest.raises(ImportFailed) as refused:
        load(project, good + bad[:2])
    assert str(refused.value) == (
        "2 problems: Task 4: data has no field 'text' (the label config's <Text name=\"text\"> "
        "reads $text); fields: txt. Task 5: data has no field 'text' (the label config's "
        '<Text name="text"> reads $text); fields: txt.'
    )
    with pytest.raises(ImportFailed) as many:
        load(project, good + bad)
    assert str(many.value).startswith("20 problems (the first 20): Task 4:")
    assert "Task 23:" in str(many.value) and "Task 24:" not in str(many.value)
    assert db.session.scalar(select(func.count(Task.id))) == 0


# "😀" is one code point and two UTF-16 code units; Label Studio counts the units.
TEXT = "Hi 😀 Ada met 👩‍🔬 Bob 𝔘"


def ls_span(start, end, text, label="PER"):
    return {
        "id": f"s{start}",
        "from_name": "label",
        "to_name": "text",
        "type": "labels",
        "value": {"start": start, "end": end, "text": text, "labels": [label]},
    }


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def spans_in_units():
    """Ada after one astral character, the scientist emoji (astral ZWJ sequence) inside a
    span, Bob before the last astral character; offsets as Label Studio writes them."""
    ada = TEXT.index("Ada")
    sci = TEXT.index("👩")
    bob = TEXT.index("Bob")
    return [
        ls_span(utf16(TEXT[:ada]), utf16(TEXT[: ada + 3]), "Ada"),
        ls_span(utf16(TEXT[:sci]), utf16(TEXT[: sci + 3]), "👩‍🔬", "MISC"),
        ls_span(utf16(TEXT[:bob]), utf16(TEXT[: bob + 3]), "Bob"),
    ]


def test_span_offsets_are_utf16_in_files_and_code_points_in_storage(app):
    from reviewapp.services.import_export.exporter import export_json

    project = factories.project("ner")
    task = {
        "data": {"text": TEXT},
        "annotations": [{"completed_by": "a@x.com", "result": spans_in_units()}],
        "predictions": [{"result": spans_in_units()[:1], "score": 0.5}],
    }
    summary = load(project, [task])
    assert summary.as_dict()["spans_text_differs"] == 0  # every text matched once converted
    stored = db.session.scalar(select(Annotation.result))
    assert [TEXT[i["value"]["start"] : i["value"]["end"]] for i in stored] == ["Ada", "👩‍🔬", "Bob"]
    exported = json.loads("".join(export_json(project.id)))[0]
    assert exported["annotations"][0]["result"] == spans_in_units()
    assert exported["predictions"][0]["result"] == spans_in_units()[:1]
    # And back in: the same stored offsets.
    again = factories.project("ner", title="Again")
    load(again, [exported])
    assert (
        db.session.scalars(select(Annotation.result).where(Annotation.project_id == again.id)).one()
        == stored
    )


def test_an_offset_inside_a_surrogate_pair_is_refused(app):
    project = factories.project("ner")
    bad = ls_span(4, 8, "x")  # 4 is between the two halves of 😀 (units 3 and 4)
    with pytest.raises(ImportFailed, match="falls inside a character"):
        load(
            project,
            [
                {
                    "data": {"text": TEXT},
                    "annotations": [{"completed_by": "a@x.com", "result": [bad]}],
                }
            ],
        )


def test_the_review_api_speaks_utf16_offsets(client, app):
    reviewer = factories.user("reviewer")
    project = factories.project("ner", members=(reviewer,))
    load(
        project,
        [
            {
                "data": {"text": TEXT},
                "annotations": [{"completed_by": "a@x.com", "result": spans_in_units()}],
            }
        ],
    )
    headers = {"Authorization": f"Token {factories.token(reviewer)}"}
    claimed = client.post(f"/api/projects/{project.id}/review/next", headers=headers).json
    assert claimed["annotation"]["result"] == spans_in_units()
    fixed = client.post(
        f"/api/annotations/{claimed['annotation']['id']}/review",
        json={"verdict": "fixed", "result": spans_in_units()[2:]},
        headers=headers,
    )
    assert fixed.status_code == 201, fixed.json
    (bob,) = db.session.scalar(select(Annotation.result))
    assert TEXT[bob["value"]["start"] : bob["value"]["end"]] == "Bob"


def test_the_import_api_reads_csv_tsv_and_multipart_by_content_type(client, app):
    manager = factories.user("manager")
    project = factories.project(members=(manager,))
    headers = {"Authorization": f"Token {factories.token(manager)}"}
    url = f"/api/projects/{project.id}/import"
    csv = client.post(url, data="text\nfrom csv\n", content_type="text/csv", headers=headers)
    tsv = client.post(
        url,
        data="text\tsource\nfrom tsv\tx\n",
        content_type="text/tab-separated-values",
        headers=headers,
    )
    upload = client.post(
        url,
        data={"file": (io.BytesIO(b"text\nuploaded\n"), "tasks.csv")},
        content_type="multipart/form-data",
        headers=headers,
    )
    assert [r.status_code for r in (csv, tsv, upload)] == [201, 201, 201]
    texts = db.session.scalars(select(Task.data).order_by(Task.id)).all()
    assert texts == [
        {"text": "from csv"},
        {"text": "from tsv", "source": "x"},
        {"text": "uploaded"},
    ]
    unreadable = client.post(url, data="text\nno type\n", headers=headers)
    assert unreadable.status_code == 400
    assert "text/csv, text/tab-separated-values" in unreadable.json["error"]


def test_label_configs_as_label_studio_writes_them(app):
    from reviewapp.labeling import LabelConfigError, parse_label_config

    config = parse_label_config(
        '<View><Header value="Read this"/><Text name="intro" value="Some literal"/>'
        '<Collapse><Filter name="f" toName="sentiment"/><Markdown>*hi*</Markdown></Collapse>'
        '<Text name="text" value="$text"/>'
        '<Choices name="sentiment" toName="text"><Choice value="A"/></Choices></View>'
    )
    assert list(config.objects) == ["text"]  # the literal shows text, it is not labelled
    with pytest.raises(LabelConfigError) as refused:
        parse_label_config(
            '<View><Text name="t" value="$text"/><Audio name="a" value="$a"/>'
            '<Video name="v" value="$v"/><Audio name="b" value="$b"/>'
            '<Choices name="c" toName="t"><Choice value="A"/></Choices></View>'
        )
    assert str(refused.value).startswith(
        "Unsupported tags <Audio>, <Video>; supported: <Text>, <Image>, <Choices>"
    )


def test_source_ids_and_meta_are_kept_exported_and_filtered(client, app):
    from reviewapp.services.import_export.exporter import export_json

    manager = factories.user("manager")
    project = factories.project(members=(manager,))
    load(
        project,
        [
            {
                "id": 4101,
                "data": {"text": "one"},
                "meta": {"batch": "b7"},
                "annotations": [{**factories.annotation("a@x.com"), "id": 901}],
            },
            {"id": "uuid-2", "data": {"text": "two"}},
        ],
    )
    exported = json.loads("".join(export_json(project.id)))
    first, second = exported
    assert first["id"] != 4101 and first["id"] == db.session.scalar(select(func.min(Task.id)))
    assert (first["source_id"], first["meta"], second["source_id"]) == (
        "4101",
        {"batch": "b7"},
        "uuid-2",
    )
    assert first["annotations"][0]["source_id"] == "901"
    headers = {"Authorization": f"Token {factories.token(manager)}"}
    found = client.get(f"/api/projects/{project.id}/tasks?source_id=uuid-2", headers=headers).json
    assert [(t["source_id"], t["data"]) for t in found["tasks"]] == [("uuid-2", {"text": "two"})]
    with pytest.raises(
        ImportFailed, match=r"Task 1: id must be an integer or a short string, got \[1\]"
    ):
        load(project, [{"id": [1], "data": {"text": "x"}}])
