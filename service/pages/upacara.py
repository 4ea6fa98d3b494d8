"""Upacara: one pencanangan for many units of a region (service/ceremonies.py, as `/cycles/{year}/ceremonies`).

The ceremonies the official may read (Ditjen HAM every one, a Kanwil its region's, an auditor every one); a form to
set one up for chosen units of a region, with its date, place and witnesses (Ditjen HAM or the region's Kanwil); and
each ceremony's report: per unit, whether the last event moved its case or was refused, and why, in words, with the
forms of the ceremony events the official may send now. POST, then a redirect; a refusal keeps what was typed.
"""

import secrets
from datetime import UTC, tzinfo
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlmodel import Session
from starlette.datastructures import FormData

from models.contracts import WIB, Actor, CaseData
from models.tables import CeremonyRow
from service import ceremonies
from service.cases import this_year
from service.ceremonies import CREATORS, CeremonyRequest
from service.deps import (
    CYCLE_YEARS,
    CeremonyEvent,
    CeremonyId,
    ClientDep,
    QueryYear,
    SessionDep,
    State,
    Year,
    require_role,
)
from service.errors import ApiError, payload_or_422
from service.i18n import display, moment, person, render
from service.pages import forms
from service.pages.cases import as_page, field_id, refusal_errors
from service.pages.render import Errors, PageActor, PageLocale, page, page_reads
from workflows.ceremony import CASE_EVENTS
from workflows.reasons import reason

router = APIRouter(prefix="/ui/upacara")

NEW = "upacara"  # the prefix of the new ceremony form's field ids
STATUS = {
    "diusulkan": reason("web.ceremony_proposed"),
    "terjadwal": reason("web.ceremony_scheduled"),
    "dideklarasikan": reason("web.ceremony_declared"),
}
OUTCOME = {
    "applied": reason("web.outcome_applied"),
    "refused": reason("web.outcome_refused"),
    "failed": reason("web.outcome_failed"),
    None: reason("web.outcome_not_sent"),
}


def ceremony_url(year: int, ceremony_id: str) -> str:
    return f"/ui/upacara/{year}/{ceremony_id}"


def may_create(actor: Actor) -> bool:
    return actor.role in CREATORS


@router.get("", response_class=HTMLResponse, dependencies=[page_reads("ceremony")])
def daftar(request: Request, actor: PageActor, locale: PageLocale, db: SessionDep, tahun: QueryYear = None):
    """The cycle's ceremonies this official may read, newest first."""
    year = tahun or this_year()
    rows = [
        [
            Markup('<a href="{}">{}</a>').format(ceremony_url(year, c.id), c.tempat),
            c.region,
            str(c.units),
            moment(locale, c.jadwal.astimezone(WIB)),
            render(STATUS.get(c.status, reason("web.ceremony_proposed")), locale)
            + (f" · {render(reason('web.ceremony_closed'), locale)}" if c.closed else ""),
        ]
        for c in ceremonies.listed(db, actor, year)
    ]
    return page(request, locale, "upacara.html", year=year, rows=rows, may_create=may_create(actor))


