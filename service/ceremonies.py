"""Ceremonies as both doors use them (the JSON API and the Upacara pages): one pencanangan for many units of one
Kanwil. Writes go to the ceremony workflow, reads to the read model. Each unit's case still decides for itself: the
report says, unit by unit, what happened and why. A refusal is an `ApiError` with its reasons."""

import hashlib
from collections import Counter
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from models.contracts import Actor, CaseData, Code, Kosong, Name, Saksi
from models.tables import CaseRow, CeremonyRow, CeremonyUnitRow, UnitRow
from models.written import Moment
from service.access import visible_cases, visible_ceremonies
from service.cases import now
from service.deps import client_update_id, require_role, temporal_errors
from service.errors import ApiError, codes, payload_or_422
from service.i18n import render
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

CREATORS = ("ditjen_ham", "kanwil")
CREATE = "buat_pencanangan"  # how a creation is named in the refusal log and the idempotency keys
NEW_LOG = "ceremony:new"

# What a unit of a ceremony waits for, by its case's stage (the report says it in words).
WAITING_FOR = {
    lifecycle.Stage.permohonan: reason("upacara.menunggu_persetujuan"),
    lifecycle.Stage.pencanangan_terjadwal: reason("upacara.menunggu_deklarasi"),
    lifecycle.Stage.dicanangkan: reason("upacara.menunggu_tanda_tangan"),
    lifecycle.Stage.pembangunan: reason("upacara.sudah_pembangunan"),
}


def waiting_for(stage: str | None) -> Reason:
    """What a unit of a ceremony waits for at its case's stage; past the ceremony's stages, the stage itself."""
    return WAITING_FOR.get(stage or "", reason("upacara.tahap_kasus", stage=stage))


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


class CeremonyItem(BaseModel):
    id: str
    region: str
    status: str
    closed: bool
    jadwal: datetime
    tempat: str
    units: int


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


def readable_ceremony(session: Session, actor: Actor, year: int, ceremony_id: str) -> CeremonyRow:
    """The ceremony, if this official may read it (a Kanwil: its region's); else 404."""
    return load_ceremony(session, year, ceremony_id, visible_ceremonies(actor))


def listed(session: Session, actor: Actor, year: int, region: str | None = None) -> list[CeremonyItem]:
    """The cycle's ceremonies this official may see (a Kanwil: its region's), newest first, from the read model."""
    query = select(CeremonyRow).where(CeremonyRow.year == year, visible_ceremonies(actor))
    if region:
        query = query.where(CeremonyRow.region == region)
    rows = session.exec(query.order_by(col(CeremonyRow.updated_at).desc()).limit(500))
    return [
        CeremonyItem(
            id=r.id,
            region=r.region,
            status=r.status,
            closed=r.closed,
            jadwal=r.data["jadwal"],
            tempat=r.data["start"]["tempat"],
            units=len(r.data["start"]["units"]),
        )
        for r in rows
    ]


def who(actor: Actor) -> dict[str, str]:
    return {"sub": actor.sub, "name": actor.name, "role": actor.role}


def grouped(reasons: list[tuple[str, Reason | str]]) -> list[Reason]:
    """(unit, reason) pairs as one reason per reason naming its units, so 60 identical refusals read as one."""
    units: dict[str, tuple[Reason | str, list[str]]] = {}
    for unit, why in reasons:
        key = why if isinstance(why, str) else why.model_dump_json()
        units.setdefault(key, (why, []))[1].append(unit)
    return [reason("untuk_unit", units=listed, alasan=why) for why, listed in units.values()]


def unit_reports(session: Session, row: CeremonyRow, members: list[str], locale: str) -> list[UnitReport]:
    """Each unit in the ceremony's order: its name, its case's stage now and what it waits for, and the outcome of
    each ceremony event sent to it, with the reasons in the reader's words."""
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
    return [
        UnitReport(
            unit=u.unit,
            name=names.get(u.unit, u.unit),
            stage=stages.get(u.unit),
            event=u.event,
            outcome=u.outcome,
            why=[render(r, locale) for r in u.why],
            why_codes=codes(received(u.why)),
            note=render(waiting_for(stages.get(u.unit)), locale),
            results=u.results,
        )
        for u in unit_rows
    ]


def step_report(step: CeremonyStep) -> StepReport:
    """One ceremony event sent: who sent it when, and how many units it moved, refused, or could not reach."""
    return StepReport(
        step=step.step,
        event=step.event,
        at=step.at,
        actor=who(step.actor),
        applied=step.count("applied"),
        refused=step.count("refused"),
        failed=step.count("failed"),
    )


def summary(units: list[UnitReport]) -> Summary:
    return Summary(
        units=len(units),
        by_stage=dict(Counter(u.stage or "unknown" for u in units)),
        awaiting_signature=[u.unit for u in units if u.stage == "dicanangkan"],
    )


def report(session: Session, row: CeremonyRow, locale: str) -> CeremonyReport:
    """The ceremony from the read model: its events, and per unit its case's stage now and each event's outcome."""
    state = CeremonyState.model_validate(row.data)
    units = unit_reports(session, row, state.start.units, locale)
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
        events=[step_report(s) for s in state.steps],
        units=units,
        summary=summary(units),
    )


