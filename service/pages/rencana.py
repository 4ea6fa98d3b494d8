"""Rencana aksi: the operator's action plan, criterion by criterion from the unit kind's catalogue (each indicator's
state on its scale and, while it is not met, the gap, constraint, action or alternative, who and by when, evidence
of progress), the draft saved on every step (`service/drafts.py`) and sent with `kirim_rencana`; and the Kanwil's
review page, notes per indicator and a decision, sent with `tanggapi_rencana`. Both through `service/cases.py`."""

import secrets
from datetime import datetime
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from models.contracts import Actor, CaseData, Rencana, TindakanRencana
from models.criteria import Criterion
from service import cases, drafts, rencana
from service.access import readable_case
from service.deps import ClientDep, SessionDep, State, UnitCode, Year
from service.errors import ApiError
from service.i18n import display, gettext, render
from service.pages.cases import as_page, case_url
from service.pages.draft_forms import (
    criterion_context,
    criterion_of,
    draft_url,
    files_chosen,
    next_criterion,
    open_draft,
    overview_context,
    send_draft,
    send_from_form,
    store_chosen,
    with_files,
)
from service.pages.forms import kept, moment_value, text
from service.pages.render import Errors, PageActor, PageError, PageLocale, page, page_reads
from workflows import lifecycle
from workflows.reasons import Reason, payload_reasons, reason

router = APIRouter(prefix="/ui")
EVENT = "tanggapi_rencana"
TEXTS = ("kesenjangan", "kendala", "tindakan", "alternatif", "penanggung_jawab")  # an action's fields in words
TARGET_REASONS = ("rencana.target_sudah_lewat", "rencana.target_setelah_siklus")  # kirim_rencana on a target date


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
    return open_draft(db, actor, year, unit, locale, "kirim_rencana", drafts.get_plan_draft)


def overview(
    request: Request,
    db: Session,
    actor: Actor,
    locale: str,
    year: int,
    unit: str,
    status: int = 200,
    errors: Errors | None = None,
) -> HTMLResponse:
    case, draft = open_plan(db, actor, year, unit, locale)
    given = {a["kode"] for a in draft.rencana.get("indikator", [])}
    link = draft_url(year, unit, "rencana")
    # A check that names an indicator links to it on its criterion's page, where it is fixed.
    criteria = case.policy.criteria_for(case.unit.kind)
    where = {i.code: f"{link}/{c.code}#indikator-{i.code}" for c in criteria for i in c.indicators}
    checks = [(render(r, locale), where.get(str(r.params.get("indikator")))) for r in draft.check_codes]
    return page(
        request,
        locale,
        "rencana.html",
        status,
        **overview_context(case, draft, given, link, errors, locale),
        checks=checks,
        answer=rencana.kanwil_answer(cases.transitions(db, year, unit)),
        event_name=display(locale, "event", "kirim_rencana"),
    )


@router.get("/kasus/{year}/{unit}/rencana", response_class=HTMLResponse, dependencies=[page_reads("draft")])
def rencana_aksi(request: Request, year: Year, unit: UnitCode, actor: PageActor, locale: PageLocale, db: SessionDep):
    return overview(request, db, actor, locale, year, unit)


def local_input(value: str | None, case: CaseData) -> str:
    """A stored target date as the form shows it: in the unit's zone, "2026-08-17 09:00"."""
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value).astimezone(case.unit.tz).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return value


def criterion_page(
    request: Request,
    db: Session,
    locale: str,
    case: CaseData,
    criterion: Criterion,
    actions: dict[str, dict[str, Any]],
    targets: dict[str, str],
    status: int = 200,
    errors: Errors | None = None,
) -> HTMLResponse:
    """One criterion's indicators: as saved (GET), or as typed beside what is wrong with them (a refused POST); with
    the Kanwil's note on each, when it answered the plan as last sent (what to revise)."""
    link = draft_url(case.year, case.unit.code, "rencana")
    answer = rencana.kanwil_answer(cases.transitions(db, case.year, case.unit.code))
    errors = errors or []
    wrong = {field for field, _words in errors}
    # An indicator's details stay open when it is not met, holds something, or has something to fix.
    opened = {
        i.code
        for i in criterion.indicators
        if actions.get(i.code, {}).get("keadaan") not in ("", None, criterion.scale[0])
        or targets.get(i.code)
        or any(actions.get(i.code, {}).get(name) or f"{name}-{i.code}" in wrong for name in (*TEXTS, "target"))
    }
    return page(
        request,
        locale,
        "rencana_kriteria.html",
        status,
        **criterion_context(case, criterion, answer.get("indikator", {}), link, errors),
        actions=actions,
        targets=targets,
        opened=opened,
        texts=text_fields(locale),
    )


