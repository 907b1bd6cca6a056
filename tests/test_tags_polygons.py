"""PolygonLabels end to end (issue 12, part B), and rotated boxes scored as rotated
rectangles: config, validation, the editor's fields, scores, import/export and the task page."""

import io
import json

import pytest
from flask import render_template_string
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from reviewapp.extensions import db
from reviewapp.labeling import LabelConfigError, ResultError, parse_label_config, validate_result
from reviewapp.labeling.form import result_from_form
from reviewapp.models import Annotation, GtScore, Task
from reviewapp.services.import_export.exporter import answer_text, export_json
from reviewapp.services.import_export.importer import ImportFailed, import_file
from reviewapp.services.metrics import agreement
from reviewapp.services.projects import create_project
from reviewapp.services.users import add_member
from tests import factories
from tests.test_label_views import FormFields

CONFIG_XML = """<View>
  <Image name="img" value="$image"/>
  <PolygonLabels name="shape" toName="img" strokeWidth="3" pointSize="small" opacity="0.9">
    <Label value="Car"/>
    <Label value="Tree &lt;t&gt;"/>
  </PolygonLabels>
</View>"""
CONFIG = parse_label_config(CONFIG_XML)
BOXES = parse_label_config(
    '<View><Image name="img" value="$image"/>'
    '<RectangleLabels name="box" toName="img"><Label value="Car"/></RectangleLabels></View>'
)

SQUARE = [[10, 10], [30, 10], [30, 30], [10, 30]]  # 20 x 20: area 400
# The square with its bottom cut to a roof: the rectangle 10..30 x 10..25 (300) and the
# triangle (10, 25), (30, 25), (20, 30) (20 * 5 / 2 = 50): area 350, all inside SQUARE.
PENTAGON = [[10, 10], [30, 10], [30, 25], [20, 30], [10, 25]]


def polygon(points, label="Car", region_id=None, **extra):
    item = {
        "from_name": "shape",
        "to_name": "img",
        "type": "polygonlabels",
        "value": {"points": points, **extra, "polygonlabels": [label]},
    }
    if region_id:
        item = {"id": region_id, **item}
    return item


def box(x, y, width, height, rotation=0, **sizes):
    value = {"x": x, "y": y, "width": width, "height": height, "rotation": rotation}
    return {
        "from_name": "box",
        "to_name": "img",
        "type": "rectanglelabels",
        "value": {**value, "rectanglelabels": ["Car"]},
        **sizes,
    }


def refused(result, config=CONFIG) -> str:
    with pytest.raises(ResultError) as error:
        validate_result(config, result)
    return str(error.value)


# --- the label config -----------------------------------------------------------------


def test_the_parser_reads_polygon_labels_and_ignores_drawing_attributes():
    shape = CONFIG.controls["shape"]
    assert (shape.tag, shape.result_type, shape.labels) == (
        "PolygonLabels",
        "polygonlabels",
        ("Car", "Tree <t>"),
    )


@pytest.mark.parametrize(
    "xml, message",
    [
        (
            '<View><Text name="t" value="$t"/>'
            '<PolygonLabels name="p" toName="t"><Label value="a"/></PolygonLabels></View>',
            '<PolygonLabels name="p"> works only on <Image>, but toName="t" is <Text>',
        ),
        (
            '<View><Image name="i" value="$i"/><PolygonLabels name="p" toName="i"/></View>',
            '<PolygonLabels name="p"> has no options',
        ),
        (
            '<View><Image name="i" value="$i"/>'
            '<PolygonLabels name="p" toName="i"><Label value="a"/></PolygonLabels>'
            '<RectangleLabels name="b" toName="i"><Label value="a"/></RectangleLabels></View>',
            '<RectangleLabels> and <PolygonLabels> point at the same image "i"',
        ),
    ],
)
def test_the_parser_refuses_bad_polygon_configs(xml, message):
    with pytest.raises(LabelConfigError) as error:
        parse_label_config(xml)
    assert message in str(error.value)


# --- results ----------------------------------------------------------------------------


def test_valid_polygons_are_kept_as_given():
    past_edge = [[95.5, 0], [100.43, 0], [100.43, 10], [95.5, 10]]
    result = [
        polygon(SQUARE, region_id="r1", closed=True),
        polygon(past_edge, "Tree <t>"),
        {**polygon(PENTAGON), "original_width": 640, "original_height": 480},
    ]
    assert validate_result(CONFIG, result) == result


