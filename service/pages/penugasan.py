"""Penugasan from the Administrasi pages, for whoever the lifecycle's rules let send `tugaskan` (Ditjen HAM): a cycle
year, a region, a stage (those `tugaskan` leaves from, read off the machine) and a team; a preview of the cases it
applies to, each with what the lifecycle says of it now; then, confirmed, the same `assign_region` as
`POST /cycles/{year}/penugasan` (service/penugasan.py), and its report unit by unit.

The confirmation carries the previewed request and a key made for it, so sending it twice (a double click, the back
button) applies it once per case; a case already holding the team is not sent it again either.
"""

import re
import secrets
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from models.contracts import Penugasan
from service import penugasan
from service.deps import CYCLE_YEARS, SessionDep, State, get_client
from service.errors import ApiError
from service.i18n import display, gettext, render
from service.pages.oversight_access import require
from service.pages.render import Errors, PageActor, PageLocale, page, page_reads
from service.pages.sections import ASSIGNERS
from service.registry import load_policy
from workflows.reasons import payload_reasons

router = APIRouter(prefix="/ui/admin/penugasan")
FIELDS = ("tahun", "wilayah", "tahap", "verifikator", "penilai", "ketua_penilai")
REPORT = "laporan_penugasan"  # the session key of the last report, shown after the redirect
PLACES = {"region": "wilayah", "stage": "tahap"}  # the request's fields -> the form's
# The form's fields as its labels name them, for a problem the request's model finds.
LABELS = {"wilayah": "web.region", "tahap": "web.assign_stage", **{f: f"web.field_{f}" for f in Penugasan.model_fields}}
KEY = re.compile(r"^[\x21-\x7e]{8,128}$")  # as the API's Idempotency-Key

Values = dict[str, str]


def subs(text: str) -> list[str]:
    """The officials of one role as typed: separated by commas or lines."""
    return [part.strip() for part in re.split(r"[,\n]", text) if part.strip()]


def read(values: Values, locale: str) -> tuple[int | None, penugasan.BulkPenugasan | None, Errors]:
    """The form as the API's request (the same model), and each problem by its field."""
    errors: Errors = []
    year = int(values["tahun"]) if values["tahun"].isdigit() and int(values["tahun"]) in CYCLE_YEARS else None
    if year is None:
        errors.append(("tahun", gettext(locale, "web.audit_enter_year")))
    if not values["wilayah"]:
        errors.append(("wilayah", gettext(locale, "web.assign_enter_region")))
    if values["tahap"] not in penugasan.STAGES:
        errors.append(("tahap", gettext(locale, "web.assign_choose_stage")))
    team = {"verifikator": subs(values["verifikator"]), "penilai": subs(values["penilai"])}
    raw = {
        "region": values["wilayah"],
        "stage": values["tahap"],
        "tim": {**team, "ketua_penilai": values["ketua_penilai"]},
    }
    try:
        return year, penugasan.BulkPenugasan.model_validate(raw), errors
    except ValidationError as e:
        flagged = {field for field, _ in errors}
        for err, why in zip(e.errors(), payload_reasons(e.errors()), strict=True):
            loc = [str(p) for p in err["loc"]]
            field = loc[1] if loc[0] == "tim" and len(loc) > 1 else PLACES.get(loc[0], loc[0])
            if field not in flagged:  # one problem a field, in words that name the field as the form does
                flagged.add(field)
                label = gettext(locale, LABELS[field]) if field in LABELS else field
                errors.append(
                    (field, render(why.model_copy(update={"params": {**why.params, "isian": label}}), locale))
                )
        return year, None, errors


async def form_values(request: Request) -> Values:
    form = await request.form()
    return {name: str(form.get(name, "")).strip() for name in FIELDS}


def form_page(
    request: Request,
    locale: str,
    status: int = 200,
    values: Values | None = None,
    errors: Errors | None = None,
    **more: Any,
) -> HTMLResponse:
    stages = [(stage, display(locale, "stage", stage)) for stage in penugasan.STAGES]
    context: dict[str, Any] = {"planned": None, "key": None, **more}
    return page(
        request,
        locale,
        "admin_penugasan.html",
        status,
        values=values or dict.fromkeys(FIELDS, ""),
        errors=errors or [],
        stages=stages,
        **context,
    )


@router.get("", response_class=HTMLResponse, dependencies=[page_reads("config")])
def formulir(request: Request, actor: PageActor, locale: PageLocale) -> HTMLResponse:
    require(actor, ASSIGNERS)
    return form_page(request, locale)


@router.post("/pratinjau", response_class=HTMLResponse, dependencies=[page_reads("command")])
async def pratinjau(request: Request, actor: PageActor, locale: PageLocale, db: SessionDep) -> HTMLResponse:
    """The cases the request applies to and what the lifecycle says of each now; nothing is sent yet."""
    require(actor, ASSIGNERS)
    values = await form_values(request)
    year, bulk, errors = read(values, locale)
    if year is not None and bulk is not None:
        try:
            load_policy(db, year)
        except ApiError as e:
            errors.append(("tahun", render(e.message, locale)))
    if errors or year is None or bulk is None:
        return form_page(request, locale, 422, values, errors)
    planned = penugasan.plan(db, year, bulk, actor, datetime.now(UTC))
    counts = {
        "akan": sum(not p.holding and not p.why for p in planned),
        "sudah": sum(p.holding for p in planned),
        "ditolak": sum(bool(p.why) for p in planned),
    }
    key = f"halaman-{secrets.token_urlsafe(18)}"  # this preview's: a confirmation sent twice is applied once
    return form_page(request, locale, 200, values, planned=planned, counts=counts, key=key)


@router.post("/kirim", dependencies=[page_reads("command")])
async def kirim(
    request: Request,
    actor: PageActor,
    locale: PageLocale,
    db: SessionDep,
    state: State,
    kunci: Annotated[str, Form()] = "",
) -> Response:
    """The previewed request, sent: the same service as the API's, under the key the preview made for it."""
    require(actor, ASSIGNERS)
    values = await form_values(request)
    year, bulk, errors = read(values, locale)
    if not KEY.match(kunci):
        errors.append(("tahun", gettext(locale, "web.assign_preview_first")))
    if errors or year is None or bulk is None:
        return form_page(request, locale, 422, values, errors)
    try:
        report = await penugasan.assign_region(db, await get_client(state), year, bulk, actor, kunci, locale)
    except ApiError as e:
        problems = [("tahun", render(why, locale)) for why in (e.why or [e.message])]
        return form_page(request, locale, e.status, values, problems)
    request.session[REPORT] = report.model_dump(mode="json")
    return RedirectResponse("/ui/admin/penugasan/laporan", status_code=303)


@router.get("/laporan", response_class=HTMLResponse, dependencies=[page_reads("config")])
def laporan(request: Request, actor: PageActor, locale: PageLocale) -> Response:
    """The last report of this session, unit by unit; without one, the form."""
    require(actor, ASSIGNERS)
    stored = request.session.get(REPORT)
    if stored is None:
        return RedirectResponse("/ui/admin/penugasan", status_code=303)
    report = penugasan.BulkReport.model_validate(stored)
    rows = [(u.unit, u.outcome, "; ".join(render(w, locale) for w in u.why)) for u in report.units]
    return page(request, locale, "admin_penugasan_laporan.html", report=report, rows=rows)
