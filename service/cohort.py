"""Cohorts: an admin opens the cases of many units at once for one cycle year.

One piece of code behind `p2ham cohort open YEAR --units FILE` and `POST /cycles/{year}/cohorts`. Each case starts
with a plain workflow start (`begin_case`), built from the same start options as a unit's own application
(`case_start`: fixed workflow id per unit and year, never reused). The start returns once Temporal has recorded the
workflow, without waiting for a worker; the workflow's first run projects the application, so the case appears in the
read model moments later (`await_read_model` waits for that; the CLI does, the endpoint does not).

Idempotent: units whose case is already in the read model are skipped without a Temporal call, and a start of a case
that exists in Temporal (started by an earlier run, even if not yet in the read model) is refused by Temporal and
counted as `already`. Running the same cohort again resumes where an interrupted run stopped and starts nothing twice.
"""

import asyncio
import csv
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import Engine
from sqlmodel import Session, func, select
from temporalio.client import Client

from models.contracts import Actor, UnitInfo
from models.policy import CyclePolicy
from models.tables import CaseRow, UnitRow
from service.cases import begin_case, case_start
from service.deps import require_role
from service.errors import ApiError
from service.i18n import render
from service.registry import load_policy
from workflows import lifecycle
from workflows.reasons import Reason, payload_reasons, reason

DEFAULT_CONCURRENCY = 32
START_TIMEOUT = 30.0  # seconds one start call may take; Temporal answers it without waiting for a worker
READ_MODEL_TIMEOUT = 60.0  # seconds the read model may go without a new case before `await_read_model` gives up
READ_MODEL_POLL = 0.5  # seconds between two counts of the cohort's cases in the read model
CHUNK = 500  # codes per IN (...) query: SQLite allows at most 32766 bound parameters
COUNT_CHUNK = 30_000  # codes per COUNT query: one query per count for any real cohort, still within that limit
CSV_COLUMNS = ("code", "name", "kind", "region")  # and optionally `parent`

StartOutcome = Literal["started", "already", "failed"]  # what opening a cohort did for one unit
Progress = Callable[[str, StartOutcome], None]


class CohortFailure(BaseModel):
    """One unit that did not start: `why_codes` the reasons as data; `why` the same in the reader's words (filled
    where the result is answered, `in_words`)."""

    unit: str
    error: str
    why: list[str] = []
    why_codes: list[Reason | str]


class CohortResult(BaseModel):
    """What a cohort run did: `started` + `already` + `failed` = `requested`. Failed units can simply be retried.

    A started case is in Temporal when the run returns; it appears in the read model (`GET /cycles/{year}/cases`)
    moments later, once a worker has run its workflow's first step."""

    year: int
    requested: int = 0
    started: int = Field(
        default=0,
        description="Cases started by this run; each appears in the read model moments after the run returns.",
    )
    already: int = Field(
        default=0, description="Units whose case existed already (in the read model, or started in Temporal)."
    )
    failed: int = 0
    failures: list[CohortFailure] = Field(default_factory=list)

    def fail(self, unit: str, error: str, why: list[Reason | str]) -> None:
        self.failed += 1
        self.failures.append(CohortFailure(unit=unit, error=error, why_codes=why))

    def add_invalid(self, invalid: Sequence[CohortFailure]) -> None:
        """Count units that never reached the run (a CSV line that is not a unit) as requested, and failed."""
        self.requested += len(invalid)
        for bad in invalid:
            self.fail(bad.unit, bad.error, bad.why_codes)

    def in_words(self, locale: str) -> "CohortResult":
        failures = [f.model_copy(update={"why": [render(r, locale) for r in f.why_codes]}) for f in self.failures]
        return self.model_copy(update={"failures": failures})


def read_units_csv(path: Path) -> tuple[list[UnitInfo], list[CohortFailure]]:
    """Units from a CSV with the columns code,name,kind,region[,parent]; a bad line is a failure, not an abort."""
    units: list[UnitInfo] = []
    bad: list[CohortFailure] = []
    with path.open(newline="", encoding="utf-8-sig") as f:  # utf-8-sig: spreadsheets often write a BOM
        reader = csv.DictReader(f)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: the header lacks the column(s) {', '.join(missing)}; expected {CSV_COLUMNS}")
        for line, row in enumerate(reader, start=2):
            fields = {k: (v or "").strip() for k, v in row.items() if k in (*CSV_COLUMNS, "parent")}
            fields["parent"] = fields.get("parent") or None
            try:
                units.append(UnitInfo.model_validate(fields))
            except ValidationError as e:
                why = [reason("pada_baris", baris=line, alasan=r) for r in payload_reasons(e.errors())]
                code = fields.get("code") or f"line {line}"
                bad.append(CohortFailure(unit=code, error="invalid_unit", why_codes=why))
    return units, bad


