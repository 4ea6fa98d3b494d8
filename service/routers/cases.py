"""Cases: apply, read, send events, read the history. Writes go to the case workflow; reads to the read model."""

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Annotated, Any, TypedDict

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import func, select
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from models.contracts import Actor, CaseData, CaseStart, CaseView, Code, EventRequest, Text, UnitInfo
from models.policy import CyclePolicy
from models.tables import CaseRow, RefusalRow, TransitionRow
from service.access import COMMAND, ReadCase, ReadHistory, lineage, log_read, reads, visible_cases
from service.deps import (
    ActorDep,
    ClientDep,
    IdempotencyKey,
    LimitsDep,
    SessionDep,
    State,
    Year,
    client_update_id,
    require_role,
    temporal_errors,
)
from service.errors import ApiError, payload_or_422
from service.records import claim_idempotency_key, refusals_logged
from service.routers.admin import load_policy, load_unit
from service.routers.evidence import resolve
from workflows import access, lifecycle
from workflows.reasons import Reason
from workflows.unit import REGION, UNIT, YEAR, CaseWorkflow, case_workflow_id

router = APIRouter(prefix="/cycles/{year}/cases", tags=["cases"])

WIB = timezone(timedelta(hours=7))


class Ajukan(BaseModel):
    unit: Code
    catatan: Text | None = None


class CaseSummary(BaseModel):
    year: int
    unit: str
    region: str
    kind: str
    stage: str
    final: bool
    seq: int
    deadline: datetime | None


class CaseList(BaseModel):
    year: int
    total: int
    items: list[CaseSummary]


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


class RefusedCommand(BaseModel):
    at: datetime
    event: str
    actor: dict[str, str]
    status: int
    why: list[str | Reason]
    payload: dict[str, Any]


class History(BaseModel):
    year: int
    unit: str
    as_of: datetime | None
    stage: str
    entries: list[HistoryEntry]
    refused: list[RefusedCommand] | None = None  # only with include_refused=true (auditors): the refusal log


def load_case(session: SessionDep, year: int, unit: str) -> CaseRow:
    row = session.get(CaseRow, (year, unit))
    if row is None:
        raise ApiError(404, "unknown_case", f"Unit {unit} has no case in the {year} cycle.")
    return row


def now() -> datetime:
    return datetime.now(UTC)


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


@router.post("", status_code=201, dependencies=[reads(COMMAND)])
async def ajukan(
    year: Year,
    body: Ajukan,
    actor: ActorDep,
    session: SessionDep,
    state: State,
    client: ClientDep,
    response: Response,
    limits: LimitsDep,
) -> CaseView:
    """A unit applies (`ajukan`): starts its case for the year. Applying again returns the same case."""
    policy = load_policy(session, year)
    payload = body.model_dump(mode="json")
    # Only the unit's own officials (and those who see every case) leave a refusal on its record.
    visible = access.scope(actor, "case") == "all" or actor.unit == body.unit
    with refusals_logged(session, year, body.unit, "ajukan", actor, payload, limits, visible):
        forbidden, why = lifecycle.application_refused(policy, body.unit, actor, now())
        if forbidden:
            raise ApiError(403, "forbidden", "You may not apply for this unit.", forbidden)
        unit = load_unit(session, body.unit)
        existing = session.get(CaseRow, (year, body.unit))
        if existing is not None and existing.final:
            ended = [f"the {year} case of {body.unit} ended at stage {existing.stage}"]
            raise ApiError(409, "case_exists", "One case per unit per year; this unit's case has ended.", ended)
        if existing is not None:
            response.status_code = 200
            return lifecycle.view(CaseData.model_validate(existing.data), actor, now())
        if why:
            raise ApiError(409, "refused", "The application cannot be accepted; nothing was changed.", why)
    session.close()  # no database connection is held while Temporal works (the pool is small, the waits long)
    case = await start_case(client, *case_start(state.settings.task_queue, year, unit, policy, actor, body.catatan))
    return lifecycle.view(case, actor, now())


