"""The cycle dashboard: counts per stage and region, overdue cases, pass rates, median days per stage; and for the
dashboard page also the reporting rate against the days left in the window and the coverage per Kanwil.

Answered from the read model with a few indexed GROUP BY queries, never with a Temporal call per case. The JSON
endpoint (service/routers/dashboard.py) and the page (service/pages/dasbor.py) both call `build`.
"""

import csv
import io
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, select

from models.policy import CyclePolicy
from models.tables import CaseRow, CycleRow, TransitionRow, UnitRow
from service.routers.cases import CaseSummary

# The outcome groups as the programme counts them: an evaluation passed (whatever happened to the award after it)
# against an evaluation or verification failed; of those passed, the ones that were awarded.
PASSED = ("lolos_evaluasi", "berpredikat", "selesai", "dicabut")
AWARDED = ("berpredikat", "selesai", "dicabut")
FAILED = ("tidak_lolos",)
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


def overdue(session: Session, where: list[ColumnElement[bool]], now: datetime, limit: int) -> tuple[int, list[CaseRow]]:
    late = [*where, CaseRow.final == False, CaseRow.deadline < now]  # noqa: E712 (SQL, not Python)
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
_cache: dict[tuple[str, str, int, str | None, str | None], tuple[float, datetime, Any]] = {}
_cache_lock = threading.Lock()  # sync endpoints run in a thread pool


def cached(
    name: str, session: Session, year: int, region: str | None, kind: str | None, compute: Callable[[], T]
) -> tuple[datetime, T]:
    """`compute()` kept MEDIANS_TTL seconds per (name, database, year, filter), with the moment it was computed."""
    key = (name, str(session.get_bind().url), year, region, kind)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1], hit[2]
    computed = datetime.now(UTC), compute()
    with _cache_lock:
        if len(_cache) > 1000:  # many filters over time: start afresh rather than grow without bound
            _cache.clear()
        _cache[key] = (time.monotonic() + MEDIANS_TTL, *computed)
    return computed


def cached_median_days(
    session: Session, year: int, region: str | None, kind: str | None
) -> tuple[datetime, dict[str, float]]:
    return cached("median_days", session, year, region, kind, lambda: median_days(session, year, region, kind))


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


def build(session: Session, year: int, region: str | None, kind: str | None, overdue_limit: int) -> Dashboard:
    now = datetime.now(UTC)
    where = case_filters(year, region, kind)
    by_region = counts(session, where)
    by_stage: dict[str, int] = {}
    for stages in by_region.values():
        for stage, n in stages.items():
            by_stage[stage] = by_stage.get(stage, 0) + n
    late_total, late_rows = overdue(session, where, now, overdue_limit)
    medians_as_of, medians = cached_median_days(session, year, region, kind)
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


def to_csv(table: Iterable[Row]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_HEADER)
    w.writerows(table)
    return out.getvalue()


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
        select(func.count(func.distinct(t.unit))).where(*scope, t.target == "pelaporan", t.source != "pelaporan")
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
