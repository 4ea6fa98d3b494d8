"""The cycle dashboard: counts per stage and region, overdue cases, pass rates, median days per stage; and for the
dashboard page also the reporting rate against the days left in the window and the coverage per Kanwil.

Answered from the read model with a few indexed GROUP BY queries, never with a Temporal call per case. The JSON
endpoint (service/routers/dashboard.py) and the page (service/pages/dasbor.py) both call `build`.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, select

from models.contracts import Actor
from models.policy import CyclePolicy
from models.tables import CaseRow, CycleRow, TransitionRow, UnitRow
from service.access import visible_cases
from service.errors import ApiError
from service.rencana import Plans, plan_numbers, plan_rows
from service.routers.cases import CaseSummary
from service.spreadsheet import csv_text
from workflows.lifecycle import Stage, onward
from workflows.reasons import reason

# The outcome groups as the programme counts them: an evaluation passed (whatever happened to the award after it)
# against an evaluation or verification failed; of those passed, the ones that were awarded.
PASSED = onward(Stage.lolos_evaluasi)  # passed the evaluation, whatever came of the award after
AWARDED = onward(Stage.berpredikat)
FAILED = frozenset((Stage.tidak_lolos,))
SECONDS_PER_DAY = 86_400
# Medians read every stay in the audit log (about ten rows per case): far costlier than the counts, and they move
# slowly, so they are kept this long per (database, year, filter). `median_days_as_of` says when they were computed.
MEDIANS_TTL = 60.0


class PassRates(BaseModel):
    passed: int
    failed: int
    awarded: int
    pass_rate: float | None  # passed / (passed + failed); None before any result
    award_rate: float | None  # awarded / passed


class Dashboard(BaseModel):
    year: int
    region: str | None
    kind: str | None
    total: int
    by_stage: dict[str, int]
    by_region: dict[str, dict[str, int]]
    overdue_total: int
    overdue: list[CaseSummary]  # as `GET .../cases?overdue=true` lists them: the most overdue first, at most N
    pass_rates: PassRates
    median_days: dict[str, float]  # per stage: days from entering it to leaving it, over the stays that ended
    median_days_as_of: datetime
    plans: Plans  # the action plans per region and nationally (service/rencana.py)


def case_filters(year: int, region: str | None, kind: str | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [CaseRow.year == year]
    if region:
        where.append(CaseRow.region == region)
    if kind:
        where.append(CaseRow.kind == kind)
    return where


def counts(session: Session, where: list[ColumnElement[bool]]) -> dict[str, dict[str, int]]:
    """{region: {stage: n}} in one GROUP BY over the (year, region, stage) / (year, kind, region, stage) indexes."""
    query = select(CaseRow.region, CaseRow.stage, func.count()).where(*where).group_by(CaseRow.region, CaseRow.stage)
    by_region: dict[str, dict[str, int]] = {}
    for region, stage, n in session.exec(query):
        by_region.setdefault(region, {})[stage] = n
    return by_region


def overdue(
    session: Session, where: list[ColumnElement[bool]], now: datetime, limit: int, actor: Actor
) -> tuple[int, list[CaseRow]]:
    """The overdue cases the caller may see (the counts per stage and region stay open to every role)."""
    late = [*where, visible_cases(actor), CaseRow.final == False, CaseRow.deadline < now]  # noqa: E712 (SQL)
    total = session.exec(select(func.count()).select_from(CaseRow).where(*late)).one()
    rows = list(session.exec(select(CaseRow).where(*late).order_by(CaseRow.deadline, CaseRow.unit).limit(limit)))
    return total, rows


def seconds_between(session: Session, earlier: Any, later: Any) -> ColumnElement[float]:
    if session.get_bind().dialect.name == "sqlite":  # datetimes are text there; julianday() reads them
        return (func.julianday(later) - func.julianday(earlier)) * SECONDS_PER_DAY
    return func.extract("epoch", later - earlier)


def median_days(session: Session, year: int, region: str | None, kind: str | None) -> dict[str, float]:
    """Median time per stage between entering it and leaving it, from the audit log, computed in the database.

    A self-transition (nilai, perpanjang, jadwal_ulang) does not leave the stage, so it is left out; then each
    remaining entry leaves its `source`, which the previous remaining entry of the same case entered.
    """
    t = TransitionRow
    moves = select(
        t.source.label("stage"),
        t.at.label("left_at"),
        func.lag(t.at).over(partition_by=t.unit, order_by=t.seq).label("entered_at"),
    ).where(t.year == year, or_(t.source.is_(None), t.source != t.target))
    if region or kind:
        moves = moves.where(t.unit.in_(select(CaseRow.unit).where(*case_filters(year, region, kind))))
    m = moves.subquery()
    stays = select(
        m.c.stage, (seconds_between(session, m.c.entered_at, m.c.left_at) / SECONDS_PER_DAY).label("days")
    ).where(m.c.stage.is_not(None), m.c.entered_at.is_not(None))
    s = stays.subquery()
    ranked = select(
        s.c.stage,
        s.c.days,
        func.row_number().over(partition_by=s.c.stage, order_by=s.c.days).label("rn"),
        func.count().over(partition_by=s.c.stage).label("n"),
    ).subquery()
    middle = or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2)  # one or two middles
    query = select(ranked.c.stage, func.avg(ranked.c.days)).where(middle).group_by(ranked.c.stage)
    return {stage: float(days) for stage, days in session.exec(query)}


T = TypeVar("T")
CACHE_KEPT = 256  # results remembered at once; the least recently used is forgotten first


class Cache:
    """Results per (name, database, year, region, kind) for MEDIANS_TTL seconds, at most CACHE_KEPT of them (LRU),
    each computed by one request at a time: the others asking for the same key wait for its answer instead of
    repeating the query. Sync endpoints and pages run in a thread pool, hence threads and locks."""

    def __init__(self) -> None:
        self.entries: OrderedDict[tuple, tuple[float, datetime, Any]] = OrderedDict()
        self.computing: dict[tuple, threading.Lock] = {}
        self.lock = threading.Lock()

    def _fresh(self, key: tuple) -> tuple[datetime, Any] | None:
        with self.lock:
            hit = self.entries.get(key)
            if hit is None or hit[0] <= time.monotonic():
                return None
            self.entries.move_to_end(key)
            return hit[1], hit[2]

    def get(self, key: tuple, compute: Callable[[], T], on_miss: Callable[[], None]) -> tuple[datetime, T]:
        if (hit := self._fresh(key)) is not None:
            return hit
        with self.lock:
            gate = self.computing.setdefault(key, threading.Lock())
        with gate:
            if (hit := self._fresh(key)) is not None:  # computed while this request waited
                return hit
            on_miss()  # an expensive computation: counted against the caller's limit (service/ratelimit.py)
            computed = datetime.now(UTC), compute()
            with self.lock:
                self.entries[key] = (time.monotonic() + MEDIANS_TTL, *computed)
                self.entries.move_to_end(key)
                while len(self.entries) > CACHE_KEPT:
                    self.entries.popitem(last=False)
                self.computing.pop(key, None)
            return computed


_cache = Cache()


def cached(
    name: str,
    session: Session,
    year: int,
    region: str | None,
    kind: str | None,
    compute: Callable[[], T],
    on_miss: Callable[[], None] = lambda: None,
) -> tuple[datetime, T]:
    """`compute()` kept MEDIANS_TTL seconds per (name, database, year, filter), with the moment it was computed."""
    return _cache.get((name, str(session.get_bind().url), year, region, kind), compute, on_miss)


def cached_median_days(
    session: Session, year: int, region: str | None, kind: str | None, on_miss: Callable[[], None] = lambda: None
) -> tuple[datetime, dict[str, float]]:
    compute = lambda: median_days(session, year, region, kind)  # noqa: E731
    return cached("median_days", session, year, region, kind, compute, on_miss)


def pass_rates(by_stage: dict[str, int]) -> PassRates:
    passed = sum(by_stage.get(s, 0) for s in PASSED)
    failed = sum(by_stage.get(s, 0) for s in FAILED)
    awarded = sum(by_stage.get(s, 0) for s in AWARDED)
    return PassRates(
        passed=passed,
        failed=failed,
        awarded=awarded,
        pass_rate=passed / (passed + failed) if passed + failed else None,
        award_rate=awarded / passed if passed else None,
    )


def build(
    session: Session,
    year: int,
    region: str | None,
    kind: str | None,
    overdue_limit: int,
    actor: Actor,
    on_miss: Callable[[], None] = lambda: None,
) -> Dashboard:
    now = datetime.now(UTC)
    where = case_filters(year, region, kind)
    by_region = counts(session, where)
    by_stage: dict[str, int] = {}
    for stages in by_region.values():
        for stage, n in stages.items():
            by_stage[stage] = by_stage.get(stage, 0) + n
    late_total, late_rows = overdue(session, where, now, overdue_limit, actor)
    medians_as_of, medians = cached_median_days(session, year, region, kind, on_miss)
    return Dashboard(
        year=year,
        region=region,
        kind=kind,
        total=sum(by_stage.values()),
        by_stage=dict(sorted(by_stage.items())),
        by_region={r: dict(sorted(s.items())) for r, s in sorted(by_region.items())},
        overdue_total=late_total,
        overdue=[CaseSummary.model_validate(row, from_attributes=True) for row in late_rows],
        pass_rates=pass_rates(by_stage),
        median_days=dict(sorted(medians.items())),
        median_days_as_of=medians_as_of,
        plans=plan_numbers(session, year, where, now),
    )


CSV_HEADER = ("section", "key", "item", "value")


Row = tuple[str, str, str, Any]


def rows(d: Dashboard) -> Iterator[Row]:
    """The dashboard as one long table, section,key,item,value: every number of the JSON, one per line."""
    yield ("total", "", "", d.total)
    yield from (("by_stage", "", stage, n) for stage, n in d.by_stage.items())
    yield from (("by_region", r, stage, n) for r, stages in d.by_region.items() for stage, n in stages.items())
    yield ("overdue_total", "", "", d.overdue_total)
    yield from (("overdue", c.unit, c.stage, c.deadline.isoformat() if c.deadline else "") for c in d.overdue)
    rates = d.pass_rates.model_dump()
    yield from (("pass_rates", "", name, "" if value is None else value) for name, value in rates.items())
    yield from (("median_days", "", stage, days) for stage, days in d.median_days.items())
    yield ("median_days_as_of", "", "", d.median_days_as_of.isoformat())
    yield from plan_rows(d.plans)


def to_csv(table: Iterable[Row]) -> str:
    """Every cell escaped against formula injection (a unit named `=HYPERLINK(...` opens as text)."""
    return csv_text(list(CSV_HEADER), [list(row) for row in table]).decode()


def check_region(session: Session, year: int, region: str | None) -> None:
    """A region filter names a region the registry or the cycle's cases know; any other is not found (404)."""
    if region is None:
        return
    registered = select(UnitRow.code).where(UnitRow.region == region).limit(1)
    with_cases = select(CaseRow.unit).where(CaseRow.year == year, CaseRow.region == region).limit(1)
    if not (session.exec(registered).first() or session.exec(with_cases).first()):
        raise ApiError(404, "unknown_region", reason("dasbor.wilayah_tidak_dikenal", region=region))