def chunks(items: Sequence[str], size: int = CHUNK) -> Iterable[Sequence[str]]:
    return (items[i : i + size] for i in range(0, len(items), size))


def cycle_policy(engine: Engine, year: int) -> CyclePolicy:
    with Session(engine) as session:
        return load_policy(session, year)


def register_units(engine: Engine, units: Sequence[UnitInfo]) -> None:
    """Register the units, or correct registered ones (as `POST /units` does), a chunk per transaction."""
    by_code = {u.code: u for u in units}
    with Session(engine) as session:
        for codes in chunks(list(by_code)):
            known = {row.code: row for row in session.exec(select(UnitRow).where(UnitRow.code.in_(codes)))}
            for code in codes:
                fields = by_code[code].model_dump()
                row = known.get(code)
                if row is None:
                    session.add(UnitRow(**fields))
                else:
                    for field, value in fields.items():
                        setattr(row, field, value)
                    session.add(row)
            session.commit()


def existing_cases(engine: Engine, year: int, codes: Sequence[str]) -> set[str]:
    with Session(engine) as session:
        found: set[str] = set()
        for part in chunks(codes):
            found.update(session.exec(select(CaseRow.unit).where(CaseRow.year == year, CaseRow.unit.in_(part))))
        return found


def cases_in_read_model(engine: Engine, year: int, codes: Sequence[str]) -> int:
    """How many of the units `codes` have their `year` case in the read model."""
    with Session(engine) as session:
        query = select(func.count()).select_from(CaseRow).where(CaseRow.year == year)
        return sum(session.exec(query.where(CaseRow.unit.in_(part))).one() for part in chunks(codes, COUNT_CHUNK))


async def await_read_model(
    engine: Engine,
    year: int,
    codes: Sequence[str],
    timeout: float = READ_MODEL_TIMEOUT,
    progress: Callable[[int], None] | None = None,
    poll: float = READ_MODEL_POLL,
) -> int:
    """Wait until the `year` cases of the units `codes` are all in the read model, counting every `poll` seconds.

    Returns 0 once they all are, or the number still missing once `timeout` seconds pass without a new case appearing:
    a large cohort may take a while, but no progress at all means no worker is projecting (or the database is down).
    `progress` gets the number found whenever it changes.
    """
    codes = list(dict.fromkeys(codes))
    found, last_change = -1, time.monotonic()
    while True:
        count = await asyncio.to_thread(cases_in_read_model, engine, year, codes)
        if count != found:
            found, last_change = count, time.monotonic()
            if progress is not None:
                progress(found)
        if found >= len(codes):
            return 0
        if time.monotonic() - last_change >= timeout:
            return len(codes) - found
        await asyncio.sleep(poll)


class CohortRun:
    """One run of `open_cohort` under way: its result so far, told to `progress` unit by unit as each outcome is known,
    and whether Temporal has stopped answering."""

    def __init__(self, year: int, requested: int, progress: Progress | None) -> None:
        self.result = CohortResult(year=year, requested=requested)
        self.progress = progress
        self.stalled = 0  # starts in a row that Temporal did not answer
        self.stall_reason: list[Reason | str] = []

    def record(self, unit: str, outcome: StartOutcome) -> None:
        if outcome == "started":
            self.result.started += 1
        elif outcome == "already":
            self.result.already += 1
        if self.progress is not None:
            self.progress(unit, outcome)

    def fail(self, unit: str, error: str, why: list[Reason | str]) -> None:
        self.result.fail(unit, error, why)
        self.record(unit, "failed")

    def stall(self, why: list[Reason | str]) -> None:
        """A start Temporal did not answer: after a wave of them (Temporal down), the rest is not attempted, rather
        than every start failing or waiting its full timeout."""
        self.stalled, self.stall_reason = self.stalled + 1, why

    def answered(self) -> None:
        """Temporal answered a start: the count of unanswered ones begins again."""
        self.stalled = 0

    def without_repeats(self, units: Sequence[UnitInfo]) -> dict[str, UnitInfo]:
        """Each unit once, by code: a unit listed again is a failure of its own; its first listing is the one used."""
        unique: dict[str, UnitInfo] = {}
        for unit in units:
            if unit.code in unique:
                self.fail(unit.code, "duplicate", [reason("unit_tercantum_berulang", unit=unit.code)])
            else:
                unique[unit.code] = unit
        return unique

    def finished(self) -> CohortResult:
        self.result.failures.sort(key=lambda f: f.unit)
        return self.result


