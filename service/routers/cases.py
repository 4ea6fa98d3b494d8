"""Cases: apply, read, send events, read the history. Writes go to the case workflow; reads to the read model."""

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel
from sqlmodel import func, select

from models.contracts import CaseData, CaseView, Code, Text
from models.tables import CaseRow, RefusalRow
from service import cases
from service.access import COMMAND, ReadCase, ReadHistory, lineage, log_read, reads, visible_cases
from service.cases import HistoryEntry, history_cut, now, transitions, visible_history
from service.deps import (
    ActorDep,
    CaseEvent,
    ClientDep,
    DateOrMoment,
    IdempotencyKey,
    LimitsDep,
    RegionCode,
    SessionDep,
    Stage,
    State,
    UnitCode,
    Year,
    require_role,
)
from service.errors import ApiError, codes
from service.i18n import LocaleDep, in_words, render
from service.openapi import already
from workflows import lifecycle
from workflows.reasons import reason, received

router = APIRouter(prefix="/cycles/{year}/cases", tags=["cases"])

HistoryAsOf = Annotated[
    DateOrMoment | None,
    Query(
        description="The history as it stood at the end of this second (a fraction of a second is dropped: what "
        "happened during the second is in), or of this day for a date; a moment without a zone is WIB. The auditor's "
        "page cuts its chosen day, minute or second the same way."
    ),
]


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


class RefusedCommand(BaseModel):
    at: datetime
    event: str
    actor: dict[str, str]
    status: int
    why: list[str]  # in the reader's words (a row from before reasons were data: its sentence as written)
    why_codes: list[dict[str, Any]]
    payload: dict[str, Any]


class History(BaseModel):
    year: int
    unit: str
    as_of: datetime | None
    stage: str
    entries: list[HistoryEntry]
    refused: list[RefusedCommand] | None = None  # only with include_refused=true (auditors): the refusal log


@router.post("", status_code=201, dependencies=[reads(COMMAND)], responses=already(CaseView))
async def ajukan(
    year: Year,
    body: Ajukan,
    actor: ActorDep,
    session: SessionDep,
    state: State,
    client: ClientDep,
    response: Response,
    limits: LimitsDep,
    locale: LocaleDep,
) -> CaseView:
    """A unit applies (`ajukan`): starts its case for the year. Applying again returns the same case."""
    case, started = await cases.apply(
        session, client, limits, state.settings.task_queue, year, body.unit, actor, body.catatan
    )
    if not started:
        response.status_code = 200
    return in_words(lifecycle.view(case, actor, now()), locale)


@router.get("", dependencies=[reads("case")])
def list_cases(
    year: Year,
    actor: ActorDep,
    session: SessionDep,
    stage: Stage | None = None,
    region: RegionCode = None,
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
def get_case(
    year: Year, unit: UnitCode, row: ReadCase, actor: ActorDep, session: SessionDep, locale: LocaleDep
) -> CaseView:
    """Stage, deadline, and the events you may send now, with the reasons for the others."""
    return in_words(lifecycle.view(CaseData.model_validate(row.data), actor, now(), lineage(session, unit)), locale)


@router.post("/{unit}/events/{event}", dependencies=[reads(COMMAND)])
async def send_event(
    year: Year,
    unit: UnitCode,
    event: CaseEvent,
    actor: ActorDep,
    session: SessionDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey,
    limits: LimitsDep,
    locale: LocaleDep,
    payload: Annotated[dict[str, Any], Body()] = {},  # noqa: B006 (FastAPI copies defaults)
) -> CaseView:
    """Fire an event. A retried request with the same `Idempotency-Key` is applied once."""
    result, parents = await cases.send_event(
        session, client, limits, year, unit, event, actor, payload, idempotency_key
    )
    return in_words(lifecycle.view(result, actor, now(), parents), locale)


@router.get("/{unit}/history")
def history(
    year: Year,
    unit: UnitCode,
    row: ReadHistory,
    actor: ActorDep,
    session: SessionDep,
    locale: LocaleDep,
    as_of: HistoryAsOf = None,
    include_refused: bool = False,
) -> History:
    """The case's timeline in domain words. `as_of`: what it was at the end of that second (a date: of that day, WIB).
    `include_refused` (auditors only): also the commands that were refused on the case, with who, when and why."""
    if include_refused:
        require_role(actor, "auditor")
        log_read(session, actor, year, unit, ["refusals"])
    cutoff = as_of_moment(as_of)
    rows = transitions(session, year, unit, cutoff)
    if not rows:
        message = reason("error.kasus_belum_ada", unit=unit, tahun=year, tanggal=cutoff.isoformat())
        raise ApiError(404, "not_yet", message)
    entries = visible_history(session, actor, row, rows)
    refused = refused_commands(session, year, unit, cutoff, locale) if include_refused else None
    return History(year=year, unit=unit, as_of=cutoff, stage=rows[-1].target, entries=entries, refused=refused)


def refused_commands(
    session: SessionDep, year: int, unit: str, cutoff: datetime | None, locale: str
) -> list[RefusedCommand]:
    query = select(RefusalRow).where(RefusalRow.year == year, RefusalRow.unit == unit)
    if cutoff is not None:
        query = query.where(RefusalRow.at <= cutoff)
    return [
        RefusedCommand(
            at=r.at,
            event=r.event,
            actor={"sub": r.actor_sub, "name": r.actor_name, "role": r.actor_role},
            status=r.status,
            why=[render(w, locale) for w in r.why],
            why_codes=codes(received(r.why)),
            payload=r.payload,
        )
        for r in session.exec(query.order_by(RefusalRow.at, RefusalRow.id))
    ]


def as_of_moment(as_of: datetime | date | None) -> datetime | None:
    """The history's cut (`cases.history_cut`, as the auditor's page cuts it), in UTC as the database compares."""
    if as_of is None:
        return None
    try:
        return history_cut(as_of).astimezone(UTC)
    except OverflowError:  # the first or last moment a calendar can name, moved to UTC, falls off the calendar
        raise ApiError(422, "invalid_as_of", reason("error.tanggal_di_luar_kalender", tanggal=str(as_of))) from None
