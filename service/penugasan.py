"""Penugasan in bulk: one request assigns a team to every case of a region at a stage.

Like a ceremony it is one idempotent request with a report unit by unit, but it needs no workflow of its own: each
case's workflow decides for itself (`tugaskan` through its update, the same validator as a single request), and the
update id of each case is derived from the client's key, so a retried request is applied once per case and answers
with the same report.
"""

import asyncio
import hashlib
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlmodel import Session, select
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from models.contracts import Actor, Code, EventRequest, Penugasan
from models.tables import CaseRow
from service.errors import codes
from service.i18n import render
from workflows import lifecycle
from workflows.reasons import Reason, reason, received
from workflows.unit import CaseWorkflow, case_workflow_id

MAX_CASES = 2000  # one request; a region holds a few hundred units
CONCURRENCY = 16
STAGES = tuple(lifecycle.sources("tugaskan"))
INTERNAL_PREFIX = "p2ham-penugasan"  # internal update ids; client keys are namespaced apart (deps.client_update_id)


class BulkPenugasan(BaseModel):
    region: Code
    stage: Literal[STAGES]  # type: ignore[valid-type]
    tim: Penugasan


Outcome = Literal["applied", "refused", "failed"]


class UnitOutcome(BaseModel):
    unit: str
    outcome: Outcome
    why: list[str] = Field(default_factory=list)  # in the reader's words
    why_codes: list[dict[str, Any]] = Field(default_factory=list)  # the same reasons as data, equal in every language


def line(
    unit: str, outcome: Literal["applied", "refused", "failed"], why: Sequence[Reason | str], locale: str
) -> UnitOutcome:
    """One unit's line of the report, its reasons in the reader's words and as data."""
    return UnitOutcome(unit=unit, outcome=outcome, why=[render(r, locale) for r in why], why_codes=codes(why))


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
    client: Client, year: int, units: list[str], team: Penugasan, actor: Actor, key: str, locale: str
) -> list[UnitOutcome]:
    """Send `tugaskan` to every unit's case, a few at a time; each answer becomes the unit's line of the report, in
    the reader's language. A failure (not a refusal) can be sent again with the same key."""
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
                    return line(unit, "refused", received(cause.details[0]), locale)
                return line(unit, "failed", [reason("penugasan.belum_diterapkan")], locale)
            except RPCError as e:
                ended = e.status == RPCStatusCode.NOT_FOUND  # the case's workflow ended meanwhile
                why = reason("kasus_selesai_sebelum_diproses") if ended else reason("penugasan.belum_diterapkan")
                return line(unit, "failed", [why], locale)
        return line(unit, "applied", [], locale)

    return list(await asyncio.gather(*(one(unit) for unit in units)))
