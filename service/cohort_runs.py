"""Opening a cohort from the administration page, as a background run (service/background.py): the same
`open_cohort` as `POST /cycles/{year}/cohorts` and `p2ham cohort open`, over the registered units (of one region, or
all), then waiting until the started cases are in the read model. Run again, it starts nothing twice."""

from functools import partial

from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import Client

from models.contracts import Actor, UnitInfo
from models.tables import UnitRow
from service import background
from service.cohort import StartOutcome, await_read_model, open_cohort
from service.errors import ApiError
from service.settings import Settings

KIND = "kohort"


def registered_units(engine: Engine, region: str | None) -> list[UnitInfo]:
    with Session(engine) as session:
        query = select(UnitRow).order_by(UnitRow.code)
        if region:
            query = query.where(UnitRow.region == region)
        return [UnitInfo.model_validate(row, from_attributes=True) for row in session.exec(query)]


async def open_from_page(
    client: Client, engine: Engine, task_queue: str, actor: Actor, region: str | None, run: background.Run
) -> None:
    units = registered_units(engine, region)
    run.total = len(units)

    def progress(unit: str, outcome: StartOutcome) -> None:
        run.done += 1
        run.counts[outcome] = run.counts.get(outcome, 0) + 1

    try:
        result = await open_cohort(engine, client, task_queue, run.year, units, actor, progress=progress)
    except ApiError as e:
        run.refused = [e.message, *e.why]
        return
    run.results = result.failures

    def seen(n: int) -> None:
        run.counts["terlihat"] = n

    await await_read_model(engine, run.year, [u.code for u in units], progress=seen)


def start(
    client: Client, engine: Engine, settings: Settings, year: int, actor: Actor, region: str | None
) -> background.Run:
    job = partial(open_from_page, client, engine, settings.task_queue, actor, region)
    return background.start(engine, settings, KIND, year, actor.sub, job, region)
