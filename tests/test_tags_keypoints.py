"""KeyPointLabels end to end (issue 12, part B): config, validation, the editor's fields,
scores with the project setting keypoint_radius_percent, import/export and the task page."""

import io
import json

import pytest
from flask import render_template_string
from sqlalchemy import select

from reviewapp.extensions import db
from reviewapp.labeling import LabelConfigError, ResultError, parse_label_config, validate_result
from reviewapp.labeling.form import result_from_form
from reviewapp.models import GtScore, Task
from reviewapp.services.import_export.exporter import answer_text, export_json
from reviewapp.services.import_export.importer import ImportFailed, import_file
from reviewapp.services.metrics import agreement
from reviewapp.services.projects import create_project
from reviewapp.services.users import add_member, new_api_token
from tests import factories
from tests.test_label_views import FormFields

CONFIG_XML = """<View>
  <Image name="img" value="$image"/>
  <KeyPointLabels name="kp" toName="img" strokeWidth="2" opacity="0.8" snap="pixel">
    <Label value="Eye"/>
    <Label value="Nose &lt;n&gt;"/>
  </KeyPointLabels>
</View>"""
CONFIG = parse_label_config(CONFIG_XML)
# A 300 x 400 px image: its diagonal is 500 px, so the default radius (2 %) is 10 px.
SIZE = {"original_width": 300, "original_height": 400}


def point(x, y, label="Eye", region_id=None, **extra):
    item = {
        "from_name": "kp",
        "to_name": "img",
        "type": "keypointlabels",
        **SIZE,
        "value": {"x": x, "y": y, "width": 1, "keypointlabels": [label]},
        **extra,
    }
    if region_id:
        item = {"id": region_id, **item}
    return item


def refused(result) -> str:
    with pytest.raises(ResultError) as error:
        validate_result(CONFIG, result)
    return str(error.value)


def test_the_parser_reads_key_point_labels():
    kp = CONFIG.controls["kp"]
    assert (kp.tag, kp.result_type, kp.labels) == (
        "KeyPointLabels",
        "keypointlabels",
        ("Eye", "Nose <n>"),
    )
    with pytest.raises(LabelConfigError) as error:
        parse_label_config(
            '<View><Text name="t" value="$t"/>'
            '<KeyPointLabels name="k" toName="t"><Label value="a"/></KeyPointLabels></View>'
        )
    assert '<KeyPointLabels name="k"> works only on <Image>' in str(error.value)


def test_valid_points_are_kept_as_given():
    result = [point(10, 20.5, region_id="p1"), point(100.4, 0, "Nose <n>")]
    assert validate_result(CONFIG, result) == result
    bare = {"from_name": "kp", "to_name": "img", "type": "keypointlabels"}
    assert validate_result(CONFIG, [{**bare, "value": {"x": 1, "y": 2, "keypointlabels": ["Eye"]}}])


@pytest.mark.parametrize(
    "value, message",
    [
        ({"x": "1", "y": 2}, "value.x must be a number, got string"),
        ({"x": 1}, "value.y must be a number, got null"),
        ({"x": 106, "y": 2}, "x = 106 is outside -5..105"),
        ({"x": 1, "y": float("nan")}, "y = nan is outside -5..105"),
        ({"x": 1, "y": 2, "width": -1}, "value.width must be a number in 0..100, got -1"),
        (
            {"x": 1, "y": 2, "keypointlabels": ["Ear"]},
            'unknown label "Ear" in value.keypointlabels',
        ),
    ],
)
def test_invalid_points_are_refused_naming_the_item_and_field(value, message):
    item = {"from_name": "kp", "to_name": "img", "type": "keypointlabels"}
    value = {"keypointlabels": ["Eye"], **value}
    assert message in refused([{**item, "value": value}])
    assert refused([{**item, "value": value}]).startswith('result[0] (from_name "kp"): ')


def test_the_editor_shows_points_without_javascript_and_reads_them_back(app):
    result = [point(10, 20, "Nose <n>", region_id="p1")]
    with app.test_request_context():
        html = render_template_string(
            '{% from "macros/editor.html" import editor %}{{ editor(config, task, result) }}',
            config=CONFIG,
            task={"data": {"image": "/static/cat.png"}},
            result=result,
        )
    assert 'class="box-editor" data-keypoints data-object="img"' in html
    assert 'style="left: 10%; top: 20%;" title="Nose &lt;n&gt;"' in html and "<n>" not in html
    assert "point at 10%, 20%" in html
    fields = FormFields()
    fields.feed(html)
    assert result_from_form(CONFIG, fields.fields, {}) == result


