"""Number, DateTime and Taxonomy end to end (issue 12, part B): config, validation, the
editor's fields, scores, import/export and the task page."""

import io
import json

import pytest
from flask import render_template_string
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from reviewapp.extensions import db
from reviewapp.labeling import LabelConfigError, ResultError, parse_label_config, validate_result
from reviewapp.labeling.form import result_from_form
from reviewapp.models import Annotation, GtScore, Review, Task
from reviewapp.services.data_manager.query import TableState, page_task_ids
from reviewapp.services.import_export.exporter import answer_text, export_json
from reviewapp.services.import_export.importer import ImportFailed, import_file
from reviewapp.services.metrics import agreement
from reviewapp.services.projects import create_project
from reviewapp.services.users import add_member
from tests import factories
from tests.test_label_views import FormFields

CONFIG_XML = """<View>
  <Text name="text" value="$text"/>
  <Number name="count" toName="text" min="0" max="10" step="0.5" required="true"/>
  <Number name="free" toName="text"/>
  <DateTime name="when" toName="text"/>
  <DateTime name="day" toName="text" only="date" min="2020-01-01" max="2021-12-31"/>
  <DateTime name="clock" toName="text" only="time"/>
  <Taxonomy name="kind" toName="text">
    <Choice value="A">
      <Choice value="A1"/>
      <Choice value="A2"/>
    </Choice>
    <Choice value="B"/>
    <Choice value="C &lt;c&gt;"/>
  </Taxonomy>
</View>"""
CONFIG = parse_label_config(CONFIG_XML)


def item(name, kind, value):
    return {"from_name": name, "to_name": "text", "type": kind, "value": value}


def number(n, name="count"):
    return item(name, "number", {"number": n})


def stamp(s, name="when"):
    return item(name, "datetime", {"datetime": s})


def taxonomy(*paths, name="kind"):
    return item(name, "taxonomy", {"taxonomy": [list(p) for p in paths]})


def refused(result, config=CONFIG) -> str:
    with pytest.raises(ResultError) as error:
        validate_result(config, result)
    return str(error.value)


# --- the label config -----------------------------------------------------------------


def test_the_parser_reads_each_tags_attributes():
    count, free = CONFIG.controls["count"], CONFIG.controls["free"]
    assert (count.spec.min, count.spec.max, count.spec.step, count.required) == (0, 10, 0.5, True)
    assert (free.spec.min, free.spec.max, free.spec.has_range) == (None, None, False)
    when, day, clock = (CONFIG.controls[n].spec for n in ("when", "day", "clock"))
    assert (when.mode, when.input_type) == ("datetime", "datetime-local")
    assert when.format == "%Y-%m-%dT%H:%M"
    assert (day.mode, day.min, day.max) == ("date", "2020-01-01", "2021-12-31")
    assert (clock.mode, clock.input_type) == ("time", "time")
    kind = CONFIG.controls["kind"]
    assert kind.result_type == "taxonomy"
    # Every node, as a path, is a label the Data Manager can filter by.
    assert kind.labels == ("A", "A / A1", "A / A2", "B", "C <c>")
    assert kind.spec.by_path[("A", "A2")].children == ()


@pytest.mark.parametrize(
    "tag, message",
    [
        ('<Number name="n" toName="text" min="5" max="1"/>', 'has min="5" above max="1"'),
        ('<Number name="n" toName="text" max="ten"/>', 'has max="ten"; expected a number'),
        ('<Number name="n" toName="text" step="0"/>', 'step="0"; expected a number > 0'),
        ('<DateTime name="d" toName="text" only="year"/>', "month and year pickers are not"),
        ('<DateTime name="d" toName="text" only="week"/>', "expected date, time or date,time"),
        ('<DateTime name="d" toName="text" only="date" min="1 May"/>', 'min="1 May"; expected'),
        (
            '<DateTime name="d" toName="text" min="2021-01-01T00:00Z"/>',
            'min="2021-01-01T00:00Z"; expected an ISO YYYY-MM-DD or YYYY-MM-DDTHH:MM without',
        ),
        ('<DateTime name="d" toName="text" only="time" max="10:00+02:00"/>', "HH:MM without"),
        ('<Taxonomy name="t" toName="text"/>', "has no options"),
        (
            '<Taxonomy name="t" toName="text" apiUrl="http://x"><Choice value="A"/></Taxonomy>',
            "apiUrl: a remote taxonomy is not supported",
        ),
        (
            '<Taxonomy name="t" toName="text" maxUsages="0"><Choice value="A"/></Taxonomy>',
            'maxUsages="0"; expected an integer >= 1',
        ),
        (
            '<Taxonomy name="t" toName="text"><Choice value="A"/><Choice value="A"/></Taxonomy>',
            'duplicate choice "A" under the same parent',
        ),
        (
            f'<Taxonomy name="t" toName="text"><Choice value="{"x" * 150}">'
            f'<Choice value="{"y" * 50}"/></Choice></Taxonomy>',
            "203 characters long; a path may have at most 200",
        ),
    ],
)
def test_the_parser_refuses_bad_attributes_naming_the_tag(tag, message):
    with pytest.raises(LabelConfigError) as error:
        parse_label_config(f'<View><Text name="text" value="$text"/>{tag}</View>')
    assert message in str(error.value)
    assert str(error.value).startswith("<")  # names the tag, e.g. <Number name="n">


