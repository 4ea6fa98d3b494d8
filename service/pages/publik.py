"""The public register of awards, with no login: the units holding the Predikat Unit Kerja P2HAM in a year, and a
verification page per award (the address the award letter's QR code carries). Only public data (service/register.py).
"""

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from service import register
from service.deps import SessionDep, UnitCode, Year
from service.pages.render import PageError, PageLocale, page, page_reads
from workflows.reasons import reason


def no_session(request: Request) -> None:
    """Public pages keep no session (the session middleware serves /ui only): the layout gets an empty one."""
    request.scope.setdefault("session", {})


router = APIRouter(prefix="/publik/predikat", dependencies=[Depends(no_session)])


@router.get("/{year}", response_class=HTMLResponse, dependencies=[page_reads("public")])
def daftar(request: Request, year: Year, locale: PageLocale, db: SessionDep) -> HTMLResponse:
    by_region: dict[str, list[register.PublicAward]] = {}
    for found in register.awards(db, year):
        by_region.setdefault(found.region, []).append(found)
    return page(request, locale, "publik_daftar.html", year=year, by_region=by_region)


@router.get("/{year}/{unit}", response_class=HTMLResponse, dependencies=[page_reads("public")])
def verifikasi(request: Request, year: Year, unit: UnitCode, locale: PageLocale, db: SessionDep) -> HTMLResponse:
    found = register.award(db, year, unit)
    if found is None:
        raise PageError(
            404, reason("web.publik_not_found_title"), reason("web.publik_not_found", unit=unit, tahun=year)
        )
    return page(request, locale, "publik_verifikasi.html", award=found)
