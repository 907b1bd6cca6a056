"""Read a Label Studio JSON file (a list of tasks or one task) or a CSV as a stream of raw
task items; ijson parses the JSON incrementally, so memory stays flat however big it is."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import IO

import ijson

from reviewapp.services.import_export.summary import ImportFailed

BOM = b"\xef\xbb\xbf"


def read_tasks(stream: IO[bytes], filename: str = "") -> Iterator[object]:
    """Yield raw task items from a Label Studio JSON file (a list or one task) or a CSV."""
    head = stream.read(1)
    if head == BOM[:1]:
        # Windows tools start UTF-8 files with a byte order mark; JSON and CSV ignore it.
        rest = stream.read(len(BOM) - 1)
        head = stream.read(1) if head + rest == BOM else head + rest
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
    """The stream with the bytes already read put back in front (ijson only calls read),
    and every lone UTF-16 surrogate escape turned into LONE_SURROGATE.

    ijson's C parser decodes a lone surrogate such as \\ud800 to "?", so the text would
    change without a word; marked, it reaches the parser's check, which names the field.
    """

    def __init__(self, prefix: bytes, stream: IO[bytes]):
        self._pending = prefix
        self._stream = stream
        self._done = False

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson probes read(0) to tell bytes from str
            return b""
        while not self._done and (size < 0 or len(self._pending) <= size + _HOLD):
            chunk = self._stream.read(size if size > 0 else -1)
            self._pending += chunk or b""
            self._done = not chunk or size < 0
        # Keep the tail back: an escape may continue in the next chunk.
        cut = len(self._pending) if self._done else max(len(self._pending) - _HOLD, 0)
        if size > 0:
            cut = min(cut, size)
        if not self._done:
            cut = _escape_boundary(self._pending, cut) or cut
        out, self._pending = self._pending[:cut], self._pending[cut:]
        return _mark_lone_surrogates(out)


# "\\ud83d\\ude00" is a pair (one emoji); a high half without its low half, or a low half
# alone, is not text. The run of backslashes must be odd for the "u" to start an escape.
_SURROGATE = re.compile(rb"(\\+)u([dD][89a-fA-F][0-9a-fA-F]{2})")
_LOW = re.compile(rb"\\u[dD][c-fC-F][0-9a-fA-F]{2}")
_HOLD = 12  # the length of a surrogate pair's escapes
LONE_SURROGATE = "\ufdd0"  # a noncharacter: never in real text


def _escape_boundary(data: bytes, cut: int) -> int:
    """Move the cut before an escape that starts within _HOLD bytes of it (and before the
    backslashes leading up to it), so no escape or pair of escapes is split."""
    first = data.find(b"\\", max(cut - _HOLD + 1, 0), cut)
    if first < 0:
        return cut
    while first > 0 and data[first - 1 : first] == b"\\":
        first -= 1
    return first


def _mark_lone_surrogates(data: bytes) -> bytes:
    if b"\\u" not in data:
        return data
    out, last, position = [], 0, 0
    while (match := _SURROGATE.search(data, position)) is not None:
        position = match.end()
        if len(match.group(1)) % 2 == 0:
            continue  # an escaped backslash followed by the letter u
        is_high = match.group(2)[1:2].lower() in b"89ab"
        if is_high and _LOW.match(data, match.end()):
            position = match.end() + 6
            continue
        out += [data[last : match.end(1) - 1], b"\\ufdd0"]
        last = match.end()
    return b"".join([*out, data[last:]])


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
        if None in row.values():
            raise ImportFailed(
                f"CSV line {reader.line_num}: fewer values than the header has columns "
                f"({len(reader.fieldnames)})."
            )
        yield {"data": dict(row)}
