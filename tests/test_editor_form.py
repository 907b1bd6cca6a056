"""The editor's form fields -> a validated Label Studio result, per control tag."""

import json

import pytest
from werkzeug.datastructures import MultiDict

from reviewapp.labeling import ResultError, parse_label_config
from reviewapp.labeling.form import result_from_form

CONFIG = parse_label_config(
    """<View>
  <Text name="text" value="$text"/>
  <Labels name="entity" toName="text"><Label value="PER"/><Label value="LOC"/></Labels>
  <Choices name="sentiment" toName="text">
    <Choice value="Positive"/><Choice value="Negative"/>
  </Choices>
  <Choices name="topics" toName="text" choice="multiple">
    <Choice value="Sport"/><Choice value="Politics"/><Choice value="Art"/>
  </Choices>
  <Rating name="quality" toName="text" maxRating="4"/>
  <TextArea name="note" toName="text"/>
  <Image name="image" value="$image"/>
  <RectangleLabels name="box" toName="image">
    <Label value="Cat"/><Label value="Dog"/>
  </RectangleLabels>
</View>"""
)
TEXT = "Ada Lovelace lived in London."
DATA = {"text": TEXT, "image": "/media/cat.png"}


def convert(fields, data=DATA):
    return result_from_form(CONFIG, MultiDict(fields), data)


def span(start, end, label="PER", **extra):
    return {"value": {"start": start, "end": end, "labels": [label], **extra}}


def box(x=10, y=20, width=30, height=40, label="Cat", **extra):
    value = {"x": x, "y": y, "width": width, "height": height, "rectanglelabels": [label]}
    return {"original_width": 640, "original_height": 480, "value": value, **extra}


def regions(name, items):
    return (f"regions-{name}", json.dumps(items))


def test_nothing_filled_in_is_an_empty_result():
    assert convert([("csrf_token", "x"), ("lead_time", "3.5"), ("regions-entity", "")]) == []


def test_single_choice():
    assert convert([("sentiment", "Positive")]) == [
        {
            "from_name": "sentiment",
            "to_name": "text",
            "type": "choices",
            "value": {"choices": ["Positive"]},
        }
    ]


def test_multiple_choices_keep_their_order():
    [item] = convert([("topics", "Sport"), ("topics", "Art")])
    assert item["value"] == {"choices": ["Sport", "Art"]}


def test_a_single_choice_given_twice_is_refused():
    with pytest.raises(ResultError, match="2 choices, but this is a single-choice control"):
        convert([("sentiment", "Positive"), ("sentiment", "Negative")])


def test_an_unknown_choice_is_refused():
    with pytest.raises(ResultError, match='unknown choice "Great".*Positive, Negative'):
        convert([("sentiment", "Great")])


def test_rating():
    [item] = convert([("quality", "3")])
    assert item == {
        "from_name": "quality",
        "to_name": "text",
        "type": "rating",
        "value": {"rating": 3},
    }


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (["5"], r"rating must be an integer in 1..4, got 5"),
        (["0"], r"rating must be an integer in 1..4, got 0"),
        (["2.5"], "quality: the rating must be a whole number, got '2.5'"),
        (["2", "3"], "quality: one rating expected, got 2"),
    ],
)
def test_bad_ratings(given, message):
    with pytest.raises(ResultError, match=message):
        convert([("quality", v) for v in given])


def test_textarea_keeps_line_breaks_and_drops_blank():
    [item] = convert([("note", "first line\r\nsecond line")])
    assert item["value"] == {"text": ["first line\nsecond line"]}
    assert convert([("note", "   \r\n ")]) == []


def test_spans_get_their_text_from_the_task():
    [item, _] = convert([regions("entity", [{**span(0, 12), "id": "s1"}, span(22, 28, "LOC")])])
    assert item == {
        "id": "s1",
        "from_name": "entity",
        "to_name": "text",
        "type": "labels",
        "value": {"start": 0, "end": 12, "text": "Ada Lovelace", "labels": ["PER"]},
    }


