"""Shared OpenAPI components: the error shape, the error responses, and the objects several
API modules return (Person, Project, Task, Job, Metrics). Merged by reviewapp.api.openapi.

Object schemas stay open (no additionalProperties: false): fields get added to these answers
and a client must ignore what it does not know.
"""

from __future__ import annotations

from reviewapp.models import LABEL_SOURCES
from reviewapp.services.data_manager.query import MAX_ID, MAX_PAGE_SIZE, ORDERINGS, STATE_FILTERS


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict, description: str = "", optional=()) -> dict:
    """An object schema with these properties, each required unless named in optional."""
    required = [name for name in properties if name not in set(optional)]
    schema = {"type": "object", "required": required, "properties": properties}
    return {**schema, "description": description} if description else schema


def with_message(key: str, schema: dict) -> dict:
    """An answer that carries a message for people beside the object it is about."""
    return obj({"message": {"type": "string"}, key: schema})


def nullable(schema: dict) -> dict:
    """schema or null (OpenAPI 3.1 speaks JSON Schema 2020-12: a type list)."""
    kind = schema["type"]
    return {**schema, "type": [*(kind if isinstance(kind, list) else [kind]), "null"]}


def json_body(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def errors(*codes: int) -> dict:
    """The shared error responses for these status codes, for an operation's `responses`."""
    return {str(code): {"$ref": f"#/components/responses/{RESPONSE_NAMES[code]}"} for code in codes}


ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
UNIT = {"type": "number", "minimum": 0, "maximum": 1}
TIMESTAMP = {"type": "string", "description": "UTC, ISO 8601 with a trailing Z"}

RESPONSE_NAMES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    413: "PayloadTooLarge",
    422: "UnprocessableEntity",
}
_RESPONSE_TEXT = {
    400: "The request is malformed: a parameter or the body is missing or of the wrong kind.",
    401: "No valid token: send 'Authorization: Token <token>'.",
    403: "The token's user may see this but not do this (role or project rule).",
    404: "No such object, or one the token's user may not see.",
    409: "The object changed meanwhile (a verdict someone else gave, a finished job).",
    413: "The upload is larger than the server accepts.",
    422: "The input is understood but not valid (a result, a verdict, a config).",
}
OPENAPI_RESPONSES = {
    name: json_body(ref("Error"), _RESPONSE_TEXT[code]) for code, name in RESPONSE_NAMES.items()
}

# The Data Manager's table state, as GET .../tasks and POST .../review/next take it.
_BOOLEAN = {
    "anyOf": [{"type": "boolean"}, {"enum": ["1", "0", "yes", "no"]}],
    "description": "true, false, 1, 0, yes or no",
}
# An empty (or blank) value means "not given", as in the table's own links.
EMPTY = {"type": "string", "pattern": "^\\s*$"}
TABLE_PARAMETERS: dict[str, dict] = {
    "ordering": {
        "description": "Sort key, '-' in front for descending; empty values sort last.",
        "schema": {
            "type": "string",
            "enum": [*ORDERINGS, *(f"-{key}" for key in ORDERINGS)],
            "default": "id",
        },
    },
    "page": {
        "description": "Page number from 1 (smaller values read as 1).",
        "schema": {"type": "integer", "default": 1},
    },
    "page_size": {
        "description": f"Tasks per page, clamped to 1..{MAX_PAGE_SIZE}.",
        "schema": {"type": "integer", "default": 50},
    },
    "annotator": {
        "description": "User id; repeat it for tasks that every given annotator annotated.",
        "schema": {"type": "array", "items": ID},
        "style": "form",
        "explode": True,
    },
    "annotator_not": {
        "description": "User id; repeat it for tasks that none of the given users annotated.",
        "schema": {"type": "array", "items": ID},
        "style": "form",
        "explode": True,
    },
    "reviewer": {
        "description": "User id; repeat it for tasks assigned to every given reviewer.",
        "schema": {"type": "array", "items": ID},
        "style": "form",
        "explode": True,
    },
    "reviewer_not": {
        "description": "User id; repeat it for tasks assigned to none of the given reviewers.",
        "schema": {"type": "array", "items": ID},
        "style": "form",
        "explode": True,
    },
    "review_status": {
        "description": "Tasks with an annotation in this review status ('none': no annotation).",
        "schema": {"type": "string", "enum": ["pending", "accepted", "fixed", "rejected", "none"]},
    },
    "state": {
        "description": (
            "Task state; repeat it for tasks in any of the given states. in_review: a "
            "reviewer holds one of its annotations now (shown instead of the stored state)."
        ),
        "schema": {"type": "array", "items": {"type": "string", "enum": list(STATE_FILTERS)}},
        "style": "form",
        "explode": True,
    },
    "ground_truth": {"description": "Has a ground-truth annotation.", "schema": _BOOLEAN},
    "agreement_min": {"description": "Task agreement at least this.", "schema": UNIT},
    "agreement_max": {"description": "Task agreement at most this.", "schema": UNIT},
    "prediction_score_min": {"description": "Best prediction score at least.", "schema": UNIT},
    "prediction_score_max": {"description": "Best prediction score at most.", "schema": UNIT},
    "agreement_empty": {
        "description": "true: no task agreement (fewer than two annotations); false: one.",
        "schema": _BOOLEAN,
    },
    "prediction_score_empty": {
        "description": "true: no prediction with a score; false: one.",
        "schema": _BOOLEAN,
    },
    "has_annotations": {"description": "Has non-skipped annotations.", "schema": _BOOLEAN},
    "skipped": {"description": "Has a skipped annotation.", "schema": _BOOLEAN},
    "q": {
        "description": "Text in the task's data (case-insensitive).",
        "schema": {"type": "string", "pattern": "^[^\\x00]*$"},
    },
    "source_id": {
        "description": "The imported file's own task id.",
        "schema": {"type": "string", "pattern": "^[^\\x00]*$"},
    },
    "label": {
        "description": "Tasks with this label, as '<control>:<label>'.",
        "schema": {"type": "string", "pattern": "^[^:].*:.*[^:]$"},
    },
    "label_source": {
        "description": "Where `label` is looked for.",
        "schema": {"type": "string", "enum": list(LABEL_SOURCES)},
    },
    "gt_confusion": {
        "description": (
            'A cell of the ground-truth confusion matrix as JSON: ["control", "answer", '
            '"truth"] (null for no answer), optionally with an annotator id as a fourth item.'
        ),
        "schema": {"type": "string", "contentMediaType": "application/json"},
    },
    "unresolved_comments": {
        "description": "'has': tasks with an unresolved comment; 'none': tasks without.",
        "schema": {"type": "string", "enum": ["has", "none"]},
    },
    "conjunction": {
        "description": (
            "'or': tasks that pass any one of the filters (a min/max pair counts as one); "
            "'and' (the default): every filter. ids and gt_confusion always narrow."
        ),
        "schema": {"type": "string", "enum": ["and", "or"], "default": "and"},
    },
}


