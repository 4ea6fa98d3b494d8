"""Cases as both doors use them (the JSON API and the web pages): read one, start one, send an event to one.

Each operation checks what the lifecycle asks (`workflows/lifecycle.py`) and raises `ApiError` with the reasons; the
API answers it as JSON, the pages as an error summary. Writes go to the case workflow; reads to the read model.
"""

from datetime import UTC, date, datetime, time
from typing import Any, TypedDict

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, select
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from models.contracts import WIB, Actor, CaseData, CaseStart, EventRequest, UnitInfo
from models.policy import CyclePolicy
from models.tables import CaseRow, TransitionRow
from service.access import lineage, log_read
from service.deps import client_update_id, temporal_errors
from service.errors import ApiError, payload_or_422
from service.evidence import resolve
from service.ratelimit import RateLimits
from service.records import claim_idempotency_key, refusals_logged
from service.registry import load_policy, load_unit
from workflows import access, lifecycle
from workflows.reasons import reason
from workflows.unit import REGION, UNIT, YEAR, CaseWorkflow, case_workflow_id


def load_case(session: Session, year: int, unit: str) -> CaseRow:
    row = session.get(CaseRow, (year, unit))
    if row is None:
        raise ApiError(404, "unknown_case", reason("error.kasus_tidak_ditemukan", unit=unit, tahun=year))
    return row


def now() -> datetime:
    return datetime.now(UTC)


def this_year() -> int:
    """The cycle year it is now in Jakarta (the ministry's zone), the year a page opens on."""
    return datetime.now(WIB).year


class HistoryEntry(BaseModel):
    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)

    seq: int
    at: datetime
    event: str
    from_: str | None = Field(alias="from")
    to: str
    actor: dict[str, str]
    payload: dict[str, Any]
    hash: str


def visible_history(session: Session, actor: Actor, row: CaseRow, steps: list[TransitionRow]) -> list[HistoryEntry]:
    """The case's steps as this official may see them (`history_entry`); reading what is confidential in them
    (witnesses' personal data, score sheets) is logged."""
    case = CaseData.model_validate(row.data)
    entries = [history_entry(r, case, actor) for r in steps]
    confidential = sorted({CONFIDENTIAL[e.event] for e in entries if e.event in CONFIDENTIAL and e.payload})
    if confidential:
        log_read(session, actor, row.year, row.unit, confidential)
    return entries


def history_entry(r: TransitionRow, case: CaseData, actor: Actor) -> HistoryEntry:
    """One step as this official may see it: a score sheet in full, without its author, or without its scores
    (independent assessment, `workflows/access.py`)."""
    who = {"sub": r.actor_sub, "name": r.actor_name, "role": r.actor_role}
    payload = r.payload
    if r.event == "nilai":
        match access.score_sheet_view(case, actor, r.actor_sub):
            case "anonymous":
                who = {"sub": "", "name": "", "role": r.actor_role}
            case "hidden":
                payload = {}
    return HistoryEntry(
        seq=r.seq, at=r.at, event=r.event, from_=r.source, to=r.target, actor=who, payload=payload, hash=r.hash
    )


# Entries whose payload is confidential, and what their reading is logged as (witnesses' names and addresses).
CONFIDENTIAL = {"setujui_permohonan": "data_saksi", "deklarasikan": "data_saksi", "nilai": "lembar_nilai"}


def history_cut(moment: datetime | date) -> datetime:
    """Where a case's history "as of" a moment ends, for the API's `as_of` and the auditor's page alike: everything
    that happened up to the end of the second named is in it (a fraction of a second is not a moment an official
    names: it is dropped); a date is the whole day, WIB; a moment without a zone is WIB. The cut keeps the moment's
    zone (the first minutes a calendar can name would fall off it in UTC); compare it with aware moments."""
    if isinstance(moment, datetime):
        return (moment if moment.tzinfo else moment.replace(tzinfo=WIB)).replace(microsecond=999_999)
    return datetime.combine(moment, time.max, tzinfo=WIB)


def transitions(session: Session, year: int, unit: str, cutoff: datetime | None = None) -> list[TransitionRow]:
    """The case's steps in order (up to `cutoff`), from the read model."""
    query = select(TransitionRow).where(TransitionRow.year == year, TransitionRow.unit == unit)
    if cutoff is not None:
        query = query.where(TransitionRow.at <= cutoff)
    return list(session.exec(query.order_by(TransitionRow.seq)))


class CaseStartOptions(TypedDict):
    """Temporal's start options of a case workflow, the same for every path that starts one (`case_start`)."""

    id: str
    task_queue: str
    id_reuse_policy: WorkflowIDReusePolicy
    search_attributes: TypedSearchAttributes


def case_start(
    task_queue: str,
    year: int,
    unit: UnitInfo,
    policy: CyclePolicy,
    applicant: Actor,
    catatan: str | None = None,
) -> tuple[CaseStart, CaseStartOptions]:
    """The workflow input and start options of the unit's case for `year`: the one source for `start_case` and
    `begin_case`. The workflow id is fixed per unit and year, and never reused (one case per unit per year)."""
    start = CaseStart(case=CaseData(year=year, unit=unit, policy=policy), applicant=applicant, catatan=catatan)
    search = [
        SearchAttributePair(YEAR, year),
        SearchAttributePair(REGION, unit.region),
        SearchAttributePair(UNIT, unit.code),
    ]
    return start, CaseStartOptions(
        id=case_workflow_id(year, unit.code),
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=TypedSearchAttributes(search),
    )


