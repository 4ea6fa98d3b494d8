"""Ceremonies: one pencanangan for many units of one Kanwil. Writes go to the ceremony workflow, reads to the
read model. Each unit's case still decides for itself: the report says, unit by unit, what happened and why."""

import hashlib
from collections import Counter
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from models.contracts import Actor, CaseData, Code, Kosong, Name, Saksi
from models.tables import CaseRow, CeremonyRow, CeremonyUnitRow, UnitRow
from models.written import Moment
from service.access import COMMAND, reads, visible_ceremonies
from service.cases import now
from service.deps import (
    ActorDep,
    ClientDep,
    IdempotencyKey,
    RegionCode,
    SessionDep,
    State,
    Year,
    client_update_id,
    require_role,
    temporal_errors,
)
from service.errors import ApiError, codes, payload_or_422
from service.i18n import LocaleDep, render
from service.openapi import already
from service.records import claim_idempotency_key, refusals_logged
from service.registry import load_policy
from workflows import lifecycle
from workflows.ceremony import (
    CASE_EVENTS,
    MAX_UNITS,
    CeremonyCommand,
    CeremonyStart,
    CeremonyState,
    CeremonyStep,
    CeremonyWorkflow,
    ceremony_workflow_id,
)
from workflows.reasons import Reason, reason, received

router = APIRouter(prefix="/cycles/{year}/ceremonies", tags=["ceremonies"])

# Documented with their form; an id or event of another form is answered like an unknown one (404).
CeremonyId = Annotated[
    str, Path(description="The ceremony's id (16 hex digits)", json_schema_extra={"pattern": "^[0-9a-f]{16}$"})
]
CeremonyEvent = Annotated[
    str, Path(description="What to send to every unit", json_schema_extra={"enum": list(CASE_EVENTS)})
]

CREATORS = ("ditjen_ham", "kanwil")

# What a unit of a ceremony waits for, by its case's stage (the report says it in words).
WAITING_FOR = {
    "permohonan": reason("upacara.menunggu_persetujuan"),
    "pencanangan_terjadwal": reason("upacara.menunggu_deklarasi"),
    "dicanangkan": reason("upacara.menunggu_tanda_tangan"),
    "pembangunan": reason("upacara.sudah_pembangunan"),
}


class CeremonyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    units: list[Code] = Field(min_length=1, max_length=MAX_UNITS, json_schema_extra={"uniqueItems": True})
    jadwal: Moment
    tempat: Name
    saksi: list[Saksi] = Field(max_length=50)

    @field_validator("units")
    @classmethod
    def _distinct(cls, units: list[str]) -> list[str]:
        twice = sorted(u for u, n in Counter(units).items() if n > 1)
        if twice:
            raise PydanticCustomError("isian.unit_berulang", "units listed more than once", {"unit": twice})
        return units


class UnitReport(BaseModel):
    unit: str
    name: str
    stage: str | None  # the case's stage now, from the read model
    event: str | None  # the ceremony's latest event that went to this unit
    outcome: str | None  # applied, refused, failed; null: nothing sent to it yet
    why: list[str]  # in the reader's words
    why_codes: list[dict[str, Any]]  # the same reasons as data ({"code": null} for a sentence from an older run)
    note: str
    results: dict[str, Any]  # each ceremony event's outcome for this unit (its latest try)


class StepReport(BaseModel):
    step: int
    event: str
    at: datetime
    actor: dict[str, str]
    applied: int
    refused: int
    failed: int


class Summary(BaseModel):
    units: int
    by_stage: dict[str, int]
    awaiting_signature: list[str]  # declared units whose head has not signed: they stay dicanangkan


class CeremonyReport(BaseModel):
    year: int
    id: str
    region: str
    status: str
    closed: bool
    jadwal: datetime
    tempat: str
    saksi: list[Saksi]
    created_by: dict[str, str]
    events: list[StepReport]
    units: list[UnitReport]
    summary: Summary


class CeremonyList(BaseModel):
    year: int
    items: list[dict[str, Any]]