@pytest.mark.parametrize(
    "points, message",
    [
        ("10,10 20,20", "value.points must be an array of [x, y] points, got string"),
        ([[0, 0], [10, 0]], "value.points has 2 points; a polygon needs at least 3"),
        ([[0, 0], [10, "0"], [0, 10]], "value.points must be an array of [x, y] number pairs"),
        (
            [[0, 0, 1], [10, 0, 1], [0, 10, 1]],
            "value.points must be an array of [x, y] number pairs",
        ),
        ([[0, 0], [10, 0], [0]], "value.points must be an array of [x, y] number pairs"),
        ([[0, 0], [True, 0], [0, 10]], "value.points must be an array of [x, y] number pairs"),
        ([[0, 0], [106, 0], [0, 10]], "value.points[1] = [106, 0] is outside -5..105"),
        ([[0, 0], [10, 0], [0, -5.5]], "value.points[2] = [0, -5.5] is outside -5..105"),
        ([[0, 0], [float("nan"), 0], [0, 10]], "value.points[1] = [nan, 0] is outside -5..105"),
        ([[0, 0], [10, 10], [20, 20]], "value.points enclose no area (they lie on one line)"),
    ],
)
def test_invalid_polygons_are_refused_naming_the_item_and_field(points, message):
    assert refused([polygon(points)]) == f'result[0] (from_name "shape"): {message}'


def test_other_polygon_mistakes_are_refused():
    assert 'unknown label "Bus" in value.polygonlabels; expected one of Car, Tree <t>' in (
        refused([polygon(SQUARE, "Bus")])
    )
    assert "value.closed must be true or false, got string" in refused(
        [polygon(SQUARE, closed="yes")]
    )
    wrong_type = {**polygon(SQUARE), "type": "rectanglelabels"}
    assert 'type is "rectanglelabels", expected "polygonlabels"' in refused([wrong_type])


# --- the editor's form --------------------------------------------------------------------


def render_editor(app, result):
    with app.test_request_context():
        return render_template_string(
            '{% from "macros/editor.html" import editor %}{{ editor(config, task, result) }}',
            config=CONFIG,
            task={"data": {"image": "/static/cat.png"}},
            result=result,
        )


def test_the_editor_shows_polygons_without_javascript_and_reads_them_back(app):
    result = [polygon(SQUARE, "Tree <t>", region_id="r1", closed=True)]
    html = render_editor(app, result)
    assert 'class="box-editor" data-polygons data-object="img"' in html
    assert "data-boxes" not in html
    assert 'points="10,10 30,10 30,30 10,30 "' in html
    assert "<title>Tree &lt;t&gt;</title>" in html and "<t>" not in html
    assert "polygon of 4 points" in html
    fields = FormFields()
    fields.feed(html)
    assert result_from_form(CONFIG, fields.fields, {}) == result


def test_the_polygon_field_is_validated_naming_the_field():
    drawn = json.dumps([{"value": {"points": [[0, 0], [1, 1]], "polygonlabels": ["Car"]}}])
    with pytest.raises(ResultError) as error:
        result_from_form(CONFIG, MultiDict([("regions-shape", drawn)]), {})
    assert "value.points has 2 points" in str(error.value)


# --- scores -------------------------------------------------------------------------------


def test_polygon_iou_is_the_shared_area_over_the_joint_area():
    # PENTAGON (350) lies inside SQUARE (400): IoU = 350 / 400 = 0.875.
    assert agreement.score(CONFIG, [polygon(SQUARE)], [polygon(PENTAGON)]) == pytest.approx(0.875)
    # SQUARE moved 10 to the right shares 10 x 20 = 200: IoU = 200 / (400 + 400 - 200) = 1/3,
    # below a threshold of 0.5: no pair, 0 / (1 + 1) = 0.
    moved = [[x + 10, y] for x, y in SQUARE]
    assert agreement.score(CONFIG, [polygon(SQUARE)], [polygon(moved)]) == pytest.approx(1 / 3)
    assert agreement.score(CONFIG, [polygon(SQUARE)], [polygon(moved)], 0.5) == 0
    # Same place, other label: no pair.
    assert agreement.score(CONFIG, [polygon(SQUARE)], [polygon(SQUARE, "Tree <t>")]) == 0