@router.get("", dependencies=[reads("case")])
def list_cases(
    year: Year,
    actor: ActorDep,
    session: SessionDep,
    stage: str | None = None,
    region: str | None = None,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> CaseList:
    """Cases of a cycle from the read model that you may see; `overdue` = a deadline passed and the case is still
    open. `total` counts only the cases you may see."""
    where = [CaseRow.year == year, visible_cases(actor)]
    if stage:
        where.append(CaseRow.stage == stage)
    if region:
        where.append(CaseRow.region == region)
    if overdue:
        where += [CaseRow.final == False, CaseRow.deadline < now()]  # noqa: E712
    total = session.exec(select(func.count()).select_from(CaseRow).where(*where)).one()
    rows = session.exec(select(CaseRow).where(*where).order_by(CaseRow.unit).offset(offset).limit(limit))
    items = [CaseSummary.model_validate(row, from_attributes=True) for row in rows]
    return CaseList(year=year, total=total, items=items)


@router.get("/{unit}")
def get_case(year: Year, unit: str, row: ReadCase, actor: ActorDep, session: SessionDep) -> CaseView:
    """Stage, deadline, and the events you may send now, with the reasons for the others."""
    return lifecycle.view(CaseData.model_validate(row.data), actor, now(), lineage(session, unit))


@router.post("/{unit}/events/{event}", dependencies=[reads(COMMAND)])
async def send_event(
    year: Year,
    unit: str,
    event: str,
    actor: ActorDep,
    session: SessionDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey,
    limits: LimitsDep,
    payload: Annotated[dict[str, Any], Body()] = {},  # noqa: B006 (FastAPI copies defaults)
) -> CaseView:
    """Fire an event. A retried request with the same `Idempotency-Key` is applied once."""
    if event not in lifecycle.RULES:
        raise ApiError(
            404, "unknown_event", f"There is no event '{event}'.", [f"events: {', '.join(lifecycle.EVENTS)}"]
        )
    row = load_case(session, year, unit)
    case = CaseData.model_validate(row.data)
    visible = access.may_read(case, actor, "case")  # a refusal on a case the caller may not see is not kept
    with refusals_logged(session, year, unit, event, actor, payload, limits, visible):
        if row.final:
            raise ApiError(
                409, "case_closed", "This case has ended; nothing more can be done on it.", [f"ended at {row.stage}"]
            )
        parents = lineage(session, unit)
        forbidden = lifecycle.forbidden(case, event, actor, lineage=parents)
        if forbidden:
            raise ApiError(403, "forbidden", f"You may not send {event} on this case.", forbidden)
        parsed = payload_or_422(lifecycle.RULES[event].payload, payload, event)
        claim_idempotency_key(session, year, unit, idempotency_key, event, actor, payload)
        evidence = resolve(session, parsed, unit)
        request = EventRequest(event=event, actor=actor, payload=payload, evidence=evidence, lineage=list(parents))
        session.close()  # no database connection is held while Temporal works (the pool is small, the waits long)
        async with temporal_errors():
            result = await client.get_workflow_handle(case_workflow_id(year, unit)).execute_update(
                CaseWorkflow.kirim, request, id=client_update_id(idempotency_key)
            )
    return lifecycle.view(result, actor, now(), parents)


@router.get("/{unit}/history")
def history(
    year: Year,
    unit: str,
    row: ReadHistory,
    actor: ActorDep,
    session: SessionDep,
    as_of: datetime | date | None = None,
    include_refused: bool = False,
) -> History:
    """The case's timeline in domain words. `as_of`: what it was at that moment (a date: the end of that day, WIB).
    `include_refused` (auditors only): also the commands that were refused on the case, with who, when and why."""
    if include_refused:
        require_role(actor, "auditor")
        log_read(session, actor, year, unit, ["refusals"])
    cutoff = as_of_moment(as_of)
    query = select(TransitionRow).where(TransitionRow.year == year, TransitionRow.unit == unit)
    if cutoff is not None:
        query = query.where(TransitionRow.at <= cutoff)
    rows = list(session.exec(query.order_by(TransitionRow.seq)))
    if not rows:
        raise ApiError(404, "not_yet", f"The {year} case of {unit} did not exist yet on {cutoff.isoformat()}.")
    case = CaseData.model_validate(row.data)
    entries = [history_entry(r, case, actor) for r in rows]
    confidential = sorted({CONFIDENTIAL[e.event] for e in entries if e.event in CONFIDENTIAL and e.payload})
    if confidential:
        log_read(session, actor, year, unit, confidential)
    refused = refused_commands(session, year, unit, cutoff) if include_refused else None
    return History(year=year, unit=unit, as_of=cutoff, stage=rows[-1].target, entries=entries, refused=refused)


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


def refused_commands(session: SessionDep, year: int, unit: str, cutoff: datetime | None) -> list[RefusedCommand]:
    query = select(RefusalRow).where(RefusalRow.year == year, RefusalRow.unit == unit)
    if cutoff is not None:
        query = query.where(RefusalRow.at <= cutoff)
    return [
        RefusedCommand(
            at=r.at,
            event=r.event,
            actor={"sub": r.actor_sub, "name": r.actor_name, "role": r.actor_role},
            status=r.status,
            why=r.why,
            payload=r.payload,
        )
        for r in session.exec(query.order_by(RefusalRow.at, RefusalRow.id))
    ]


def as_of_moment(as_of: datetime | date | None) -> datetime | None:
    if as_of is None:
        return None
    try:
        if isinstance(as_of, datetime):
            return as_of.astimezone(UTC) if as_of.tzinfo else as_of.replace(tzinfo=WIB).astimezone(UTC)
        return datetime.combine(as_of, time.max, tzinfo=WIB).astimezone(UTC)
    except OverflowError:  # the first or last moment a calendar can name, moved to UTC, falls off the calendar
        raise ApiError(422, "invalid_as_of", f"as_of {as_of} is outside the calendar.") from None
