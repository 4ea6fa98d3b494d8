"""Cohorts over HTTP: the same bulk start as `p2ham cohort open` (service/cohort.py)."""

from typing import Annotated

from fastapi import APIRouter, Body, Query

from models.contracts import UnitInfo
from service.access import COMMAND, reads
from service.cohort import DEFAULT_CONCURRENCY, CohortResult, open_cohort
from service.deps import ActorDep, State, Year, get_client, require_role
from service.i18n import LocaleDep
from service.openapi import errors
from workflows import lifecycle

router = APIRouter(prefix="/cycles/{year}/cohorts", tags=["cohorts"])

MAX_UNITS = 20_000  # one request; larger cohorts go through `p2ham cohort open`, which shows its progress


@router.post("", dependencies=[reads(COMMAND)], responses=errors(503))  # Temporal, asked after the role
async def post_cohort(
    year: Year,
    units: Annotated[list[UnitInfo], Body(min_length=1, max_length=MAX_UNITS)],
    actor: ActorDep,
    state: State,
    locale: LocaleDep,
    concurrency: Annotated[int, Query(ge=1, le=256)] = DEFAULT_CONCURRENCY,
) -> CohortResult:
    """Register the units and start each one's case for the year (admin). Sending the same cohort again starts
    nothing twice: units that already have a case are counted as `already`; failed ones can be sent again.

    Answers once the cases are started in the workflow service, without waiting for the read model: each started case
    appears in `GET /cycles/{year}/cases` within moments, as a worker runs its first step."""
    require_role(actor, *lifecycle.COHORT_ROLES)  # before touching Temporal: a refusal needs no workflow service
    client = await get_client(state)
    result = await open_cohort(
        state.engine, client, state.settings.task_queue, year, units, actor, concurrency=concurrency
    )
    return result.in_words(locale)  # each failure's reasons in the caller's words, their codes beside them
