"""One final label per task (services.metrics.final), its export (only=final) and the task
page's block. Every expected value is worked out by hand in the test's docstring."""

import csv
import io
import json

import pytest
from sqlalchemy import select

from reviewapp.extensions import db
from reviewapp.labeling import parse_label_config
from reviewapp.models import Annotation, Task
from reviewapp.services.import_export.exporter import export_chunks
from reviewapp.services.metrics.final import FinalInput, final_label
from reviewapp.services.projects import create_project
from tests import factories

TEXT = parse_label_config(factories.CONFIGS["text"])
NER = parse_label_config(factories.CONFIGS["ner"])
MIXED_XML = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="Positive"/><Choice value="Negative"/>
  </Choices>
  <Labels name="label" toName="text"><Label value="PER"/><Label value="ORG"/></Labels>
</View>"""
MIXED = parse_label_config(MIXED_XML)


def span(start, end, label="PER"):
    return {
        "from_name": "label",
        "to_name": "text",
        "type": "labels",
        "value": {"start": start, "end": end, "labels": [label]},
    }


def pick(label):
    return factories.choice(label)


def test_ground_truth_comes_first_with_its_mean_stored_agreement():
    """a2 is ground truth (Negative); a3 is accepted but ground truth wins. Stored s:
    (a1, a2) = 0, (a2, a3) = 0, (a1, a3) = 1. Agreement of a2 to the others = (0 + 0) / 2 = 0.
    The skipped a4 has no pair and is not counted."""
    annotations = [
        FinalInput(1, pick("Positive")),
        FinalInput(2, pick("Negative"), ground_truth=True),
        FinalInput(3, pick("Positive"), status="accepted", latest_review=7),
        FinalInput(4, [], skipped=True),
    ]
    pairs = {frozenset((1, 2)): 0.0, frozenset((2, 3)): 0.0, frozenset((1, 3)): 1.0}
    final = final_label(TEXT, annotations, pairs)
    assert final.as_json() == {
        "result": pick("Negative"),
        "source": "ground_truth",
        "annotation_ids": [2],
        "agreement": 0.0,
    }


def test_the_latest_verdict_wins_among_accepted_and_fixed():
    """a1 accepted by review 12, a2 fixed by review 9, a3 pending: a1's verdict is the latest.
    Without review 12 (a1 accepted on import, no review recorded), a2 is. Agreement of a1:
    stored (a1, a2) = 0.5, (a1, a3) = 1, mean 0.75."""
    a2 = FinalInput(2, pick("Negative"), status="fixed", latest_review=9)
    a3 = FinalInput(3, pick("Positive"))
    pairs = {frozenset((1, 2)): 0.5, frozenset((1, 3)): 1.0, frozenset((2, 3)): 0.0}
    a1 = FinalInput(1, pick("Positive"), status="accepted", latest_review=12)
    final = final_label(TEXT, [a1, a2, a3], pairs)
    assert (final.source, final.annotation_ids, final.agreement) == ("review", [1], 0.75)
    imported = FinalInput(1, pick("Positive"), status="accepted")
    final = final_label(TEXT, [imported, a2, a3], pairs)
    assert (final.source, final.annotation_ids, final.result) == ("review", [2], pick("Negative"))


def test_majority_of_candidates_leaves_out_skipped_and_rejected():
    """Candidates: a1 Positive, a2 Negative, a3 Negative (a4 Positive is rejected, a5 skipped).
    Negative has 2 of 3 votes: result a2's item, ids [2, 3], agreement 2/3."""
    annotations = [
        FinalInput(1, pick("Positive")),
        FinalInput(2, pick("Negative")),
        FinalInput(3, pick("Negative")),
        FinalInput(4, pick("Positive"), status="rejected"),
        FinalInput(5, [], skipped=True),
    ]
    final = final_label(TEXT, annotations)
    assert final.result == pick("Negative")
    assert (final.source, final.annotation_ids) == ("majority", [2, 3])
    assert final.agreement == pytest.approx(2 / 3)
    assert "sources" not in final.as_json()


def test_a_tied_majority_goes_to_the_earliest_annotation_among_those_tied():
    """a1 Negative, a2 Positive, a3 Positive, a4 Negative: 2 - 2; the earliest of the four is
    a1 (Negative): ids [1, 4], agreement 2/4."""
    labels = ["Negative", "Positive", "Positive", "Negative"]
    final = final_label(TEXT, [FinalInput(k + 1, pick(x)) for k, x in enumerate(labels)])
    assert (final.result, final.annotation_ids, final.agreement) == (
        pick("Negative"),
        [1, 4],
        0.5,
    )


