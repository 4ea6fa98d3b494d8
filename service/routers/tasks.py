"""`GET /me/tasks`: the worklist (service/worklist.py), as JSON."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from models.contracts import UnitKind
from models.written import Moment
from service.access import reads
from service.deps import ActorDep, QueryYear, RegionCode, SessionDep
from service.worklist import Filters, TaskList, worklist

router = APIRouter(prefix="/me/tasks", tags=["cases"])


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
    """Every case you may read where a step waits for you now (not an option that is always there, such as extending
    a window or cancelling: `Rule.waits` in the lifecycle), soonest deadline first (no deadline last). Only the
    cases in stages where your role has an event are looked at, in the database (indexed); `lifecycle.view` then
    decides for each case of the page. `offset` counts candidate cases, so pages never skip one."""
    filters = Filters(year=year, kind=kind, region=region, due_before=due_before)
    return worklist(session, actor, filters, limit, offset, datetime.now(UTC))
