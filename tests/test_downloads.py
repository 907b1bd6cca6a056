"""reviewapp.downloads: the one CSV writer and its cell rule, and the streamed attachment."""

from datetime import datetime

from reviewapp.downloads import attachment, csv_lines, without_formula


def test_csv_lines_one_line_per_row_and_one_rule_per_cell():
    rows = [
        ["id", "text"],
        [1, None],
        [0.1 + 0.2, {"a": ["é"]}],
        [True, [1, 2.5]],
        [datetime(2024, 3, 5, 8, 0, 0, 999), 'say "hi", then\nleave'],
    ]
    assert list(csv_lines(rows)) == [
        "id,text\r\n",
        "1,\r\n",
        '0.30000000000000004,"{""a"": [""é""]}"\r\n',
        'True,"[1, 2.5]"\r\n',
        '2024-03-05T08:00:00Z,"say ""hi"", then\nleave"\r\n',
    ]


def test_text_a_spreadsheet_would_run_gets_a_quote():
    assert [without_formula(t) for t in ("=1+1", "+1", "-1", "@x", "\tx", "\rx", "ok", "")] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@x",
        "'\tx",
        "'\rx",
        "ok",
        "",
    ]


def test_attachment_is_streamed_with_its_name_and_type(app):
    with app.test_request_context():
        response = attachment("project-1-all.csv", iter(["a\r\n", "b\r\n"]))
        assert response.is_streamed and response.mimetype == "text/csv"
        assert response.headers["Content-Disposition"] == 'attachment; filename="project-1-all.csv"'
        assert attachment("project-1-all.json", iter([])).mimetype == "application/json"


def test_every_csv_download_quotes_formulas_and_keeps_numbers(app):
    from reviewapp.services.import_export.exporter import export_csv
    from tests import factories

    project = factories.project()
    factories.tasks(
        project,
        [
            {"data": {"text": '=HYPERLINK("http://evil.example","x")'}},
            {"data": {"text": "-1 stars"}},
        ],
    )
    lines = "".join(export_csv(project.id)).splitlines()
    assert lines[1].endswith(""",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",""")
    assert lines[2].endswith(",'-1 stars,")
    assert list(csv_lines([[-0.5, 3, "-0.5"]])) == ["-0.5,3,'-0.5\r\n"]  # numbers stay numbers
