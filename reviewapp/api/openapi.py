"""GET /api/openapi.json and /api/docs: the API described, built from the API modules.

How an API module describes its routes (the interface between the modules and this builder):

- A module of the package ``reviewapp.api`` may define, at its end,
  ``OPENAPI_PATHS: dict[str, dict]``: OpenAPI path template ("/api/projects/{project_id}/tasks")
  -> path item (its operations, "get", "post"...). Optional: ``OPENAPI_SCHEMAS`` (component
  schemas, "#/components/schemas/Name"), ``OPENAPI_PARAMETERS`` and ``OPENAPI_RESPONSES``.
  Modules may hold different methods of one path; a method of a path or a component name
  defined by two modules is an error (build_document raises).
- operationId = the Flask endpoint name without "api." ("tasks_api", "review_annotation");
  tests/test_openapi.py fails when a route under /api has no operation, or the reverse.
- Every operation needs the token (security scheme "token": the header
  ``Authorization: Token <token>``) unless it says ``"security": []``; the builder adds the
  401 response to those that need it.
- An operation that ends its caller's own credentials or locks a client out (deactivate a
  user, change a role, reset a password, replace or create a token, delete a project) carries
  ``"x-ends-own-credentials": true``; .ci/schemathesis.py leaves those out.
- Shared components, from reviewapp/api/schemas.py: the schema "Error" ({"error": string})
  and the error responses "#/components/responses/<Name>": BadRequest (400),
  Unauthorized (401), Forbidden (403), NotFound (404), Conflict (409), PayloadTooLarge (413),
  UnprocessableEntity (422); schemas "Person", "Project", "Task", "TaskList", "Job",
  "JobBrief", "JobAnswer", "JobRunning", "JobNotDone", "ImportSummary"; parameters
  "table_<name>" for each Data Manager filter (schemas.table_parameters() lists them all).
  Helpers: schemas.op(...) -> an operation, schemas.listing(key, item) -> a page of a list,
  schemas.errors(400, 404) -> responses, schemas.path_id(name, what),
  schemas.json_body(schema, description), schemas.ref(name).
- Keep object schemas open (no additionalProperties: false): answers gain fields.
"""

from __future__ import annotations

import copy
import importlib
import pkgutil

from flask import has_request_context, render_template, request

import reviewapp.api
from reviewapp.api import bp
from reviewapp.api.schemas import EMPTY, errors, json_body

METHODS = ("get", "put", "post", "delete", "patch")
COMPONENTS = {
    "OPENAPI_SCHEMAS": "schemas",
    "OPENAPI_PARAMETERS": "parameters",
    "OPENAPI_RESPONSES": "responses",
}
DESCRIPTION = (
    "JSON for scripts: everything a user does on the pages, with the same permission rules. "
    "Send a user's token (an admin makes one with POST /api/users/{user_id}/token or "
    "`flask --app app api-token EMAIL`) as `Authorization: Token <token>`. "
    'Errors answer `{"error": "message"}` with 400, 401, 403, 404, 409, 413 or 422. '
    "Lists take `page` and `page_size` and answer with `count` and the items under their "
    "name."
)