class ReportingDay(BaseModel):
    days_left: int  # whole days from this day to the close of the reporting window
    reported: int  # cases that had sent their report by the end of this day
    rate: float | None  # reported / the cases whose reporting window opened


class Reporting(BaseModel):
    opens: date
    closes: date
    opened: int  # cases whose reporting window opened (they entered pelaporan)
    days: list[ReportingDay]  # one per day of the window, from its first day to its close


def reporting(session: Session, year: int, region: str | None, kind: str | None) -> Reporting | None:
    """How many cases had reported, day by day against the days left in the window; None before the cycle's policy
    is set. The first `kirim_laporan` of each case counts (a revision after it is not a new report)."""
    cycle = session.get(CycleRow, year)
    if cycle is None:
        return None
    calendar = CyclePolicy.model_validate(cycle.policy).calendar
    opens, closes = calendar.reporting_opens.date(), calendar.reporting_closes.date()
    t = TransitionRow
    scope = [t.year == year]
    if region or kind:
        scope.append(t.unit.in_(select(CaseRow.unit).where(*case_filters(year, region, kind))))
    opened = session.exec(
        select(func.count(func.distinct(t.unit))).where(
            *scope, t.target == Stage.pelaporan, t.source != Stage.pelaporan
        )
    ).one()
    first = select(t.unit, func.min(t.at).label("at")).where(*scope, t.event == "kirim_laporan").group_by(t.unit)
    f = first.subquery()
    per_day: dict[date, int] = {}
    for day, n in session.exec(select(func.date(f.c.at), func.count()).group_by(func.date(f.c.at))):
        per_day[day if isinstance(day, date) else date.fromisoformat(day)] = n
    days, reported = [], sum(n for day, n in per_day.items() if day < opens)
    for offset in range((closes - opens).days + 1):
        day = date.fromordinal(opens.toordinal() + offset)
        reported += per_day.get(day, 0)
        days.append(
            ReportingDay(days_left=(closes - day).days, reported=reported, rate=reported / opened if opened else None)
        )
    return Reporting(opens=opens, closes=closes, opened=opened, days=days)


