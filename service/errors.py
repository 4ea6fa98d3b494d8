"""The API's one error shape: {"error": code, "message": text, "why": [texts], "why_codes": [{"code", "params"}]}.

`message` and `why` are reasons (message ids with parameters, `workflows/reasons.py`), rendered in the caller's
language when the answer is written; `why_codes` carries the same reasons machine-readably, equal in every language.
"""

from collections.abc import Sequence
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.routing import Route

from service.i18n import render, request_locale
from workflows.reasons import Reason, payload_reasons, reason


class ReasonCode(BaseModel):
    code: str | None  # the catalogue's message id; null for a sentence from before reasons were data
    params: dict[str, Any]


class ErrorBody(BaseModel):
    """Every error the API answers, in the caller's language (`Content-Language`); `why_codes` equal in every one."""

    error: str
    message: str
    why: list[str]
    why_codes: list[ReasonCode]


class ApiError(Exception):
    """An answer other than success: `message` says what happened, `why` every reason, both as reasons (data)."""

    def __init__(
        self, status: int, error: str, message: Reason, why: Sequence[Reason | str] = (), headers: dict | None = None
    ) -> None:
        super().__init__(message.code)
        self.status, self.error, self.message, self.why, self.headers = status, error, message, list(why), headers


def codes(why: Sequence[Reason | str]) -> list[dict]:
    """The reasons as data. A plain string (a sentence stored before reasons were data) has no code: its text."""
    return [r.model_dump() if isinstance(r, Reason) else {"code": None, "params": {"text": r}} for r in why]


def error_response(
    request: Request,
    status: int,
    error: str,
    message: Reason,
    why: Sequence[Reason | str],
    headers: dict | None = None,
) -> JSONResponse:
    locale = request_locale(request)
    body = {
        "error": error,
        "message": render(message, locale),
        "why": [render(r, locale) for r in why],
        "why_codes": codes(why),
    }
    return JSONResponse(body, status_code=status, headers={**(headers or {}), "Content-Language": locale})


async def api_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(request, exc.status, exc.error, exc.message, exc.why, exc.headers)


def validation_reasons(exc: RequestValidationError) -> list[Reason]:
    """What is wrong with a request, field by field. A body field is named by its path in the body; a query, path or
    header parameter keeps its place."""
    errors = [{**err, "loc": err["loc"][1:] if err["loc"][:1] == ("body",) else err["loc"]} for err in exc.errors()]
    return payload_reasons(errors)


async def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(
        request, 422, "invalid_payload", reason("error.permintaan_tidak_valid"), validation_reasons(exc)
    )


def http_message(status: int) -> Reason:
    """What Starlette's own errors say, in words: a body it cannot read, a path or a method it does not know."""
    match status:
        case 400:
            return reason("error.isi_tidak_terbaca")
        case 404:
            return reason("error.alamat_tidak_ditemukan")
        case 405:
            return reason("error.metode_tidak_diizinkan")
    return reason("error.http", status=status)


def allowed_methods(request: Request) -> str:
    """Every method some route serves at this path. Starlette names only the first route that matched the path, and
    one path can be served by two routes (`GET` and `POST /cycles/{year}/cases`)."""
    methods = set()
    for context in iter_route_contexts(request.app.routes):
        route = context.route
        if isinstance(route, Route) and route.methods and route.path_regex.fullmatch(request.url.path):
            methods |= route.methods
    return ", ".join(sorted(methods))


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    return error_response(request, exc.status_code, "http_error", http_message(exc.status_code), [], headers)


def payload_or_422(model: type[BaseModel], payload: dict[str, Any], event: str) -> BaseModel:
    """The event's payload parsed, or a 422 saying what is wrong with it."""
    try:
        return model.model_validate(payload)
    except ValidationError as e:
        message = reason("error.isian_tidak_valid", event=event)
        raise ApiError(422, "invalid_payload", message, payload_reasons(e.errors())) from None