def load_ceremony(
    session: Session, year: int, ceremony_id: str, visible: ColumnElement[bool] | None = None
) -> CeremonyRow:
    """The ceremony; with `visible`, only if it meets that condition (else 404, as for one that does not exist)."""
    query = select(CeremonyRow).where(CeremonyRow.year == year, CeremonyRow.id == ceremony_id)
    row = session.exec(query if visible is None else query.where(visible)).first()
    if row is None:
        raise ApiError(
            404, "unknown_ceremony", reason("error.upacara_tidak_ditemukan", upacara=ceremony_id, tahun=year)
        )
    return row


def who(actor: Actor) -> dict[str, str]:
    return {"sub": actor.sub, "name": actor.name, "role": actor.role}


def grouped(reasons: list[tuple[str, Reason | str]]) -> list[Reason]:
    """(unit, reason) pairs as one reason per reason naming its units, so 60 identical refusals read as one."""
    units: dict[str, tuple[Reason | str, list[str]]] = {}
    for unit, why in reasons:
        key = why if isinstance(why, str) else why.model_dump_json()
        units.setdefault(key, (why, []))[1].append(unit)
    return [reason("untuk_unit", units=listed, alasan=why) for why, listed in units.values()]


def report(session: Session, row: CeremonyRow, locale: str) -> CeremonyReport:
    """The ceremony from the read model: its events, and per unit its case's stage now and each event's outcome."""
    state = CeremonyState.model_validate(row.data)
    members = state.start.units
    unit_rows = session.exec(
        select(CeremonyUnitRow)
        .where(CeremonyUnitRow.year == row.year, CeremonyUnitRow.ceremony == row.id)
        .order_by(CeremonyUnitRow.position)
    ).all()
    stages = {
        r.unit: r.stage
        for r in session.exec(select(CaseRow).where(CaseRow.year == row.year, col(CaseRow.unit).in_(members)))
    }
    names = {r.code: r.name for r in session.exec(select(UnitRow).where(col(UnitRow.code).in_(members)))}
    units = [
        UnitReport(
            unit=u.unit,
            name=names.get(u.unit, u.unit),
            stage=stages.get(u.unit),
            event=u.event,
            outcome=u.outcome,
            why=[render(r, locale) for r in u.why],
            why_codes=codes(received(u.why)),
            note=render(
                WAITING_FOR.get(stages.get(u.unit) or "", reason("upacara.tahap_kasus", stage=stages.get(u.unit))),
                locale,
            ),
            results=u.results,
        )
        for u in unit_rows
    ]
    steps = [
        StepReport(
            step=s.step,
            event=s.event,
            at=s.at,
            actor=who(s.actor),
            applied=s.count("applied"),
            refused=s.count("refused"),
            failed=s.count("failed"),
        )
        for s in state.steps
    ]
    summary = Summary(
        units=len(units),
        by_stage=dict(Counter(u.stage or "unknown" for u in units)),
        awaiting_signature=[u.unit for u in units if u.stage == "dicanangkan"],
    )
    return CeremonyReport(
        year=row.year,
        id=row.id,
        region=row.region,
        status=row.status,
        closed=row.closed,
        jadwal=state.jadwal,
        tempat=state.start.tempat,
        saksi=state.start.saksi,
        created_by=who(state.start.created_by),
        events=steps,
        units=units,
        summary=summary,
    )


def ceremony_id_for(key: str) -> str:
    # Derived from the Idempotency-Key, so a retried creation finds the ceremony (and workflow) it made the first time.
    return hashlib.sha256(key.encode()).hexdigest()[:16]


