"""Import tasks in Label Studio's JSON format (or CSV) in one all-or-nothing transaction.

Tasks, annotations and predictions are written with bulk inserts in chunks, and the file is
parsed as a stream (ijson), so memory stays flat however big the export is.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO

import ijson
from sqlalchemy import select, update

from reviewapp.db import CHUNK, text_search
from reviewapp.db.bulk_insert import insert_plain_rows, insert_returning_ids
from reviewapp.extensions import db
from reviewapp.labeling import LabelConfig, ResultError, parse_label_config, validate_result
from reviewapp.models import (
    Annotation,
    Membership,
    Prediction,
    Project,
    Task,
    TaskLabel,
    User,
    utcnow,
)
from reviewapp.services.derived.scores import insert_scores, score_task
from reviewapp.services.derived.task_columns import (
    AnnotationRow,
    data_text,
    label_rows,
    shift_project_totals,
    summarise,
)

IMPORT_CACHE_KB = 131072
TASK_KEYS = {"data", "annotations", "predictions", "created_at", "id"}
ANNOTATION_KEYS = {
    "result",
    "completed_by",
    "was_cancelled",
    "ground_truth",
    "lead_time",
    "created_at",
    "updated_at",
    "id",
    "review_status",  # our own export writes it; reviews are not imported
}
PREDICTION_KEYS = {"result", "score", "model_version", "id", "created_at"}
IMPORTED_DOMAIN = "imported.invalid"


class ImportFailed(ValueError):
    """The file cannot be imported; nothing was stored. The message names task and problem."""


@dataclass
class ImportSummary:
    task_count: int = 0
    annotation_count: int = 0
    skipped_annotation_count: int = 0
    prediction_count: int = 0
    new_annotators: list[str] = field(default_factory=list)
    ignored_fields: Counter = field(default_factory=Counter)
    predictions_without_result: int = 0
    extra_ground_truth_tasks: int = 0

    def lines(self) -> list[str]:
        """What happened, one sentence a line, for the page, the CLI and the API."""
        out = [
            f"Imported {self.task_count} tasks, {self.annotation_count} annotations "
            f"({self.skipped_annotation_count} of them skipped) and "
            f"{self.prediction_count} predictions."
        ]
        if self.new_annotators:
            out.append(
                f"Created {len(self.new_annotators)} inactive annotator accounts for unknown "
                f"annotators: {', '.join(self.new_annotators[:10])}"
                + (" …" if len(self.new_annotators) > 10 else "")
            )
        if self.predictions_without_result:
            out.append(
                f"Skipped {self.predictions_without_result} predictions given without a result "
                "(bare ids)."
            )
        if self.extra_ground_truth_tasks:
            out.append(
                f"{self.extra_ground_truth_tasks} tasks had several ground-truth annotations; "
                "the earliest was kept as ground truth."
            )
        for name, count in sorted(self.ignored_fields.items()):
            out.append(f"Ignored the field {name} ({count} times).")
        return out

    def as_dict(self) -> dict:
        return {
            "task_count": self.task_count,
            "annotation_count": self.annotation_count,
            "skipped_annotation_count": self.skipped_annotation_count,
            "prediction_count": self.prediction_count,
            "new_annotators": self.new_annotators,
            "predictions_without_result": self.predictions_without_result,
            "extra_ground_truth_tasks": self.extra_ground_truth_tasks,
            "ignored_fields": dict(self.ignored_fields),
            "messages": self.lines(),
        }


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


def import_file(
    project: Project,
    stream: IO[bytes],
    filename: str = "",
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    return import_tasks(project, read_tasks(stream, filename), progress)


def import_tasks(
    project: Project,
    items: Iterable[object],
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Validate and store every task, or nothing: raises ImportFailed after a rollback.
    Flushes; the caller commits.

    Annotations keep their annotator (completed_by: email, {"email": ...} or a bare id);
    unknown annotators become inactive annotator accounts and project members.
    """
    importer = _Importer(project)
    try:
        _lock_for_import(project)
        chunk: list[dict] = []
        for index, item in enumerate(items):
            chunk.append(importer.parse_task(index, item))
            if len(chunk) >= CHUNK:
                importer.store(chunk)
                chunk = []
                if progress:
                    progress(index + 1)
        if chunk:
            importer.store(chunk)
        if importer.summary.task_count == 0:
            raise ImportFailed("The file holds no tasks.")
        # One statement for the whole import: FTS5 writes a segment per statement.
        text_search.add_tasks(db.session.connection(), *importer.task_ids)
        db.session.flush()
    except BaseException:
        db.session.rollback()
        raise
    finally:
        _end_import()
    return importer.summary