def build_document() -> dict:
    """The OpenAPI 3.1 document: every API module's paths and components, merged."""
    paths: dict[str, dict] = {}
    components: dict[str, dict] = {name: {} for name in COMPONENTS.values()}
    for module in _api_modules():
        for path, item in getattr(module, "OPENAPI_PATHS", {}).items():
            # Modules share a path when they hold different methods of it.
            _merge(paths.setdefault(path, {}), item, module.__name__, f"key of {path}")
        for attribute, kind in COMPONENTS.items():
            _merge(components[kind], getattr(module, attribute, {}), module.__name__, kind)
    paths = copy.deepcopy(paths)
    for item in paths.values():
        for method in METHODS:
            if method in item and item[method].get("security") != []:
                item[method].setdefault("responses", {}).update(errors(401))
    components["securitySchemes"] = {
        "token": {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <token>` (or `Bearer <token>`): a user's API token.",
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "reviewapp API", "version": "1", "description": DESCRIPTION},
        "servers": [{"url": request.host_url.rstrip("/") if has_request_context() else "/"}],
        "security": [{"token": []}],
        "tags": _tags(paths),
        "paths": dict(sorted(paths.items())),
        "components": components,
    }


def _api_modules():
    for info in pkgutil.iter_modules(reviewapp.api.__path__):
        yield importlib.import_module(f"reviewapp.api.{info.name}")


def _merge(into: dict, new: dict, module: str, kind: str) -> None:
    for name, value in new.items():
        if name in into:
            raise ValueError(f"OpenAPI {kind} {name!r} is defined twice (again in {module})")
        into[name] = value


def _tags(paths: dict) -> list[dict]:
    names = {
        tag
        for item in paths.values()
        for method in METHODS
        for tag in item.get(method, {}).get("tags", [])
    }
    return [{"name": name} for name in sorted(names)]


def operations(document: dict):
    """(path, method, operation) of every operation in the document, in path order."""
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


@bp.get("/openapi.json")
def openapi_document():
    """This document (no token: it describes the API, it holds no data)."""
    return build_document()


@bp.get("/docs")
def api_docs():
    """The document as a page: one section per tag, each operation with its parameters,
    request body fields and responses."""
    document = build_document()
    sections: dict[str, list] = {}
    for path, method, operation in operations(document):
        tag = (operation.get("tags") or ["other"])[0]
        sections.setdefault(tag, []).append(_describe(document, path, method, operation))
    return render_template("api/docs.html", document=document, sections=sections)


def _describe(document: dict, path: str, method: str, operation: dict) -> dict:
    """What the page shows of one operation, $refs resolved."""
    parameters = [_resolve(document, p) for p in operation.get("parameters", [])]
    body = _resolve(document, operation.get("requestBody", {}))
    body_types = []
    for media_type, content in body.get("content", {}).items():
        schema = _resolve(document, content.get("schema", {}))
        body_types.append({"type": media_type, "fields": _fields(document, schema)})
    responses = []
    for status, response in operation.get("responses", {}).items():
        response = _resolve(document, response)
        schema = _resolve(
            document, response.get("content", {}).get("application/json", {}).get("schema", {})
        )
        responses.append(
            {
                "status": status,
                "description": response.get("description", ""),
                "fields": _fields(document, schema),
                "media_types": list(response.get("content", {})),
            }
        )
    return {
        "path": path,
        "method": method.upper(),
        "id": operation.get("operationId", ""),
        "summary": operation.get("summary", ""),
        "description": operation.get("description", ""),
        "public": operation.get("security") == [],
        "parameters": [
            {
                "name": p["name"],
                "in": p["in"],
                "required": p.get("required", False),
                "type": _type(document, p.get("schema", {})),
                "description": p.get("description", ""),
            }
            for p in parameters
        ],
        "body": {"required": body.get("required", False), "types": body_types},
        "responses": responses,
    }


def _resolve(document: dict, node: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        target: object = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]  # type: ignore[index]
        node = target  # type: ignore[assignment]
    return node


def _fields(document: dict, schema: dict) -> list[dict]:
    """The top-level properties of an object schema: name, type, required, description
    (those of every part of an allOf, in order)."""
    if "allOf" in schema:
        return [f for part in schema["allOf"] for f in _fields(document, _resolve(document, part))]
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "type": _type(document, spec),
            "required": name in required,
            "description": _resolve(document, spec).get("description", ""),
        }
        for name, spec in schema.get("properties", {}).items()
    ]


def _type(document: dict, schema: dict) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "enum" in schema:
        return " | ".join(str(v) for v in schema["enum"])
    if "anyOf" in schema:
        kinds = [_type(document, part) for part in schema["anyOf"] if part != EMPTY]
        return " or ".join(kinds) + (" or empty" if EMPTY in schema["anyOf"] else "")
    kind = schema.get("type", "any")
    kinds = kind if isinstance(kind, list) else [kind]
    if "array" in kinds and "items" in schema:
        kinds = [
            f"array of {_type(document, schema['items'])}" if k == "array" else k for k in kinds
        ]
    return " or ".join(kinds)


OPENAPI_PATHS = {
    "/api/openapi.json": {
        "get": {
            "operationId": "openapi_document",
            "tags": ["about"],
            "summary": "This OpenAPI 3.1 document (no token needed).",
            "security": [],
            "responses": {
                "200": json_body(
                    {"type": "object", "required": ["openapi", "paths"]}, "The document"
                )
            },
        }
    },
    "/api/docs": {
        "get": {
            "operationId": "api_docs",
            "tags": ["about"],
            "summary": "The document as an HTML page (no token needed).",
            "security": [],
            "responses": {
                "200": {
                    "description": "The page",
                    "content": {"text/html": {"schema": {"type": "string"}}},
                }
            },
        }
    },
}
