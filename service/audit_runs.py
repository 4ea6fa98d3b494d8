"""`audit --all` for a cycle started from the auditor's page: a background task in the API process that audits every
case of the cycle one by one (`service.audit.verify_case`) and keeps its progress and result table in memory, so the
page can follow it. One run per cycle at a time: asking again while one runs answers the running one.

Kept in this process only: behind several API processes the page must reach the one that started the run (a sticky
session), and a restart forgets the run (its result is a download, the audit itself can be run again at any time).
"""

import asyncio
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import Client

from service.audit import UnknownCase, cycle_units, verify_case


@dataclass
class CaseResult:
    unit: str
    ok: bool
    differences: list[str]


@dataclass
class AuditRun:
    id: str
    year: int
    started_by: str
    started_at: datetime
    total: int | None = None  # known once the cycle's cases are listed
    results: list[CaseResult] = field(default_factory=list)
    warning: str | None = None
    failure: str | None = None
    finished: bool = False

    @property
    def failed(self) -> int:
        return sum(not r.ok for r in self.results)


RUNS: dict[str, AuditRun] = {}
_tasks: set[asyncio.Task[None]] = set()  # a reference to each running task, so none is collected mid-way


async def audit_all(client: Client, engine: Engine, run: AuditRun) -> None:
    try:
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
    except Exception as e:  # Temporal or the database gone: the page says so; the run can be started again
        run.failure = repr(e)
    finally:
        run.finished = True


def start(client: Client, engine: Engine, year: int, who: str) -> AuditRun:
    """A new run for `year`, or the one still running for it."""
    running = next((r for r in RUNS.values() if r.year == year and not r.finished), None)
    if running is not None:
        return running
    run = AuditRun(id=secrets.token_urlsafe(12), year=year, started_by=who, started_at=datetime.now(UTC))
    RUNS[run.id] = run
    task = asyncio.create_task(audit_all(client, engine, run))
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    return run