def new_form(
    request: Request,
    db: Session,
    actor: Actor,
    locale: str,
    year: int,
    region: str | None,
    status: int = 200,
    errors: Errors | None = None,
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    """The form for a new ceremony: first the region (a Kanwil: its own), then its units waiting for approval."""
    with as_page():
        if not may_create(actor):
            require_role(actor, *CREATORS)
    region = actor.region if actor.role == "kanwil" else region
    waiting = ceremonies.candidates(db, actor, year, region) if region else []
    return page(
        request,
        locale,
        "upacara_baru.html",
        status,
        year=year,
        region=region or "",
        regions=ceremonies.regions_waiting(db, actor, year) if actor.role != "kanwil" else [],
        candidates=waiting,
        case=waiting[0] if waiting else None,
        fields=forms.fields("setujui_permohonan", waiting[0]) if waiting else [],
        errors=errors or [],
        values=values or {},
        chosen=(values or {}).get("unit", []),
        key=secrets.token_urlsafe(16),
        prefix=NEW,
        kind_name=lambda kind: display(locale, "kind", kind),
        **forms.choices(locale),
    )


@router.get("/baru", response_class=HTMLResponse, dependencies=[page_reads("ceremony")])
def baru(
    request: Request,
    actor: PageActor,
    locale: PageLocale,
    db: SessionDep,
    tahun: QueryYear = None,
    wilayah: Annotated[str, Query(max_length=64)] = "",
):
    return new_form(request, db, actor, locale, tahun or this_year(), wilayah.strip() or None)


def kept(form: FormData) -> dict[str, Any]:
    return {**forms.kept(form), "unit": [u for u in form.getlist("unit") if isinstance(u, str)]}


@router.post("/baru", response_class=HTMLResponse, dependencies=[page_reads("command")])
async def buat(
    request: Request, actor: PageActor, locale: PageLocale, db: SessionDep, state: State, client: ClientDep
) -> Response:
    """Set up the ceremony from the form; then its report. A refusal: the form again, with the reasons."""
    form = await request.form()
    raw_year = forms.text(form, "tahun")
    year = int(raw_year) if raw_year.isdigit() and int(raw_year) in CYCLE_YEARS else this_year()
    region = forms.text(form, "wilayah") or None
    units = [u for u in form.getlist("unit") if isinstance(u, str)]
    with as_page():
        if not may_create(actor):
            require_role(actor, *CREATORS)
    waiting = ceremonies.candidates(db, actor, year, actor.region if actor.role == "kanwil" else region or "")
    zone_case = waiting[0] if waiting else None
    try:
        if zone_case is None:
            raise ApiError(409, "refused", reason("error.upacara_tidak_dapat_dibuat"), [reason("web.no_units_waiting")])
        fields = forms.fields("setujui_permohonan", zone_case)
        body = {"units": units, **forms.payload(fields, form, zone_case, {})}
        request_body = payload_or_422(CeremonyRequest, body, ceremonies.CREATE)
        key = forms.text(form, "kunci") or secrets.token_urlsafe(16)
        report, _ = await ceremonies.create(
            db, client, state.settings.task_queue, year, request_body, actor, key, locale
        )
    except ApiError as e:
        db.rollback()
        errors = [(field_id(NEW, r), render(r, locale)) for r in (e.why or [e.message])]
        return new_form(request, db, actor, locale, year, region, e.status, errors, kept(form))
    return RedirectResponse(f"{ceremony_url(year, report.id)}?berhasil=buat", status_code=303)


def event_forms(db: Session, row: CeremonyRow, actor: Actor, case: CaseData | None) -> list[dict[str, Any]]:
    """A form for each ceremony event the official may send now; its fields are those of the case event it sends,
    drawn for one member case (`setujui` has none: it sends the ceremony's own date, place and witnesses)."""
    return [
        {"event": e, "fields": forms.fields(CASE_EVENTS[e], case) if case and e != "setujui" else []}
        for e in ceremonies.sendable(db, row, actor)
    ]


def unit_rows(report: ceremonies.CeremonyReport, locale: str) -> list[dict[str, Any]]:
    """Each unit with the outcome, in words, of the last ceremony event sent to it."""
    return [
        {
            "unit": u,
            "outcome": render(OUTCOME.get(u.outcome, OUTCOME[None]), locale),
            "event": display(locale, "event", CASE_EVENTS.get(u.event or "", "")) if u.event else "–",
        }
        for u in report.units
    ]


def step_rows(report: ceremonies.CeremonyReport, locale: str, tz: tzinfo) -> list[list[Any]]:
    """Each ceremony event sent: when, by whom, and how many units it moved, refused, or could not reach."""
    return [
        [
            s.step,
            display(locale, "event", CASE_EVENTS.get(s.event, s.event)),
            moment(locale, s.at.astimezone(tz)),
            person(locale, s.actor["name"] or s.actor["sub"], s.actor["role"]),
            s.applied,
            s.refused,
            s.failed,
        ]
        for s in report.events
    ]


def report_page(
    request: Request,
    db: Session,
    actor: Actor,
    locale: str,
    year: int,
    ceremony_id: str,
    refused: forms.Refused = forms.NOTHING_REFUSED,
) -> HTMLResponse:
    """The ceremony's report with the forms of the events the official may send (a `refused` one again, with its
    reasons)."""
    with as_page():
        row = ceremonies.readable_ceremony(db, actor, year, ceremony_id)
    report = ceremonies.report(db, row, locale)
    members = ceremonies.member_cases(db, row)
    case: CaseData | None = members[0] if members else None
    tz = case.unit.tz if case else UTC  # the units' own zone (a ceremony is of one region)
    return page(
        request,
        locale,
        "upacara_laporan.html",
        refused.status,
        report=report,
        case=case,
        units=unit_rows(report, locale),
        steps=step_rows(report, locale, tz),
        actions=event_forms(db, row, actor, case),
        key=secrets.token_urlsafe(16),
        jadwal=moment(locale, report.jadwal.astimezone(tz)),
        status_words=render(STATUS.get(report.status, reason("web.ceremony_proposed")), locale),
        done=forms.sent(request, {*CASE_EVENTS, "buat"}),
        event_name=lambda e: display(locale, "event", CASE_EVENTS[e]),
        unsur_name=lambda u: display(locale, "unsur", u),
        url=ceremony_url(year, ceremony_id),
        **refused.context(),
        **forms.choices(locale),
    )


@router.get("/{year}/{ceremony_id}", response_class=HTMLResponse, dependencies=[page_reads("ceremony")])
def laporan(
    request: Request, year: Year, ceremony_id: CeremonyId, actor: PageActor, locale: PageLocale, db: SessionDep
):
    """The ceremony's report, unit by unit."""
    return report_page(request, db, actor, locale, year, ceremony_id)


@router.post(
    "/{year}/{ceremony_id}/peristiwa/{event}", response_class=HTMLResponse, dependencies=[page_reads("command")]
)
async def kirim(
    request: Request,
    year: Year,
    ceremony_id: CeremonyId,
    event: CeremonyEvent,
    actor: PageActor,
    locale: PageLocale,
    db: SessionDep,
    client: ClientDep,
) -> Response:
    """A ceremony event to every unit at once; then the report. Not one unit moved: the report with the reasons."""
    with as_page():
        row = ceremonies.readable_ceremony(db, actor, year, ceremony_id)
        if event not in CASE_EVENTS:
            raise ceremonies.unknown_event(event)
    form = await request.form()
    members = ceremonies.member_cases(db, row)
    try:
        payload = {}
        if event != "setujui" and members:
            payload = forms.payload(forms.fields(CASE_EVENTS[event], members[0]), form, members[0], {})
        key = forms.text(form, "kunci") or secrets.token_urlsafe(16)
        await ceremonies.send(db, client, year, ceremony_id, event, actor, payload, key, locale)
    except ApiError as e:
        db.rollback()
        refused = forms.Refused(e.status, event, refusal_errors(event, e, locale), forms.kept(form))
        return report_page(request, db, actor, locale, year, ceremony_id, refused)
    return RedirectResponse(f"{ceremony_url(year, ceremony_id)}?berhasil={event}", status_code=303)