def test_polygons_are_matched_one_to_one():
    """a: SQUARE (Car) and the triangle (50, 50), (90, 50), (50, 90) (Car, area 800).
    b: PENTAGON (Car), the same triangle (Car) and a Tree.
    Pairs: SQUARE-PENTAGON 0.875, triangle-triangle 1; the Tree is unmatched.
    score = (0.875 + 1) / (2 + 3 - 2) = 0.625."""
    triangle = [[50, 50], [90, 50], [50, 90]]
    a = [polygon(SQUARE), polygon(triangle)]
    b = [polygon(triangle), polygon(PENTAGON), polygon([[0, 60], [20, 60], [0, 80]], "Tree <t>")]
    comparison = agreement.compare(CONFIG, a, b)
    assert comparison.score == pytest.approx(0.625)
    assert comparison.controls["shape"].matches == [
        (0, 1, pytest.approx(0.875)),
        (1, 0, pytest.approx(1.0)),
    ]
    assert comparison.controls["shape"].unmatched_b == [2]


def test_a_polygon_past_the_edge_counts_by_its_part_on_the_image():
    # [90, 105] x [0, 10] clipped to the image is [90, 100] x [0, 10]: the same as the other.
    past = [[90, 0], [105, 0], [105, 10], [90, 10]]
    inside = [[90, 0], [100, 0], [100, 10], [90, 10]]
    assert agreement.score(CONFIG, [polygon(past)], [polygon(inside)]) == pytest.approx(1.0)


def test_a_self_crossing_polygon_is_scored_by_its_area():
    """The bow tie (0, 0), (20, 20), (20, 0), (0, 20) is two triangles meeting at (10, 10),
    each 20 * 10 / 2 = 100. Against the square 0..20 (400): IoU = 200 / 400 = 0.5."""
    bow_tie = [[0, 0], [20, 20], [20, 0], [0, 20]]
    square = [[0, 0], [20, 0], [20, 20], [0, 20]]
    assert agreement.score(CONFIG, [polygon(bow_tie)], [polygon(square)]) == pytest.approx(0.5)


def test_rotated_boxes_are_scored_as_rotated_rectangles():
    """On a 200 x 100 image, the box x 10 %, y 10 %, 20 % x 20 % is 40 x 20 px with its
    top-left corner at (20, 10) px. Turned 90 degrees clockwise about that corner, its
    corners are (20, 10), (20, 50), (0, 50), (0, 10) px: x 0..10 %, y 10..50 %, which is
    exactly the unrotated box x 0, y 10, 10 % x 40 % (IoU 1). Ignoring the rotation gave
    the boxes 10..30 x 10..30 and 0..10 x 10..50: no overlap, 0."""
    size = {"original_width": 200, "original_height": 100}
    turned = box(10, 10, 20, 20, rotation=90, **size)
    upright = box(0, 10, 10, 40, **size)
    assert agreement.score(BOXES, [turned], [upright]) == pytest.approx(1.0)
    # Turned 180 degrees, it lies left of and above its corner: x -10..10 %, y -10..10 %,
    # 0..10 x 0..10 % on the image (area 100), against itself upright (10..30 x 10..30):
    # they touch at the corner only, IoU 0.
    assert agreement.score(BOXES, [box(10, 10, 20, 20, 180)], [box(10, 10, 20, 20)]) == 0
    # Without the image's size, percent of a square image: turned 90 degrees about (10, 10)
    # the 20 x 10 box covers x 0..10, y 10..30; against x 0..10, y 10..20 IoU 100 / 200.
    assert agreement.score(BOXES, [box(10, 10, 20, 10, 90)], [box(0, 10, 10, 10)]) == pytest.approx(
        0.5
    )


def test_the_diff_of_a_fix_names_moved_resized_and_relabelled_polygons():
    before = [polygon(SQUARE, region_id="a"), polygon(PENTAGON, region_id="b")]
    moved = [[x + 10, y] for x, y in SQUARE]
    after = [polygon(moved, region_id="a"), polygon(SQUARE, "Tree <t>", region_id="b")]
    assert agreement.diff_results(CONFIG, before, after).summary() == [
        "shape: 1 region moved",
        "shape: 1 region resized",
        "shape: 1 region relabelled (Car → Tree <t>)",
    ]
    # a keeps its id: paired with itself, IoU 1/3; b relabelled scores 0.
    # fix size = 1 - (1/3 + 0) / (2 + 2 - 2) = 5/6.
    assert agreement.fix_size(CONFIG, before, after) == pytest.approx(5 / 6)