async def start_case(client: Client, start: CaseStart, options: CaseStartOptions) -> CaseData:
    """Start the unit's case workflow and return the case once its application is in the read model.

    A unit's own application (`POST /cycles/{year}/cases`). Idempotent per unit and year: a second start attaches to
    the running case (USE_EXISTING) and waits as the first does.
    """
    async with temporal_errors():
        return await client.execute_update_with_start_workflow(
            CaseWorkflow.ajukan,
            start_workflow_operation=WithStartWorkflowOperation(
                CaseWorkflow.run, start, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING, **options
            ),
        )


async def begin_case(client: Client, start: CaseStart, options: CaseStartOptions) -> bool:
    """Start the unit's case workflow without waiting for a worker; False if the case exists already.

    Cohorts (service/cohort.py): Temporal answers as soon as the workflow is recorded, and the workflow projects the
    application into the read model on its first run, moments later. "Exists" includes a case started but not yet in
    the read model, and an ended one: a workflow id is never started twice (FAIL, REJECT_DUPLICATE).
    """
    try:
        async with temporal_errors():
            await client.start_workflow(
                CaseWorkflow.run, start, id_conflict_policy=WorkflowIDConflictPolicy.FAIL, **options
            )
    except WorkflowAlreadyStartedError:
        return False
    return True


async def apply(
    session: Session,
    client: Client,
    limits: RateLimits,
    task_queue: str,
    year: int,
    unit_code: str,
    actor: Actor,
    catatan: str | None,
) -> tuple[CaseData, bool]:
    """A unit applies (`ajukan`): starts its case for the year; (the case, newly started). Applying again returns
    the same case."""
    policy = load_policy(session, year)
    payload = {"unit": unit_code, "catatan": catatan}
    # Only the unit's own officials (and those who see every case) leave a refusal on its record.
    visible = access.scope(actor, "case") == "all" or actor.unit == unit_code
    with refusals_logged(session, year, unit_code, "ajukan", actor, payload, limits, visible):
        forbidden, why = lifecycle.application_refused(policy, unit_code, actor, now())
        if forbidden:
            raise ApiError(403, "forbidden", reason("error.tidak_boleh_mengajukan", unit=unit_code), forbidden)
        unit = load_unit(session, unit_code)
        existing = session.get(CaseRow, (year, unit_code))
        if existing is not None and existing.final:
            ended = [reason("kasus_sudah_berakhir", tahun=year, stage=existing.stage)]
            raise ApiError(409, "case_exists", reason("error.satu_kasus_per_tahun"), ended)
        if existing is not None:
            return CaseData.model_validate(existing.data), False
        if why:
            raise ApiError(409, "refused", reason("error.permohonan_tidak_dapat_diterima"), why)
    session.close()  # no database connection is held while Temporal works (the pool is small, the waits long)
    return await start_case(client, *case_start(task_queue, year, unit, policy, actor, catatan)), True


async def send_event(
    session: Session,
    client: Client,
    limits: RateLimits,
    year: int,
    unit: str,
    event: str,
    actor: Actor,
    payload: dict[str, Any],
    idempotency_key: str,
) -> tuple[CaseData, tuple[str, ...]]:
    """Fire an event; (the case after it, the unit's parents in the registry, which judge the conflicts of interest
    of the case's view too). A retried request with the same `idempotency_key` is applied once."""
    if event not in lifecycle.RULES:
        why = [reason("peristiwa_tidak_dikenal", nama=event)]
        raise ApiError(404, "unknown_event", reason("error.peristiwa_tidak_dikenal"), why)
    row = load_case(session, year, unit)
    case = CaseData.model_validate(row.data)
    visible = access.may_read(case, actor, "case")  # a refusal on a case the caller may not see is not kept
    with refusals_logged(session, year, unit, event, actor, payload, limits, visible):
        if row.final:
            why = [reason("kasus_sudah_berakhir", tahun=year, stage=row.stage)]
            raise ApiError(409, "case_closed", reason("error.kasus_berakhir"), why)
        parents = lineage(session, unit)
        forbidden = lifecycle.forbidden(case, event, actor, lineage=parents)
        if forbidden:
            raise ApiError(403, "forbidden", reason("error.peristiwa_dilarang", event=event), forbidden)
        parsed = payload_or_422(lifecycle.RULES[event].payload, payload, event)
        claim_idempotency_key(session, year, unit, idempotency_key, event, actor, payload)
        evidence = resolve(session, parsed, unit)
        request = EventRequest(event=event, actor=actor, payload=payload, evidence=evidence, lineage=list(parents))
        session.close()  # no database connection is held while Temporal works (the pool is small, the waits long)
        async with temporal_errors():
            result = await client.get_workflow_handle(case_workflow_id(year, unit)).execute_update(
                CaseWorkflow.kirim, request, id=client_update_id(idempotency_key)
            )
    return result, parents
