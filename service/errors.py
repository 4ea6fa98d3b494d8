"""The API's one error shape: {"error": code, "message": human text, "why": [...]}."""

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException


class ApiError(Exception):
    def __init__(
        self, status: int, error: str, message: str, why: list[str] | None = None, headers: dict | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.why, self.headers = status, error, message, why or [], headers


def error_response(status: int, error: str, message: str, why: list[str], headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "message": message, "why": why}, status_code=status, headers=headers)


async def api_error_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.error, exc.message, exc.why, exc.headers)


async def validation_error_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    why = [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()]
    return error_response(422, "invalid_payload", "The request is not valid; nothing was changed.", why)


async def http_error_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, "http_error", str(exc.detail), [], getattr(exc, "headers", None))


def payload_or_422(model: type[BaseModel], payload: dict[str, Any], event: str) -> BaseModel:
    """The event's payload parsed, or a 422 saying what is wrong with it."""
    from workflows.lifecycle import payload_errors

    try:
        return model.model_validate(payload)
    except ValidationError as e:
        message = f"The {event} payload is not valid; nothing was changed."
        raise ApiError(422, "invalid_payload", message, payload_errors(e)) from None