def or_empty(schema: dict) -> dict:
    """The schema of a query parameter that may also be sent empty (an array: each item)."""
    if schema.get("type") == "array":
        return {**schema, "items": or_empty(schema["items"])}
    return {
        "anyOf": [schema, EMPTY],
        **({"default": schema["default"]} if "default" in schema else {}),
    }


OPENAPI_PARAMETERS = {
    f"table_{name}": {
        "name": name,
        "in": "query",
        "required": False,
        **spec,
        "schema": or_empty(spec["schema"]),
    }
    for name, spec in TABLE_PARAMETERS.items()
}


def table_parameters() -> list[dict]:
    return [{"$ref": f"#/components/parameters/table_{name}"} for name in TABLE_PARAMETERS]


def path_id(name: str, what: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": what, "schema": ID}


def _counts(*names: str) -> dict:
    return {name: {"type": "integer", "minimum": 0} for name in names}


_FRACTION = nullable(UNIT)
_INTERVAL = {
    "type": ["array", "null"],
    "items": UNIT,
    "minItems": 2,
    "maxItems": 2,
    "description": "[low, high] of a 95% interval; null without items",
}
_REVIEW_COUNTS = ("accepted", "fixed", "rejected", "pending")

OPENAPI_SCHEMAS: dict[str, dict] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string", "description": "What went wrong, for people"}},
    },
    "Person": {
        "type": "object",
        "required": ["id", "email"],
        "properties": {"id": ID, "email": {"type": "string"}},
    },
    "Project": {
        "type": "object",
        "required": ["id", "title", "description", "label_config", "overlap", "created_at"],
        "properties": {
            "id": ID,
            "title": {"type": "string"},
            "description": {"type": "string"},
            "label_config": {"type": "string", "description": "Label Studio XML config"},
            "overlap": {"type": "integer", "description": "Annotations wanted per task"},
            "created_at": TIMESTAMP,
        },
    },
    "Task": {
        "type": "object",
        "description": "A row of the Data Manager's table.",
        "required": [
            "id",
            "source_id",
            "state",
            "data",
            "annotation_count",
            "skipped_count",
            "annotators",
            "agreement",
            "prediction_score",
            "reviewers",
            "review_status",
            "ground_truth",
            "created_at",
        ],
        "properties": {
            "id": ID,
            "source_id": {"type": ["string", "null"], "description": "The imported file's id"},
            "state": {"type": "string", "enum": list(STATE_FILTERS)},
            "data": {"type": "object", "description": "The task's data, as imported"},
            **_counts("annotation_count", "skipped_count"),
            "annotators": {"type": "array", "items": ref("Person")},
            "agreement": {**_FRACTION, "description": "null with fewer than two annotations"},
            "prediction_score": {**_FRACTION, "description": "Best prediction's score"},
            "reviewers": {
                "type": "array",
                "items": ref("Person"),
                "description": "Assigned or who gave a verdict, by email",
            },
            "review_status": {
                "type": "object",
                "required": list(_REVIEW_COUNTS),
                "properties": _counts(*_REVIEW_COUNTS),
                "description": "Annotations by latest verdict",
            },
            "ground_truth": {"type": "boolean"},
            "unresolved_comments": {
                "type": "integer",
                "minimum": 0,
                "description": "Comments on its annotations not resolved yet",
            },
            "created_at": TIMESTAMP,
        },
    },
    "TaskList": {
        "type": "object",
        "required": ["count", "page", "page_size", "tasks"],
        "properties": {
            "count": {"type": "integer", "minimum": 0, "description": "Tasks matching"},
            "page": {"type": "integer", "minimum": 1},
            "page_size": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
            "tasks": {"type": "array", "items": ref("Task")},
        },
    },
    "JobBrief": {
        "type": "object",
        "required": ["id", "status", "progress", "url"],
        "properties": {
            "id": ID,
            "status": {
                "type": "string",
                "enum": ["queued", "running", "done", "failed", "cancelled"],
            },
            "progress": ref("JobProgress"),
            "url": {"type": "string", "format": "uri", "description": "Where to ask again"},
        },
    },
    "JobProgress": {
        "type": "object",
        "required": ["done", "total", "percent", "rate", "seconds_left"],
        "properties": {
            "done": {"type": "integer", "minimum": 0},
            "total": {"type": ["integer", "null"]},
            "percent": {"type": ["number", "null"]},
            "rate": {"type": ["number", "null"], "description": "Items per second"},
            "seconds_left": {"type": ["number", "null"]},
        },
    },
    "Job": {
        "type": "object",
        "required": [
            "id",
            "kind",
            "name",
            "project_id",
            "status",
            "progress",
            "message",
            "result",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "url",
        ],
        "properties": {
            "id": ID,
            "kind": {"type": "string", "description": "import, export, rescore, bulk..."},
            "name": {"type": "string"},
            "project_id": {"type": ["integer", "null"]},
            "status": {
                "type": "string",
                "enum": ["queued", "running", "done", "failed", "cancelled"],
            },
            "progress": ref("JobProgress"),
            "message": {"type": "string"},
            "result": {"type": ["object", "null"], "description": "Depends on the kind"},
            "error": {"type": ["string", "null"]},
            "created_at": TIMESTAMP,
            "started_at": nullable(TIMESTAMP),
            "finished_at": nullable(TIMESTAMP),
            "url": {"type": "string", "format": "uri"},
            "download_url": {
                "type": "string",
                "format": "uri",
                "description": "A done export's file, while it is kept",
            },
            "summary": ref("ImportSummary"),
        },
    },
    "JobAnswer": {
        "type": "object",
        "required": ["job"],
        "properties": {"job": ref("Job"), "message": {"type": "string"}},
    },
    "JobRunning": {
        "type": "object",
        "required": ["job"],
        "properties": {"job": ref("JobBrief")},
        "description": "The job did not finish within `wait`: ask its url again.",
    },
    "JobNotDone": {
        "type": "object",
        "required": ["error", "job"],
        "properties": {"error": {"type": "string"}, "job": ref("Job")},
        "description": "The job was cancelled meanwhile (409) or failed (500).",
    },
    "ImportSummary": {
        "type": "object",
        "description": "What an import stored: counts of tasks, annotations, predictions...",
        "properties": {"task_count": {"type": "integer", "minimum": 0}},
    },
}


