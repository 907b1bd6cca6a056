import pytest

from reviewapp.labeling import (
    PRESETS,
    IncompleteResult,
    LabelConfigError,
    ResultError,
    check_complete,
    parse_label_config,
    validate_result,
)
from reviewapp.labeling.results import result_labels

SENTIMENT = parse_label_config(PRESETS["text_classification"][1])
NER = parse_label_config(PRESETS["named_entities"][1])
BOXES = parse_label_config(PRESETS["image_boxes"][1])
MIXED = parse_label_config(
    """<View>
  <Header value="Rate it"/>
  <Style>.x { color: red }</Style>
  <Image name="img" value="$image"/>
  <Choices name="tags" toName="img" choice="multiple">
    <Choice value="cat"/><Choice value="dog"/>
  </Choices>
  <Rating name="stars" toName="img" maxRating="3"/>
  <TextArea name="note" toName="img"/>
</View>"""
)


def view(body: str) -> str:
    return f'<View><Text name="text" value="$text"/>{body}</View>'


def test_presets_parse_to_expected_controls():
    (sentiment,) = SENTIMENT.controls.values()
    assert (sentiment.name, sentiment.tag, sentiment.to_name) == ("sentiment", "Choices", "text")
    assert sentiment.labels == ("Positive", "Negative", "Neutral")
    assert not sentiment.multiple
    (label,) = NER.controls.values()
    assert (label.tag, label.labels) == ("Labels", ("PER", "ORG", "LOC", "MISC"))
    assert NER.object_for(label).value == "text"
    (box,) = BOXES.controls.values()
    assert (box.tag, box.to_name, box.result_type) == (
        "RectangleLabels",
        "image",
        "rectanglelabels",
    )
    assert BOXES.objects["image"].tag == "Image"


def test_mixed_config_keeps_document_order_and_attributes():
    assert list(MIXED.controls) == ["tags", "stars", "note"]
    assert MIXED.controls["tags"].multiple
    assert MIXED.controls["stars"].max_rating == 3
    single_radio = parse_label_config(
        view('<Choices name="c" toName="text" choice="single-radio"><Choice value="a"/></Choices>')
    )
    assert not single_radio.controls["c"].multiple


@pytest.mark.parametrize(
    ("xml", "words"),
    [
        ("", ["empty"]),
        ("<View><Text name='t' value='$t'>", ["not well-formed", "line 1, column"]),
        ("<Text name='t' value='$t'/>", ["root", "<View>", "<Text>"]),
        (view('<Polygon name="p" toName="text"/>'), ["Unsupported tag <Polygon>", "TextArea"]),
        (view('<Choices toName="text"><Choice value="a"/></Choices>'), ["<Choices>", "name"]),
        (view('<Rating name="r"/>'), ['<Rating name="r">', "toName"]),
        ('<View><Text name="t"/><TextArea name="n" toName="t"/></View>', ['"t"', "value"]),
        ('<View><Text name="t" value="t"/><TextArea name="n" toName="t"/></View>', ["$"]),
        (view('<TextArea name="text" toName="text"/>'), ["Duplicate name", '"text"']),
        (view('<TextArea name="n" toName="txt"/>'), ['toName="txt"', "not an object", "text"]),
        (
            '<View><Image name="i" value="$i"/><Labels name="l" toName="i">'
            '<Label value="A"/></Labels></View>',
            ["<Labels", "<Text>", "<Image>"],
        ),
        (
            view('<RectangleLabels name="b" toName="text"><Label value="A"/></RectangleLabels>'),
            ["<RectangleLabels", "<Image>"],
        ),
        (view('<Choices name="c" toName="text"/>'), ['<Choices name="c">', "no options"]),
        (view('<Labels name="l" toName="text"></Labels>'), ['<Labels name="l">', "no options"]),
        (
            view('<Labels name="l" toName="text"><Label value="A"/><Label value="A"/></Labels>'),
            ["duplicate", '"A"'],
        ),
        (view('<Choices name="c" toName="text"><Choice/></Choices>'), ["<Choice>", "value"]),
        (view('<Choices name="c" toName="text"><Label value="a"/></Choices>'), ["<Label>"]),
        (
            view('<Choices name="c" toName="text" choice="many"><Choice value="a"/></Choices>'),
            ['choice="many"'],
        ),
        (view('<Rating name="r" toName="text" maxRating="1"/>'), ['maxRating="1"', ">= 2"]),
        (view('<Rating name="r" toName="text" maxRating="five"/>'), ['maxRating="five"']),
        ('<View><TextArea name="n" toName="t"/></View>', ["no object tag"]),
        (view(""), ["no control tag"]),
    ],
)
def test_config_errors(xml, words):
    with pytest.raises(LabelConfigError) as excinfo:
        parse_label_config(xml)
    for word in words:
        assert word in str(excinfo.value)