class Coverage(BaseModel):
    region: str
    registered: int  # units in the registry
    with_case: int  # of them, with a case this year
    holding: int  # of them, holding a valid Predikat now (an award of any year not yet ended, revoked or cancelled)


def coverage(session: Session, year: int, region: str | None, kind: str | None) -> list[Coverage]:
    """Per Kanwil: units registered, units with a case this year, units holding a valid Predikat."""
    units = [UnitRow.region == region] if region else []
    if kind:
        units.append(UnitRow.kind == kind)
    registered = dict(session.exec(select(UnitRow.region, func.count()).where(*units).group_by(UnitRow.region)).all())
    cases = select(CaseRow.region, func.count()).where(*case_filters(year, region, kind)).group_by(CaseRow.region)
    with_case = dict(session.exec(cases).all())
    valid = [CaseRow.stage == "berpredikat", *([CaseRow.region == region] if region else [])]
    valid += [CaseRow.kind == kind] if kind else []
    held = select(CaseRow.region, func.count(func.distinct(CaseRow.unit))).where(*valid).group_by(CaseRow.region)
    holding = dict(session.exec(held).all())
    return [
        Coverage(region=r, registered=registered.get(r, 0), with_case=with_case.get(r, 0), holding=holding.get(r, 0))
        for r in sorted(set(registered) | set(with_case) | set(holding))
    ]


def extra_rows(progress: Reporting | None, kanwil: list[Coverage]) -> Iterator[Row]:
    """The page's numbers beyond the JSON's, in the same long table: reporting day by day, coverage per Kanwil."""
    if progress is not None:
        yield ("reporting_opened", "", "", progress.opened)
        for day in progress.days:
            yield ("reporting", str(day.days_left), "reported", day.reported)
    for c in kanwil:
        yield from (("coverage", c.region, name, getattr(c, name)) for name in ("registered", "with_case", "holding"))
