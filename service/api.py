"""The thin API: authenticates, checks roles cheaply, and hands every change to the case workflow."""

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from temporalio.client import Client

from models.db import make_engine
from service import openapi, pages
from service.access import PUBLIC, reads
from service.auth import TokenVerifier
from service.deps import AppState, year_in_range
from service.errors import ApiError, api_error_handler, http_error_handler, validation_error_handler
from service.limits import BodyLimit
from service.observability import configure_logging, observe
from service.ratelimit import RateLimits
from service.routers import (
    admin,
    audit,
    cases,
    ceremonies,
    cohorts,
    dashboard,
    documents,
    drafts,
    evidence,
    notifications,
    penugasan,
    rencana,
    system,
    tasks,
)
from service.settings import Settings, UnsafeSettings, check_production, get_settings

# The JSON API's routers after the system's, in the order the docs list them.
ROUTERS = (
    admin,
    cases,
    evidence,
    audit,
    ceremonies,
    documents,
    cohorts,
    dashboard,
    notifications,
    drafts,
    penugasan,
    tasks,
    rencana,
)


def create_app(settings: Settings | None = None, client: Client | None = None) -> FastAPI:
    """The app; tests pass their own settings and Temporal client, `uvicorn service.api:app` uses the environment."""
    settings = settings or get_settings()
    check_production(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.p2ham.engine.dispose()

    app = FastAPI(
        title="P2HAM lifecycle service",
        description="Pelayanan Publik Berbasis HAM: from permohonan to Predikat Unit Kerja P2HAM.",
        version="0.1.0",
        lifespan=lifespan,
        dependencies=[Depends(year_in_range)],
        docs_url=settings.docs_path or None,
        redoc_url="/redoc" if settings.docs_path else None,
        openapi_url="/openapi.json" if settings.docs_path else None,
    )
    app.state.p2ham = AppState(
        settings=settings,
        engine=make_engine(settings.database_url),
        verifier=TokenVerifier(settings),
        limits=RateLimits(settings),
        client=client,
    )
    app.middleware("http")(observe)
    # JSON bodies stay small; an upload may be as large as the evidence limit plus its multipart wrapping.
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, upload_limit=settings.evidence_max_bytes + 64 * 1024)
    app.add_exception_handler(ApiError, api_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(HTTPException, http_error_handler)
    app.include_router(system.router)
    if settings.metrics_path:  # P2HAM_METRICS_PATH: moved, or empty to turn it off
        app.add_api_route(
            settings.metrics_path,
            system.prometheus_metrics,
            methods=["GET"],
            response_class=Response,
            dependencies=[reads(PUBLIC)],
            tags=["system"],
        )
    for module in ROUTERS:
        app.include_router(module.router)
    pages.mount(app, settings, app.state.p2ham.engine)
    openapi.install(app)
    return app


def __getattr__(name: str) -> FastAPI:
    # `uvicorn service.api:app` builds the app on first use, so importing this module has no side effects.
    if name == "app":
        configure_logging(get_settings().log_level)
        try:
            return create_app()
        except UnsafeSettings as e:
            print(f"p2ham api: {e}", file=sys.stderr, flush=True)
            raise SystemExit(2) from None
    raise AttributeError(name)
