"""The dashboard page, its CSV downloads, the metrics API and the recompute-metrics CLI, on
the small project of test_metrics whose numbers are worked out there by hand."""

from __future__ import annotations

import csv
import io
import json
import re
from html import unescape
from html.parser import HTMLParser

import pytest
from jinja2_fragments.flask import render_block
from markupsafe import escape
from sqlalchemy import select, update

from reviewapp.extensions import db
from reviewapp.models import AgreementPair, Task
from reviewapp.services.metrics.aggregates import MODEL_SAMPLE_TASKS, project_metrics
from reviewapp.services.metrics.definitions import MIN_N
from reviewapp.services.metrics.intervals import WIDE, wilson
from tests import factories
from tests.test_metrics import build_small


class Numbers(HTMLParser):
    """Text of the dashboard's tagged numbers: summary cards by data-metric, table cells by
    (the row's data-user / data-model / data-control, the cell's data-col), matrix cells by
    data-pair and data-avg. Whitespace is collapsed."""

    KEYS = ("data-metric", "data-col", "data-pair", "data-avg")
    ROWS = ("data-user", "data-model", "data-control")

    def __init__(self, html: str):
        super().__init__()
        self.values: dict = {}
        self.row = None
        self.open: list[tuple[str, object, list[str]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr":
            self.row = next((attrs[k] for k in self.ROWS if k in attrs), None)
        for key in self.KEYS:
            if key in attrs:
                name = (self.row, attrs[key]) if key == "data-col" else (key, attrs[key])
                self.open.append((tag, name, []))

    def handle_endtag(self, tag):
        if self.open and self.open[-1][0] == tag:
            _, name, parts = self.open.pop()
            self.values[name] = " ".join("".join(parts).split())

    def handle_data(self, data):
        for _, _, parts in self.open:
            parts.append(data)


@pytest.fixture
def small(app):
    return build_small()


def dashboard(client, small, **args):
    response = client.get(f"/projects/{small.project.id}/dashboard", query_string=args)
    assert response.status_code == 200, response.status_code
    return response


def with_gt_block(client, small, **args) -> str:
    """The dashboard page with its confusion blocks loaded, as htmx does: the page carries a
    placeholder per block whose hx-get (on load) answers the block."""
    html = dashboard(client, small, **args).get_data(as_text=True)
    assert "data-cell=" not in html and "data-confusion=" not in html  # not computed for it
    for block in ("confusion", "gt-confusion"):
        placeholder = re.search(
            rf'<section id="{block}"[^>]*hx-get="([^"]+)"[^>]*>.*?</section>', html, re.S
        )
        assert placeholder and 'hx-trigger="load"' in placeholder[0], f"no lazy {block}"
        answer = client.get(unescape(placeholder[1]), headers={"HX-Request": "true"})
        assert answer.status_code == 200 and "HX-Push-Url" not in answer.headers
        fragment = answer.get_data(as_text=True)
        assert fragment.lstrip().startswith(f'<section id="{block}"') and "<html" not in fragment
        html = html.replace(placeholder[0], fragment)
    return html


def test_dashboard_shows_the_hand_worked_numbers(client, auth, small):
    auth.login(small.users["mona"])
    html = dashboard(client, small).get_data(as_text=True)
    got = Numbers(html).values
    summary = {k[1]: v for k, v in got.items() if k[0] == "data-metric"}
    assert summary == {
        "tasks": "6",
        "annotated_tasks": "5",
        "fully_annotated_tasks": "4",
        "annotations": "10",
        "skipped": "1",
        "reviewed": "6",
        "accepted": "3",
        "fixed": "2",
        "rejected": "1",
        "pending": "4",
        "acceptance_rate": "83.3% n=6 43.6–97.0%",  # 5/6, Wilson (test_intervals)
        "ground_truth_tasks": "2",
        "mean_agreement": "83.3% n=4",  # (1/3 + 1 + 1 + 1) / 4, four tasks: too few, greyed
        "low_agreement_tasks": "1",
    }
    # The Annotator Performance table, by hand (see test_metrics for each number).
    columns = [
        "annotations", "skipped", "accepted", "fixed", "rejected", "pending", "acceptance_rate",
        "agreement", "gt_accuracy", "mean_fix_size", "median_lead_time",
    ]  # fmt: skip
    expected = {
        "alice@example.com": ["4", "0", "2", "0", "0", "2",
                              "100.0% n=2 34.2–100.0%", "75.0% n=4", "–", "–", "11.5 s n=4"],
        "bob@example.com": ["3", "1", "0", "2", "0", "1",
                            "100.0% n=2 34.2–100.0%", "75.0% n=4", "100.0% n=1", "0.500 n=2",
                            "20.0 s n=3"],
        "carol@example.com": ["3", "0", "1", "0", "1", "1",
                              "50.0% n=2 9.5–90.5%", "50.0% n=4", "50.0% n=2", "–", "30.0 s n=3"],
    }  # fmt: skip
    table = {user: [got[user, c] for c in columns] for user in expected}
    assert table == expected
    # Matrix: alice-bob 1.0 over t1, t2; alice-carol and bob-carol 0.5; Avg as above.
    a, b, c = (f"u{small.users[n].id}" for n in ("alice", "bob", "carol"))
    assert got["data-pair", f"{a}:{b}"] == got["data-pair", f"{b}:{a}"] == "100.0% n=2"
    assert got["data-pair", f"{a}:{c}"] == got["data-pair", f"{b}:{c}"] == "50.0% n=2"
    assert [got["data-avg", k] for k in (a, b, c)] == ["75.0% n=4", "75.0% n=4", "50.0% n=4"]
    # Models, reviewers, alpha.
    assert got["m1", "gt_accuracy"] == "50.0% n=2" and got["m2", "gt_accuracy"] == "100.0% n=1"
    assert [got["rita@example.com", k] for k in ("reviews", "accepted", "fixed", "rejected")] == [
        "5", "1", "2", "2"
    ]  # fmt: skip
    assert got["rita@example.com", "median_seconds"] == "1 min 30 s n=4"
    assert got["mona@example.com", "median_seconds"] == "45.0 s n=1"
    assert got["sentiment", "alpha"] == "0.692"  # 9 / 13
    assert got["sentiment", "raw_agreement"] == "66.7% n=6 30.0–90.3%"  # 4 of 6 pairs
    # Every section says how its numbers are computed.
    assert html.count("How is this computed") == 10


def test_few_items_are_greyed_with_their_n(client, auth, small):
    auth.login(small.users["mona"])
    html = dashboard(client, small).get_data(as_text=True)
    assert '<span class="few" title="Only 2 items: too few to trust">75.0%' not in html
    assert re.search(
        r'<span class="few" title="Only 4 items: too few to trust">75\.0%</span>', html
    )
    assert 'class="cell few"' in html


def test_json_and_html_agree(client, auth, small):
    manager = small.users["mona"]
    token = factories.token(manager)
    body = client.get(
        f"/api/projects/{small.project.id}/metrics", headers={"Authorization": f"Token {token}"}
    ).get_json()
    assert set(body) == {
        "summary", "annotators", "matrix", "models", "reviewers", "alpha", "raw_agreement",
        "raw_agreement_ci", "raw_agreement_n", "confusion", "confusion_gt", "auto_accept",
        "final_labels", "throughput",
    }  # fmt: skip
    assert body["summary"] == {
        "tasks": 6,
        "annotated_tasks": 5,
        "annotations": 10,
        "skipped": 1,
        "accepted": 3,
        "fixed": 2,
        "rejected": 1,
        "pending": 4,
        "acceptance_rate": 5 / 6,
        "acceptance_rate_ci": [pytest.approx(0.4365, abs=1e-4), pytest.approx(0.9699, abs=1e-4)],
        "ground_truth_tasks": 2,
        "mean_agreement": pytest.approx((1 / 3 + 3) / 4),
        "low_agreement_tasks": 1,
    }
    alice = body["annotators"][0]
    assert alice == {
        "id": small.users["alice"].id,
        "email": "alice@example.com",
        "annotations": 4,
        "skipped": 0,
        "accepted": 2,
        "fixed": 0,
        "rejected": 0,
        "pending": 2,
        "acceptance_rate": 1.0,
        "acceptance_rate_ci": [pytest.approx(0.3424, abs=1e-4), 1.0],
        # t1 accepted; t2 rejected by rita, then accepted by mona: not a first pass.
        "first_pass_acceptance": 0.5,
        "first_pass_acceptance_ci": [
            pytest.approx(0.0945, abs=1e-4),
            pytest.approx(0.9055, abs=1e-4),
        ],
        "first_pass_n": 2,
        "times_rejected": 1,
        "agreement": 0.75,
        "agreement_n": 4,
        "gt_accuracy": None,
        "gt_n": 0,
        "mean_fix_size": None,
        "median_lead_time": 11.5,
    }
    assert [u["email"] for u in body["matrix"]["users"]] == [
        "alice@example.com", "bob@example.com", "carol@example.com"
    ]  # fmt: skip
    assert body["matrix"]["cells"][0] == [
        {"score": None, "n": 0},
        {"score": 1.0, "n": 2},
        {"score": 0.5, "n": 2},
    ]
    assert body["models"] == [
        {"model_version": "m1", "gt_accuracy": 0.5, "gt_n": 2},
        {"model_version": "m2", "gt_accuracy": 1.0, "gt_n": 1},
    ]
    assert body["reviewers"][1] == {
        "id": small.users["rita"].id,
        "email": "rita@example.com",
        "reviews": 5,
        "accepted": 1,
        "fixed": 2,
        "rejected": 2,
        "overturned": 1,  # alice's t2: rita rejected, mona accepted
        "overturn_rate": 0.2,
        "overturn_rate_ci": pytest.approx(list(wilson(1, 5))),
        # On ground-truth tasks: her fix of bob t1 (Positive, GT score 1) and her reject of
        # carol t1 (Negative, 0) are right; alice t1 is the ground truth itself.
        "gt_accuracy": 1.0,
        "gt_accuracy_ci": pytest.approx(list(wilson(2, 2))),
        "gt_judged": 2,
        # 3 of her 5 verdicts accept or fix; the project's 5 of 7 (mona's 2 accepts).
        "acceptance_rate": 0.6,
        "leniency": pytest.approx(0.6 - 5 / 7),
        "median_review_time": None,  # no leases: factory reviews
        "review_time_n": 0,
    }
    assert body["alpha"] == {"sentiment": pytest.approx(9 / 13)}
    # 4 of the 6 pairs of answers on one task are equal; Wilson(4, 6) (test_intervals).
    assert body["raw_agreement"] == {"sentiment": pytest.approx(4 / 6)}
    assert body["raw_agreement_n"] == {"sentiment": 6}
    assert body["raw_agreement_ci"] == {
        "sentiment": [pytest.approx(0.2999, abs=1e-4), pytest.approx(0.9032, abs=1e-4)]
    }
    # t1: alice and bob Positive, carol Negative: two differing pairs (test_confusion).
    assert body["confusion"] == {"sentiment": [{"a": "Negative", "b": "Positive", "count": 2}]}
    # Ground truth t1 (alice Positive: bob Positive, carol Negative), t4 (bob Positive:
    # carol Positive).
    assert body["confusion_gt"] == {
        "sentiment": {
            "labels": ["Positive", "Negative"],
            "cells": [
                {"answer": "Positive", "truth": "Positive", "count": 2},
                {"answer": "Negative", "truth": "Positive", "count": 1},
            ],
        }
    }

    # The page shows the same numbers, rounded.
    auth.login(manager)
    got = Numbers(dashboard(client, small).get_data(as_text=True)).values
    for row in body["annotators"]:
        shown = got[row["email"], "agreement"].split()[0]
        assert shown == f"{row['agreement'] * 100:.1f}%"
        assert got[row["email"], "annotations"] == str(row["annotations"])
    assert got["data-metric", "mean_agreement"].startswith(
        f"{body['summary']['mean_agreement'] * 100:.1f}%"
    )
    assert got["sentiment", "alpha"] == f"{body['alpha']['sentiment']:.3f}"


def test_metrics_api_permissions(client, small):
    url = f"/api/projects/{small.project.id}/metrics"
    assert client.get(url).status_code == 401
    annotator = factories.token(small.users["alice"])
    assert client.get(url, headers={"Authorization": f"Token {annotator}"}).status_code == 403
    outsider = factories.token(factories.user("manager"))
    assert client.get(url, headers={"Authorization": f"Token {outsider}"}).status_code == 404
    reviewer = factories.token(small.users["rita"])
    assert client.get(url, headers={"Authorization": f"Token {reviewer}"}).status_code == 403
    small.project.reviewers_see_dashboard = True
    db.session.commit()
    assert client.get(url, headers={"Authorization": f"Token {reviewer}"}).status_code == 200


def test_empty_project_json_has_nulls(client, app):
    manager = factories.user("manager")
    project = factories.project(members=(manager,))
    body = client.get(
        f"/api/projects/{project.id}/metrics",
        headers={"Authorization": f"Token {factories.token(manager)}"},
    ).get_json()
    assert body["summary"]["mean_agreement"] is None
    assert body["annotators"] == [] and body["matrix"] == {"users": [], "cells": []}
    assert body["alpha"] == {"sentiment": None}


def test_empty_project_page(client, auth, app):
    manager = auth.login("manager")
    project = factories.project(members=(manager,))
    html = client.get(f"/projects/{project.id}/dashboard").get_data(as_text=True)
    assert "No annotations yet." in html and "No task has two non-skipped annotations yet." in html


def test_permissions(client, auth, small):
    url = f"/projects/{small.project.id}/dashboard"
    assert client.get(url).status_code == 302  # to the log-in page
    auth.login(small.users["alice"])
    assert client.get(url).status_code == 403
    auth.logout()
    auth.login(small.users["rita"])
    assert client.get(url).status_code == 403
    small.project.reviewers_see_dashboard = True
    db.session.commit()
    assert client.get(url).status_code == 200
    auth.logout()
    auth.login(factories.user("manager"))  # not a member
    assert client.get(url).status_code == 404
    assert client.get(f"{url}/annotators.csv").status_code == 404
    auth.logout()
    auth.login("admin")  # admins see every project
    assert client.get(url).status_code == 200
    assert client.get("/projects/999/dashboard").status_code == 404


def test_nav_links_to_the_dashboard_for_those_allowed(client, auth, small):
    page = f"/projects/{small.project.id}"
    link = f'href="/projects/{small.project.id}/dashboard"'
    auth.logout()
    auth.login(small.users["mona"])
    assert link in client.get(page).get_data(as_text=True)
    auth.logout()
    auth.login(small.users["alice"])
    assert link not in client.get(page).get_data(as_text=True)
    auth.logout()
    auth.login(small.users["rita"])
    assert link not in client.get(page).get_data(as_text=True)
    small.project.reviewers_see_dashboard = True
    db.session.commit()
    assert link in client.get(page).get_data(as_text=True)


def test_sort_headers_full_page_and_fragment(client, auth, htmx, small):
    auth.login(small.users["mona"])
    html = dashboard(client, small, sort="-agreement").get_data(as_text=True)
    rows = re.findall(r'<tr data-user="([^"]+)">', html)
    assert rows[:3] == ["alice@example.com", "bob@example.com", "carol@example.com"]
    assert 'aria-sort="descending"' in html
    # Clicking the header again sorts ascending; the link says so.
    assert f"/projects/{small.project.id}/dashboard?sort=agreement" in html

    response = client.get(
        f"/projects/{small.project.id}/dashboard", query_string={"sort": "agreement"}, headers=htmx
    )
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert fragment.lstrip().startswith('<section id="annotator-table"')
    assert "<html" not in fragment and "Annotator Agreement Matrix" not in fragment
    assert re.findall(r'<tr data-user="([^"]+)">', fragment)[:3] == [
        "carol@example.com", "alice@example.com", "bob@example.com"
    ]  # fmt: skip
    # An unknown sort key falls back to the default order.
    assert dashboard(client, small, sort="password").status_code == 200


def test_matrix_cells_link_to_the_data_manager(client, auth, small):
    auth.login(small.users["mona"])
    html = dashboard(client, small).get_data(as_text=True)
    a, b = small.users["alice"].id, small.users["bob"].id
    assert f"/projects/{small.project.id}/tasks?annotator={a}&amp;annotator={b}" in html
    with_models = dashboard(client, small, models="1").get_data(as_text=True)
    got = Numbers(with_models).values
    assert got["data-pair", f"mm1:u{a}"] == "50.0% n=2"
    assert "Hide model versions" in with_models


def test_annotators_csv(client, auth, small):
    auth.login(small.users["mona"])
    response = client.get(
        f"/projects/{small.project.id}/dashboard/annotators.csv",
        query_string={"sort": "-gt_accuracy"},
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["email"] for r in rows] == [
        "bob@example.com",
        "carol@example.com",
        "alice@example.com",
    ]
    bob = rows[0]
    assert (bob["annotations"], bob["skipped"], bob["fixed"]) == ("3", "1", "2")
    assert (bob["agreement"], bob["agreement_n"], bob["gt_accuracy"], bob["gt_n"]) == (
        "0.75",
        "4",
        "1.0",
        "1",
    )
    assert (bob["mean_fix_size"], bob["median_lead_time_seconds"]) == ("0.5", "20.0")
    assert rows[2]["gt_accuracy"] == ""  # alice: no items
    assert rows[2]["last_active"] == "2024-03-05T08:00:00Z"


def test_other_csv_tables(client, auth, small):
    auth.login(small.users["mona"])
    base = f"/projects/{small.project.id}/dashboard"
    matrix = list(csv.reader(io.StringIO(client.get(f"{base}/matrix.csv").get_data(as_text=True))))
    assert matrix[0] == ["rater", "other", "score", "n"]
    assert ["Alice A", "Bob B", "1.0", "2"] in matrix and ["Carol C", "Avg", "0.5", "4"] in matrix
    models = client.get(f"{base}/models.csv").get_data(as_text=True).splitlines()
    assert models == ["model_version,predictions,gt_accuracy,gt_n", "m1,3,0.5,2", "m2,1,1.0,1"]
    reviewers = list(
        csv.DictReader(io.StringIO(client.get(f"{base}/reviewers.csv").get_data(as_text=True)))
    )
    assert [(r["email"], r["reviews"], r["median_seconds_per_review"]) for r in reviewers] == [
        ("mona@example.com", "2", "45.0"),
        ("rita@example.com", "5", "90.0"),
    ]
    assert client.get(f"{base}/secrets.csv").status_code == 404


def test_csv_cells_that_look_like_formulas_are_quoted(client, auth, app):
    manager = auth.login("manager")
    project = factories.project(members=(manager,))
    evil = factories.user("annotator", "evil@example.com", name="=HYPERLINK(1)")
    factories.tasks(project, [{"data": {"text": "x"}, "annotations": [factories.annotation(evil)]}])
    body = client.get(f"/projects/{project.id}/dashboard/annotators.csv").get_data(as_text=True)
    assert ",'=HYPERLINK(1)," in body


def test_recompute_metrics_cli(app, small):
    # Corrupt the stored numbers, then rebuild them.
    db.session.execute(update(AgreementPair).values(score=0.0))
    db.session.execute(update(Task).values(agreement=None))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["recompute-metrics", str(small.project.id)])
    assert result.exit_code == 0, result.output
    assert "Recomputed the scores of 6 tasks" in result.output
    agreements = db.session.scalars(select(Task.agreement).order_by(Task.id)).all()
    assert agreements == [pytest.approx(1 / 3), 1.0, 1.0, 1.0, None, None]
    missing = app.test_cli_runner().invoke(args=["recompute-metrics", "999"])
    assert missing.exit_code != 0 and "No project with id 999" in missing.output


def test_every_block_renders_alone(app, small):
    context = dict(
        project=small.project,
        metrics=project_metrics(small.project, include_models=True),
        with_models=True,
        min_n=MIN_N,
        model_sample=MODEL_SAMPLE_TASKS,
        wide=WIDE,
        top_pairs=10,
        gt=project_metrics(small.project).confusion_gt,
        gt_annotator=None,
        gt_people=[],
    )
    blocks = ["summary", "annotator_table", "matrix", "histogram", "alpha", "models", "reviewers"]
    blocks += ["confusion", "gt_confusion"]
    with app.test_request_context():
        for block in blocks:
            html = render_block("dashboard/dashboard.html", block, **context)
            assert f'<section id="{block.replace("_", "-")}"' in html  # the region is the block


def confusion_rows(html: str) -> list[tuple[str, ...]]:
    return re.findall(
        r'<tr data-confusion="([^"]+)">\s*<td>([^<]*)</td><td>([^<]*)</td>'
        r'<td class="num" data-col="count">(\d+)</td>',
        html,
    )


def gt_cells(html: str) -> dict[str, tuple[str, str]]:
    """data-cell ("answer|truth") of each linked matrix cell: its count and its link."""
    return {
        cell: (count, unescape(href))
        for cell, href, count in re.findall(
            r'<a data-cell="([^"]+)" href="([^"]+)"[^>]*>(\d+)</a>', html
        )
    }


def test_confusion_sections_show_the_hand_worked_numbers(client, auth, small):
    auth.login(small.users["mona"])
    html = with_gt_block(client, small)
    assert confusion_rows(html) == [("sentiment", "Negative", "Positive", "2")]
    cells = gt_cells(html)
    assert {cell: count for cell, (count, _) in cells.items()} == {
        "Positive|Positive": "2",
        "Negative|Positive": "1",
    }
    assert '<h3><code>sentiment</code> <small class="muted">3 answers</small></h3>' in html
    # Rows and columns: Positive, Negative (config order, only those seen).
    assert re.findall(r'<th scope="col">([^<]+)</th>', html) == ["Positive", "Negative"]
    base = f"/projects/{small.project.id}/dashboard"
    lines = client.get(f"{base}/confusion.csv").get_data(as_text=True).splitlines()
    assert lines == ["control,a,b,count", "sentiment,Negative,Positive,2"]
    lines = client.get(f"{base}/confusion_gt.csv").get_data(as_text=True).splitlines()
    assert lines == [
        "control,answer,truth,count",
        "sentiment,Positive,Positive,2",
        "sentiment,Negative,Positive,1",
    ]
    carol = small.users["carol"].id
    lines = client.get(f"{base}/confusion_gt.csv", query_string={"gt_annotator": carol})
    assert lines.get_data(as_text=True).splitlines()[1:] == [
        "sentiment,Positive,Positive,1",
        "sentiment,Negative,Positive,1",
    ]
    rows = list(csv.DictReader(io.StringIO(client.get(f"{base}/annotators.csv").get_data(True))))
    carol_row = next(r for r in rows if r["email"] == "carol@example.com")
    # 1 of 2 reviewed: Wilson(1, 2) = 0.5 -+ 0.4047.
    assert carol_row["acceptance_rate"] == "0.5"
    assert float(carol_row["acceptance_rate_low"]) == pytest.approx(0.0945, abs=1e-4)
    assert float(carol_row["acceptance_rate_high"]) == pytest.approx(0.9055, abs=1e-4)


def test_one_annotators_matrix_full_page_and_fragment(client, auth, htmx, small):
    auth.login(small.users["mona"])
    carol = small.users["carol"].id
    html = with_gt_block(client, small, gt_annotator=carol)
    assert f'<option value="{carol}" selected>Carol C</option>' in html
    counts = {cell: count for cell, (count, _) in gt_cells(html).items()}
    assert counts == {"Positive|Positive": "1", "Negative|Positive": "1"}
    # Everyone compared with ground truth can be chosen: bob on t1, carol on t1 and t4.
    assert re.findall(r'<option value="(\d+)"', html) == [
        str(small.users["bob"].id),
        str(carol),
    ]

    response = client.get(
        f"/projects/{small.project.id}/dashboard",
        query_string={"part": "gt_confusion", "gt_annotator": carol},
        headers={**htmx, "HX-Trigger-Name": "gt_annotator"},  # the annotator select
    )
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert fragment.lstrip().startswith('<section id="gt-confusion"')
    assert "<html" not in fragment and "Annotator Performance" not in fragment
    assert {cell: count for cell, (count, _) in gt_cells(fragment).items()} == counts
    # A reload of the pushed URL shows the whole page with carol chosen.
    assert response.headers["HX-Push-Url"] == (
        f"/projects/{small.project.id}/dashboard?gt_annotator={carol}"
    )
    # Not an id: everyone's matrix.
    html = with_gt_block(client, small, gt_annotator="carol")
    assert gt_cells(html)["Positive|Positive"][0] == "2"


def table_task_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="task-(\d+)">', html)]


def test_a_matrix_cell_drills_down_to_exactly_its_tasks(client, auth, small):
    auth.login(small.users["mona"])
    t1, t4 = small.tasks["t1"], small.tasks["t4"]
    cells = gt_cells(with_gt_block(client, small))
    page = client.get(cells["Positive|Positive"][1]).get_data(as_text=True)
    assert table_task_ids(page) == [t1, t4]
    page = client.get(cells["Negative|Positive"][1]).get_data(as_text=True)
    assert table_task_ids(page) == [t1]
    # The filter shows, stays in the form (so other filters keep it) and in the sort links.
    assert "Against ground truth: <code>sentiment</code> answer Negative, truth Positive" in page
    value = escape(json.dumps(["sentiment", "Negative", "Positive"], separators=(",", ":")))
    assert f'<input type="hidden" name="gt_confusion" value="{value}">' in page
    assert "gt_confusion=" in re.search(r'<a href="([^"]*ordering=[^"]*)"', page)[1]

    carol = small.users["carol"].id
    cells = gt_cells(with_gt_block(client, small, gt_annotator=carol))
    page = client.get(cells["Positive|Positive"][1]).get_data(as_text=True)
    assert table_task_ids(page) == [t4]  # carol's Positive against t1's truth is Negative
    assert "by carol@example.com" in page

    url = f"/projects/{small.project.id}/tasks"
    page = client.get(url, query_string={"gt_confusion": '["sentiment"]'})
    assert page.status_code == 200
    assert "gt_confusion: expected" in page.get_data(as_text=True)


def test_every_dashboard_table_is_the_same_csv_through_the_api(client, auth, small):
    """GET /api/projects/<id>/metrics/<table>.csv gives the page's download, byte for byte,
    with the same permissions as the metrics JSON."""
    from reviewapp.dashboard.tables import TABLES

    token = {"Authorization": f"Token {factories.token(small.users['mona'])}"}
    api = f"/api/projects/{small.project.id}/metrics"
    answers = {}
    for table in TABLES:  # each streamed answer read before the next request
        answer = client.get(f"{api}/{table}.csv", headers=token)
        assert answer.status_code == 200 and answer.mimetype == "text/csv", table
        answers[table] = answer.get_data(as_text=True)
    auth.login(small.users["mona"])
    for table, body in answers.items():
        page = client.get(f"/projects/{small.project.id}/dashboard/{table}.csv")
        assert body == page.get_data(as_text=True) and body.count("\n") >= 1, table
    # The annotator table's order and the models switch as on the page.
    rows = client.get(f"{api}/annotators.csv?sort=-gt_accuracy", headers=token)
    emails = [r["email"] for r in csv.DictReader(io.StringIO(rows.get_data(as_text=True)))]
    assert emails == ["bob@example.com", "carol@example.com", "alice@example.com"]
    models = client.get(f"{api}/models.csv?models=1", headers=token).get_data(as_text=True)
    assert models.splitlines()[1:] == ["m1,3,0.5,2", "m2,1,1.0,1"]
    assert client.get(f"{api}/annotators.csv?sort=bogus", headers=token).status_code == 400
    assert client.get(f"{api}/secrets.csv", headers=token).status_code == 404
    annotator = {"Authorization": f"Token {factories.token(small.users['alice'])}"}
    assert client.get(f"{api}/annotators.csv", headers=annotator).status_code == 403
