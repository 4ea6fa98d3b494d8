"""Rencana aksi: the operator's action plan, criterion by criterion from the unit kind's catalogue (each indicator's
state on its scale and, while it is not met, the gap, constraint, action or alternative, who and by when, evidence
of progress), the draft saved on every step (`service/drafts.py`) and sent with `kirim_rencana`; and the Kanwil's
review page, notes per indicator and a decision, sent with `tanggapi_rencana`. Both through `service/cases.py`."""

import secrets
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import ValidationError
from sqlmodel import Session

from models.contracts import Actor, CaseData, Rencana, TindakanRencana
from service import cases, drafts, evidence, rencana
from service.access import readable_case
from service.deps import ClientDep, SessionDep, State
from service.errors import ApiError
from service.i18n import display, gettext, render
from service.pages.cases import as_page, case_url, refusal_errors
from service.pages.forms import kept, moment_value, text
from service.pages.render import PageActor, PageError, PageLocale, page, page_reads
from service.pages.report import criterion_of
from workflows import lifecycle
from workflows.reasons import payload_reasons, reason

router = APIRouter(prefix="/ui")
EVENT = "tanggapi_rencana"
TEXTS = ("kesenjangan", "kendala", "tindakan", "alternatif", "penanggung_jawab")  # an action's fields in words


def text_fields(locale: str) -> list[tuple[str, str]]:
    """Each text field of an action with its label."""
    labels = {
        "kesenjangan": gettext(locale, "web.plan_field_kesenjangan"),
        "kendala": gettext(locale, "web.plan_field_kendala"),
        "tindakan": gettext(locale, "web.plan_field_tindakan"),
        "alternatif": gettext(locale, "web.plan_field_alternatif"),
        "penanggung_jawab": gettext(locale, "web.plan_field_penanggung_jawab"),
    }
    return [(name, labels[name]) for name in TEXTS]


def open_plan(db: Session, actor: Actor, year: int, unit: str, locale: str) -> tuple[CaseData, drafts.PlanDraftView]:
    with as_page():
        row = readable_case(db, actor, "draft", year, unit)
        drafts.own_case(db, year, unit, actor, "kirim_rencana")  # the unit's operator plans; others read the case
        view = drafts.get_plan_draft(db, row, locale)
    return CaseData.model_validate(row.data), view


def overview(
    request: Request, db: Session, actor: Actor, locale: str, year: int, unit: str, status: int = 200, errors=None
) -> HTMLResponse:
    case, draft = open_plan(db, actor, year, unit, locale)
    given = {a["kode"] for a in draft.rencana.get("indikator", [])}
    link = case_url(year, unit) + "/rencana/"
    criteria_rows = [
        [
            Markup('<a href="{}">{}</a>').format(link + c.code, c.name),
            gettext(locale, "web.answered_n_of", n=sum(i.code in given for i in c.indicators), total=len(c.indicators)),
        ]
        for c in case.policy.criteria_for(case.unit.kind)
    ]
    return page(
        request,
        locale,
        "rencana.html",
        status,
        case=case,
        draft=draft,
        criteria_rows=criteria_rows,
        errors=errors or [],
        key=secrets.token_urlsafe(16),
        event_name=display(locale, "event", "kirim_rencana"),
        case_url=case_url(year, unit),
    )


@router.get("/kasus/{year}/{unit}/rencana", response_class=HTMLResponse, dependencies=[page_reads("draft")])
def rencana_aksi(request: Request, year: int, unit: str, actor: PageActor, locale: PageLocale, db: SessionDep):
    return overview(request, db, actor, locale, year, unit)


def local_input(value: str | None, case: CaseData) -> str:
    """A stored target date as the form shows it: in the unit's zone, "2026-08-17 09:00"."""
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value).astimezone(case.unit.tz).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return value


@router.get("/kasus/{year}/{unit}/rencana/{kriteria}", response_class=HTMLResponse, dependencies=[page_reads("draft")])
def rencana_kriteria(
    request: Request, year: int, unit: str, kriteria: str, actor: PageActor, locale: PageLocale, db: SessionDep
):
    case, draft = open_plan(db, actor, year, unit, locale)
    criterion = criterion_of(case, kriteria)
    codes = [c.code for c in case.policy.criteria_for(case.unit.kind)]
    actions = {a["kode"]: a for a in draft.rencana.get("indikator", [])}
    return page(
        request,
        locale,
        "rencana_kriteria.html",
        case=case,
        criterion=criterion,
        scale=[(value, value) for value in criterion.scale],
        position=codes.index(kriteria) + 1,
        total=len(codes),
        actions=actions,
        targets={code: local_input(a.get("target"), case) for code, a in actions.items()},
        texts=text_fields(locale),
        errors=[],
        case_url=case_url(year, unit),
    )


