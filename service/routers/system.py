"""Liveness, readiness, metrics and the lifecycle as data."""

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy import text
from sqlmodel import Session

from service import docs
from service.access import PUBLIC, reads
from service.deps import RETRY_AFTER, State, get_client
from service.errors import ApiError
from service.observability import metrics
from service.openapi import errors
from workflows import lifecycle
from workflows.reasons import reason

router = APIRouter(tags=["system"])


async def dependencies(state: State) -> dict[str, bool]:
    """Whether the database and Temporal answer now."""
    try:
        with Session(state.engine) as session:
            session.exec(text("SELECT 1"))
        database = True
    except Exception:
        database = False
    try:
        client = await get_client(state)
        temporal = await client.service_client.check_health(timeout=timedelta(seconds=5))
    except Exception:
        temporal = False
    return {"database": database, "temporal": temporal}


@router.get("/health", dependencies=[reads(PUBLIC)])
async def health(state: State) -> dict[str, Any]:
    """Liveness (this process answers), with what it sees of its dependencies."""
    return {"status": "ok", **await dependencies(state)}


@router.get("/ready", dependencies=[reads(PUBLIC)], responses=errors(503))
async def ready(state: State) -> dict[str, Any]:
    """Readiness: 200 only while both Temporal and the database answer, else 503 with what is missing."""
    seen = await dependencies(state)
    names = {"temporal": reason("layanan.temporal"), "database": reason("layanan.basis_data")}
    missing = [reason("layanan_tidak_menjawab", layanan=names[name]) for name, ok in seen.items() if not ok]
    if missing:
        raise ApiError(503, "not_ready", reason("error.layanan_belum_siap"), missing, headers=RETRY_AFTER)
    return {"status": "ready", **seen}


def prometheus_metrics() -> Response:
    """Prometheus metrics of the API: requests, latencies and errors per route."""
    return metrics()


@router.get("/lifecycle", dependencies=[reads(PUBLIC)])
def get_lifecycle() -> dict[str, Any]:
    """The lifecycle as data: states, final states, events with their roles and transitions (identifiers), and
    `names`: the display name of every state, event and role, per language (`id`, `en`)."""
    return {**lifecycle.describe(), "names": docs.display_names()}
