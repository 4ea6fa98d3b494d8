"""The cycle dashboard: counts per stage and region, overdue cases, pass rates, median days per stage.

Answered from the read model with a few indexed GROUP BY queries, never with a Temporal call per case.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, select

from models.contracts import Actor, Code, UnitKind
from models.tables import CaseRow, TransitionRow, UnitRow
from service.access import reads, visible_cases
from service.audit import csv_text
from service.deps import ActorDep, LimitsDep, SessionDep, Year
from service.errors import ApiError
from service.routers.cases import CaseSummary
from workflows.reasons import reason

router = APIRouter(prefix="/cycles/{year}/dashboard", tags=["dashboard"])

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


MEDIANS_KEPT = 256  # filters remembered at once; the least recently used is forgotten first


class MedianCache:
    """Medians per (database, year, region, kind) for MEDIANS_TTL seconds, at most MEDIANS_KEPT of them (LRU), each
    computed by one request at a time: the others asking for the same key wait for its answer instead of repeating
    the query. Sync endpoints run in a thread pool, hence threads and locks."""

    def __init__(self) -> None:
        self.entries: OrderedDict[tuple, tuple[float, datetime, dict[str, float]]] = OrderedDict()
        self.computing: dict[tuple, threading.Lock] = {}
        self.lock = threading.Lock()

    def _fresh(self, key: tuple) -> tuple[datetime, dict[str, float]] | None:
        with self.lock:
            hit = self.entries.get(key)
            if hit is None or hit[0] <= time.monotonic():
                return None
            self.entries.move_to_end(key)
            return hit[1], hit[2]

    def get(self, key: tuple, compute: Callable[[], dict[str, float]], on_miss: Callable[[], None]) -> tuple:
        if (hit := self._fresh(key)) is not None:
            return hit
        with self.lock:
            gate = self.computing.setdefault(key, threading.Lock())
        with gate:
            if (hit := self._fresh(key)) is not None:  # computed while this request waited
                return hit
            on_miss()
            computed = datetime.now(UTC), compute()
            with self.lock:
                self.entries[key] = (time.monotonic() + MEDIANS_TTL, *computed)
                self.entries.move_to_end(key)
                while len(self.entries) > MEDIANS_KEPT:
                    self.entries.popitem(last=False)
                self.computing.pop(key, None)
            return computed


_medians = MedianCache()


def cached_median_days(
    session: Session, year: int, region: str | None, kind: str | None, on_miss: Callable[[], None]
) -> tuple[datetime, dict[str, float]]:
    key = (str(session.get_bind().url), year, region, kind)
    return _medians.get(key, lambda: median_days(session, year, region, kind), on_miss)


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
    )


CSV_HEADER = ("section", "key", "item", "value")


def to_csv(d: Dashboard) -> str:
    """The dashboard as one long table, section,key,item,value: every number of the JSON, one per line."""
    rows: list[list[Any]] = [["total", "", "", d.total]]
    rows += [["by_stage", "", stage, n] for stage, n in d.by_stage.items()]
    rows += [["by_region", r, stage, n] for r, stages in d.by_region.items() for stage, n in stages.items()]
    rows.append(["overdue_total", "", "", d.overdue_total])
    rows += [["overdue", c.unit, c.stage, c.deadline.isoformat() if c.deadline else ""] for c in d.overdue]
    rates = d.pass_rates.model_dump()
    rows += [["pass_rates", "", name, "" if value is None else value] for name, value in rates.items()]
    rows += [["median_days", "", stage, days] for stage, days in d.median_days.items()]
    rows.append(["median_days_as_of", "", "", d.median_days_as_of.isoformat()])
    return csv_text(list(CSV_HEADER), rows).decode()


@router.get("", response_model=Dashboard, dependencies=[reads("config")])
def dashboard(
    year: Year,
    actor: ActorDep,
    session: SessionDep,
    limits: LimitsDep,
    region: Code | None = None,
    kind: UnitKind | None = None,
    overdue_limit: Annotated[int, Query(ge=0, le=1000)] = 20,
    format: Literal["json", "csv"] | None = None,
    accept: Annotated[str, Header()] = "",
) -> Any:
    """Counts per stage and region, overdue cases, pass rates and median days per stage; `region=` and `kind=`
    narrow it. `?format=csv` (or `Accept: text/csv`) answers the same numbers as CSV."""
    registered = select(UnitRow.code).where(UnitRow.region == region).limit(1)
    with_cases = select(CaseRow.unit).where(CaseRow.year == year, CaseRow.region == region).limit(1)
    if region is not None and not (session.exec(registered).first() or session.exec(with_cases).first()):
        raise ApiError(422, "unknown_region", reason("dasbor.wilayah_tidak_dikenal", region=region))
    d = build(session, year, region, kind, overdue_limit, actor, lambda: limits.expensive(actor))
    if format == "csv" or (format is None and "text/csv" in accept):
        headers = {"Content-Disposition": f'attachment; filename="p2ham-dashboard-{year}.csv"'}
        return Response(to_csv(d), media_type="text/csv; charset=utf-8", headers=headers)
    return d
