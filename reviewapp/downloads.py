"""Downloads: the one CSV writer, with one rule for cells, and the streamed file response."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from flask import Response, stream_with_context

MIMETYPES = {"csv": "text/csv", "json": "application/json"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_lines(rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """Each row as one CSV line, as the csv module quotes it and ends it (CRLF)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _cell(value: object) -> object:
    """None is an empty cell, lists and objects are JSON, times ISO 8601 in UTC; numbers as
    Python writes them, text as given unless a spreadsheet would run it (OWASP's CSV
    injection rule: a leading ')."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds") + "Z"
    if isinstance(value, str):
        return without_formula(value)
    return value


def without_formula(text: str) -> str:
    """text with a leading ' when a spreadsheet would run it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def attachment(filename: str, chunks: Iterable[str]) -> Response:
    """A download named filename, its type from the extension, streamed a chunk at a time:
    memory does not grow with the file."""
    return Response(
        stream_with_context(chunks),
        mimetype=MIMETYPES[filename.rsplit(".", 1)[-1]],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
