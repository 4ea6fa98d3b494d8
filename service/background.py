"""Long jobs started from a page (audit of a whole cycle, opening a cohort): an asyncio task in the API process that
keeps its progress in memory, so the page can follow it (refreshing itself, no script needed). One run per kind and
cycle at a time: asking again while one runs answers the running one, so nothing is started twice.

Kept in this process only: behind several API processes the page must reach the one that started the run (a sticky
session), and a restart forgets the run; a page asking for a run this process does not know says so in words and
offers to run it again (service/pages/oversight_access.py `job_gone`). Both jobs are safe to run again: an audit
changes nothing, and a cohort starts only the cases that do not exist yet.
"""

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass
class Run:
    id: str
    kind: str
    year: int
    started_by: str
    started_at: datetime
    total: int | None = None  # known once the job has listed its work
    done: int = 0
    results: list[Any] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    warning: str | None = None
    failure: str | None = None  # the job stopped on an unexpected error (technical words)
    refused: list[Any] = field(default_factory=list)  # the job was refused before it changed anything: the reasons
    finished: bool = False


RUNS: dict[str, Run] = {}
_tasks: set[asyncio.Task[None]] = set()  # a reference to each running task, so none is collected mid-way


async def _run(job: Callable[[Run], Awaitable[None]], run: Run) -> None:
    try:
        await job(run)
    except Exception as e:  # Temporal or the database gone: the page says so; the run can be started again
        run.failure = str(e) or type(e).__name__
    finally:
        run.finished = True


def start(kind: str, year: int, who: str, job: Callable[[Run], Awaitable[None]]) -> Run:
    """A new run of `job` for `year`, or the one of this kind still running for it."""
    running = next((r for r in RUNS.values() if (r.kind, r.year) == (kind, year) and not r.finished), None)
    if running is not None:
        return running
    run = Run(id=secrets.token_urlsafe(12), kind=kind, year=year, started_by=who, started_at=datetime.now(UTC))
    RUNS[run.id] = run
    task = asyncio.create_task(_run(job, run))
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    return run


def get(kind: str, run_id: str) -> Run | None:
    run = RUNS.get(run_id)
    return run if run is not None and run.kind == kind else None
