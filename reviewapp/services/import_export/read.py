"""Read a Label Studio JSON file (a list of tasks or one task) or a CSV as a stream of raw
task items; ijson parses the JSON incrementally, so memory stays flat however big it is."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import IO

import ijson

from reviewapp.services.import_export.summary import ImportFailed


def read_tasks(stream: IO[bytes], filename: str = "") -> Iterator[object]:
    """Yield raw task items from a Label Studio JSON file (a list or one task) or a CSV."""
    head = stream.read(1)
    while head and head.isspace():
        head = stream.read(1)
    if filename.lower().endswith((".csv", ".tsv")) or (head and head not in b"[{"):
        if not filename.lower().endswith((".csv", ".tsv")):
            raise ImportFailed(
                "The file is not JSON (it should start with '[' or '{') and is not named .csv."
            )
        yield from _read_csv(head + stream.read(), tab=filename.lower().endswith(".tsv"))
        return
    if not head:
        raise ImportFailed("The file is empty.")
    body = _Prefixed(head, stream)
    try:
        if head == b"{":
            yield from ijson.items(body, "", use_float=True)
        else:
            yield from ijson.items(body, "item", use_float=True)
    except ijson.JSONError as error:
        raise ImportFailed(f"The file is not valid JSON: {error}") from None


class _Prefixed:
    """The stream with the bytes already read put back in front (ijson only calls read)."""

    def __init__(self, prefix: bytes, stream: IO[bytes]):
        self._prefix = prefix
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson probes read(0) to tell bytes from str
            return b""
        if self._prefix:
            prefix, self._prefix = self._prefix, b""
            rest = self._stream.read(size - len(prefix) if size and size > 0 else -1)
            return prefix + (rest or b"")
        return self._stream.read(size)


def _read_csv(raw: bytes, tab: bool) -> Iterator[dict]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFailed("The CSV file is not UTF-8 text.") from None
    reader = csv.DictReader(io.StringIO(text), delimiter="\t" if tab else ",")
    if not reader.fieldnames:
        raise ImportFailed("The CSV file has no header row.")
    for row in reader:
        if None in row:
            raise ImportFailed(
                f"CSV line {reader.line_num}: more values than the header has columns."
            )
        yield {"data": dict(row)}