# --- import, export, task page ------------------------------------------------------------


@pytest.fixture
def project(app):
    created = create_project("Polygons", CONFIG_XML, None)
    db.session.commit()
    return created


def load(project, items):
    summary = import_file(project, io.BytesIO(json.dumps(items).encode()), "tasks.json")
    db.session.commit()
    return summary


def test_import_then_export_gives_the_same_results(project):
    past_edge = [[95, 0], [100.43, 0], [100.43, 10]]
    first = [polygon(SQUARE, region_id="r1", closed=True), polygon(past_edge, "Tree <t>")]
    second = [{**polygon(PENTAGON), "original_width": 640, "original_height": 480}]
    prediction = [{**polygon(SQUARE), "score": 0.8}]
    summary = load(
        project,
        [
            {
                "data": {"image": "https://example.com/a.png"},
                "annotations": [
                    {"completed_by": "a@x.com", "result": first},
                    {"completed_by": "b@x.com", "result": second},
                ],
                "predictions": [{"model_version": "m1", "result": prediction}],
            }
        ],
    )
    assert "1 boxes, polygons or key points reach past the image's edge" in " ".join(
        summary.lines()
    )
    [task] = json.loads("".join(export_json(project.id)))
    assert [a["result"] for a in task["annotations"]] == [first, second]
    assert task["predictions"][0]["result"] == prediction
    # SQUARE-PENTAGON IoU 0.875 > 0.5 (the project's threshold); the Tree is unmatched:
    # 0.875 / (2 + 1 - 1) = 0.4375.
    assert db.session.scalar(select(Task.agreement)) == pytest.approx(0.4375)
    assert answer_text(second) == "Car(polygon of 5 points)"


def test_ground_truth_accuracy_of_an_annotation_and_a_prediction(project):
    load(
        project,
        [
            {
                "data": {"image": "https://example.com/a.png"},
                "annotations": [
                    {"completed_by": "gt@x.com", "result": [polygon(SQUARE)], "ground_truth": True},
                    {"completed_by": "b@x.com", "result": [polygon(PENTAGON)]},
                ],
                "predictions": [{"model_version": "m1", "result": [polygon(PENTAGON, "Tree <t>")]}],
            }
        ],
    )
    scores = {
        (row.annotation_id is not None, row.model_version): row.score
        for row in db.session.scalars(select(GtScore))
    }
    # The annotation: PENTAGON in SQUARE, 350 / 400. The prediction: other label, 0.
    assert scores == {(True, None): pytest.approx(0.875), (False, "m1"): 0}


def test_an_invalid_imported_polygon_names_task_annotation_and_result(project):
    bad = {"completed_by": "a@x.com", "result": [polygon(SQUARE), polygon([[0, 0], [1, 1]])]}
    with pytest.raises(ImportFailed) as error:
        load(
            project,
            [{"data": {"image": "a.png"}}, {"data": {"image": "b.png"}, "annotations": [bad]}],
        )
    assert 'Task 2, annotation 1: result[1] (from_name "shape"): value.points has 2 points' in str(
        error.value
    )
    assert db.session.scalars(select(Annotation)).all() == []


def test_the_task_page_shows_the_polygons_escaped_and_the_agreement(client, auth, project):
    manager = factories.user("manager")
    add_member(project.id, manager)
    db.session.commit()
    load(
        project,
        [
            {
                "data": {"image": "https://example.com/a.png"},
                "annotations": [
                    {"completed_by": "a@x.com", "result": [polygon(SQUARE, "Tree <t>")]},
                    {"completed_by": "b@x.com", "result": [polygon(PENTAGON, "Tree <t>")]},
                ],
            }
        ],
    )
    task = db.session.scalar(select(Task))
    auth.login(manager)
    body = client.get(f"/projects/{project.id}/tasks/{task.id}").get_data(as_text=True)
    assert 'points="10,10 30,10 30,25 20,30 10,25 "' in body
    assert "Tree &lt;t&gt;" in body and "<t>" not in body
    assert "Tree &lt;t&gt; polygon of 5 points from 10, 10" in body
    assert "sum IoU 0.875 / (1 + 1 - 1 matched) = 0.875" in body
    assert "88%" in body