async def cohort_policy(engine: Engine, year: int, actor: Actor) -> CyclePolicy:
    """The cycle's policy, once `actor` may open a cohort in it now; ApiError (403, 404, 409) otherwise."""
    require_role(actor, *lifecycle.COHORT_ROLES)
    policy = await asyncio.to_thread(cycle_policy, engine, year)
    forbidden, why = lifecycle.cohort_refused(policy, actor, datetime.now(UTC))
    if forbidden:
        raise ApiError(403, "forbidden", reason("error.kohort_dilarang"), forbidden)
    if why:
        raise ApiError(409, "refused", reason("error.kohort_tidak_dapat_dibuka"), why)
    return policy


async def start_one(
    run: CohortRun, unit: UnitInfo, start: Callable[[UnitInfo], Awaitable[bool]], timeout: float
) -> None:
    """Start one unit's case and record what came of it: one unit's failure must not stop the others."""
    try:
        started = await asyncio.wait_for(start(unit), timeout)
    except TimeoutError:
        why = [reason("alur_kerja_tidak_menjawab", detik=round(timeout))]
        run.stall(why)
        run.fail(unit.code, "timeout", why)
    except ApiError as e:
        if e.status == 503:
            run.stall([e.message])
        run.fail(unit.code, e.error, e.why or [e.message])
    except Exception as e:  # the reason is reported, the others go on
        run.fail(unit.code, "error", [reason("kesalahan_tak_terduga", jenis=type(e).__name__)])
    else:
        run.answered()
        # Not started: started by an earlier run, perhaps not yet in the read model.
        run.record(unit.code, "started" if started else "already")


async def start_all(
    run: CohortRun,
    units: Sequence[UnitInfo],
    start: Callable[[UnitInfo], Awaitable[bool]],
    concurrency: int,
    timeout: float,
) -> None:
    """Start the units' cases, `concurrency` at a time; once `concurrency` starts in a row went unanswered, the rest
    fail as not attempted."""
    queue = iter(units)

    async def starter() -> None:
        for unit in queue:  # one shared iterator: `concurrency` starters, each start taken once
            if run.stalled >= concurrency:
                run.fail(unit.code, "not_attempted", [reason("dihentikan_setelah_gagal_berulang"), *run.stall_reason])
            else:
                await start_one(run, unit, start, timeout)

    await asyncio.gather(*(starter() for _ in range(max(1, concurrency))))


async def open_cohort(
    engine: Engine,
    client: Client,
    task_queue: str,
    year: int,
    units: Sequence[UnitInfo],
    actor: Actor,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    catatan: str | None = None,
    start_timeout: float = START_TIMEOUT,
    progress: Progress | None = None,
) -> CohortResult:
    """Register `units` and start the case of each one that has none for `year`, at most `concurrency` at a time.

    Returns once the starts are answered, before the started cases are in the read model (see `await_read_model`).
    Raises ApiError (403 not an admin, 404 no such cycle, 409 applications closed) before anything is changed.
    """
    policy = await cohort_policy(engine, year, actor)
    run = CohortRun(year, len(units), progress)
    unique = run.without_repeats(units)
    # The database work runs in a thread: in the API, the event loop keeps serving other requests meanwhile.
    await asyncio.to_thread(register_units, engine, list(unique.values()))
    there = await asyncio.to_thread(existing_cases, engine, year, list(unique))
    for code in sorted(there):
        run.record(code, "already")

    def start(unit: UnitInfo) -> Awaitable[bool]:
        return begin_case(client, *case_start(task_queue, year, unit, policy, actor, catatan))

    await start_all(run, [u for u in unique.values() if u.code not in there], start, concurrency, start_timeout)
    return run.finished()
