"""Beranda: who is logged in, and the cases of a cycle year the caller may see."""

from datetime import UTC, datetime, timedelta
from math import ceil
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from service.deps import CYCLE_YEARS, SessionDep
from service.i18n import display, moment
from service.pages.render import PageActor, PageLocale, page
from service.visible import visible_cases

router = APIRouter(prefix="/ui")

PER_PAGE = 25
WIB = timedelta(hours=7)


@router.get("/", response_class=HTMLResponse)
def beranda(
    request: Request,
    actor: PageActor,
    locale: PageLocale,
    db: SessionDep,
    tahun: Annotated[int | None, Query(ge=CYCLE_YEARS.start, lt=CYCLE_YEARS.stop)] = None,
    halaman: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    year = tahun or (datetime.now(UTC) + WIB).year
    total, cases = visible_cases(db, actor, year, (halaman - 1) * PER_PAGE, PER_PAGE)
    pages = max(1, ceil(total / PER_PAGE))
    rows = [
        [
            Markup('<a href="/ui/kasus/{}/{}">{}</a>').format(case.year, case.unit, case.unit),
            case.region,
            display(locale, "kind", case.kind),
            display(locale, "stage", case.stage),
            moment(locale, case.deadline) if case.deadline else "–",
        ]
        for case in cases
    ]
    return page(
        request,
        locale,
        "beranda.html",
        year=year,
        cases_rows=rows,
        total=total,
        pagination=[(n, f"{request.url.path}?tahun={year}&halaman={n}") for n in range(1, pages + 1)],
        current_page=halaman,
    )