def ceremony_id_for(key: str) -> str:
    # Derived from the Idempotency-Key, so a retried creation finds the ceremony (and workflow) it made the first time.
    return hashlib.sha256(key.encode()).hexdigest()[:16]


async def create(
    session: Session,
    client: Client,
    task_queue: str,
    year: int,
    body: CeremonyRequest,
    actor: Actor,
    idempotency_key: str,
    locale: str,
) -> tuple[CeremonyReport, bool]:
    """Set up one pencanangan for many units (all of one region); (its report, newly created). Ditjen HAM approves
    it next (`setujui`). A retried request with the same key gets the same ceremony, another request a 422."""
    payload = body.model_dump(mode="json")
    with refusals_logged(session, year, NEW_LOG, CREATE, actor, payload):
        require_role(actor, *CREATORS)
        load_policy(session, year)
        ceremony_id = ceremony_id_for(idempotency_key)
        existing = session.get(CeremonyRow, (year, ceremony_id))
        if existing is not None:
            claim_idempotency_key(session, year, NEW_LOG, idempotency_key, CREATE, actor, payload)
            return report(session, existing, locale), False
        cases, region = check_ceremony(session, year, body, actor)
        claim_idempotency_key(session, year, NEW_LOG, idempotency_key, CREATE, actor, payload)
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
                task_queue=task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            ),
        )
    session.expire_all()
    return report(session, load_ceremony(session, year, ceremony_id), locale), True


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


def unknown_event(event: str) -> ApiError:
    why = [reason("upacara_peristiwa_tidak_dikenal", nama=event, events=list(CASE_EVENTS.values()))]
    return ApiError(404, "unknown_event", reason("error.peristiwa_tidak_dikenal"), why)


def member_cases(session: Session, row: CeremonyRow) -> list[CaseData]:
    units = CeremonyState.model_validate(row.data).start.units
    found = session.exec(select(CaseRow).where(CaseRow.year == row.year, col(CaseRow.unit).in_(units))).all()
    return [CaseData.model_validate(c.data) for c in found]


def forbidden(cases: list[CaseData], event: str, actor: Actor) -> list[Reason]:
    """Who may send a ceremony event to its units: the lifecycle's own role and scope rules (a Kanwil only in its
    region), each distinct reason once."""
    found = {
        why.model_dump_json(): why for case in cases for why in lifecycle.forbidden(case, CASE_EVENTS[event], actor)
    }
    return [found[k] for k in sorted(found)]


def sendable(session: Session, row: CeremonyRow, actor: Actor) -> list[str]:
    """The ceremony events this official may send now: open, theirs to send, and a unit left to send them to."""
    if row.closed:
        return []
    state = CeremonyState.model_validate(row.data)
    cases = member_cases(session, row)
    return [e for e in CASE_EVENTS if state.targets(e) and not forbidden(cases, e, actor)]


async def send(
    session: Session,
    client: Client,
    year: int,
    ceremony_id: str,
    event: str,
    actor: Actor,
    payload: dict[str, Any],
    idempotency_key: str,
    locale: str,
) -> CeremonyReport:
    """Send `setujui` (Ditjen HAM), `jadwal_ulang` or `deklarasikan` (the Kanwil of the units' region) to every unit
    of the ceremony at once. A retried request with the same `idempotency_key` is applied once. Not one unit moved:
    a refusal with every unit's reasons (the ceremony's report keeps the attempt)."""
    if event not in CASE_EVENTS:
        raise unknown_event(event)
    row = load_ceremony(session, year, ceremony_id)
    log = f"ceremony:{ceremony_id}"
    with refusals_logged(session, year, log, event, actor, payload):
        case_event = CASE_EVENTS[event]
        rule = lifecycle.RULES[case_event]
        why = forbidden(member_cases(session, row), event, actor)
        if why:
            raise ApiError(403, "forbidden", reason("error.upacara_peristiwa_dilarang", event=case_event), why)
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


# --- What the Upacara page offers to choose from ------------------------------------------------------------------

# The stages a unit can join a new ceremony from: those where its approval (which the ceremony sends first) applies.
JOINING_STAGES = tuple(lifecycle.sources("setujui_permohonan"))


def regions_waiting(session: Session, actor: Actor, year: int) -> list[str]:
    """The regions with cases this official may see that wait for a ceremony (their approval)."""
    query = select(CaseRow.region).where(
        CaseRow.year == year, col(CaseRow.stage).in_(JOINING_STAGES), visible_cases(actor)
    )
    return sorted(set(session.exec(query.distinct())))


def candidates(session: Session, actor: Actor, year: int, region: str) -> list[CaseData]:
    """The cases of the region this official may see that can join a ceremony, by unit code (at most a ceremony's
    worth)."""
    query = (
        select(CaseRow)
        .where(
            CaseRow.year == year,
            CaseRow.region == region,
            col(CaseRow.stage).in_(JOINING_STAGES),
            visible_cases(actor),
        )
        .order_by(CaseRow.unit)
        .limit(MAX_UNITS)
    )
    return [CaseData.model_validate(r.data) for r in session.exec(query)]
