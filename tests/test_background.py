"""Long jobs started from a page (service/background.py) live in the database, not in a process: a second start gives
the running run (also from another engine, as another API process would), the database refuses a second running row
for a kind and cycle, the final state is written exactly, and a run whose process died (its heartbeat old) is read as
stopped and gives its place to a new start."""

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from models.db import make_engine
from models.tables import JobRunRow
from service import background
from service.settings import Settings

KIND = "uji"  # a kind of job of these tests only


class Held:
    """A job that runs until the test lets it end, then leaves a result."""

    def __init__(self) -> None:
        self.go = asyncio.Event()
        self.started = asyncio.Event()
        self.task: asyncio.Task | None = None

    async def job(self, run: background.Run) -> None:
        self.task = asyncio.current_task()
        self.started.set()
        run.total = 2
        await self.go.wait()
        run.done = 2
        run.results.append({"unit": "A", "ok": True})
        run.counts["failed"] = 0


async def ended(engine: Engine, settings: Settings, run_id: str) -> background.Run:
    """The run as read once its final state is written (a condition, looked at again until it holds)."""
    while not (run := background.get(engine, settings, KIND, run_id)).finished:
        await asyncio.sleep(0.01)
    return run


def stale_row(engine: Engine, year: int) -> str:
    """What a process killed mid-run leaves: a running row, half done, whose heartbeat stopped an hour ago."""
    long_ago, run_id = datetime.now(UTC) - timedelta(hours=1), secrets.token_urlsafe(12)
    row = JobRunRow(
        id=run_id,
        kind=KIND,
        year=year,
        started_by="uji-1",
        started_at=long_ago,
        heartbeat_at=long_ago,
        total=5,
        done=2,
        counts={},
        results=[],
        refused=[],
        finished=False,
        running=f"{KIND}:{year}",
    )
    with Session(engine) as session:
        session.add(row)
        session.commit()
    return run_id


async def test_a_second_start_answers_the_running_run_from_any_process_and_its_end_is_written_exactly(
    engine: Engine, settings: Settings, year: int
):
    held = Held()
    run = background.start(engine, settings, KIND, year, "uji-1", held.job)
    again = background.start(engine, settings, KIND, year, "uji-2", Held().job)
    other_process = make_engine(settings.database_url)  # another API process: its own engine, no shared memory
    try:
        from_there = background.start(other_process, settings, KIND, year, "uji-3", Held().job)
        seen_there = background.get(other_process, settings, KIND, run.id)
    finally:
        other_process.dispose()
    assert again.id == run.id and from_there.id == run.id and again.started_by == "uji-1"
    assert seen_there is not None and seen_there.going and seen_there.done == 0

    held.go.set()
    done = await ended(engine, settings, run.id)
    assert (done.done, done.total, done.results, done.counts) == (2, 2, [{"unit": "A", "ok": True}], {"failed": 0})
    assert not done.stopped
    # Finished, it no longer holds the cycle: the next start is a new run.
    next_one = Held()
    after = background.start(engine, settings, KIND, year, "uji-4", next_one.job)
    assert after.id != run.id
    next_one.go.set()
    await ended(engine, settings, after.id)
    assert background.get(engine, settings, "kohort", run.id) is None  # a run is found under its own kind only


def test_the_database_allows_one_running_row_per_kind_and_cycle(engine: Engine, year: int):
    stale_row(engine, year)
    with pytest.raises(IntegrityError):
        stale_row(engine, year)


async def test_a_run_whose_process_died_reads_as_stopped_and_a_new_start_takes_its_place(
    engine: Engine, settings: Settings, year: int
):
    dead = stale_row(engine, year)
    stopped = background.get(engine, settings, KIND, dead)
    assert stopped is not None and stopped.stopped and not stopped.going and stopped.done == 2

    held = Held()
    run = background.start(engine, settings, KIND, year, "uji-2", held.job)
    assert run.id != dead
    assert background.start(engine, settings, KIND, year, "uji-3", Held().job).id == run.id  # the new one, once
    held.go.set()
    await ended(engine, settings, run.id)
    still = background.get(engine, settings, KIND, dead)
    assert still is not None and still.stopped  # the dead run stays as it was left, said to have stopped


async def test_a_process_that_stops_writing_its_heartbeat_is_seen_stopped(
    engine: Engine, settings: Settings, year: int
):
    """A run cancelled mid-way (its process stopping) writes nothing more; with the interval tiny, it reads stopped."""
    held = Held()
    run = background.start(engine, settings, KIND, year, "uji-1", held.job)
    await held.started.wait()
    assert held.task is not None
    held.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await held.task
    tiny = settings.model_copy(update={"job_stopped_after_seconds": 1e-6})
    while not (seen := background.get(engine, tiny, KIND, run.id)).stopped:  # the next moment is past the interval
        await asyncio.sleep(0.01)
    assert not seen.finished
    again = Held()
    assert background.start(engine, tiny, KIND, year, "uji-2", again.job).id != run.id
    again.go.set()
