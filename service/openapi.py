"""The OpenAPI document tells the truth, so the ministry's other systems can generate clients from it.

Every operation documents the error statuses it can answer, all with the one error body (`service/errors.py`), and
they are derived once, here, from what the route declares rather than written route by route: its read rule
(`service/access.py`), its dependencies (a token, the rate limits, the workflow service) and its parameters and body.
A route that answers a status its declaration does not imply says so with `responses=errors(...)`.
`tests/test_schemathesis.py` holds the document to every answer the app gives.
"""

from collections.abc import Iterator, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.params import File
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from starlette.routing import BaseRoute

from models.contracts import ROLES
from service.access import COMMAND, declared_rule
from service.deps import get_actor, get_client, get_limits
from service.errors import ErrorBody
from workflows import access

ERROR_STATUSES = {
    400: "The body cannot be read (not UTF-8 text, or a broken form)",
    401: "No token, or not a valid one",
    403: "Your role or scope does not allow this",
    404: "Not found, or not yours to see",
    409: "Not possible now; the reasons say why",
    413: "Too large",
    415: "Not a JPEG, PNG or PDF",
    422: "The request is not valid; nothing was changed",
    429: "Too many requests; see Retry-After",
    503: "A dependency does not answer; see Retry-After",
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before asking again", "schema": {"type": "string"}}}
HEADERS = {
    401: {"WWW-Authenticate": {"description": "Bearer: send a token", "schema": {"type": "string"}}},
    429: RETRY_AFTER,
    503: RETRY_AFTER,
}
ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorBody"}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=errors(413, 503)`: the statuses a route answers beyond what its declaration implies (filled in with
    the error body when the document is built)."""
    return {status: {"description": ERROR_STATUSES[status]} for status in statuses}


def already(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """`responses=already(X)` on a route that creates (201): the same request again answers 200 with what exists."""
    return {200: {"model": model, "description": "It exists already (the same request was sent before)"}}


def dependants(dependant: Dependant) -> Iterator[Dependant]:
    """The route's own dependant and every one it depends on, however deep."""
    yield dependant
    for dependency in dependant.dependencies:
        yield from dependants(dependency)


def refuses_some_role(rule: str | None) -> bool:
    """Whether the declared rule turns some role away (403): a command always can (each checks its roles); a read
    only when some role has no scope at all on the resource."""
    if rule == COMMAND:
        return True
    return rule in access.RESOURCES and any(access.READS[role][rule] == "none" for role in ROLES)


def error_statuses(route: APIRoute) -> set[int]:
    """The statuses this route can answer besides success, from what it declares."""
    rule = declared_rule(route.dependant)
    every = list(dependants(route.dependant))
    used = {d.call for d in every}
    body = [p for d in every for p in d.body_params]
    found = {status for status in route.responses if isinstance(status, int) and status >= 400}
    if body:
        found |= {400, 413, 422}  # unreadable, above the body limit (service/limits.py), invalid
    if any(isinstance(p.field_info, File) for p in body):
        found.add(415)  # a file's type is judged from its bytes (service/evidence.py)
    if any(d.path_params or d.query_params or d.header_params for d in every):
        found.add(422)
    if any(d.path_params for d in every):
        found.add(404)  # the year, unit, file or ceremony named in the path: unknown, or not yours to see
    if get_actor in used:
        found.add(401)
    if refuses_some_role(rule):
        found.add(403)
    if rule == COMMAND:
        found.add(409)  # the lifecycle refuses, or the case has ended
    if get_limits in used:
        found.add(429)
    if get_client in used:
        found.add(503)
    return found


def error_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": ERROR_STATUSES[status],
        "content": {"application/json": {"schema": ERROR_SCHEMA}},
    }
    if status in HEADERS:
        response["headers"] = HEADERS[status]
    return response


def error_schemas() -> dict[str, Any]:
    schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    return {**schema.pop("$defs", {}), "ErrorBody": schema}


def document_errors(document: dict[str, Any], routes: Sequence[BaseRoute]) -> None:
    """Each operation's error responses, replacing whatever FastAPI wrote for them."""
    for context in iter_route_contexts(routes):
        route = context.route
        operations = document["paths"].get(context.path_format) if isinstance(route, APIRoute) else None
        if operations is None:
            continue  # not in the document (the pages, the docs themselves)
        statuses = error_statuses(route)
        for method in route.methods:
            responses = operations[method.lower()]["responses"]
            responses.update({str(status): error_response(status) for status in sorted(statuses)})
    document.setdefault("components", {}).setdefault("schemas", {}).update(error_schemas())


def install(app: FastAPI) -> None:
    """`app.openapi()` (and /openapi.json, /docs) serve the document with every operation's errors."""

    def openapi() -> dict[str, Any]:
        if not app.openapi_schema:
            document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            document_errors(document, app.routes)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
