"""`audit --all` for a cycle started from the auditor's page, as a background run (service/background.py): every case
of the cycle audited one by one (`service.audit.verify_case`), each result kept for the page and its download (kept
as JSON: read back, each is a dict of CaseResult's fields)."""

from dataclasses import dataclass
from functools import partial

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import Client

from service import background
from service.audit import UnknownCase, cycle_units, verify_case
from service.settings import Settings

KIND = "audit"


@dataclass
class CaseResult:
    unit: str
    ok: bool
    differences: list[str]


async def audit_all(client: Client, engine: Engine, run: background.Run) -> None:
    with Session(engine) as session:
        units, run.warning = await cycle_units(client, session, run.year)
    run.total = len(units)
    for unit in units:
        with Session(engine) as session:
            try:
                verdict = await verify_case(client, session, run.year, unit)
                run.results.append(CaseResult(unit, verdict.ok, verdict.differences))
            except UnknownCase as e:
                run.results.append(CaseResult(unit, False, [str(e)]))
        run.done += 1
        run.counts["failed"] = sum(not r.ok for r in run.results)


def start(client: Client, engine: Engine, settings: Settings, year: int, who: str) -> background.Run:
    return background.start(engine, settings, KIND, year, who, partial(audit_all, client, engine))