@router.post("", status_code=201, dependencies=[reads(COMMAND)], responses=already(CeremonyReport))
async def create_ceremony(
    year: Year,
    body: CeremonyRequest,
    actor: ActorDep,
    session: SessionDep,
    state: State,
    client: ClientDep,
    response: Response,
    idempotency_key: IdempotencyKey,
    locale: LocaleDep,
) -> CeremonyReport:
    """Set up one pencanangan for many units (all of one region). Ditjen HAM approves it next (`setujui`)."""
    payload = body.model_dump(mode="json")
    log = "ceremony:new"
    with refusals_logged(session, year, log, "buat_pencanangan", actor, payload):
        require_role(actor, *CREATORS)
        load_policy(session, year)
        ceremony_id = ceremony_id_for(idempotency_key)
        existing = session.get(CeremonyRow, (year, ceremony_id))
        if existing is not None:  # a retry: the same request gets the same ceremony, another request a 422
            claim_idempotency_key(session, year, log, idempotency_key, "buat_pencanangan", actor, payload)
            response.status_code = 200
            return report(session, existing, locale)
        cases, region = check_ceremony(session, year, body, actor)
        claim_idempotency_key(session, year, log, idempotency_key, "buat_pencanangan", actor, payload)
    start = CeremonyStart(
        year=year,
        id=ceremony_id,
        region=region,
        units=body.units,
        jadwal=body.jadwal,
        tempat=body.tempat,
        saksi=body.saksi,
        created_by=actor,
        closes_at=max(c.policy.calendar.cycle_ends for c in cases),
    )
    async with temporal_errors():
        await client.execute_update_with_start_workflow(
            CeremonyWorkflow.buat,
            start_workflow_operation=WithStartWorkflowOperation(
                CeremonyWorkflow.run,
                start,
                id=ceremony_workflow_id(year, ceremony_id),
                task_queue=state.settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            ),
        )
    session.expire_all()
    return report(session, load_ceremony(session, year, ceremony_id), locale)


def check_ceremony(session: Session, year: int, body: CeremonyRequest, actor: Actor) -> tuple[list[CaseData], str]:
    """Every reason the ceremony cannot be set up, at once: scope (403), then units, region, date and witnesses."""
    units = {r.code: r for r in session.exec(select(UnitRow).where(col(UnitRow.code).in_(body.units)))}
    if actor.role == "kanwil":
        outside = [
            (u.code, reason("unit_wilayah_lain", wilayah=u.region, wilayah_anda=actor.region))
            for u in units.values()
            if u.region != actor.region
        ]
        if outside:
            raise ApiError(403, "forbidden", reason("error.upacara_wilayah_sendiri"), grouped(outside))
    rows = {
        r.unit: r for r in session.exec(select(CaseRow).where(CaseRow.year == year, col(CaseRow.unit).in_(body.units)))
    }
    problems: list[tuple[str, Reason | str]] = []
    for code in body.units:
        if code not in units:
            problems.append((code, reason("unit_belum_terdaftar")))
        elif code not in rows:
            problems.append((code, reason("unit_belum_mengajukan", tahun=year)))
        elif rows[code].final:
            problems.append((code, reason("kasus_sudah_berakhir", tahun=year, stage=rows[code].stage)))
    why = grouped(problems)
    regions: dict[str, list[str]] = {}
    for u in units.values():
        regions.setdefault(u.region, []).append(u.code)
    if len(regions) > 1:
        found = [reason("wilayah_dan_unit", wilayah=r, units=sorted(c)) for r, c in sorted(regions.items())]
        why.append(reason("upacara_satu_wilayah", wilayah=found))
    cases = [CaseData.model_validate(rows[code].data) for code in body.units if code in rows]
    # The approval's own checks (date in the future and inside the cycle, Ditjen HAM and Forkopimda witnesses),
    # asked of each case's lifecycle now, so a ceremony that could never be approved is not set up.
    approval = lifecycle.RULES["setujui_permohonan"]
    parsed = approval.payload.model_validate(body.model_dump(exclude={"units"}))
    checked = [
        (case.unit.code, why)
        for case in cases
        for check in approval.checks
        for why in check(lifecycle.Attempt(case, actor, now()), parsed)
    ]
    why += grouped(checked)
    if why:
        raise ApiError(409, "refused", reason("error.upacara_tidak_dapat_dibuat"), why)
    return cases, next(iter(regions))


@router.get("", dependencies=[reads("ceremony")])
def list_ceremonies(year: Year, actor: ActorDep, session: SessionDep, region: RegionCode = None) -> CeremonyList:
    """The cycle's ceremonies you may see (a Kanwil: its region's), newest first, from the read model."""
    query = select(CeremonyRow).where(CeremonyRow.year == year, visible_ceremonies(actor))
    if region:
        query = query.where(CeremonyRow.region == region)
    rows = session.exec(query.order_by(col(CeremonyRow.updated_at).desc()).limit(500))
    items = [
        {
            "id": r.id,
            "region": r.region,
            "status": r.status,
            "closed": r.closed,
            "jadwal": r.data["jadwal"],
            "units": len(r.data["start"]["units"]),
        }
        for r in rows
    ]
    return CeremonyList(year=year, items=items)


