"""Liveness and the lifecycle as data."""

from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from sqlalchemy import text
from sqlmodel import Session

from service.deps import State, get_client
from workflows import lifecycle

router = APIRouter(tags=["system"])


@router.get("/health")
async def health(state: State) -> dict[str, Any]:
    """Liveness, and whether Temporal and the database answer."""
    try:
        with Session(state.engine) as session:
            session.exec(text("SELECT 1"))
        database = True
    except Exception:
        database = False
    try:
        client = await get_client(state)
        temporal = await client.service_client.check_health(timeout=timedelta(seconds=2))
    except Exception:
        temporal = False
    return {"status": "ok", "database": database, "temporal": temporal}


@router.get("/lifecycle")
def get_lifecycle() -> dict[str, Any]:
    """The lifecycle as data: states, final states, events with their roles and transitions."""
    return lifecycle.describe()