def test_the_consensus_winner_of_spans():
    """a1 PER[0:4], a2 PER[0:5], a3 PER[0:5]. Span IoU a1-a2 = a1-a3 = 4/5 = 0.8, a2-a3 = 1.
    Means: a1 (0.8 + 0.8) / 2 = 0.8; a2 (0.8 + 1) / 2 = 0.9; a3 0.9. a2 and a3 tie: a2, the
    earlier, wins with agreement 0.9."""
    annotations = [
        FinalInput(1, [span(0, 4)]),
        FinalInput(2, [span(0, 5)]),
        FinalInput(3, [span(0, 5)]),
    ]
    final = final_label(NER, annotations)
    assert (final.source, final.annotation_ids, final.result) == ("winner", [2], [span(0, 5)])
    assert final.agreement == pytest.approx(0.9)


def test_no_entities_can_win():
    """a1 and a2 found no entity, a3 PER[0:5]. On the control: a1-a2 neither has it, 1;
    a1-a3 and a2-a3 one side only, 0. Means: a1 0.5, a2 0.5, a3 0: a1 wins, with no items."""
    annotations = [FinalInput(1, []), FinalInput(2, []), FinalInput(3, [span(0, 5)])]
    final = final_label(NER, annotations)
    assert (final.result, final.annotation_ids, final.agreement) == ([], [1], 0.5)


def test_controls_from_different_rules_give_sources():
    """sentiment (single choice): a1 Positive, a2 Negative, a3 Negative: majority Negative,
    ids [2, 3], agreement 2/3. label (spans): a1 PER[0:5], a2 ORG[0:5], a3 PER[0:5]: different
    labels do not match, so a1-a2 0, a1-a3 1, a2-a3 0; means a1 0.5, a2 0, a3 0.5: a1 wins
    (earliest), 0.5. Source: the first control's (majority); ids [2, 3, 1]; agreement
    (2/3 + 1/2) / 2 = 7/12."""

    def both(label, entity):
        return pick(label) + [span(0, 5, entity)]

    annotations = [
        FinalInput(1, both("Positive", "PER")),
        FinalInput(2, both("Negative", "ORG")),
        FinalInput(3, both("Negative", "PER")),
    ]
    final = final_label(MIXED, annotations)
    answer = final.as_json()
    assert answer["result"] == pick("Negative") + [span(0, 5, "PER")]
    assert answer["source"] == "majority"
    assert answer["sources"] == {"sentiment": "majority", "label": "winner"}
    assert answer["annotation_ids"] == [2, 3, 1]
    assert answer["agreement"] == pytest.approx(7 / 12)


def test_no_rule_applies_without_candidates():
    assert final_label(TEXT, []) is None
    assert final_label(TEXT, [FinalInput(1, [], skipped=True)]) is None
    assert final_label(TEXT, [FinalInput(1, pick("Positive"), status="rejected")]) is None


def load_three_tasks(project):
    """Task 1: b's Negative is ground truth. Task 2: a Positive, b Negative, c Negative, all
    pending: majority Negative (2 of 3). Task 3: one skipped annotation: no final label."""
    factories.tasks(
        project,
        [
            {
                "data": {"text": "one"},
                "annotations": [
                    factories.annotation("a@example.com", "Positive"),
                    factories.annotation("b@example.com", "Negative", ground_truth=True),
                ],
            },
            {
                "data": {"text": "two"},
                "annotations": [
                    factories.annotation("a@example.com", "Positive"),
                    factories.annotation("b@example.com", "Negative"),
                    factories.annotation("c@example.com", "Negative"),
                ],
            },
            {
                "data": {"text": "three"},
                "annotations": [{"completed_by": "a@example.com", "was_cancelled": True}],
            },
        ],
    )
    return db.session.scalars(select(Task.id).order_by(Task.id)).all()


def test_export_only_final_json_with_and_without_every_annotation(app):
    """Task 1 ground truth (b): stored s(a, b) = 0, agreement 0. Task 2 majority Negative from
    b and c, 2/3. Task 3 none."""
    project = factories.project()
    ids = load_three_tasks(project)
    by_task = {
        t: db.session.scalars(
            select(Annotation.id).where(Annotation.task_id == t).order_by(Annotation.id)
        ).all()
        for t in ids
    }
    tasks = json.loads("".join(export_chunks(project.id, "json", "final")))
    assert [t["final"] and t["final"]["source"] for t in tasks] == [
        "ground_truth",
        "majority",
        None,
    ]
    assert tasks[0]["final"] == {
        "result": pick("Negative"),
        "source": "ground_truth",
        "annotation_ids": [by_task[ids[0]][1]],
        "agreement": 0.0,
    }
    assert tasks[1]["final"]["annotation_ids"] == by_task[ids[1]][1:]
    assert tasks[1]["final"]["agreement"] == pytest.approx(2 / 3)
    assert "annotations" not in tasks[0]
    full = json.loads("".join(export_chunks(project.id, "json", "final", include="all")))
    assert list(full[1]) == [
        "id",
        "source_id",
        "data",
        "meta",
        "final",
        "annotations",
        "created_at",
    ]
    assert [(a["completed_by"]["email"], a["review_status"]) for a in full[1]["annotations"]] == [
        ("a@example.com", "pending"),
        ("b@example.com", "pending"),
        ("c@example.com", "pending"),
    ]


