"""Validate raw Label Studio task items against the project's label config and turn them
into rows to store; an invalid item raises ImportFailed naming the task and the field."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from itertools import chain

from sqlalchemy import select, update

from reviewapp.extensions import db
from reviewapp.labeling import LabelConfig, ResultError, image_urls, validate_result
from reviewapp.labeling.offsets import from_label_studio
from reviewapp.models import Annotation, Membership, Project, SourceUser, User, utcnow
from reviewapp.services.derived.task_columns import refresh_tasks
from reviewapp.services.import_export.read import LONE_SURROGATE
from reviewapp.services.import_export.summary import (
    UNKNOWN_ANNOTATOR_NAME,
    ImportFailed,
    ImportSummary,
)

# source_id: our own export writes the source's id beside ours (which a re-import keeps).
TASK_KEYS = {
    "data", "annotations", "completions", "predictions", "created_at", "id", "meta", "source_id"
}  # fmt: skip
# Unsubmitted work that Label Studio exports beside the annotations: not labels yet.
DRAFT_KEYS = {"drafts"}
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
    "source_id",
}
PREDICTION_KEYS = {"result", "score", "model_version", "id", "created_at"}
IMPORTED_DOMAIN = "imported.invalid"
MAX_DEPTH = 100  # real task data nests a few levels; deeper only breaks the code reading it
MAX_LEAD_TIME = 1e8  # seconds (three years): anything longer is not a time someone worked
MAX_ID = 2**63 - 1  # the largest integer SQLite and PostgreSQL's bigint hold
# NUL (PostgreSQL's text cannot hold it) and lone UTF-16 surrogates (not Unicode text).
_BAD_TEXT = re.compile(f"[\x00\ud800-\udfff{LONE_SURROGATE}]")
_EMAIL = re.compile(r"[^\s@<>\"'(),;:\\\[\]]+@[^\s@<>\"'(),;:\\\[\]]+")


class TaskParser:
    """Parses the items of one import. Unknown annotators become inactive annotator
    accounts and project members (flushed, so their ids can be stored)."""

    def __init__(self, project: Project, config: LabelConfig, summary: ImportSummary):
        self.project = project
        self.config = config
        self.summary = summary
        self.users: dict[str, int] = {}  # lower-case email -> user id
        self.user_emails: dict[int, str] = {}
        self.members = set(
            db.session.scalars(
                select(Membership.user_id).where(Membership.project_id == project.id)
            )
        )
        self.now = utcnow()
        # Label Studio user id -> account, for this project (source_user), and what this
        # import adds or changes there; id-only placeholder accounts whose work moves to the
        # account an email names (applied by finish()).
        self.source_users: dict[int, int] = dict(
            db.session.execute(
                select(SourceUser.source_id, SourceUser.user_id).where(
                    SourceUser.project_id == project.id
                )
            ).all()
        )
        self.new_source_users: dict[int, int] = {}
        self.merges: dict[int, tuple[int, str]] = {}  # placeholder -> (account, its email)
        self._absent: set[str] = set()

    def parse_task(self, index: int, item: object) -> dict:
        """One task of the file; index counts from 0, messages from 1 as a person reads."""
        where = f"Task {index + 1}"
        if not isinstance(item, dict):
            raise ImportFailed(f"{where}: expected an object, got {type(item).__name__}.")
        # Label Studio before 1.0 called annotations completions; tutorials still have them.
        legacy = _list(item.get("completions"), f"{where}: 'completions'")
        self.summary.legacy_completions += len(legacy)
        if "data" in item:
            data = item["data"]
            for key in item.keys() - TASK_KEYS:
                if key not in DRAFT_KEYS and _holds_results(item[key]):
                    raise ImportFailed(
                        f"{where}: the field '{key}' holds results, which would be dropped; "
                        "put them under 'annotations' or 'predictions'."
                    )
                self.summary.ignored_fields[f"task.{key}"] += 1
        else:
            # Label Studio also takes a bare dict of data fields as a task.
            data = {
                k: v
                for k, v in item.items()
                if k not in ("annotations", "completions", "predictions")
            }
        if not isinstance(data, dict) or not data:
            raise ImportFailed(f"{where}: 'data' must be a non-empty object.")
        check_values(data, f"{where}: data")
        for obj in self.config.objects.values():
            if obj.value not in data:
                raise ImportFailed(
                    f"{where}: data has no field '{obj.value}' (the label config's "
                    f'<{obj.tag} name="{obj.name}"> reads ${obj.value}); fields: '
                    f"{', '.join(map(str, data)) or 'none'}."
                )
        for obj in self.config.objects.values():
            url = data[obj.value]
            if obj.tag == "Image" and isinstance(url, str):
                problem = image_urls.refusal(url)
                if problem:
                    raise ImportFailed(f"{where}: data.{obj.value} is {problem}.")
                if image_urls.kind(url) == "cloud":
                    self.summary.cloud_images += 1
        raw_annotations = _list(item.get("annotations"), f"{where}: 'annotations'")
        annotations = [
            self.parse_annotation(f"{where}, annotation {i + 1}", a, data)
            for i, a in enumerate([*raw_annotations, *legacy])
        ]
        gt = [a for a in annotations if a["ground_truth"]]
        if len(gt) > 1:
            earliest = min(gt, key=lambda a: a["created_at"])
            for a in gt:
                a["ground_truth"] = a is earliest
            self.summary.extra_ground_truth_tasks += 1
        predictions = []
        for i, p in enumerate(_list(item.get("predictions"), f"{where}: 'predictions'")):
            parsed = self.parse_prediction(f"{where}, prediction {i + 1}", p, data)
            if parsed is not None:
                predictions.append(parsed)
        meta = item.get("meta") if "data" in item else None
        if meta is not None and not isinstance(meta, dict):
            raise ImportFailed(f"{where}: meta must be an object, got {type(meta).__name__}.")
        check_values(meta, f"{where}: meta")
        return {
            "data": data,
            "source_id": _source_id(_source_of(item) if "data" in item else None, where),
            "meta": meta or None,
            "created_at": _time(item.get("created_at"), where) or self.now,
            "annotations": annotations,
            "predictions": predictions,
        }

    def parse_annotation(self, where: str, raw: object, data: dict) -> dict:
        if not isinstance(raw, dict):
            raise ImportFailed(f"{where}: expected an object, got {type(raw).__name__}.")
        for key in raw.keys() - ANNOTATION_KEYS:
            self.summary.ignored_fields[f"annotation.{key}"] += 1
        cancelled = _flag(raw, "was_cancelled", where)
        result = raw.get("result", [])
        if cancelled and result in (None, {}):
            result = []  # the SDK's docs write a skip's result so
        check_values(result, f"{where}: result")
        try:
            result = from_label_studio(self.config, result, data)
            result = validate_result(self.config, result, data, self.summary.notes)
        except ResultError as error:
            raise ImportFailed(f"{where}: {error}") from None
        lead_time = raw.get("lead_time")
        if lead_time is not None and (
            isinstance(lead_time, bool)
            or not isinstance(lead_time, int | float)
            or not 0 <= lead_time <= MAX_LEAD_TIME
        ):
            raise ImportFailed(
                f"{where}: lead_time must be a number of seconds from 0 to {MAX_LEAD_TIME:.0e}, "
                f"got {lead_time!r}."
            )
        created = _time(raw.get("created_at"), where) or self.now
        return {
            "completed_by_id": self.annotator(raw.get("completed_by"), where),
            "source_id": _source_id(_source_of(raw), where),
            "result": result,
            "was_cancelled": cancelled,
            "ground_truth": _flag(raw, "ground_truth", where),
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
        check_values(raw["result"], f"{where}: result")
        try:
            result = from_label_studio(self.config, raw["result"], data)
            result = validate_result(self.config, result, data, self.summary.notes)
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
        if completed_by is None:
            # Fixtures, converted datasets and model-made annotations name nobody: one
            # inactive account per project says so; never the manager who imports.
            self.summary.unknown_annotator_annotations += 1
            return self._user_id(f"unknown-annotator-{self.project.id}@{IMPORTED_DOMAIN}")
        email, source = annotator_identity(completed_by, where)
        if source is None:
            return self._user_id(email)
        if email is None:
            mapped = self.source_users.get(source)
            if mapped is None:
                mapped = self._user_id(placeholder_email(source))
                self._map(source, mapped)
            elif mapped not in self.user_emails:
                # Mapped by an earlier import: the account's email, and a membership again.
                self._user_id(db.session.get(User, mapped).email)
            return mapped
        user_id = self._user_id(email)
        placeholder = self._existing(placeholder_email(source))
        if placeholder is not None and placeholder != user_id:
            self.merges.setdefault(placeholder, (user_id, placeholder_email(source)))
        if self.source_users.get(source) in (None, placeholder):
            self._map(source, user_id)
        return user_id

    def _map(self, source: int, user_id: int) -> None:
        self.source_users[source] = self.new_source_users[source] = user_id

    def _user_id(self, email: str) -> int:
        user_id = self.users.get(email)
        if user_id is None:
            user_id = self._resolve(email)
            self.users[email] = user_id
        return user_id

    def _existing(self, email: str) -> int | None:
        """The id of the account with this email, without creating it or a membership."""
        if email in self.users:
            return self.users[email]
        if email in self._absent:
            return None
        user_id = db.session.scalar(select(User.id).where(User.email == email))
        if user_id is None:
            self._absent.add(email)
        return user_id

    def finish(self) -> None:
        """After every task is stored: record the source user ids, and move each id-only
        placeholder's annotations in this project to the account an email named."""
        for source, user_id in self.new_source_users.items():
            db.session.merge(
                SourceUser(project_id=self.project.id, source_id=source, user_id=user_id)
            )
        for placeholder, (user_id, email) in self.merges.items():
            owned = (
                Annotation.project_id == self.project.id,
                Annotation.completed_by_id == placeholder,
            )
            task_ids = db.session.scalars(select(Annotation.task_id).where(*owned).distinct()).all()
            if not task_ids:
                continue
            db.session.execute(update(Annotation).where(*owned).values(completed_by_id=user_id))
            refresh_tasks(self.project, task_ids)
            self.summary.merged_accounts.append(email)
        db.session.flush()

    def _resolve(self, email: str) -> int:
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            unknown = email.startswith("unknown-annotator-")
            name = UNKNOWN_ANNOTATOR_NAME if unknown else ""
            user = User(email=email, role="annotator", active=False, name=name)
            db.session.add(user)
            db.session.flush()
            if not unknown:
                self.summary.new_annotators.append(email)
        if user.id not in self.members:
            db.session.add(Membership(project_id=self.project.id, user_id=user.id))
            self.members.add(user.id)
        self.user_emails[user.id] = user.email
        return user.id


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


