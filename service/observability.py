"""Operations: JSON logs that name the case on every line, and Prometheus metrics for the API."""

import json
import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, datetime

from fastapi import Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

CASE: ContextVar[str | None] = ContextVar("p2ham_case", default=None)

REQUESTS = Counter("p2ham_api_requests_total", "API requests", ["method", "route", "status"])
ERRORS = Counter("p2ham_api_errors_total", "API answers 5xx", ["method", "route", "status"])
LATENCY = Histogram(
    "p2ham_api_request_seconds", "API latency", ["method", "route"], buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10)
)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the case id: the API's request, or the Temporal workflow being worked on."""

    def format(self, record: logging.LogRecord) -> str:
        temporal = getattr(record, "temporal_workflow", None) or getattr(record, "temporal_activity", None) or {}
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "case": CASE.get() or temporal.get("workflow_id"),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)


def case_id(request: Request) -> str | None:
    params = request.path_params
    if "year" in params and "unit" in params:
        return f"p2ham-{params['year']}-{params['unit']}"
    return None


async def observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Count, time and log every request under its route template (not its raw path: units are unbounded)."""
    started = time.perf_counter()
    response = await call_next(request)
    route = getattr(request.scope.get("route"), "path", "unmatched")
    token = CASE.set(case_id(request))
    try:
        method, status = request.method, str(response.status_code)
        REQUESTS.labels(method, route, status).inc()
        LATENCY.labels(method, route).observe(time.perf_counter() - started)
        if response.status_code >= 500:
            ERRORS.labels(method, route, status).inc()
        logging.getLogger("p2ham.api").info("%s %s %s", method, request.url.path, status)
    finally:
        CASE.reset(token)
    return response


def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