def test_export_only_final_csv(app):
    """The same three tasks as CSV; with include=all each annotator's answer and status."""
    project = factories.project()
    ids = load_three_tasks(project)
    rows = list(csv.reader(io.StringIO("".join(export_chunks(project.id, "csv", "final")))))
    b_one = db.session.scalar(
        select(Annotation.id).where(Annotation.task_id == ids[0], Annotation.ground_truth)
    )
    assert rows[0] == [
        "id", "text", "final", "final_source", "final_annotation_ids", "final_agreement",
    ]  # fmt: skip
    assert rows[1] == [str(ids[0]), "one", "Negative", "ground_truth", str(b_one), "0.0"]
    assert rows[2][:4] == [str(ids[1]), "two", "Negative", "majority"]
    assert rows[3] == [str(ids[2]), "three", "", "", "", ""]
    full = list(
        csv.reader(io.StringIO("".join(export_chunks(project.id, "csv", "final", include="all"))))
    )
    assert full[0][6:] == [
        "a@example.com", "a@example.com status", "b@example.com", "b@example.com status",
        "c@example.com", "c@example.com status",
    ]  # fmt: skip
    assert full[3][6:] == ["(skipped)", "pending", "", "", "", ""]


def test_review_rule_reads_the_fixed_result(app):
    """a's Positive is then fixed to Negative by a reviewer: the final label is the fixed
    result, from review."""
    from reviewapp.services.review_stream import record_verdict

    reviewer = factories.user("reviewer")
    project = factories.project(members=(reviewer,))
    load_three_tasks(project)
    task_two = db.session.scalars(select(Task).order_by(Task.id).offset(1)).first()
    a_two = db.session.scalar(
        select(Annotation).where(Annotation.task_id == task_two.id).order_by(Annotation.id).limit(1)
    )
    record_verdict(a_two.id, reviewer, "fixed", result=pick("Neutral"))
    db.session.commit()
    tasks = json.loads("".join(export_chunks(project.id, "json", "final")))
    assert tasks[1]["final"]["source"] == "review"
    assert tasks[1]["final"]["result"][0]["value"] == {"choices": ["Neutral"]}
    assert tasks[1]["final"]["annotation_ids"] == [a_two.id]


def test_final_export_reads_a_fixed_number_of_statements_per_chunk(app, statements):
    """Five tasks and fifty tasks read the same statements: no query per task."""
    project = factories.project()

    def count(n):
        factories.tasks(
            project,
            [
                {
                    "data": {"text": f"t{k}"},
                    "annotations": [
                        factories.annotation("a@example.com", "Positive"),
                        factories.annotation("b@example.com", "Negative"),
                    ],
                }
                for k in range(n)
            ],
        )
        statements.clear()
        "".join(export_chunks(project.id, "json", "final", include="all"))
        return len(statements)

    assert count(5) == count(45)


def test_api_export_final_and_bad_include(client, app):
    manager = factories.user("manager")
    project = factories.project(members=(manager,))
    load_three_tasks(project)
    h = {"Authorization": f"Token {factories.token(manager)}"}
    response = client.get(f"/api/projects/{project.id}/export?only=final&include=all", headers=h)
    assert response.status_code == 200
    assert "final-with-annotations.json" in response.headers["Content-Disposition"]
    assert json.loads(response.data)[1]["final"]["source"] == "majority"
    bad = client.get(f"/api/projects/{project.id}/export?only=final&include=some", headers=h)
    assert bad.status_code == 400 and "include" in bad.get_json()["error"]


def test_export_page_offers_final_labels(client, auth):
    manager = auth.login("manager")
    project = factories.project(members=(manager,))
    load_three_tasks(project)
    page = client.get(f"/projects/{project.id}/export").get_data(as_text=True)
    assert 'value="final"' in page and 'name="include"' in page
    response = client.post(
        f"/projects/{project.id}/export",
        data={"format": "csv", "only": "final", "include": "y"},
    )
    assert response.status_code == 303
    download = client.get(response.headers["Location"])
    assert download.get_data(as_text=True).splitlines()[0].endswith("c@example.com status")