def test_a_pair_scores_one_minus_distance_over_radius():
    """On the 300 x 400 image r = 2 % of 500 px = 10 px. (10 %, 10 %) and (12 %, 10 %) are
    2 % of 300 = 6 px apart: 1 - 6 / 10 = 0.4. (10 %, 11 %) is 1 % of 400 = 4 px away:
    0.6. 12 px away is past r: 0, no pair."""
    a = [point(10, 10)]
    assert agreement.score(CONFIG, a, [point(12, 10)]) == pytest.approx(0.4)
    assert agreement.score(CONFIG, a, [point(10, 11)]) == pytest.approx(0.6)
    assert agreement.score(CONFIG, a, [point(14, 10)]) == 0
    # A radius of 4 % (20 px): 1 - 6 / 20 = 0.7.
    assert agreement.score(CONFIG, a, [point(12, 10)], keypoint_radius=4) == pytest.approx(0.7)
    # Same place, other label: no pair.
    assert agreement.score(CONFIG, a, [point(10, 10, "Nose <n>")]) == 0


def test_points_are_matched_one_to_one_and_the_iou_threshold_does_not_apply():
    """a: Eyes at (10, 10) and (20, 10). b: an Eye at (11, 10) (3 px from the first, 33 px
    from the second) and a Nose. Pairs: (10, 10)-(11, 10) = 1 - 3 / 10 = 0.7; the other Eye
    and the Nose are unmatched: 0.7 / (2 + 2 - 1) = 0.233, whatever the IoU threshold."""
    a = [point(10, 10), point(20, 10)]
    b = [point(11, 10), point(50, 50, "Nose <n>")]
    comparison = agreement.compare(CONFIG, a, b, iou_threshold=0.9)
    assert comparison.score == pytest.approx(0.7 / 3)
    assert comparison.controls["kp"].matches == [(0, 0, pytest.approx(0.7))]
    assert comparison.controls["kp"].detail == "sum 1 - d / r 0.7 / (2 + 2 - 1 matched) = 0.233"


def test_without_the_image_size_points_are_on_a_square_image():
    """100 x 100: diagonal 141.4, r = 2.828; 2 apart: 1 - 2 / 2.828 = 0.293."""
    bare = {"from_name": "kp", "to_name": "img", "type": "keypointlabels"}
    a = [{**bare, "value": {"x": 10, "y": 10, "keypointlabels": ["Eye"]}}]
    b = [{**bare, "value": {"x": 12, "y": 10, "keypointlabels": ["Eye"]}}]
    assert agreement.score(CONFIG, a, b) == pytest.approx(1 - 2 / (0.02 * 2**0.5 * 100))


def test_the_diff_of_a_fix_names_moved_and_relabelled_points():
    before = [point(10, 10, region_id="a"), point(50, 50, region_id="b")]
    after = [point(12, 10, region_id="a"), point(50, 50, "Nose <n>", region_id="b")]
    assert agreement.diff_results(CONFIG, before, after).summary() == [
        "kp: 1 region moved",
        "kp: 1 region relabelled (Eye → Nose <n>)",
    ]
    # a moved 6 px: 0.4; b relabelled: 0. Fix size 1 - 0.4 / (2 + 2 - 2) = 0.8.
    assert agreement.fix_size(CONFIG, before, after) == pytest.approx(0.8)


@pytest.fixture
def project(app):
    created = create_project("Points", CONFIG_XML, None)
    db.session.commit()
    return created


def load(project, items):
    summary = import_file(project, io.BytesIO(json.dumps(items).encode()), "tasks.json")
    db.session.commit()
    return summary


def two_annotators(project, first, second, **task):
    return load(
        project,
        [
            {
                "data": {"image": "https://example.com/a.png"},
                "annotations": [
                    {"completed_by": "a@x.com", "result": first},
                    {"completed_by": "b@x.com", "result": second},
                ],
                **task,
            }
        ],
    )