def test_unsupported_tag_message_lists_the_new_tags():
    with pytest.raises(LabelConfigError) as error:
        parse_label_config('<View><Text name="t" value="$t"/><Ranker name="r" toName="t"/></View>')
    assert "<Number>, <DateTime>, <Taxonomy>" in str(error.value)


def test_the_other_tags_of_the_issue_are_still_refused_each_named():
    others = (
        '<Relations><Relation value="r"/></Relations>'
        '<Pairwise name="w" toName="t,t"/><HyperText name="h" value="$html"/>'
    )
    with pytest.raises(LabelConfigError) as error:
        parse_label_config(f'<View><Text name="t" value="$t"/>{others}</View>')
    message = str(error.value)
    assert message.startswith(
        "Unsupported tags <Relations>, <Relation>, <Pairwise>, <HyperText>; supported: "
    )


# --- results ----------------------------------------------------------------------------


def test_valid_results_are_kept_as_given():
    result = [
        number(7.5),
        number(-3, "free"),
        stamp("2021-01-01T10:00"),
        stamp("2021-06-30", "day"),
        stamp("23:59", "clock"),
        taxonomy(("A", "A1"), ("B",)),
    ]
    assert validate_result(CONFIG, result) == result


@pytest.mark.parametrize(
    "result, message",
    [
        ([number(12)], "value.number = 12 is above max 10"),
        ([number(-1)], "value.number = -1 is below min 0"),
        ([number("5")], "value.number must be a finite number, got string"),
        ([number(True)], "value.number must be a finite number, got boolean"),
        ([number(1), number(2)], "a second number item for this control"),
        ([stamp("2021-01-01")], 'not match the format %Y-%m-%dT%H:%M (e.g. "2021-01-31T10:30")'),
        ([stamp("2019-12-31", "day")], '"2019-12-31" is before min 2020-01-01'),
        ([stamp("25:00", "clock")], "does not match the format %H:%M"),
        ([stamp(20210101)], "value.datetime must be a string, got number"),
        ([taxonomy(("A", "Z"))], 'value.taxonomy[0]: "A / Z" is not a path of the taxonomy'),
        ([taxonomy(("A1",))], '"A1" is not a path of the taxonomy'),
        ([taxonomy()], "value.taxonomy must be a non-empty array of paths, got an empty array"),
        ([item("kind", "taxonomy", {"taxonomy": ["A"]})], "value.taxonomy[0] must be a non-empty"),
        ([taxonomy(("B",), ("B",))], 'value.taxonomy lists "B" twice'),
    ],
)
def test_invalid_results_are_refused_naming_the_item_and_field(result, message):
    text = refused(result)
    assert text.startswith(f'result[{len(result) - 1}] (from_name "{result[-1]["from_name"]}")')
    assert message in text


def test_leafs_only_and_max_usages():
    config = parse_label_config(
        '<View><Text name="text" value="$text"/><Taxonomy name="kind" toName="text" '
        'leafsOnly="true" maxUsages="1"><Choice value="A"><Choice value="A1"/></Choice>'
        '<Choice value="B"/></Taxonomy></View>'
    )
    assert '"A" is not a leaf' in refused([taxonomy(("A",))], config)
    assert "2 paths, more than maxUsages=1" in refused([taxonomy(("A", "A1"), ("B",))], config)
    assert validate_result(config, [taxonomy(("A", "A1"))])


