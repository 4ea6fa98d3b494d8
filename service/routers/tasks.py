"""The worklist: what waits for me. From the read model and `lifecycle.view`, never a Temporal call per case."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlmodel import Session, col, select

from models.contracts import Actor, CaseData, UnitKind
from models.tables import CaseRow
from models.written import Moment
from service.access import lineage, reads, visible_cases
from service.deps import ActorDep, QueryYear, RegionCode, SessionDep
from workflows import access, lifecycle

router = APIRouter(prefix="/me/tasks", tags=["cases"])

SCAN = 10  # at most this many pages of candidates are looked at for one page of tasks


class Task(BaseModel):
    year: int
    unit: str
    region: str
    kind: str
    stage: str
    events: list[str]  # what you may send now
    deadline: datetime | None
    waiting_since: datetime | None  # when the case entered its stage
    waiting_days: float | None


class TaskList(BaseModel):
    items: list[Task]
    next_offset: int | None  # pass as `offset` for the next page; null: no more


@router.get("", dependencies=[reads("case")])
def my_tasks(
    actor: ActorDep,
    session: SessionDep,
    year: QueryYear = None,
    kind: UnitKind | None = None,
    region: RegionCode = None,
    due_before: Moment | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> TaskList:
    """Every case you may read where you may send an event now, soonest deadline first (no deadline last). Only the
    cases in stages where your role has an event are looked at, in the database (indexed); `lifecycle.view` then
    decides for each case of the page. `offset` counts candidate cases, so pages never skip one."""
    stages = sorted(access.acting_stages(actor.role) - lifecycle.FINAL_STAGES)
    where = [col(CaseRow.stage).in_(stages), visible_cases(actor)]
    if year is not None:
        where.append(CaseRow.year == year)
    if kind is not None:
        where.append(CaseRow.kind == kind)
    if region is not None:
        where.append(CaseRow.region == region)
    if due_before is not None:
        where.append(col(CaseRow.deadline) < due_before)
    order = (col(CaseRow.deadline).is_(None), col(CaseRow.deadline), col(CaseRow.year), col(CaseRow.unit))
    now = datetime.now(UTC)
    tasks: list[Task] = []
    position = offset
    for _ in range(SCAN):
        rows = list(session.exec(select(CaseRow).where(*where).order_by(*order).offset(position).limit(limit)))
        for row in rows:
            position += 1
            task = task_of(session, row, actor, now)
            if task is not None:
                tasks.append(task)
                if len(tasks) == limit:
                    return TaskList(items=tasks, next_offset=position)
        if len(rows) < limit:
            return TaskList(items=tasks, next_offset=None)
    return TaskList(items=tasks, next_offset=position)


def task_of(session: Session, row: CaseRow, actor: Actor, now: datetime) -> Task | None:
    case = CaseData.model_validate(row.data)
    parents = lineage(session, row.unit) if actor.role in access.JUDGES else ()
    events = lifecycle.view(case, actor, now, parents).allowed
    if not events:
        return None
    since = case.stage_since
    return Task(
        year=row.year,
        unit=row.unit,
        region=row.region,
        kind=row.kind,
        stage=row.stage,
        events=events,
        deadline=row.deadline,
        waiting_since=since,
        waiting_days=round((now - since).total_seconds() / 86_400, 2) if since else None,
    )
