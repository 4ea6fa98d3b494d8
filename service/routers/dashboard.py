"""The cycle dashboard as JSON or CSV (the numbers are computed in service/dashboard.py)."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response

from models.contracts import UnitKind
from service.access import reads
from service.dashboard import Dashboard, build, check_region, rows, to_csv
from service.deps import ActorDep, LimitsDep, RegionCode, SessionDep, Year

router = APIRouter(prefix="/cycles/{year}/dashboard", tags=["dashboard"])

CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}


@router.get("", response_model=Dashboard, dependencies=[reads("config")], responses=CSV)
def dashboard(
    year: Year,
    actor: ActorDep,
    session: SessionDep,
    limits: LimitsDep,
    region: RegionCode = None,
    kind: UnitKind | None = None,
    overdue_limit: Annotated[int, Query(ge=0, le=1000)] = 20,
    format: Literal["json", "csv"] | None = None,
    accept: Annotated[str, Header()] = "",
) -> Any:
    """Counts per stage and region, overdue cases, pass rates and median days per stage; `region=` and `kind=`
    narrow it. `?format=csv` (or `Accept: text/csv`) answers the same numbers as CSV. The counts are open to every
    role; the overdue list names only the cases the caller may see."""
    check_region(session, year, region)
    d = build(session, year, region, kind, overdue_limit, actor, lambda: limits.expensive(actor))
    if format == "csv" or (format is None and "text/csv" in accept):
        headers = {"Content-Disposition": f'attachment; filename="p2ham-dashboard-{year}.csv"'}
        return Response(to_csv(rows(d)), media_type="text/csv; charset=utf-8", headers=headers)
    return d