def test_an_alias_is_what_results_carry():
    config = parse_label_config(
        '<View><Text name="text" value="$text"/><Taxonomy name="kind" toName="text">'
        '<Choice value="Animals" alias="ani"><Choice value="Dogs" alias="dog"/></Choice>'
        "</Taxonomy></View>"
    )
    assert validate_result(config, [taxonomy(("ani", "dog"))])
    assert config.controls["kind"].spec.label(("ani", "dog")) == "Animals / Dogs"
    assert "is not a path" in refused([taxonomy(("Animals",))], config)


def test_a_date_bound_of_a_date_time_takes_in_its_whole_day(app):
    config = parse_label_config(
        '<View><Text name="text" value="$text"/>'
        '<DateTime name="when" toName="text" min="2021-01-01" max="2021-01-31"/></View>'
    )
    assert validate_result(config, [stamp("2021-01-31T23:59")])
    assert validate_result(config, [stamp("2021-01-01T00:00")])
    assert '"2021-02-01T00:00" is after max 2021-01-31' in refused(
        [stamp("2021-02-01T00:00")], config
    )
    assert '"2020-12-31T23:59" is before min 2021-01-01' in refused(
        [stamp("2020-12-31T23:59")], config
    )
    with app.test_request_context():
        html = render_template_string(
            '{% from "macros/editor.html" import editor %}{{ editor(config, task, []) }}',
            config=config,
            task={"data": {"text": "t"}},
        )
    assert 'min="2021-01-01T00:00" max="2021-01-31T23:59"' in html


def test_a_custom_datetime_format_is_validated_and_written_by_the_editor():
    config = parse_label_config(
        '<View><Text name="text" value="$text"/>'
        '<DateTime name="when" toName="text" only="date" format="%d.%m.%Y"/></View>'
    )
    assert validate_result(config, [stamp("31.01.2021")])
    assert "does not match the format %d.%m.%Y" in refused([stamp("2021-01-31")], config)
    form = MultiDict([("when", "2021-01-31")])  # what <input type=date> sends
    assert result_from_form(config, form, {}) == [stamp("31.01.2021")]
    assert config.controls["when"].spec.to_input("31.01.2021") == "2021-01-31"


# --- the editor's form --------------------------------------------------------------------


def render_editor(app, result):
    with app.test_request_context():
        return render_template_string(
            '{% from "macros/editor.html" import editor %}{{ editor(config, task, result) }}',
            config=CONFIG,
            task={"data": {"text": "some text"}},
            result=result,
        )


def test_form_fields_become_results():
    form = MultiDict(
        [
            ("count", "2.5"),
            ("free", "-4"),
            ("when", "2021-01-01T10:00"),
            ("day", "2021-03-04"),
            ("clock", "08:15"),
            ("kind", '["A", "A1"]'),
            ("kind", '["B"]'),
        ]
    )
    assert result_from_form(CONFIG, form, {}) == [
        number(2.5),
        number(-4, "free"),
        stamp("2021-01-01T10:00"),
        stamp("2021-03-04", "day"),
        stamp("08:15", "clock"),
        taxonomy(("A", "A1"), ("B",)),
    ]
    assert result_from_form(CONFIG, MultiDict([("count", ""), ("when", "")]), {}) == []


@pytest.mark.parametrize(
    "field, message",
    [
        (("count", "lots"), "count: expected a number, got 'lots'"),
        (("count", "11"), "value.number = 11 is above max 10"),
        (("when", "tomorrow"), "when: expected a datetime, got 'tomorrow'"),
        (("kind", "A"), "kind: 'A' is not a taxonomy path"),
        (("kind", '["A", "Z"]'), '"A / Z" is not a path of the taxonomy'),
    ],
)
def test_bad_form_fields_are_refused_naming_the_control(field, message):
    with pytest.raises(ResultError) as error:
        result_from_form(CONFIG, MultiDict([field]), {})
    assert message in str(error.value)


