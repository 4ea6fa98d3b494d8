"""Administrasi (admin): the unit registry imported from a CSV file, previewed (what is added, what changes, the
errors per line), then saved all at once after the admin confirms (service/unit_import.py); a cohort opened from the
page, in the background, with its progress (service/cohort_runs.py)."""

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from models.contracts import UnitInfo
from service import background, cohort_runs, unit_import
from service.deps import CYCLE_YEARS, SessionDep, State, get_client
from service.i18n import display, gettext, moment, render
from service.pages.oversight_access import ADMIN, require
from service.pages.render import PageActor, PageError, PageLocale, page
from workflows.reasons import reason

router = APIRouter(prefix="/ui/admin")
PENDING = "impor_unit"  # the session key of a previewed import waiting for its confirmation
MAX_FILE = 5 * 1024 * 1024


def unit_page(request: Request, locale: str, status: int = 200, **context: object) -> HTMLResponse:
    context = {"preview": None, "saved": None, "file_error": None, **context}
    return page(request, locale, "admin_unit.html", status, **context)


@router.get("/unit", response_class=HTMLResponse)
def unit(
    request: Request, actor: PageActor, locale: PageLocale, tersimpan: Annotated[int | None, Query(ge=0)] = None
) -> HTMLResponse:
    require(actor, ADMIN)
    return unit_page(request, locale, saved=tersimpan)


@router.post("/unit/pratinjau", response_class=HTMLResponse)
async def pratinjau(
    request: Request, actor: PageActor, locale: PageLocale, db: SessionDep, berkas: Annotated[UploadFile, File()]
) -> HTMLResponse:
    require(actor, ADMIN)
    request.session.pop(PENDING, None)
    content = await berkas.read(MAX_FILE + 1)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = None
    if not content or len(content) > MAX_FILE or text is None:
        return unit_page(request, locale, 422, file_error=True)
    preview = unit_import.preview(db, text)
    if not preview.errors and preview.units:
        request.session[PENDING] = [u.model_dump() for u in preview.units]
    return unit_page(
        request,
        locale,
        422 if preview.errors else 200,
        preview=preview,
        line_errors=[(line, "; ".join(render(r, locale) for r in why)) for line, why in preview.errors],
        kind_name=lambda k: display(locale, "kind", k),
    )


@router.post("/unit/simpan")
def simpan(request: Request, actor: PageActor, locale: PageLocale, db: SessionDep) -> Response:
    require(actor, ADMIN)
    pending = request.session.pop(PENDING, None)
    if not pending:
        return unit_page(request, locale, 409, file_error=True)
    units = [UnitInfo.model_validate(u) for u in pending]
    unit_import.save(db, units)
    return RedirectResponse(f"/ui/admin/unit?tersimpan={len(units)}", status_code=303)


@router.get("/kohort", response_class=HTMLResponse)
def kohort(request: Request, actor: PageActor, locale: PageLocale) -> HTMLResponse:
    require(actor, ADMIN)
    return page(request, locale, "admin_kohort.html", values={}, errors=[])


@router.post("/kohort")
async def buka_kohort(
    request: Request,
    actor: PageActor,
    locale: PageLocale,
    state: State,
    tahun: Annotated[str, Form()] = "",
    wilayah: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Open the cases of the registered units (of one region, or all) for a cycle, in the background."""
    require(actor, ADMIN)
    if not tahun.isdigit() or int(tahun) not in CYCLE_YEARS:
        errors = [("tahun", gettext(locale, "web.audit_enter_year"))]
        values = {"tahun": tahun, "wilayah": wilayah}
        return page(request, locale, "admin_kohort.html", 422, values=values, errors=errors)
    client = await get_client(state)
    run = cohort_runs.start(client, state.engine, state.settings.task_queue, int(tahun), actor, wilayah.strip() or None)
    return RedirectResponse(f"/ui/admin/kohort/{run.id}", status_code=303)


@router.get("/kohort/{run_id}", response_class=HTMLResponse)
def kohort_berjalan(request: Request, run_id: str, actor: PageActor, locale: PageLocale) -> HTMLResponse:
    require(actor, ADMIN)
    run = background.get(cohort_runs.KIND, run_id)
    if run is None:
        raise PageError(404, reason("web.audit_run_not_found_title"), reason("web.audit_run_not_found"))
    refused = [render(r, locale) for r in run.refused]
    failures = [(f.unit, "; ".join(render(w, locale) for w in f.why)) for f in run.results]
    return page(
        request,
        locale,
        "admin_kohort_jalan.html",
        run=run,
        started=moment(locale, run.started_at),
        refused=refused,
        failures=failures,
    )
