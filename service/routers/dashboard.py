"""The cycle dashboard as JSON or CSV (the numbers are computed in service/dashboard.py)."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response

from service.dashboard import Dashboard, build, rows, to_csv
from service.deps import ActorDep, SessionDep

router = APIRouter(prefix="/cycles/{year}/dashboard", tags=["dashboard"])


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
        return Response(to_csv(rows(d)), media_type="text/csv; charset=utf-8", headers=headers)
    return d