def test_import_then_export_gives_the_same_results(project):
    first = [point(10, 10, region_id="p1"), point(-1, 5, "Nose <n>")]
    second = [point(12, 10)]
    prediction = [{**point(10, 11), "score": 0.7}]
    summary = two_annotators(
        project, first, second, predictions=[{"model_version": "m1", "result": prediction}]
    )
    assert "1 boxes, polygons or key points reach past" in " ".join(summary.lines())
    [task] = json.loads("".join(export_json(project.id)))
    assert [a["result"] for a in task["annotations"]] == [first, second]
    assert task["predictions"][0]["result"] == prediction
    # Eye-Eye 0.4, the Nose unmatched: 0.4 / (2 + 1 - 1) = 0.2.
    assert db.session.scalar(select(Task.agreement)) == pytest.approx(0.2)
    assert answer_text(second) == "Eye(12.0,10.0)"


def test_ground_truth_accuracy_of_an_annotation_and_a_prediction(project):
    load(
        project,
        [
            {
                "data": {"image": "https://example.com/a.png"},
                "annotations": [
                    {"completed_by": "gt@x.com", "result": [point(10, 10)], "ground_truth": True},
                    {"completed_by": "b@x.com", "result": [point(10, 11)]},
                ],
                "predictions": [{"model_version": "m1", "result": [point(12, 10)]}],
            }
        ],
    )
    scores = {
        (row.annotation_id is not None, row.model_version): row.score
        for row in db.session.scalars(select(GtScore))
    }
    # The annotation: 4 px off, 0.6. The prediction: 6 px off, 0.4.
    assert scores == {(True, None): pytest.approx(0.6), (False, "m1"): pytest.approx(0.4)}


def test_an_invalid_imported_point_names_task_annotation_and_result(project):
    bad = {"completed_by": "a@x.com", "result": [point(10, 10), point(10, 200)]}
    with pytest.raises(ImportFailed) as error:
        load(project, [{"data": {"image": "a.png"}, "annotations": [bad]}])
    assert 'Task 1, annotation 1: result[1] (from_name "kp"): y = 200 is outside' in str(
        error.value
    )


def test_the_task_page_shows_the_points_and_the_agreement(client, auth, project):
    manager = factories.user("manager")
    add_member(project.id, manager)
    db.session.commit()
    two_annotators(project, [point(10, 10, "Nose <n>")], [point(10, 11, "Nose <n>")])
    task = db.session.scalar(select(Task))
    auth.login(manager)
    body = client.get(f"/projects/{project.id}/tasks/{task.id}").get_data(as_text=True)
    assert 'class="keypoint lbl-1" style="left: 10%; top: 11%;"' in body
    assert "Nose &lt;n&gt; point at 10, 11" in body and "<n>" not in body
    assert "sum 1 - d / r 0.6 / (1 + 1 - 1 matched) = 0.6" in body
    assert "60%" in body


def test_the_radius_is_a_setting_and_changing_it_rescores(client, auth, project):
    """Eye (10, 10) and (12, 10), 6 px apart: 0.4 at 2 %; at 3 % (15 px) 1 - 6 / 15 = 0.6."""
    manager = auth.login("manager")
    add_member(project.id, manager)
    db.session.commit()
    two_annotators(project, [point(10, 10)], [point(12, 10)])
    task = db.session.scalar(select(Task))
    assert task.agreement == pytest.approx(0.4)
    page = client.get(f"/projects/{project.id}/settings").get_data(as_text=True)
    assert 'name="keypoint_radius_percent"' in page and 'value="2.0"' in page

    token = {"Authorization": f"Bearer {new_api_token(manager)}"}
    db.session.commit()
    url = f"/api/projects/{project.id}"
    bad = client.patch(url, json={"keypoint_radius_percent": 0}, headers=token)
    assert bad.status_code == 422 and "keypoint_radius_percent:" in bad.json["error"]
    assert (
        client.patch(url, json={"keypoint_radius_percent": "3"}, headers=token).status_code == 400
    )
    response = client.patch(url, json={"keypoint_radius_percent": 3}, headers=token)
    assert response.status_code == 200
    assert response.json["keypoint_radius_percent"] == 3
    assert response.json["rescore_job"]["status"] == "done"
    db.session.refresh(task)
    assert task.agreement == pytest.approx(0.6)
    db.session.refresh(project)
    assert project.keypoint_radius_percent == 3