def test_the_editor_renders_the_inputs_prefilled_and_reads_them_back(app):
    result = [
        number(7.5),
        stamp("2021-01-01T10:00"),
        stamp("2021-06-30", "day"),
        stamp("23:59", "clock"),
        taxonomy(("A", "A2"), ("C <c>",)),
    ]
    html = render_editor(app, result)
    assert (
        '<input type="number" name="count" value="7.5" min="0" max="10" step="0.5" required>'
        in html
    )
    assert '<input type="number" name="free" value="" step="any">' in html
    assert '<input type="datetime-local" name="when" value="2021-01-01T10:00">' in html
    assert 'type="date" name="day" value="2021-06-30" min="2020-01-01" max="2021-12-31"' in html
    assert '<input type="time" name="clock" value="23:59">' in html
    # A branch holding a chosen node is open; the value is the path, escaped.
    branch = (
        '<details open>\n        <summary><label class="taxon"><input type="checkbox" name="kind"'
    )
    assert branch + " value='[\"A\"]'> A</label>" in html
    assert "value='[\"C \\u003cc\\u003e\"]' checked> C &lt;c&gt;</label>" in html
    assert "<c>" not in html
    assert "js/taxonomy.js" not in html  # assets come from editor_assets, not the editor
    fields = FormFields()
    fields.feed(html)
    assert result_from_form(CONFIG, fields.fields, {}) == result
    empty = FormFields()
    empty.feed(render_editor(app, []))
    assert result_from_form(CONFIG, empty.fields, {}) == []


# --- scores -------------------------------------------------------------------------------


def scores(a, b):
    return {name: c.score for name, c in agreement.compare(CONFIG, a, b).controls.items()}


def test_number_with_min_and_max_scores_by_distance():
    # 1 - |5 - 7.5| / (10 - 0) = 0.75
    comparison = agreement.compare(CONFIG, [number(5)], [number(7.5)])
    assert comparison.score == pytest.approx(0.75)
    assert comparison.controls["count"].detail == "1 - |5 - 7.5| / (10 - 0) = 0.75"
    assert scores([number(0)], [number(10)]) == {"count": 0.0}


def test_number_without_min_and_max_scores_equality():
    assert scores([number(5, "free")], [number(7.5, "free")]) == {"free": 0.0}
    assert scores([number(5, "free")], [number(5.0, "free")]) == {"free": 1.0}


def test_datetime_scores_equality():
    assert scores([stamp("2021-01-01T10:00")], [stamp("2021-01-01T10:00")]) == {"when": 1.0}
    assert scores([stamp("2021-01-01T10:00")], [stamp("2021-01-02T10:00")]) == {"when": 0.0}


def test_taxonomy_scores_jaccard_over_paths():
    # {A/A1, B} vs {A/A1, C}: 1 shared path of 3 distinct ones = 1/3.
    a, b = [taxonomy(("A", "A1"), ("B",))], [taxonomy(("A", "A1"), ("C <c>",))]
    comparison = agreement.compare(CONFIG, a, b)
    assert comparison.score == pytest.approx(1 / 3)
    assert comparison.controls["kind"].detail == "Jaccard of paths 1/3 = 0.333"
    # A parent is not its child.
    assert scores([taxonomy(("A",))], [taxonomy(("A", "A1"))]) == {"kind": 0.0}


def test_the_three_in_one_result_average_and_a_missing_one_scores_zero():
    a = [number(5), stamp("2021-01-01T10:00"), taxonomy(("A", "A1"), ("B",))]
    b = [number(7.5), stamp("2021-01-01T10:00"), taxonomy(("A", "A1"), ("C <c>",))]
    # (0.75 + 1 + 1/3) / 3
    assert agreement.score(CONFIG, a, b) == pytest.approx((0.75 + 1 + 1 / 3) / 3)
    assert agreement.score(CONFIG, a, b[:2]) == pytest.approx((0.75 + 1 + 0) / 3)
    assert agreement.fix_size(CONFIG, a, a) == 0


def test_the_diff_of_a_fix_names_old_and_new_values():
    before = [number(5), taxonomy(("A", "A1"), ("B",))]
    after = [number(6), stamp("2021-01-01T10:00"), taxonomy(("C <c>",), ("A", "A1"))]
    assert agreement.diff_results(CONFIG, before, after).summary() == [
        "count: 5 → 6",
        'when: (none) → "2021-01-01T10:00"',
        "kind: A / A1, B → A / A1, C <c>",
    ]


# --- import, export, task page ------------------------------------------------------------


@pytest.fixture
def project(app):
    created = create_project("Tags", CONFIG_XML, None)
    db.session.commit()
    return created


def load(project, items):
    summary = import_file(project, io.BytesIO(json.dumps(items).encode()), "tasks.json")
    db.session.commit()
    return summary


FULL = [
    number(7.5),
    stamp("2021-01-01T10:00"),
    stamp("10:30", "clock"),
    taxonomy(("A", "A1"), ("B",)),
]


