"""Long jobs started from a page (audit of a whole cycle, opening a cohort): an asyncio task in the API process that
was asked, whose progress is kept in the read-model database (table `job_run`), so the page can follow it from any
API process (refreshing itself, no script needed): no sticky session, and a restart forgets nothing written.

One run per kind and cycle at a time, across processes: while a run may still be going its row holds the unique key
`running` ("kind:year"), so a second start finds that run and answers it instead of starting another; the database,
not a process's memory, decides.

The process running a job writes its progress with a heartbeat every `job_heartbeat_seconds` (the units done in
between are one write, not one each) and its final state exactly when the job ends. A run whose heartbeat is older
than `job_stopped_after_seconds` lost its process (a restart, a crash): its page says it stopped ("terhenti") and
offers to run it again, and a new start for that kind and cycle takes over its key. Both jobs are safe to run again:
an audit changes nothing, and a cohort starts only the cases that do not exist yet. A run id the database does not
know is a page in words (service/pages/oversight_access.py `job_gone`).
"""

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models.tables import JobRunRow
from service.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Run:
    id: str
    kind: str
    year: int
    started_by: str
    started_at: datetime
    region: str | None = None  # the region a cohort is opened for (None: all)
    total: int | None = None  # known once the job has listed its work
    done: int = 0
    results: list[Any] = field(default_factory=list)  # kept as JSON: read back, each is a dict
    counts: dict[str, int] = field(default_factory=dict)
    warning: str | None = None
    failure: str | None = None  # the job stopped on an unexpected error (technical words)
    refused: list[Any] = field(default_factory=list)  # the job was refused before it changed anything: the reasons
    finished: bool = False
    stopped: bool = False  # as read: not finished, and its process has written no heartbeat for a while

    @property
    def going(self) -> bool:
        return not (self.finished or self.stopped)


Job = Callable[[Run], Awaitable[None]]
_tasks: set[asyncio.Task[None]] = set()  # a reference to each running task, so none is collected mid-way


def _key(kind: str, year: int) -> str:
    return f"{kind}:{year}"


def _stopped(row: JobRunRow, settings: Settings) -> bool:
    age = datetime.now(UTC) - row.heartbeat_at
    return not row.finished and age > timedelta(seconds=settings.job_stopped_after_seconds)


def _from_row(row: JobRunRow, settings: Settings) -> Run:
    return Run(**row.model_dump(exclude={"heartbeat_at", "running"}), stopped=_stopped(row, settings))


def _progress(run: Run) -> tuple[object, ...]:
    """What a write of the run's progress would change, cheaply compared (results only grow)."""
    counts = tuple(sorted(run.counts.items()))
    return run.total, run.done, len(run.results), len(run.refused), counts, run.warning, run.failure, run.finished


def _write(engine: Engine, run: Run, progress: bool) -> None:
    """The heartbeat, with the run's progress when it changed (and its end: the key released)."""
    values: dict[str, Any] = {"heartbeat_at": datetime.now(UTC)}
    if progress:
        values |= {
            "total": run.total,
            "done": run.done,
            "counts": dict(run.counts),
            "results": to_jsonable_python(run.results),
            "warning": run.warning,
            "failure": run.failure,
            "refused": to_jsonable_python(run.refused),
            "finished": run.finished,
        }
    if run.finished:
        values["running"] = None
    with Session(engine) as session:
        session.exec(update(JobRunRow).where(JobRunRow.id == run.id).values(**values))
        session.commit()


async def _keep_written(engine: Engine, run: Run, every: float) -> None:
    """Every `every` seconds while the job runs: a heartbeat, and the progress made since the last write."""
    written: tuple[object, ...] = ()  # the row as inserted: nothing done yet
    while True:
        await asyncio.sleep(every)
        now = _progress(run)
        try:
            _write(engine, run, progress=now != written)
            written = now
        except Exception:  # the database away for a moment: the next beat tries again; long away, the run shows stopped
            log.exception("job %s: its progress could not be written", run.id)


async def _run(engine: Engine, settings: Settings, job: Job, run: Run) -> None:
    writer = asyncio.create_task(_keep_written(engine, run, settings.job_heartbeat_seconds))
    try:
        await job(run)
    except Exception as e:  # Temporal or the database gone: the page says so; the run can be started again
        run.failure = str(e) or type(e).__name__
    finally:
        writer.cancel()  # cancelled too (the process stopping): no more heartbeats, so the run shows it stopped
    run.finished = True
    _write(engine, run, progress=True)


def start(
    engine: Engine, settings: Settings, kind: str, year: int, who: str, job: Job, region: str | None = None
) -> Run:
    """A new run of `job` for `year`, or the run of this kind for it still going, in any process. A run that stopped
    (no heartbeat) gives up its key to the new one."""
    key = _key(kind, year)
    while True:
        with Session(engine) as session:
            current = session.exec(select(JobRunRow).where(JobRunRow.running == key)).first()
            if current is not None:
                if not _stopped(current, settings):
                    return _from_row(current, settings)
                release = update(JobRunRow).where(JobRunRow.id == current.id, JobRunRow.running == key)
                session.exec(release.values(running=None))
            now = datetime.now(UTC)
            run = Run(secrets.token_urlsafe(12), kind, year, who, now, region)
            # The row keeps the run's fields but `stopped`, which is read from its heartbeat.
            session.add(JobRunRow.model_validate(asdict(run) | {"heartbeat_at": now, "running": key}))
            try:
                session.commit()
            except IntegrityError:  # another process started one at the same moment: the next look finds it
                continue
        task = asyncio.create_task(_run(engine, settings, job, run))
        _tasks.add(task)
        task.add_done_callback(_tasks.discard)
        return run


def get(engine: Engine, settings: Settings, kind: str, run_id: str) -> Run | None:
    """A run as last written, whichever process runs it; None for an id the database does not know."""
    with Session(engine) as session:
        row = session.get(JobRunRow, run_id)
    return _from_row(row, settings) if row is not None and row.kind == kind else None
