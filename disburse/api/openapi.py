"""GET /api/v1/openapi.json: the OpenAPI 3.1 document of the API, built from the routes themselves.

Every ``/api/v1`` rule of ``app.url_map`` is an operation; its view's :func:`~disburse.api.schemas.endpoint`
declaration gives the path, query and body schemas (the same Pydantic models that validate the request), the
success response's model and the errors it may answer. Who may call comes from the route's permission decorator
(public, or signed in with one of some roles: 401/403); every POST but the provider callbacks takes an
``Idempotency-Key``; every route but the health check and the callbacks is rate-limited (429); every route checks
its path and query values (422), and every POST refuses a cookie's body that is not JSON (400). Pydantic's JSON Schema
is 2020-12, OpenAPI 3.1's own dialect, so the schemas go into ``components`` as they are.

The document is public (it holds no data, only the API's shape) and built once per process, on first request.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import metadata
from typing import Any

from flask import Flask, current_app, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import models_json_schema
from werkzeug.routing import Rule

from disburse.api import bp
from disburse.api.idempotency import EXEMPT, HEADER
from disburse.api.schemas import Endpoint, ErrorResponse, ResponseModel, endpoint, spec_of
from disburse.auth.csrf import UNSAFE_METHODS
from disburse.auth.limits import UNLIMITED_ENDPOINTS
from disburse.auth.models import ROLES
from disburse.auth.permissions import PERMISSION_ATTR, public

PREFIX = "/api/v1"
#: A rule's variable, with or without its converter: ``<si_code>``, ``<int:claim_id>``.
_VARIABLE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
_REF = "#/components/schemas/{model}"
_EXTENSION = "disburse.openapi"

#: Tags in the document's order, with what they group.
TAGS = {
    "Claims": "A person's support and their claim.",
    "Forms": "The employer's forms (02 confirmations, 03 adjustments) and the person's application (Form 04).",
    "Review": "The caseworkers' review queue and its actions.",
    "Notices": "Written refusal notices.",
    "Progress": "Completion figures, from the rollups.",
    "Providers": "Payment providers' callbacks.",
    "Health": "Is the service up.",
    "Document": "This document.",
}

#: What each error status means when the route does not say more (400, 409 and 422 add to what the route says).
_ERRORS = {
    400: "bad_request: signed in by the session cookie alone, a body that is not JSON (Content-Type: "
    "application/json).",
    401: "unauthorized: no session and no valid token.",
    403: "forbidden: the caller's role may not use this route.",
    404: "not_found.",
    409: "A conflict with the current state.",
    413: "too_large: the body is over the size limit.",
    422: "invalid: every bad field in fields.",
    429: "rate_limited: too many requests; wait and try again.",
    503: "unavailable: a service we depend on did not answer; Retry-After says when to try again.",
}


class OpenApiDocument(ResponseModel):
    """This document (OpenAPI 3.1)."""

    model_config = ConfigDict(extra="allow")
    openapi: str
    info: dict[str, Any]
    servers: list[dict[str, Any]]
    tags: list[dict[str, Any]]
    security: list[dict[str, Any]]
    paths: dict[str, Any]
    components: dict[str, Any]


def api_rules(app: Flask) -> Iterator[Rule]:
    """Every rule of the JSON API, in path order."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if rule.rule.startswith(PREFIX + "/"):
            yield rule


def openapi_path(rule: Rule) -> str:
    """``/api/v1/claims/<int:claim_id>/notice`` → ``/claims/{claim_id}/notice`` (the server URL is /api/v1)."""
    return _VARIABLE.sub(r"{\1}", rule.rule[len(PREFIX) :])


def operations(app: Flask) -> Iterator[tuple[str, str, Rule]]:
    """(method, OpenAPI path, rule) for every API route and method."""
    for rule in api_rules(app):
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield method, openapi_path(rule), rule