@router.get("/{ceremony_id}", dependencies=[reads("ceremony")])
def get_ceremony(
    year: Year, ceremony_id: CeremonyId, actor: ActorDep, session: SessionDep, locale: LocaleDep
) -> CeremonyReport:
    """The ceremony's report: per unit, its case's stage now and whether each event was applied or refused, and why."""
    return report(session, load_ceremony(session, year, ceremony_id, visible_ceremonies(actor)), locale)


@router.post("/{ceremony_id}/events/{event}", dependencies=[reads(COMMAND)])
async def send_ceremony_event(
    year: Year,
    ceremony_id: CeremonyId,
    event: CeremonyEvent,
    actor: ActorDep,
    session: SessionDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey,
    locale: LocaleDep,
    payload: Annotated[dict[str, Any], Body()] = {},  # noqa: B006 (FastAPI copies defaults)
) -> CeremonyReport:
    """Send `setujui` (Ditjen HAM), `jadwal_ulang` or `deklarasikan` (the Kanwil of the units' region) to every unit
    of the ceremony in one request. A retried request with the same `Idempotency-Key` is applied once."""
    if event not in CASE_EVENTS:
        why = [reason("upacara_peristiwa_tidak_dikenal", nama=event, events=list(CASE_EVENTS.values()))]
        raise ApiError(404, "unknown_event", reason("error.peristiwa_tidak_dikenal"), why)
    row = load_ceremony(session, year, ceremony_id)
    log = f"ceremony:{ceremony_id}"
    with refusals_logged(session, year, log, event, actor, payload):
        case_event = CASE_EVENTS[event]
        rule = lifecycle.RULES[case_event]
        codes = CeremonyState.model_validate(row.data).start.units
        cases = session.exec(select(CaseRow).where(CaseRow.year == year, col(CaseRow.unit).in_(codes))).all()
        # Who may send it to each unit: the lifecycle's own role and scope rules (a Kanwil only in its region).
        forbidden = {
            why.model_dump_json(): why
            for c in cases
            for why in lifecycle.forbidden(CaseData.model_validate(c.data), case_event, actor)
        }
        if forbidden:
            message = reason("error.upacara_peristiwa_dilarang", event=case_event)
            raise ApiError(403, "forbidden", message, [forbidden[k] for k in sorted(forbidden)])
        # `setujui` takes nothing: it sends the ceremony's own date, place and witnesses.
        payload_or_422(rule.payload if event != "setujui" else Kosong, payload, event)
        if row.closed:
            raise ApiError(409, "ceremony_closed", reason("error.upacara_ditutup"), [closed_why(row)])
        claim_idempotency_key(session, year, log, idempotency_key, event, actor, payload)
        handle = client.get_workflow_handle(ceremony_workflow_id(year, ceremony_id))
        try:
            async with temporal_errors():
                step: CeremonyStep = await handle.execute_update(
                    CeremonyWorkflow.kirim,
                    CeremonyCommand(event=event, actor=actor, payload=payload),
                    id=client_update_id(idempotency_key),
                )
        except ApiError as e:
            if e.error != "case_closed":
                raise
            raise ApiError(409, "ceremony_closed", reason("error.upacara_ditutup"), e.why) from None
        if not step.count("applied"):
            # Not one case moved: a refusal, though the ceremony's report keeps the attempt and every reason.
            message = reason("error.upacara_tidak_diterima", event=case_event)
            raise ApiError(409, "refused", message, refusals(step))
    session.expire_all()
    return report(session, load_ceremony(session, year, ceremony_id), locale)


def refusals(step: CeremonyStep) -> list[Reason]:
    return grouped([(r.unit, why) for r in step.results if r.outcome != "applied" for why in r.why])


def closed_why(row: CeremonyRow) -> Reason:
    state = CeremonyState.model_validate(row.data)
    if state.declared_all:
        return reason("upacara_semua_dideklarasikan")
    return reason("siklus_berakhir", tanggal=state.start.closes_at.isoformat())