@router.post("/kasus/{year}/{unit}/rencana/{kriteria}", dependencies=[page_reads("command")])
async def simpan_rencana_kriteria(
    request: Request,
    year: int,
    unit: str,
    kriteria: str,
    actor: PageActor,
    locale: PageLocale,
    db: SessionDep,
    state: State,
) -> Response:
    """Save this criterion's indicators (and files) into the plan's draft, then the next criterion (or the overview)."""
    case, draft = open_plan(db, actor, year, unit, locale)
    criterion = criterion_of(case, kriteria)
    form = await request.form()
    actions: dict[str, dict[str, Any]] = {a["kode"]: a for a in draft.rencana.get("indikator", [])}
    with as_page():
        for i in criterion.indicators:
            previous = actions.get(i.code, {})
            bukti = list(previous.get("bukti", []))
            for upload in form.getlist(f"bukti-{i.code}"):
                if isinstance(upload, str) or not upload.filename:
                    continue
                info, _ = await evidence.store_upload(db, state.settings, actor, upload)
                bukti += [info.id] if info.id not in bukti else []
            keadaan = text(form, f"keadaan-{i.code}") or previous.get("keadaan", "")
            if not keadaan:
                continue
            action: dict[str, Any] = {"kode": i.code, "keadaan": keadaan, "bukti": bukti}
            action |= {name: text(form, f"{name}-{i.code}") or None for name in TEXTS}
            target = text(form, f"target-{i.code}")
            action["target"] = moment_value(target, case) if target else None
            actions[i.code] = action
        try:
            plan = Rencana(indikator=[TindakanRencana.model_validate(a) for a in actions.values()])
        except ValidationError as e:  # a target date that is not a date: said in words, nothing saved
            why = payload_reasons(e.errors())
            raise PageError(422, reason("web.plan_title"), reason("web.plan_unreadable"), list(why)) from None
        drafts.save_plan_draft(db, year, unit, plan, actor, locale)
    codes = [c.code for c in case.policy.criteria_for(case.unit.kind)]
    after = codes.index(kriteria) + 1
    target_page = f"/rencana/{codes[after]}" if after < len(codes) else "/rencana"
    return RedirectResponse(case_url(year, unit) + target_page, status_code=303)


@router.post("/kasus/{year}/{unit}/rencana-kirim", response_class=HTMLResponse, dependencies=[page_reads("command")])
async def kirim_rencana(
    request: Request,
    year: int,
    unit: str,
    actor: PageActor,
    locale: PageLocale,
    db: SessionDep,
    client: ClientDep,
    state: State,
) -> Response:
    """Send the saved plan (`kirim_rencana`). A refusal: the overview with the reasons."""
    _case, draft = open_plan(db, actor, year, unit, locale)
    form = await request.form()
    try:
        key = text(form, "kunci") or secrets.token_urlsafe(16)
        await cases.send_event(db, client, state.limits, year, unit, "kirim_rencana", actor, draft.rencana, key)
    except ApiError as e:
        db.rollback()
        errors = [("kirim", render(r, locale)) for r in (e.why or [e.message])]
        return overview(request, db, actor, locale, year, unit, e.status, errors)
    return RedirectResponse(f"{case_url(year, unit)}?berhasil=kirim_rencana", status_code=303)


# --- The Kanwil's review ------------------------------------------------------------------------------------------


def review(
    request: Request,
    db: Session,
    actor: Actor,
    locale: str,
    year: int,
    unit: str,
    status: int = 200,
    errors=None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    with as_page():
        row = readable_case(db, actor, "history", year, unit)
    case = CaseData.model_validate(row.data)
    why = lifecycle.forbidden(case, "tanggapi_rencana", actor)
    if why:
        raise PageError(403, reason("web.plan_review_title"), reason("web.plan_review_kanwil_only"), list(why))
    return page(
        request,
        locale,
        "rencana_tinjau.html",
        status,
        case=case,
        plan=rencana.plan_view(db, row),
        criteria=case.policy.criteria_for(case.unit.kind),
        errors=errors or [],
        values=values or {},
        key=secrets.token_urlsafe(16),
        decisions=[("diterima", gettext(locale, "web.plan_accept")), ("perbaiki", gettext(locale, "web.plan_return"))],
        case_url=case_url(year, unit),
    )


@router.get("/kasus/{year}/{unit}/tinjau-rencana", response_class=HTMLResponse, dependencies=[page_reads("history")])
def tinjau_rencana(request: Request, year: int, unit: str, actor: PageActor, locale: PageLocale, db: SessionDep):
    return review(request, db, actor, locale, year, unit)


@router.post("/kasus/{year}/{unit}/tinjau-rencana", response_class=HTMLResponse, dependencies=[page_reads("command")])
async def tanggapi_rencana(
    request: Request,
    year: int,
    unit: str,
    actor: PageActor,
    locale: PageLocale,
    db: SessionDep,
    client: ClientDep,
    state: State,
) -> Response:
    """The Kanwil's answer (`tanggapi_rencana`): the decision, a general note and notes per indicator."""
    form = await request.form()
    with as_page():
        row = readable_case(db, actor, "history", year, unit)
    case = CaseData.model_validate(row.data)
    codes = [i.code for c in case.policy.criteria_for(case.unit.kind) for i in c.indicators]
    notes = {code: note for code in codes if (note := text(form, f"indikator-{code}"))}
    payload: dict[str, Any] = {"keputusan": text(form, "keputusan"), "indikator": notes}
    if text(form, "catatan"):
        payload["catatan"] = text(form, "catatan")
    try:
        key = text(form, "kunci") or secrets.token_urlsafe(16)
        await cases.send_event(db, client, state.limits, year, unit, "tanggapi_rencana", actor, payload, key)
    except ApiError as e:
        db.rollback()
        errors = [(field.removeprefix("tanggapi_rencana-"), words) for field, words in refusal_errors(EVENT, e, locale)]
        return review(request, db, actor, locale, year, unit, e.status, errors, kept(form))
    return RedirectResponse(f"{case_url(year, unit)}?berhasil=tanggapi_rencana", status_code=303)
