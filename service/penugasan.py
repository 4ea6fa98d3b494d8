"""Penugasan in bulk: one request assigns a team to every case of a region at a stage.

Like a ceremony it is one idempotent request with a report unit by unit, but it needs no workflow of its own: each
case's workflow decides for itself (`tugaskan` through its update, the same validator as a single request), and the
update id of each case is derived from the request's key, so a retried request is applied once per case and answers
with the same report. A case that already holds exactly this team is not sent it again (its history would only
repeat the entry), so a second request with another key assigns nothing twice either. The API
(`POST /cycles/{year}/penugasan`) and the Administrasi page both call `assign_region`.
"""

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlmodel import Session, select
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from models.contracts import Actor, CaseData, Code, EventRequest, Penugasan
from models.tables import CaseRow
from service.deps import require_role
from service.errors import codes
from service.i18n import render
from service.records import claim_idempotency_key, refusals_logged
from service.registry import load_policy
from workflows import lifecycle
from workflows.access import JUDGES
from workflows.ceremony import EventOutcome
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


class UnitOutcome(BaseModel):
    unit: str
    outcome: EventOutcome
    why: list[str] = Field(default_factory=list)  # in the reader's words
    why_codes: list[dict[str, Any]] = Field(default_factory=list)  # the same reasons as data, equal in every language


def line(unit: str, outcome: EventOutcome, why: Sequence[Reason | str], locale: str) -> UnitOutcome:
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


def cases_at(session: Session, year: int, region: str, stage: str) -> list[CaseRow]:
    """The cases of the region now at the stage (the read model), by unit code."""
    query = (
        select(CaseRow)
        .where(CaseRow.year == year, CaseRow.region == region, CaseRow.stage == stage)
        .order_by(CaseRow.unit)
        .limit(MAX_CASES)
    )
    return list(session.exec(query))


def team_of(row: CaseRow) -> Penugasan | None:
    return CaseData.model_validate(row.data).penugasan


def same_team(a: Penugasan | None, b: Penugasan) -> bool:
    """The same officials in the same roles (the order they were listed in does not matter)."""
    return a is not None and all(sorted(a.members(role)) == sorted(b.members(role)) for role in JUDGES)


@dataclass(frozen=True)
class Planned:
    """A case the request applies to, as the read model has it now: its team, whether it holds this team already
    (not sent again), and what the lifecycle says of `tugaskan` for it now (empty: it will be assigned)."""

    unit: str
    team: Penugasan | None
    holding: bool
    why: list[Reason]


def plan(session: Session, year: int, request: BulkPenugasan, actor: Actor, now: datetime) -> list[Planned]:
    """The preview of a request: its cases and the lifecycle's answer for each; each case's workflow still decides
    when the request is sent."""
    payload = request.tim.model_dump(mode="json")
    planned = []
    for row in cases_at(session, year, request.region, request.stage):
        case = CaseData.model_validate(row.data)
        holding = same_team(case.penugasan, request.tim)
        why = [] if holding else lifecycle.refused(case, "tugaskan", actor, now, payload)
        planned.append(Planned(row.unit, case.penugasan, holding, why))
    return planned


def check(session: Session, year: int, request: BulkPenugasan, actor: Actor, key: str) -> None:
    """Who may send it, that the cycle exists, and that the key belongs to this request; a refusal is logged for the
    auditors under the region, as the API logs a refused command."""
    payload = request.model_dump(mode="json")
    scope = f"penugasan:{request.region}"
    with refusals_logged(session, year, scope, "tugaskan", actor, payload):
        require_role(actor, *lifecycle.RULES["tugaskan"].roles)
        load_policy(session, year)
        claim_idempotency_key(session, year, scope, key, "tugaskan", actor, payload)


async def assign_region(
    session: Session, client: Client, year: int, request: BulkPenugasan, actor: Actor, key: str, locale: str
) -> BulkReport:
    """The whole request: checked, then `tugaskan` sent to every case of the region at the stage that does not hold
    this team yet; the report names every case, its reasons in the reader's language."""
    check(session, year, request, actor, key)
    rows = cases_at(session, year, request.region, request.stage)
    holding = [row.unit for row in rows if same_team(team_of(row), request.tim)]
    session.close()  # no database connection is held while Temporal works
    to_send = [row.unit for row in rows if row.unit not in holding]
    sent = await assign(client, year, to_send, request.tim, actor, key, locale)
    outcomes = sorted([*sent, *(line(unit, "applied", [], locale) for unit in holding)], key=lambda o: o.unit)
    count = {o: sum(u.outcome == o for u in outcomes) for o in ("applied", "refused", "failed")}
    return BulkReport(
        year=year, region=request.region, stage=request.stage, requested=len(rows), units=outcomes, **count
    )


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
