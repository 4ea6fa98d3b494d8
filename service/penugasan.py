"""Penugasan in bulk: one request assigns a team to every case of a region at a stage.

Like a ceremony it is one idempotent request with a report unit by unit, but it needs no workflow of its own: each
case's workflow decides for itself (`tugaskan` through its update, the same validator as a single request), and the
update id of each case is derived from the client's key, so a retried request is applied once per case and answers
with the same report.
"""

import asyncio
import hashlib
from typing import Literal

from pydantic import BaseModel, Field
from sqlmodel import Session, select
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from models.contracts import Actor, Code, EventRequest, Penugasan
from models.tables import CaseRow
from workflows import lifecycle
from workflows.reasons import Reason, received
from workflows.unit import CaseWorkflow, case_workflow_id

MAX_CASES = 2000  # one request; a region holds a few hundred units
CONCURRENCY = 16
STAGES = tuple(lifecycle.sources("tugaskan"))
INTERNAL_PREFIX = "p2ham-penugasan"  # internal update ids; client keys are namespaced apart (deps.client_update_id)


class BulkPenugasan(BaseModel):
    region: Code
    stage: Literal[STAGES]  # type: ignore[valid-type]
    tim: Penugasan


class UnitOutcome(BaseModel):
    unit: str
    outcome: Literal["applied", "refused", "failed"]
    why: list[str | Reason] = Field(default_factory=list)


class BulkReport(BaseModel):
    year: int
    region: str
    stage: str
    requested: int
    applied: int
    refused: int
    failed: int
    units: list[UnitOutcome]


def update_id(key: str, unit: str) -> str:
    """The case's update id for this request: from the client's key, never equal to a key a client could send to
    one case (that one is namespaced as a client key)."""
    return f"{INTERNAL_PREFIX}:{hashlib.sha256(key.encode()).hexdigest()[:32]}:{unit}"


def cases_at(session: Session, year: int, region: str, stage: str) -> list[str]:
    query = (
        select(CaseRow.unit)
        .where(CaseRow.year == year, CaseRow.region == region, CaseRow.stage == stage)
        .order_by(CaseRow.unit)
        .limit(MAX_CASES)
    )
    return list(session.exec(query))


async def assign(
    client: Client, year: int, units: list[str], team: Penugasan, actor: Actor, key: str
) -> list[UnitOutcome]:
    """Send `tugaskan` to every unit's case, a few at a time; each answer becomes the unit's line of the report."""
    gate = asyncio.Semaphore(CONCURRENCY)
    payload = team.model_dump(mode="json")

    async def one(unit: str) -> UnitOutcome:
        request = EventRequest(event="tugaskan", actor=actor, payload=payload)
        async with gate:
            try:
                await client.get_workflow_handle(case_workflow_id(year, unit)).execute_update(
                    CaseWorkflow.kirim, request, id=update_id(key, unit)
                )
            except WorkflowUpdateFailedError as e:
                cause = e.cause
                if isinstance(cause, ApplicationError) and cause.type == "Refused" and cause.details:
                    return UnitOutcome(unit=unit, outcome="refused", why=received(cause.details[0]))
                return UnitOutcome(unit=unit, outcome="failed", why=[str(cause)])
            except RPCError as e:
                return UnitOutcome(unit=unit, outcome="failed", why=[e.message])
        return UnitOutcome(unit=unit, outcome="applied")

    return list(await asyncio.gather(*(one(unit) for unit in units)))