def test_span_text_that_does_not_match_the_offsets_is_refused():
    with pytest.raises(ResultError, match=r"value.text 'Ada' does not match the task text at 4..7"):
        convert([regions("entity", [span(4, 7, text="Ada")])])


def test_span_past_the_end_of_the_text_is_refused():
    with pytest.raises(ResultError, match=r"value.end = 40 is past the end of the text \(29"):
        convert([regions("entity", [span(22, 40)])])


def test_span_with_an_unknown_label_is_refused():
    with pytest.raises(ResultError, match='unknown label "ORG" in value.labels; expected one of'):
        convert([regions("entity", [span(0, 3, "ORG")])])


def test_boxes_keep_image_size_and_percentages():
    [item] = convert([regions("box", [box(id="b1")])])
    assert item == {
        "id": "b1",
        "from_name": "box",
        "to_name": "image",
        "type": "rectanglelabels",
        "value": {"x": 10, "y": 20, "width": 30, "height": 40, "rectanglelabels": ["Cat"]},
        "original_width": 640,
        "original_height": 480,
    }


@pytest.mark.parametrize(
    ("geometry", "message"),
    [
        ({"x": -6}, r"x = -6 is outside -5..100"),
        ({"y": 101}, r"y = 101 is outside -5..100"),
        ({"x": 80, "width": 30}, r"x \+ width = 110 is past 105"),
        ({"height": 0}, r"height = 0 must be > 0"),
    ],
)
def test_boxes_outside_the_image_are_refused(geometry, message):
    with pytest.raises(ResultError, match=message):
        convert([regions("box", [box(**geometry)])])


def test_boxes_a_little_past_the_edge_are_kept_as_given():
    # Label Studio's own exports: x + width = 100.43; up to 5 % past an edge is accepted.
    (item,) = convert([regions("box", [box(x=-1, y=2, width=101.43, height=10)])])
    assert (item["value"]["x"], item["value"]["width"]) == (-1, 101.43)


def test_box_with_an_unknown_label_is_refused():
    with pytest.raises(ResultError, match='unknown label "Bird"'):
        convert([regions("box", [box(label="Bird")])])


def test_regions_for_a_control_the_config_lacks_are_refused():
    with pytest.raises(ResultError, match='regions-ghost: the label config has no .* "ghost"'):
        convert([regions("ghost", [box()])])


def test_a_region_naming_a_control_the_config_lacks_is_refused():
    with pytest.raises(ResultError, match='from_name "ghost" is not a control of the label config'):
        convert([regions("box", [{**box(), "from_name": "ghost"}])])


def test_a_region_naming_another_control_is_refused():
    with pytest.raises(ResultError, match="regions-box\\[0\\]: from_name is 'entity'"):
        convert([regions("box", [{**box(), "from_name": "entity"}])])


def test_regions_field_must_be_a_json_list():
    with pytest.raises(ResultError, match="regions-box: not valid JSON"):
        convert([("regions-box", "[{")])
    with pytest.raises(ResultError, match="regions-box: expected a JSON list"):
        convert([("regions-box", '{"x": 1}')])


def test_choices_on_a_control_of_another_tag_are_not_read_as_regions():
    # A field named like a non-region control with a "regions-" prefix is refused too.
    with pytest.raises(ResultError, match="regions-sentiment"):
        convert([("regions-sentiment", "[]")])


def test_every_control_together_comes_out_in_config_order():
    result = convert(
        [
            ("note", "fine"),
            ("quality", "4"),
            ("topics", "Politics"),
            ("sentiment", "Negative"),
            regions("box", [box()]),
            regions("entity", [span(22, 28, "LOC")]),
        ]
    )
    assert [item["from_name"] for item in result] == [
        "entity",
        "sentiment",
        "topics",
        "quality",
        "note",
        "box",
    ]