def test_config_refuses_entities():
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE View [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        '<View><Text name="t" value="$t"/><Header value="&b;"/></View>'
    )
    with pytest.raises(LabelConfigError, match="entities"):
        parse_label_config(bomb)


def test_control_may_come_before_its_object():
    config = parse_label_config(
        '<View><View><TextArea name="n" toName="t"/></View><Text name="t" value="$body"/></View>'
    )
    assert config.object_for(config.controls["n"]).value == "body"


def item(from_name: str, to_name: str, kind: str, value: object, **extra) -> dict:
    return {"from_name": from_name, "to_name": to_name, "type": kind, "value": value, **extra}


def choice(*choices: str) -> dict:
    return item("sentiment", "text", "choices", {"choices": list(choices)})


def span(start: int, end: int, label: str = "PER", **value) -> dict:
    return item("label", "text", "labels", {"start": start, "end": end, "labels": [label], **value})


def box(x: float, y: float, width: float, height: float, **value) -> dict:
    return item(
        "label",
        "image",
        "rectanglelabels",
        {"x": x, "y": y, "width": width, "height": height, "rectanglelabels": ["Circle"], **value},
    )


def test_valid_results_normalise_to_copies():
    raw = [choice("Positive") | {"id": "a1", "origin": "manual", "meta": {"x": 1}}]
    (out,) = validate_result(SENTIMENT, raw)
    assert out == {
        "id": "a1",
        "from_name": "sentiment",
        "to_name": "text",
        "type": "choices",
        "value": {"choices": ["Positive"]},
        "origin": "manual",
    }
    assert out is not raw[0] and out["value"] is not raw[0]["value"]
    assert out["value"]["choices"] is not raw[0]["value"]["choices"]


def test_valid_span_box_rating_textarea():
    data = {"text": "Ada Lovelace met Babbage"}
    spans = validate_result(NER, [span(0, 12, text="Ada Lovelace"), span(17, 24, "PER")], data)
    assert spans[0]["value"] == {"start": 0, "end": 12, "text": "Ada Lovelace", "labels": ["PER"]}
    boxes = validate_result(
        BOXES,
        [box(80, 0, 20.0000001, 100, rotation=0) | {"original_width": 640, "image_rotation": 0}],
    )
    assert boxes[0]["value"]["rotation"] == 0
    assert boxes[0]["original_width"] == 640
    out = validate_result(
        MIXED,
        [
            item("tags", "img", "choices", {"choices": ["cat", "dog"]}),
            item("stars", "img", "rating", {"rating": 3}),
            item("note", "img", "textarea", {"text": "blurry"}),
        ],
    )
    assert [o["value"] for o in out] == [
        {"choices": ["cat", "dog"]},
        {"rating": 3},
        {"text": ["blurry"]},
    ]
    assert validate_result(SENTIMENT, []) == []


@pytest.mark.parametrize(
    ("config", "result", "words"),
    [
        (SENTIMENT, {"result": []}, ["must be an array", "object"]),
        (SENTIMENT, ["Positive"], ["result[0]", "expected an object", "string"]),
        (SENTIMENT, [item("sentiment", "text", "choices", ["Positive"])], ["value", "array"]),
        (
            SENTIMENT,
            [choice("Positive"), item("foo", "text", "choices", {"choices": ["x"]})],
            ['result[1]: from_name "foo" is not a control', "(controls: sentiment)"],
        ),
        (
            NER,
            [span(0, 3), {"type": "relation", "from_id": "a", "to_id": "b"}],
            ["result[1]", "relation"],
        ),
        (SENTIMENT, [item("sentiment", "txt", "choices", {})], ["to_name", '"txt"', '"text"']),
        (SENTIMENT, [item("sentiment", "text", "labels", {})], ["type", '"labels"', '"choices"']),
        (SENTIMENT, [choice("Positive"), choice("Negative")], ["result[1]", "second", "single"]),
        (SENTIMENT, [choice("Positive", "Negative")], ["result[0]", "2 choices", "single"]),
        (SENTIMENT, [choice()], ["value.choices", "empty array"]),
        (SENTIMENT, [choice("Good")], ['unknown choice "Good"', "Positive, Negative, Neutral"]),
        (MIXED, [item("tags", "img", "choices", {"choices": ["cat", "cat"]})], ["twice"]),
        (
            NER,
            [span(0, 3), span(0, 3), span(0, 3, "FOO")],
            ['result[2] (from_name "label"): unknown label "FOO"', "PER, ORG, LOC, MISC"],
        ),
        (NER, [span(3, 3)], ["start < end"]),
        (NER, [span(0, True)], ["value.end", "integers"]),
        (NER, [span(0, 3, text="Bob")], ["'Bob'", "'Ada'", "0..3"]),
        (NER, [span(20, 30)], ["past the end", "12"]),
        (BOXES, [box(20.5, 0, 100, 10)], ['result[0] (from_name "label")', "x + width = 120.5"]),
        (BOXES, [box(0, 50, 10, 60)], ["y + height = 110"]),
        (BOXES, [box(-6, 0, 10, 10)], ["x = -6", "-5..100"]),
        (BOXES, [box(0, 0, 0, 10)], ["width = 0"]),
        (BOXES, [box(0, 0, 10, True)], ["value.height", "number", "boolean"]),
        (BOXES, [box(0, 0, 10, 10, rectanglelabels=["Star"])], ['unknown label "Star"']),
        (BOXES, [box(0, 0, 10, 10) | {"original_height": 0}], ["original_height", "positive"]),
        (MIXED, [item("stars", "img", "rating", {"rating": 4})], ["1..3", "4"]),
        (MIXED, [item("stars", "img", "rating", {"rating": 0})], ["1..3", "0"]),
        (
            MIXED,
            [item("note", "img", "textarea", {"text": [1]})],
            ["value.text[0]", "string", "number"],
        ),
        (SENTIMENT, [choice("Positive") | {"id": 7}], ["id", "string"]),
    ],
)
def test_result_errors(config, result, words):
    with pytest.raises(ResultError) as excinfo:
        validate_result(config, result, {"text": "Ada Lovelace"})
    for word in words:
        assert word in str(excinfo.value)