def test_import_then_export_gives_the_same_results(project):
    other = [number(5), stamp("2021-01-01T10:00"), taxonomy(("A", "A1"), ("C <c>",))]
    prediction = [number(3, "free"), taxonomy(("A",))]
    load(
        project,
        [
            {
                "data": {"text": "a text"},
                "annotations": [
                    {"completed_by": "a@x.com", "result": FULL},
                    {"completed_by": "b@x.com", "result": other},
                ],
                "predictions": [{"model_version": "m1", "score": 0.5, "result": prediction}],
            }
        ],
    )
    [task] = json.loads("".join(export_json(project.id)))
    assert [a["result"] for a in task["annotations"]] == [FULL, other]
    assert task["predictions"][0]["result"] == prediction
    # The stored agreement is s of the two annotations: count 1 - 2.5/10 = 0.75, when 1,
    # clock only in a: 0, kind 1/3.
    expected = (0.75 + 1 + 0 + 1 / 3) / 4
    assert db.session.scalar(select(Task.agreement)) == pytest.approx(expected)
    assert answer_text(FULL) == "count=7.5; when=2021-01-01T10:00; clock=10:30; A / A1, B"


def test_ground_truth_accuracy_of_an_annotation_and_a_prediction(project):
    truth = [number(5), stamp("2021-01-01T10:00"), taxonomy(("A", "A1"), ("B",))]
    other = [number(7.5), stamp("2021-01-01T10:00"), taxonomy(("A", "A1"), ("C <c>",))]
    prediction = [number(5), stamp("2021-01-02T10:00"), taxonomy(("B",))]
    load(
        project,
        [
            {
                "data": {"text": "a text"},
                "annotations": [
                    {"completed_by": "gt@x.com", "result": truth, "ground_truth": True},
                    {"completed_by": "b@x.com", "result": other},
                ],
                "predictions": [{"model_version": "m1", "result": prediction}],
            }
        ],
    )
    scores = {
        (row.annotation_id is not None, row.model_version): row.score
        for row in db.session.scalars(select(GtScore))
    }
    # The annotation: count 1 - 2.5/10 = 0.75, when 1, kind 1/3 -> (0.75 + 1 + 1/3) / 3.
    # The prediction: count 1, when 0 (a day off), kind {B} of {A / A1, B} = 1/2 -> 1.5 / 3.
    assert scores == {
        (True, None): pytest.approx((0.75 + 1 + 1 / 3) / 3),
        (False, "m1"): pytest.approx(0.5),
    }


def test_an_invalid_imported_result_names_task_annotation_and_result(project):
    bad = {"completed_by": "a@x.com", "result": [number(1), number(99, "count")]}
    with pytest.raises(ImportFailed) as error:
        load(project, [{"data": {"text": "x"}, "annotations": [bad]}])
    assert 'Task 1, annotation 1: result[1] (from_name "count")' in str(error.value)
    bad = {"completed_by": "a@x.com", "result": [taxonomy(("D",))]}
    with pytest.raises(ImportFailed) as error:
        load(project, [{"data": {"text": "x"}}, {"data": {"text": "y"}, "annotations": [bad]}])
    assert 'Task 2, annotation 1: result[0] (from_name "kind"): value.taxonomy[0]: "D"' in str(
        error.value
    )
    assert db.session.scalars(select(Annotation)).all() == []


def test_the_task_page_shows_the_values_escaped_and_the_agreement(client, auth, project):
    manager = factories.user("manager")
    add_member(project.id, manager)
    db.session.commit()
    other = [number(5), stamp("2021-01-01T10:00"), stamp("10:30", "clock"), taxonomy(("C <c>",))]
    load(
        project,
        [
            {
                "data": {"text": "<b>bold</b>"},
                "annotations": [
                    {"completed_by": "a@x.com", "result": FULL},
                    {"completed_by": "b@x.com", "result": other},
                ],
            }
        ],
    )
    task = db.session.scalar(select(Task))
    auth.login(manager)
    body = client.get(f"/projects/{project.id}/tasks/{task.id}").get_data(as_text=True)
    assert '<span class="number-value">7.5</span>' in body
    assert '<time class="datetime-value">2021-01-01T10:00</time>' in body
    assert "<li>A / A1</li><li>B</li>" in body
    assert "<li>C &lt;c&gt;</li>" in body and "<c>" not in body
    assert "&lt;b&gt;bold&lt;/b&gt;" in body
    # count 0.75, when 1, clock 1, kind 0 (disjoint): 2.75 / 4 = 69%.
    assert "1 - |7.5 - 5| / (10 - 0) = 0.75" in body
    assert "Jaccard of paths 0/3 = 0" in body
    assert "69%" in body


