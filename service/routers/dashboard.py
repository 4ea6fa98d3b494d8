"""The cycle dashboard: counts per stage and region, overdue cases, pass rates, median days per stage.

Answered from the read model with a few indexed GROUP BY queries, never with a Temporal call per case.
"""

import csv
import io
import threading
import time
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, select

from models.tables import CaseRow, TransitionRow
from service.deps import ActorDep, SessionDep
from service.routers.cases import CaseSummary

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


_medians: dict[tuple[str, int, str | None, str | None], tuple[float, datetime, dict[str, float]]] = {}
_medians_lock = threading.Lock()  # sync endpoints run in a thread pool


def cached_median_days(
    session: Session, year: int, region: str | None, kind: str | None
) -> tuple[datetime, dict[str, float]]:
    key = (str(session.get_bind().url), year, region, kind)
    with _medians_lock:
        hit = _medians.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1], hit[2]
    computed = datetime.now(UTC), median_days(session, year, region, kind)
    with _medians_lock:
        if len(_medians) > 1000:  # many filters over time: start afresh rather than grow without bound
            _medians.clear()
        _medians[key] = (time.monotonic() + MEDIANS_TTL, *computed)
    return computed


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


def to_csv(d: Dashboard) -> str:
    """The dashboard as one long table, section,key,item,value: every number of the JSON, one per line."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_HEADER)
    w.writerow(("total", "", "", d.total))
    w.writerows(("by_stage", "", stage, n) for stage, n in d.by_stage.items())
    w.writerows(("by_region", r, stage, n) for r, stages in d.by_region.items() for stage, n in stages.items())
    w.writerow(("overdue_total", "", "", d.overdue_total))
    w.writerows(("overdue", c.unit, c.stage, c.deadline.isoformat() if c.deadline else "") for c in d.overdue)
    rates = d.pass_rates.model_dump()
    w.writerows(("pass_rates", "", name, "" if value is None else value) for name, value in rates.items())
    w.writerows(("median_days", "", stage, days) for stage, days in d.median_days.items())
    w.writerow(("median_days_as_of", "", "", d.median_days_as_of.isoformat()))
    return out.getvalue()


@router.get("", response_model=Dashboard)
def dashboard(
    year: int,
    _: ActorDep,
    session: SessionDep,
    region: str | None = None,
    kind: str | None = None,
    overdue_limit: Annotated[int, Query(ge=0, le=1000)] = 20,
    format: Literal["json", "csv"] | None = None,
    accept: Annotated[str, Header()] = "",
) -> Any:
    """Counts per stage and region, overdue cases, pass rates and median days per stage; `region=` and `kind=`
    narrow it. `?format=csv` (or `Accept: text/csv`) answers the same numbers as CSV."""
    d = build(session, year, region, kind, overdue_limit)
    if format == "csv" or (format is None and "text/csv" in accept):
        headers = {"Content-Disposition": f'attachment; filename="p2ham-dashboard-{year}.csv"'}
        return Response(to_csv(d), media_type="text/csv; charset=utf-8", headers=headers)
    return d