def placeholder_email(source: int) -> str:
    """The inactive account of a Label Studio user known only by id."""
    return f"labelstudio-user-{source}@{IMPORTED_DOMAIN}"


def annotator_identity(completed_by: object, where: str) -> tuple[str | None, int | None]:
    """The email and the Label Studio user id an annotation's completed_by names, either
    possibly None: an email, a user id (an integer or digits), or an object with either."""
    if isinstance(completed_by, dict):
        given = completed_by.get("email")
        email = _email(given) if isinstance(given, str) else None
        source = _user_number(completed_by.get("id"))
        malformed = isinstance(given, str) and email is None
        if (email is not None or source is not None) and not malformed:
            return email, source
    else:
        source = _user_number(completed_by)
        if source is not None:
            return None, source
        if isinstance(completed_by, str) and _email(completed_by):
            return _email(completed_by), None
    shown = repr(completed_by) if len(repr(completed_by)) <= 80 else repr(completed_by)[:77] + "..."
    raise ImportFailed(f"{where}: completed_by {shown} is not an email or a user id.")


def _user_number(value: object) -> int | None:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID:
        return value
    return None


def _email(value: str) -> str | None:
    value = value.strip()
    if len(value) <= 254 and _EMAIL.fullmatch(value):
        return value.lower()
    return None