def test_the_data_manager_filters_by_a_taxonomy_path(project):
    load(
        project,
        [
            {"data": {"text": "one"}, "annotations": [{"completed_by": "a@x.com", "result": FULL}]},
            {
                "data": {"text": "two"},
                "annotations": [{"completed_by": "a@x.com", "result": [taxonomy(("A",))]}],
            },
            {"data": {"text": "three"}, "predictions": [{"result": [taxonomy(("A", "A1"))]}]},
        ],
    )
    ids = db.session.scalars(select(Task.id).order_by(Task.id)).all()

    def matching(**args):
        return page_task_ids(project.id, TableState.from_args(args), 0, 50)

    assert matching(label="kind:A / A1") == [ids[0], ids[2]]
    assert matching(label="kind:A / A1", label_source="annotation") == [ids[0]]
    assert matching(label="kind:A") == [ids[1]]  # a parent is not its children
    assert matching(label="kind:B") == [ids[0]]


# --- required="true" ----------------------------------------------------------------------

REQUIRED_XML = """<View>
  <Text name="text" value="$text"/>
  <Number name="count" toName="text" required="true"/>
  <DateTime name="when" toName="text" only="date" required="true"/>
  <Taxonomy name="kind" toName="text" required="true"><Choice value="A"/></Taxonomy>
</View>"""


def test_required_controls_must_be_answered_in_the_label_stream(client, auth):
    annotator = factories.user("annotator", email="req@x.com")
    project = create_project("Required", REQUIRED_XML, None, allow_empty_annotations=True)
    add_member(project.id, annotator)
    factories.text_tasks(project, "first")
    task_id = db.session.scalar(select(Task.id))
    auth.login(annotator)
    url = f"/projects/{project.id}/label/{task_id}"
    page = client.get(f"/projects/{project.id}/label").get_data(as_text=True)
    assert '<input type="number" name="count" value="" step="any" required>' in page
    assert '<input type="date" name="when" value="" required>' in page
    response = client.post(url, data={"count": "", "when": ""})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Not saved: count is required; when is required; kind is required" in body
    response = client.post(url, data={"count": "3", "when": "2021-05-01"})
    assert response.status_code == 422 and "Not saved: kind is required" in response.text
    assert 'name="count" value="3"' in response.text  # what was typed is shown again
    assert db.session.scalars(select(Annotation)).all() == []
    ok = client.post(url, data={"count": "3", "when": "2021-05-01", "kind": '["A"]'})
    assert ok.status_code == 303
    [saved] = db.session.scalars(select(Annotation)).all()
    assert saved.result == [
        number(3),
        stamp("2021-05-01"),
        taxonomy(("A",)),
    ]


def test_a_fix_must_answer_the_required_controls(client, auth, htmx):
    reviewer = auth.login("reviewer")
    project = create_project("Required", REQUIRED_XML, None, allow_empty_annotations=True)
    add_member(project.id, reviewer)
    answer = [number(1), stamp("2021-05-01"), taxonomy(("A",))]
    factories.tasks(
        project,
        [{"data": {"text": "t"}, "annotations": [{"completed_by": "a@x.com", "result": answer}]}],
    )
    annotation_id = db.session.scalar(select(Annotation.id))
    url = f"/projects/{project.id}/review/{annotation_id}"
    fix = {"verdict": "fixed", "count": "2", "when": "2021-05-02"}  # the taxonomy unticked
    response = client.post(url, data=fix, headers=htmx)
    assert response.status_code == 422 and "kind is required" in response.text
    assert db.session.scalars(select(Review)).all() == []
    ok = client.post(url, data={**fix, "kind": '["A"]'}, headers=htmx)
    assert ok.status_code == 200
    [review] = db.session.scalars(select(Review)).all()
    assert review.verdict == "fixed"
    assert review.result_after == [number(2), stamp("2021-05-02"), taxonomy(("A",))]


def test_seconds_written_in_a_stored_value_survive_an_untouched_editor(app):
    # Some exports write seconds; a Fix & Accept that does not touch the input keeps them.
    result = [number(1), stamp("2021-01-01T10:00:00"), stamp("08:15:30", "clock")]
    assert validate_result(CONFIG, result) == result
    html = render_editor(app, result)
    assert '<input type="datetime-local" name="when" value="2021-01-01T10:00:00">' in html
    assert '<input type="time" name="clock" value="08:15:30">' in html
    fields = FormFields()
    fields.feed(html)
    assert result_from_form(CONFIG, fields.fields, {}) == result