def _plain(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema: a value that is given (not null), without the model's title and default."""
    schema = {k: v for k, v in schema.items() if k not in ("title", "default", "description")}
    options = [option for option in schema.pop("anyOf", []) if option != {"type": "null"}]
    if len(options) == 1:
        schema.update(options[0])
    elif options:
        schema["anyOf"] = options
    return schema


def _model_parameters(model: type[BaseModel] | None, where: str) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = model.model_json_schema(ref_template=_REF)
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        parameter = {"name": name, "in": where, "required": where == "path" or name in required, "schema": _plain(prop)}
        if prop.get("description"):
            parameter["description"] = prop["description"]
        parameters.append(parameter)
    return parameters


def _path_parameters(rule: Rule, spec: Endpoint) -> list[dict[str, Any]]:
    declared = {p["name"]: p for p in _model_parameters(spec.path, "path")}
    parameters = []
    for name in sorted(rule.arguments):
        if name in declared:
            parameters.append(declared[name])
            continue
        converter = type(rule._converters[name]).__name__
        schema = {"type": "integer", "minimum": 0} if converter == "IntegerConverter" else {"type": "string"}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return parameters


def _roles(view: Any) -> tuple[str, ...] | None:
    """The roles that may call the view; None when it is public."""
    permission = getattr(view, PERMISSION_ATTR, "public")
    if permission == "public":
        return None
    return tuple(permission.removeprefix("roles:").split(","))


def _idempotent(rule: Rule, method: str, roles: tuple[str, ...] | None) -> bool:
    return method == "POST" and rule.endpoint not in EXEMPT and roles is not None


def _error_codes(rule: Rule, method: str, spec: Endpoint, roles: tuple[str, ...] | None) -> list[int]:
    # 422 on every route: each checks its path and query values (schemas.validated), and one that is not any_query
    # refuses a parameter it does not take. 400 on every write: a cookie's that is not JSON (auth.csrf).
    codes = set(spec.errors) | set(spec.error_models) | {422, 503}
    if roles is not None:
        codes.add(401)
        if set(roles) != set(ROLES):
            codes.add(403)
    if _idempotent(rule, method, roles):
        codes.add(409)
    if method in UNSAFE_METHODS:
        codes |= {400, 413}
    if rule.endpoint not in UNLIMITED_ENDPOINTS:
        codes.add(429)
    return sorted(codes)


def _invalid(spec: Endpoint) -> str:
    """What a 422 names on this route: what it takes, and what no route takes."""
    what = [name for name, model in (("path", spec.path), ("query", spec.query), ("body", spec.body)) if model]
    text = f"invalid: every bad field in fields ({', '.join(what)}); " if what else "invalid, in fields: "
    text += "a path or query value with control characters or over 200 characters"
    if not spec.any_query:
        text += ", a query parameter the route does not take" if spec.query else ", any query parameter (it takes none)"
    return text + "."


def _error_text(rule: Rule, method: str, spec: Endpoint, roles: tuple[str, ...] | None, code: int) -> str:
    """The route's words for an error status; for 400, 409 and 422, with what every such route answers."""
    own = spec.errors.get(code, "")
    idempotent = _idempotent(rule, method, roles)
    if code == 400:
        return f"{own} Also {_ERRORS[400]}" if own else _ERRORS[400]
    if code == 409 and idempotent:
        return f"{own or _ERRORS[409]} With Idempotency-Key: in_progress (the first request still runs)."
    if code == 422:
        keyed = " With Idempotency-Key: idempotency_key_reused, or a malformed key." if idempotent else ""
        return f"{_invalid(spec)} {own}{keyed}".replace("  ", " ").strip()
    return own or _ERRORS.get(code, "An error.")


def _operation(
    rule: Rule, method: str, spec: Endpoint, view: Any, refs: dict[type[BaseModel], dict[str, Any]]
) -> dict[str, Any]:
    roles = _roles(view)
    operation: dict[str, Any] = {
        "operationId": rule.endpoint.removeprefix("api.").replace(".", "_"),
        "tags": [spec.tag],
        "summary": spec.summary,
    }
    description = spec.description
    if roles is not None:
        who = "any signed-in role" if set(roles) == set(ROLES) else ", ".join(roles)
        description = f"{description} Who: {who}, within their scope.".strip()
    if description:
        operation["description"] = description
    parameters = _path_parameters(rule, spec) + _model_parameters(spec.query, "query")
    if method == "POST" and rule.endpoint not in EXEMPT and roles is not None:
        parameters.append({"$ref": "#/components/parameters/IdempotencyKey"})
    for name, text in spec.headers.items():
        parameters.append(
            {"name": name, "in": "header", "required": True, "description": text, "schema": {"type": "string"}}
        )
    if parameters:
        operation["parameters"] = parameters
    if spec.body is not None:
        required = bool(spec.body.model_json_schema().get("required"))
        operation["requestBody"] = {"required": required, "content": {"application/json": {"schema": refs[spec.body]}}}
    elif spec.raw_body:
        operation["requestBody"] = {
            "required": True,
            "description": spec.raw_body,
            "content": {"application/json": {"schema": {}}},
        }
    if roles is None:
        operation["security"] = [{"webhookSignature": []}] if spec.headers else []
    success: dict[str, Any] = {"description": spec.summary}
    if spec.media_type != "application/json":
        success["content"] = {spec.media_type: {"schema": {"type": "string"}}}
    elif spec.response is not None:
        success["content"] = {"application/json": {"schema": refs[spec.response]}}
    responses: dict[str, Any] = {str(spec.status): success}
    for code in _error_codes(rule, method, spec, roles):
        model = spec.error_models.get(code, ErrorResponse)
        responses[str(code)] = {
            "description": _error_text(rule, method, spec, roles, code),
            "content": {"application/json": {"schema": refs[model]}},
        }
    operation["responses"] = responses
    return operation


def _version() -> str:
    try:
        return metadata.version("disburse")
    except metadata.PackageNotFoundError:
        return "0.1.0"


def build(app: Flask) -> dict[str, Any]:
    """The document for ``app``'s routes. Raises when an API route declares no schemas."""
    found: list[tuple[str, str, Rule, Endpoint, Any]] = []
    for method, path, rule in operations(app):
        view = app.view_functions[rule.endpoint]
        spec = spec_of(view)
        if spec is None:
            raise LookupError(f"{rule.endpoint} ({rule.rule}) declares no schemas: use disburse.api.schemas.endpoint")
        found.append((method, path, rule, spec, view))
    models: list[type[BaseModel]] = [ErrorResponse]
    for *_, spec, _view in found:
        models += [m for m in (spec.body, spec.response, *spec.error_models.values()) if m is not None]
    unique = list(dict.fromkeys(models))
    mapping, definitions = models_json_schema([(m, "validation") for m in unique], ref_template=_REF)
    refs = {model: mapping[(model, "validation")] for model in unique}
    paths: dict[str, Any] = {}
    for method, path, rule, spec, view in found:
        paths.setdefault(path, {})[method.lower()] = _operation(rule, method, spec, view, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "disburse API",
            "version": _version(),
            "description": (
                "The JSON API of disburse (Resolution 116-style cash support). Money is integer VND; dates are "
                "ISO 8601. Messages follow Accept-Language (vi, the default, or en). Generated from the schemas "
                "that validate each request."
            ),
        },
        "servers": [{"url": PREFIX}],
        "tags": [{"name": name, "description": text} for name, text in TAGS.items()],
        "security": [{"bearerToken": []}, {"sessionCookie": []}],
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "bearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token (`disburse tokens create`): Authorization: Bearer <token>.",
                },
                "sessionCookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": app.config["SESSION_COOKIE_NAME"],
                    "description": "The web session after signing in; its POSTs must be application/json.",
                },
                "webhookSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "webhook-signature",
                    "description": "Standard Webhooks: the provider's HMAC-SHA256 signature over the body.",
                },
            },
            "parameters": {
                "IdempotencyKey": {
                    "name": HEADER,
                    "in": "header",
                    "required": False,
                    "description": (
                        "A retry with the same key and request gets the first answer; the same key with another "
                        "request is a 422. Kept 24 hours."
                    ),
                    "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"},
                }
            },
        },
    }


def document(app: Flask) -> dict[str, Any]:
    """The document, built once per process."""
    if _EXTENSION not in app.extensions:
        app.extensions[_EXTENSION] = build(app)
    return app.extensions[_EXTENSION]


@bp.get("/openapi.json")
@public  # the API's shape, no data
@endpoint(
    tag="Document",
    summary="This API's OpenAPI 3.1 document",
    response=OpenApiDocument,
    any_query=True,  # a client or a documentation tool may append its own cache-buster, as to the health check
)
def openapi_document() -> ResponseReturnValue:
    return jsonify(document(current_app._get_current_object()))  # type: ignore[attr-defined]
