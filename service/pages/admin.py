"""Administrasi (admin): the unit registry imported from a CSV file, previewed (what is added, what changes, the
errors per line), then saved all at once after the admin confirms (service/unit_import.py)."""

from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from models.contracts import UnitInfo
from service import unit_import
from service.deps import SessionDep
from service.i18n import display, render
from service.pages.oversight_access import ADMIN, require
from service.pages.render import PageActor, PageLocale, page

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