def test_cli_export_only_final(app, tmp_path):
    project = factories.project()
    load_three_tasks(project)
    out = tmp_path / "final.json"
    result = app.test_cli_runner().invoke(
        args=["export", str(project.id), "--only", "final", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert [t["final"] and t["final"]["source"] for t in json.loads(out.read_text())] == [
        "ground_truth",
        "majority",
        None,
    ]


def test_task_page_shows_the_final_label_and_its_source(client, auth):
    manager = auth.login("manager")
    project = factories.project(members=(manager,))
    ids = load_three_tasks(project)
    page = client.get(f"/projects/{project.id}/tasks/{ids[1]}").get_data(as_text=True)
    block = page[page.index('id="final-label"') :][:2000]
    assert "majority of the annotators" in block and "Negative" in block
    assert "agreement 67%" in block
    empty = client.get(f"/projects/{project.id}/tasks/{ids[2]}").get_data(as_text=True)
    assert "None yet" in empty[empty.index('id="final-label"') :][:1000]


def test_mixed_project_exports_sources(app):
    """The hand-worked mixed case of test_controls_from_different_rules_give_sources,
    through import and export."""
    project = create_project("Mixed", MIXED_XML, None)
    db.session.commit()

    def both(email, label, entity):
        return {"completed_by": email, "result": pick(label) + [span(0, 5, entity)]}

    factories.tasks(
        project,
        [
            {
                "data": {"text": "Alice and Acme"},
                "annotations": [
                    both("a@example.com", "Positive", "PER"),
                    both("b@example.com", "Negative", "ORG"),
                    both("c@example.com", "Negative", "PER"),
                ],
            }
        ],
    )
    final = json.loads("".join(export_chunks(project.id, "json", "final")))[0]["final"]
    assert final["sources"] == {"sentiment": "majority", "label": "winner"}
    assert final["agreement"] == pytest.approx(7 / 12)


def test_dashboard_csv_and_api_count_tasks_by_final_rule(client, auth):
    """The three tasks of load_three_tasks plus a fourth whose only annotation is accepted:
    ground truth 1 (task 1), review 1 (task 4), annotators 1 (task 2, majority), none
    1 (task 3, skipped only). The export gives the same split."""
    from reviewapp.services.review_stream import record_verdict

    manager = auth.login("manager")
    project = factories.project(members=(manager,))
    load_three_tasks(project)
    factories.tasks(
        project, [{"data": {"text": "four"}, "annotations": [factories.annotation("d@x.org")]}]
    )
    four = db.session.scalar(select(Annotation).order_by(Annotation.id.desc()).limit(1))
    record_verdict(four.id, manager, "accepted")
    db.session.commit()
    expected = {"ground_truth": 1, "review": 1, "annotators": 1, "none": 1}
    rule = {"ground_truth": "ground_truth", "review": "review"}
    exported = json.loads("".join(export_chunks(project.id, "json", "final")))
    split = dict.fromkeys(expected, 0)
    for task in exported:
        source = task["final"]["source"] if task["final"] else "none"
        split[rule.get(source, "annotators" if source != "none" else "none")] += 1
    assert split == expected
    page = client.get(f"/projects/{project.id}/dashboard").get_data(as_text=True)
    for key, n in expected.items():
        assert f'data-final="{key}">{n}</b>' in page
    table = client.get(f"/projects/{project.id}/dashboard/final_labels.csv")
    assert table.get_data(as_text=True).splitlines() == [
        "source,tasks", "ground_truth,1", "review,1", "annotators,1", "none,1",
    ]  # fmt: skip
    h = {"Authorization": f"Token {factories.token(manager)}"}
    answer = client.get(f"/api/projects/{project.id}/metrics", headers=h).get_json()
    assert answer["final_labels"] == expected


def test_an_export_job_writes_the_final_labels_with_every_annotation(app):
    """The background export of only=final, include=all writes what the streamed one does."""
    from pathlib import Path

    from reviewapp.services.jobs import records
    from reviewapp.services.jobs.submit import start_export

    manager = factories.user("manager")
    project = factories.project(members=(manager,))
    load_three_tasks(project)
    job = records.wait_for(start_export(project, manager, "json", "final", "all").id, 1)
    assert job.status == "done"
    assert job.result["filename"] == f"project-{project.id}-final-with-annotations.json"
    expected = "".join(export_chunks(project.id, "json", "final", include="all"))
    assert Path(job.result["path"]).read_text() == expected