def test_result_labels():
    result = validate_result(
        MIXED,
        [
            item("tags", "img", "choices", {"choices": ["cat", "dog"]}),
            item("stars", "img", "rating", {"rating": 2}),
            item("note", "img", "textarea", {"text": ["x"]}),
        ],
    )
    assert result_labels(MIXED, result) == {("tags", "cat"), ("tags", "dog"), ("stars", "2")}
    boxes = validate_result(BOXES, [box(0, 0, 5, 5), box(10, 10, 5, 5)])
    assert result_labels(BOXES, boxes) == {("label", "Circle")}


REQUIRED = parse_label_config(
    """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" required="true">
    <Choice value="Positive"/><Choice value="Negative"/>
  </Choices>
  <Labels name="entity" toName="text" required="TRUE"><Label value="PER"/></Labels>
  <Rating name="stars" toName="text" required="false"/>
  <TextArea name="note" toName="text"/>
</View>"""
)
POSITIVE = {
    "from_name": "sentiment",
    "to_name": "text",
    "type": "choices",
    "value": {"choices": ["Positive"]},
}
SPAN_PER = {
    "from_name": "entity",
    "to_name": "text",
    "type": "labels",
    "value": {"start": 0, "end": 3, "labels": ["PER"]},
}
NOTE = {"from_name": "note", "to_name": "text", "type": "textarea", "value": {"text": ["hm"]}}


def test_required_true_is_parsed_into_the_control():
    controls = REQUIRED.controls
    assert controls["sentiment"].required and controls["entity"].required  # any case
    assert not controls["stars"].required and not controls["note"].required
    assert not SENTIMENT.controls["sentiment"].required  # absent: not required


def test_an_empty_result_is_incomplete_unless_the_project_allows_it():
    with pytest.raises(IncompleteResult, match="^Choose at least one label, or Skip$"):
        check_complete(SENTIMENT, [], allow_empty=False)
    with pytest.raises(IncompleteResult, match="^Choose at least one label, or Reject$"):
        check_complete(SENTIMENT, [], False, "Choose at least one label, or Reject")
    check_complete(SENTIMENT, [], allow_empty=True)
    check_complete(SENTIMENT, [POSITIVE], allow_empty=False)
    assert issubclass(IncompleteResult, ResultError)  # callers that refuse bad results refuse it


def test_each_required_control_needs_an_item_allowed_empty_or_not():
    for allow_empty in (False, True):
        with pytest.raises(IncompleteResult, match="^sentiment is required$"):
            check_complete(REQUIRED, [SPAN_PER, NOTE], allow_empty)
    with pytest.raises(IncompleteResult, match="^sentiment is required; entity is required$"):
        check_complete(REQUIRED, [NOTE], allow_empty=True)
    with pytest.raises(IncompleteResult, match="^Choose at least one label, or Skip$"):
        check_complete(REQUIRED, [], allow_empty=False)
    with pytest.raises(IncompleteResult, match="^sentiment is required; entity is required$"):
        check_complete(REQUIRED, [], allow_empty=True)
    check_complete(REQUIRED, [POSITIVE, SPAN_PER], allow_empty=False)  # stars, note optional