@router.get("/kasus/{year}/{unit}/rencana/{kriteria}", response_class=HTMLResponse, dependencies=[page_reads("draft")])
def rencana_kriteria(
    request: Request, year: Year, unit: UnitCode, kriteria: str, actor: PageActor, locale: PageLocale, db: SessionDep
):
    case, draft = open_plan(db, actor, year, unit, locale)
    actions = {a["kode"]: a for a in draft.rencana.get("indikator", [])}
    targets = {code: local_input(a.get("target"), case) for code, a in actions.items()}
    return criterion_page(request, db, locale, case, criterion_of(case, kriteria), actions, targets)


def typed_actions(
    form: FormData, criterion: Criterion, saved: dict[str, dict[str, Any]]
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """This criterion's indicators as the form has them (a state not chosen again keeps the saved one; "" when none
    is chosen), and the target dates as typed."""
    actions, targets = {}, {}
    for i in criterion.indicators:
        previous = saved.get(i.code, {})
        keadaan = text(form, f"keadaan-{i.code}") or previous.get("keadaan", "")
        action = {"kode": i.code, "keadaan": keadaan, "bukti": list(previous.get("bukti", []))}
        actions[i.code] = action | {name: text(form, f"{name}-{i.code}") or None for name in TEXTS}
        targets[i.code] = text(form, f"target-{i.code}")
    return actions, targets


def readable_moment(raw: str) -> bool:
    try:
        datetime.fromisoformat(raw)
    except ValueError:
        return False
    return True


def unreadable(
    actions: dict[str, dict[str, Any]],
    targets: dict[str, str],
    chosen: set[str],
    criterion: Criterion,
    case: CaseData,
    locale: str,
) -> Errors:
    """What on the form cannot be saved at all, each beside its field: a state off the scale or none beside what was
    typed or a file chosen (`chosen`: the indicators with one), a target date that is not a date, a text too long.
    Fills each action's `target` as a moment when it reads."""
    labels = dict(text_fields(locale)) | {"keadaan": gettext(locale, "web.plan_field_keadaan")}
    errors: Errors = []
    for code, action in actions.items():
        raw = targets.get(code, "")
        action["target"] = moment_value(raw, case) if raw and readable_moment(raw) else None
        if raw and not readable_moment(raw):
            words = reason("web.plan_target_unreadable", indikator=code, nilai=raw, zona=case.unit.zona_waktu)
            errors.append((f"target-{code}", render(words, locale)))
        if not action["keadaan"]:
            if raw or any(action[name] for name in TEXTS) or code in chosen:  # beside no state: lost unsaid
                errors.append((f"keadaan-{code}", gettext(locale, "web.plan_state_missing", indikator=code)))
            continue  # not planned yet: nothing to save for it (the overview lists it)
        if action["keadaan"] not in criterion.scale:
            scale = " / ".join(criterion.scale)
            words = reason("nilai_di_luar_skala", indikator=code, nilai=action["keadaan"], skala=scale)
            errors.append((f"keadaan-{code}", render(words, locale)))
        try:
            TindakanRencana.model_validate(action)
        except ValidationError as e:
            for r in payload_reasons(e.errors()):
                name = str(r.params.get("isian", "")).split(".")[0]
                field = name if name in labels else "keadaan"
                named = r.model_copy(update={"params": r.params | {"isian": f"{labels[field]} ({code})"}})
                errors.append((f"{field}-{code}", render(named, locale)))
    return errors


def target_problems(db: Session, case: CaseData, plan: dict[str, Any], criterion: Criterion, locale: str) -> Errors:
    """The target dates of this criterion that `kirim_rencana` would refuse (passed, or after the cycle ends): told
    now, beside the field, rather than when the plan is sent."""
    codes = {i.code for i in criterion.indicators}
    why = drafts.checked(db, case, "kirim_rencana", Rencana, plan)
    return [
        (f"target-{r.params['indikator']}", render(r, locale))
        for r in why
        if r.code in TARGET_REASONS and r.params.get("indikator") in codes
    ]


@router.post("/kasus/{year}/{unit}/rencana/{kriteria}", dependencies=[page_reads("command")])
async def simpan_rencana_kriteria(
    request: Request,
    year: Year,
    unit: UnitCode,
    kriteria: str,
    actor: PageActor,
    locale: PageLocale,
    db: SessionDep,
    state: State,
) -> Response:
    """Save this criterion's indicators (and files) into the plan's draft, then the next criterion (or the overview).
    Anything wrong: the same criterion again with the error summary and what was typed; nothing saved."""
    case, draft = open_plan(db, actor, year, unit, locale)
    criterion = criterion_of(case, kriteria)
    form = await request.form()
    saved = {a["kode"]: a for a in draft.rencana.get("indikator", [])}
    typed, targets = typed_actions(form, criterion, saved)
    chosen = {code for code in typed if files_chosen(form, f"bukti-{code}")}
    errors = unreadable(typed, targets, chosen, criterion, case, locale)
    actions = saved | {code: a for code, a in typed.items() if a["keadaan"]}
    errors = errors or target_problems(db, case, {"indikator": list(actions.values())}, criterion, locale)
    stored, status, errors = await store_chosen(db, state.settings, actor, form, list(typed), errors, locale)
    if errors:
        return criterion_page(request, db, locale, case, criterion, saved | typed, targets, status, errors)
    with as_page():
        plan = Rencana(indikator=[TindakanRencana.model_validate(a) for a in with_files(actions, stored).values()])
        drafts.save_plan_draft(db, year, unit, plan, actor, locale)
    return next_criterion(case, kriteria, draft_url(year, unit, "rencana"))


@router.post("/kasus/{year}/{unit}/rencana-kirim", response_class=HTMLResponse, dependencies=[page_reads("command")])
async def kirim_rencana(
    request: Request,
    year: Year,
    unit: UnitCode,
    actor: PageActor,
    locale: PageLocale,
    db: SessionDep,
    client: ClientDep,
    state: State,
) -> Response:
    """Send the saved plan (`kirim_rencana`). A refusal: the overview with the reasons."""
    _case, draft = open_plan(db, actor, year, unit, locale)
    again = partial(overview, request, db, actor, locale, year, unit)
    return await send_draft(
        request, db, client, state, actor, locale, year, unit, "kirim_rencana", draft.rencana, again
    )


# --- The Kanwil's review ------------------------------------------------------------------------------------------


def review(
    request: Request,
    db: Session,
    actor: Actor,
    locale: str,
    year: int,
    unit: str,
    status: int = 200,
    errors: Errors | None = None,
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
        # The notes per indicator stay open when one was typed or one needs fixing.
        notes_open=any(f.startswith("indikator-") for f, _w in errors or [])
        or any(k.startswith("indikator-") and v for k, v in (values or {}).items()),
        key=secrets.token_urlsafe(16),
        decisions=[("diterima", gettext(locale, "web.plan_accept")), ("perbaiki", gettext(locale, "web.plan_return"))],
        case_url=case_url(year, unit),
    )


REVIEW_LABELS = {"keputusan": "web.field_keputusan", "catatan": "web.field_catatan"}


def review_errors(e: ApiError, case: CaseData, locale: str) -> Errors:
    """A refused answer: each reason beside the field it is about (its `isian`: keputusan, catatan,
    indikator.<code>), a field named by its label rather than its payload path; any other reason by the form."""
    names = {i.code: f"{i.code} {i.name}" for c in case.policy.criteria_for(case.unit.kind) for i in c.indicators}
    errors: Errors = []
    for r in e.why or [e.message]:
        path = r.params.get("isian") if isinstance(r, Reason) else None
        field, label = f"form-{EVENT}", None
        if isinstance(path, str) and path in REVIEW_LABELS:
            field, label = path, gettext(locale, REVIEW_LABELS[path])
        elif isinstance(path, str) and path.startswith("indikator."):
            code = path.removeprefix("indikator.")
            field, label = f"indikator-{code}", names.get(code, code)
        if isinstance(r, Reason) and label and r.code.startswith("isian."):  # a payload reason names its field
            r = r.model_copy(update={"params": r.params | {"isian": label}})
        errors.append((field, render(r, locale)))
    return errors


@router.get("/kasus/{year}/{unit}/tinjau-rencana", response_class=HTMLResponse, dependencies=[page_reads("history")])
def tinjau_rencana(request: Request, year: Year, unit: UnitCode, actor: PageActor, locale: PageLocale, db: SessionDep):
    return review(request, db, actor, locale, year, unit)


@router.post("/kasus/{year}/{unit}/tinjau-rencana", response_class=HTMLResponse, dependencies=[page_reads("command")])
async def tanggapi_rencana(
    request: Request,
    year: Year,
    unit: UnitCode,
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
    payload: dict[str, Any] = {"indikator": notes}
    for name in ("keputusan", "catatan"):  # left empty: not sent, so a missing decision reads "wajib diisi"
        if text(form, name):
            payload[name] = text(form, name)

    def refused(e: ApiError) -> Response:
        return review(request, db, actor, locale, year, unit, e.status, review_errors(e, case, locale), kept(form))

    return await send_from_form(db, client, state, actor, year, unit, EVENT, payload, form, refused)