def listing(key: str, item: dict) -> dict:
    """A page of a list endpoint: count, page, page_size and the items under `key`."""
    return {
        "type": "object",
        "required": ["count", "page", "page_size", key],
        "properties": {
            "count": {"type": "integer", "minimum": 0, "description": "Items in all pages"},
            "page": {"type": "integer", "minimum": 1},
            "page_size": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
            key: {"type": "array", "items": item},
        },
    }


PAGE_PARAMETERS = [
    {"$ref": "#/components/parameters/table_page"},
    {"$ref": "#/components/parameters/table_page_size"},
]
MESSAGE = obj({"message": {"type": "string"}})


def op(
    operation_id: str,
    tag: str,
    summary: str,
    ok: dict[int, dict],
    error_codes: tuple[int, ...] = (),
    *,
    parameters: list[dict] = (),
    body: dict | None = None,
    description: str = "",
    ends_own_credentials: bool = False,
) -> dict:
    """One operation answering JSON: `ok` maps success statuses to schemas; the 401 comes
    from the builder."""
    operation = {
        "operationId": operation_id,
        "tags": [tag],
        "summary": summary,
        "parameters": list(parameters),
        "responses": {
            **{str(status): json_body(schema, "Done") for status, schema in ok.items()},
            **errors(*error_codes),
        },
    }
    if description:
        operation["description"] = description
    if body is not None:
        operation["requestBody"] = {"required": True, **json_body(body, "The request")}
    if ends_own_credentials:
        operation["x-ends-own-credentials"] = True
    return operation