class _Importer:
    def __init__(self, project: Project):
        self.project = project
        self.config: LabelConfig = parse_label_config(project.label_config)
        self.summary = ImportSummary()
        self.task_ids: tuple[int | None, int | None] = (None, None)  # first and last stored
        self.users: dict[str, int] = {}  # lower-case email -> user id
        self.user_emails: dict[int, str] = {}
        self.members = set(
            db.session.scalars(
                select(Membership.user_id).where(Membership.project_id == project.id)
            )
        )
        self.now = utcnow()

    def parse_task(self, index: int, item: object) -> dict:
        where = f"Task {index}"
        if not isinstance(item, dict):
            raise ImportFailed(f"{where}: expected an object, got {type(item).__name__}.")
        if "data" in item:
            data = item["data"]
            for key in item.keys() - TASK_KEYS:
                self.summary.ignored_fields[f"task.{key}"] += 1
        else:
            # Label Studio also takes a bare dict of data fields as a task.
            data = {k: v for k, v in item.items() if k not in ("annotations", "predictions")}
        if not isinstance(data, dict) or not data:
            raise ImportFailed(f"{where}: 'data' must be a non-empty object.")
        for obj in self.config.objects.values():
            if obj.value not in data:
                raise ImportFailed(
                    f"{where}: data has no field '{obj.value}' (the label config's "
                    f'<{obj.tag} name="{obj.name}"> reads ${obj.value}); fields: '
                    f"{', '.join(map(str, data)) or 'none'}."
                )
        annotations = [
            self.parse_annotation(f"{where}, annotation {i}", a, data)
            for i, a in enumerate(_list(item.get("annotations"), f"{where}: 'annotations'"))
        ]
        gt = [a for a in annotations if a["ground_truth"]]
        if len(gt) > 1:
            earliest = min(gt, key=lambda a: a["created_at"])
            for a in gt:
                a["ground_truth"] = a is earliest
            self.summary.extra_ground_truth_tasks += 1
        predictions = []
        for i, p in enumerate(_list(item.get("predictions"), f"{where}: 'predictions'")):
            parsed = self.parse_prediction(f"{where}, prediction {i}", p, data)
            if parsed is not None:
                predictions.append(parsed)
        return {
            "data": data,
            "created_at": _time(item.get("created_at"), where) or self.now,
            "annotations": annotations,
            "predictions": predictions,
        }

    def parse_annotation(self, where: str, raw: object, data: dict) -> dict:
        if not isinstance(raw, dict):
            raise ImportFailed(f"{where}: expected an object, got {type(raw).__name__}.")
        for key in raw.keys() - ANNOTATION_KEYS:
            self.summary.ignored_fields[f"annotation.{key}"] += 1
        try:
            result = validate_result(self.config, raw.get("result", []), data)
        except ResultError as error:
            raise ImportFailed(f"{where}: {error}") from None
        lead_time = raw.get("lead_time")
        if lead_time is not None and (not isinstance(lead_time, int | float) or lead_time < 0):
            raise ImportFailed(f"{where}: lead_time must be a number of seconds.")
        created = _time(raw.get("created_at"), where) or self.now
        return {
            "completed_by_id": self.annotator(raw.get("completed_by"), where),
            "result": result,
            "was_cancelled": bool(raw.get("was_cancelled", False)),
            "ground_truth": bool(raw.get("ground_truth", False)),
            "lead_time": float(lead_time) if lead_time is not None else None,
            "created_at": created,
            "updated_at": _time(raw.get("updated_at"), where) or created,
        }

    def parse_prediction(self, where: str, raw: object, data: dict) -> dict | None:
        if isinstance(raw, int) or (isinstance(raw, dict) and "result" not in raw):
            self.summary.predictions_without_result += 1
            return None
        if not isinstance(raw, dict):
            raise ImportFailed(f"{where}: expected an object, got {type(raw).__name__}.")
        try:
            result = validate_result(self.config, raw["result"], data)
        except ResultError as error:
            raise ImportFailed(f"{where}: {error}") from None
        score = raw.get("score")
        if score is not None and (
            isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1
        ):
            raise ImportFailed(f"{where}: score must be a number from 0 to 1, got {score!r}.")
        return {
            "result": result,
            "score": float(score) if score is not None else None,
            "model_version": str(raw.get("model_version") or ""),
            "created_at": _time(raw.get("created_at"), where) or self.now,
        }

    def annotator(self, completed_by: object, where: str) -> int:
        if isinstance(completed_by, dict):
            completed_by = completed_by.get("email") or completed_by.get("id")
        if isinstance(completed_by, bool) or completed_by is None:
            raise ImportFailed(f"{where}: completed_by is missing (an email or a user id).")
        if isinstance(completed_by, int):
            email = f"labelstudio-user-{completed_by}@{IMPORTED_DOMAIN}"
        elif isinstance(completed_by, str) and "@" in completed_by:
            email = completed_by.strip().lower()
        elif isinstance(completed_by, str) and completed_by.strip().isdigit():
            email = f"labelstudio-user-{int(completed_by)}@{IMPORTED_DOMAIN}"
        else:
            raise ImportFailed(f"{where}: completed_by {completed_by!r} is not an email or an id.")
        user_id = self.users.get(email)
        if user_id is None:
            user_id = self._resolve(email)
            self.users[email] = user_id
        return user_id

    def _resolve(self, email: str) -> int:
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email, role="annotator", active=False)
            db.session.add(user)
            db.session.flush()
            self.summary.new_annotators.append(email)
        if user.id not in self.members:
            db.session.add(Membership(project_id=self.project.id, user_id=user.id))
            self.members.add(user.id)
        self.user_emails[user.id] = user.email
        return user.id

    def store(self, tasks: list[dict]) -> None:
        """Insert a chunk of parsed tasks with their annotations, predictions, label index
        and stored scores; each task is scored once, before insert, for its agreement
        column and its AgreementPair/GtScore/ChoiceCount rows."""
        project_id = self.project.id
        rows, summaries, scored = [], [], []
        for t in tasks:
            summary = [
                AnnotationRow(
                    self.user_emails[a["completed_by_id"]],
                    a["result"],
                    a["was_cancelled"],
                    a["ground_truth"],
                )
                for a in t["annotations"]
            ]
            scores = score_task(
                self.config,
                self.project.iou_threshold,
                summary,
                [p["result"] for p in t["predictions"]],
            )
            summaries.append(summary)
            scored.append(scores)
            rows.append(
                {
                    "project_id": project_id,
                    "data": t["data"],
                    "data_text": data_text(t["data"]),
                    "created_at": t["created_at"],
                    **summarise(summary, [p["score"] for p in t["predictions"]], scores.agreement),
                }
            )
        ids = insert_returning_ids(Task, rows)
        self.task_ids = (self.task_ids[0] or ids[0], ids[-1])
        shift_project_totals(
            project_id,
            sum(r["annotation_count"] for r in rows),
            sum(r["pending_count"] for r in rows),
        )
        annotations, predictions, labels = [], [], []
        for task_id, t, summary in zip(ids, tasks, summaries, strict=True):
            labels += label_rows(
                self.config,
                project_id,
                task_id,
                summary,
                [p["result"] for p in t["predictions"]],
            )
            for a in t["annotations"]:
                annotations.append(
                    {**a, "task_id": task_id, "project_id": project_id, "review_status": "pending"}
                )
            for p in t["predictions"]:
                predictions.append({**p, "task_id": task_id, "project_id": project_id})
        annotation_ids = insert_returning_ids(Annotation, annotations)
        prediction_ids = insert_returning_ids(Prediction, predictions)
        insert_plain_rows(TaskLabel.__table__, labels)
        pair_rows: list[dict] = []
        gt_rows: list[dict] = []
        choice_rows: list[dict] = []
        a_next = p_next = 0
        for task_id, t, scores in zip(ids, tasks, scored, strict=True):
            a_end, p_end = a_next + len(t["annotations"]), p_next + len(t["predictions"])
            if scores.pairs or scores.prediction_gt or scores.annotation_gt:
                pairs, gt = scores.rows(
                    project_id,
                    task_id,
                    [
                        (annotation_id, a["completed_by_id"])
                        for annotation_id, a in zip(
                            annotation_ids[a_next:a_end], t["annotations"], strict=True
                        )
                    ],
                    [
                        (prediction_id, p["model_version"])
                        for prediction_id, p in zip(
                            prediction_ids[p_next:p_end], t["predictions"], strict=True
                        )
                    ],
                )
                pair_rows += pairs
                gt_rows += gt
            choice_rows += scores.choice_rows(project_id, task_id)
            a_next, p_next = a_end, p_end
        insert_scores(pair_rows, gt_rows, choice_rows)
        self.summary.task_count += len(tasks)
        self.summary.annotation_count += len(annotations)
        self.summary.skipped_annotation_count += sum(a["was_cancelled"] for a in annotations)
        self.summary.prediction_count += len(predictions)


def _lock_for_import(project: Project) -> None:
    """Take SQLite's write lock now, so no other writer can take ids while we insert."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(update(Project).where(Project.id == project.id).values(id=project.id))
        # A page cache of 128 MB for the import's connection (2 MB by default): with the
        # default, index pages spill to the log and are written again (3 s of 30 at 100k).
        db.session.connection().exec_driver_sql(f"PRAGMA cache_size = -{IMPORT_CACHE_KB}")


def _end_import() -> None:
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.connection().exec_driver_sql("PRAGMA cache_size = -2000")


def _list(value: object, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ImportFailed(f"{where} must be a list.")
    return value


def _time(value: object, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ImportFailed(f"{where}: created_at must be an ISO 8601 time, got {value!r}.")
    try:
        if value.endswith("Z"):
            # The usual form in Label Studio exports: UTC already, no conversion needed.
            return datetime.fromisoformat(value[:-1])
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ImportFailed(f"{where}: {value!r} is not an ISO 8601 time.") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed
