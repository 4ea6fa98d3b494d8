"""The worklist: what waits for me. From the read model and `lifecycle.view`, never a Temporal call per case.

Both doors ask it: `GET /me/tasks` (service/routers/tasks.py) and Beranda (service/pages/home.py).
"""

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Session, col, select

from models.contracts import Actor, CaseData
from models.tables import CaseRow
from service.access import lineage, visible_cases
from workflows import access, lifecycle

SCAN = 10  # at most this many pages of candidates are looked at for one page of tasks


class Task(BaseModel):
    year: int
    unit: str
    unit_name: str
    region: str
    kind: str
    zona_waktu: str  # the unit's own zone (WIB, WITA, WIT): its deadline is read there
    stage: str
    events: list[str]  # what waits for you to send it now
    deadline: datetime | None
    waiting_since: datetime | None  # when the case entered its stage
    waiting_days: float | None


class TaskList(BaseModel):
    items: list[Task]
    next_offset: int | None  # pass as `offset` for the next page; null: no more


@dataclass(frozen=True)
class Filters:
    year: int | None = None
    kind: str | None = None
    region: str | None = None
    due_before: datetime | None = None


def worklist(session: Session, actor: Actor, filters: Filters, limit: int, offset: int, now: datetime) -> TaskList:
    """Every case the official may read where an event waits for them now (a next step, not a correction or a way out
    such as a reschedule or a cancellation: `Rule.waits`), soonest deadline first (no deadline last).
    Only the cases in stages where the role has an event are looked at, in the database (indexed); `lifecycle.view`
    then decides for each case of the page. `offset` counts candidate cases, so pages never skip one."""
    stages = sorted(access.acting_stages(actor.role) - lifecycle.FINAL_STAGES)
    where = [col(CaseRow.stage).in_(stages), visible_cases(actor)]
    if filters.year is not None:
        where.append(CaseRow.year == filters.year)
    if filters.kind is not None:
        where.append(CaseRow.kind == filters.kind)
    if filters.region is not None:
        where.append(CaseRow.region == filters.region)
    if filters.due_before is not None:
        where.append(col(CaseRow.deadline) < filters.due_before)
    order = (col(CaseRow.deadline).is_(None), col(CaseRow.deadline), col(CaseRow.year), col(CaseRow.unit))
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
    events = lifecycle.view(case, actor, now, parents).waiting
    if not events:
        return None
    since = case.stage_since
    return Task(
        year=row.year,
        unit=row.unit,
        unit_name=case.unit.name,
        region=row.region,
        kind=row.kind,
        zona_waktu=case.unit.zona_waktu,
        stage=row.stage,
        events=events,
        deadline=row.deadline,
        waiting_since=since,
        waiting_days=round((now - since).total_seconds() / 86_400, 2) if since else None,
    )


def acts_at_all(actor: Actor) -> bool:
    """Whether anything can ever wait for this role (an auditor's worklist is always empty)."""
    return bool(access.acting_stages(actor.role) - lifecycle.FINAL_STAGES)