def check_values(value: object, where: str) -> None:
    """Refuse JSON nested deeper than MAX_DEPTH and text with a NUL or a lone surrogate;
    the message names the field (keys joined with dots)."""
    stack: list[tuple[object, tuple]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if len(path) > MAX_DEPTH:
            raise ImportFailed(f"{where} is nested too deeply (more than {MAX_DEPTH} levels).")
        if isinstance(item, str):
            bad = _BAD_TEXT.search(item)
            if bad:
                what = "a NUL character" if bad.group() == "\x00" else "a lone UTF-16 surrogate"
                field = ".".join(map(str, path))
                raise ImportFailed(
                    f"{where}{'.' + field if field else ''} holds {what}, which is not text."
                )
        elif isinstance(item, dict):
            for key, child in item.items():
                stack.append((key, path))
                stack.append((child, (*path, key)))
        elif isinstance(item, list):
            if len(path) + 2 <= MAX_DEPTH and _only_numbers(item):
                continue
            stack.extend((child, (*path, i)) for i, child in enumerate(item))


_PLAIN = frozenset({int, float, bool, type(None)})


def _only_numbers(items: list) -> bool:
    """A list of numbers, or of lists of numbers (a polygon's points), holds no text to
    check: map and set find that in C instead of one Python step per point."""
    kinds = set(map(type, items))
    if kinds <= _PLAIN:
        return True
    return kinds == {list} and set(map(type, chain.from_iterable(items))) <= _PLAIN


def _source_of(item: dict) -> object:
    # Our own export carries the source's id beside ours: a re-import keeps the source's.
    return item["source_id"] if "source_id" in item else item.get("id")


def _source_id(value: object, where: str) -> str | None:
    """The file's own id of a task or annotation, kept as text (Label Studio's are integers,
    other tools' strings)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or len(str(value)) > 100:
        raise ImportFailed(f"{where}: id must be an integer or a short string, got {value!r}.")
    return str(value)


def _holds_results(value: object) -> bool:
    items = value if isinstance(value, list) else [value]
    return any(isinstance(i, dict) and "result" in i for i in items)


def _flag(raw: dict, name: str, where: str) -> bool:
    value = raw.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ImportFailed(f"{where}: {name} must be true or false, got {value!r}.")
    return value
