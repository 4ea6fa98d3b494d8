"""Laporan: the report, criterion by criterion from the unit kind's catalogue, each indicator on its scale with its
evidence; the draft saved on every step (`service/drafts.py`), the checks that still fail listed before sending, and
the send button only when they pass. The same pages serve `kirim_perbaikan`, with the verifier's notes beside each
indicator."""

from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from models.contracts import Actor, CaseData, JawabanIndikator, Laporan
from models.criteria import Criterion
from service import cases, drafts
from service.deps import ClientDep, SessionDep, State, UnitCode, Year
from service.i18n import display, gettext, render
from service.pages.cases import as_page, evidence_context, verifier_notes
from service.pages.draft_forms import (
    criterion_context,
    criterion_of,
    draft_url,
    files_chosen,
    next_criterion,
    open_draft,
    overview_context,
    send_draft,
    store_chosen,
    with_files,
)
from service.pages.forms import text
from service.pages.render import Errors, PageActor, PageLocale, page, page_reads
from workflows.reasons import payload_reasons

router = APIRouter(prefix="/ui")


def open_report(db: Session, actor: Actor, year: int, unit: str, locale: str) -> tuple[CaseData, drafts.DraftView]:
    return open_draft(db, actor, year, unit, locale, "kirim_laporan", drafts.get_draft)


def overview(
    request: Request, db: Session, actor: Actor, locale: str, year: int, unit: str, status: int = 200, errors=None
) -> HTMLResponse:
    case, draft = open_report(db, actor, year, unit, locale)
    answered = {a["kode"] for a in draft.laporan.get("indikator", [])}
    return page(
        request,
        locale,
        "laporan.html",
        status,
        **overview_context(case, draft, answered, draft_url(year, unit, "laporan"), errors, locale),
        notes=verifier_notes(cases.transitions(db, year, unit)),
        event_name=display(locale, "event", draft.event),
    )


@router.get("/kasus/{year}/{unit}/laporan", response_class=HTMLResponse, dependencies=[page_reads("draft")])
def laporan(request: Request, year: Year, unit: UnitCode, actor: PageActor, locale: PageLocale, db: SessionDep):
    return overview(request, db, actor, locale, year, unit)


def criterion_page(
    request: Request,
    db: Session,
    locale: str,
    case: CaseData,
    criterion: Criterion,
    answers: dict[str, dict[str, Any]],
    status: int = 200,
    errors: Errors | None = None,
) -> HTMLResponse:
    """One criterion's indicators: as saved (GET), or as typed beside what is wrong (a refused POST); with the
    verifier's note on each when the report came back to be revised."""
    named = [b for i in criterion.indicators for b in answers.get(i.code, {}).get("bukti", [])]
    notes = verifier_notes(cases.transitions(db, case.year, case.unit.code))["indikator"]
    link = draft_url(case.year, case.unit.code, "laporan")
    return page(
        request,
        locale,
        "laporan_kriteria.html",
        status,
        **criterion_context(case, criterion, notes, link, errors or []),
        answers=answers,
        **evidence_context(db, locale, case.unit.code, named),
    )


@router.get("/kasus/{year}/{unit}/laporan/{kriteria}", response_class=HTMLResponse, dependencies=[page_reads("draft")])
def laporan_kriteria(
    request: Request, year: Year, unit: UnitCode, kriteria: str, actor: PageActor, locale: PageLocale, db: SessionDep
):
    case, draft = open_report(db, actor, year, unit, locale)
    answers = {a["kode"]: a for a in draft.laporan.get("indikator", [])}
    return criterion_page(request, db, locale, case, criterion_of(case, kriteria), answers)


def typed_answers(form: FormData, criterion: Criterion, saved: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """This criterion's indicators as the form has them: a value not chosen again keeps the saved one ("" when there
    is none), the saved files kept."""
    answers = {}
    for i in criterion.indicators:
        previous = saved.get(i.code, {})
        answers[i.code] = {
            "kode": i.code,
            "nilai": text(form, f"nilai-{i.code}") or previous.get("nilai", ""),
            "bukti": list(previous.get("bukti", [])),
            "keterangan": text(form, f"keterangan-{i.code}") or None,
        }
    return answers


def unsaveable(typed: dict[str, dict[str, Any]], form: FormData, locale: str) -> Errors:
    """What on the form cannot be saved, each beside its field: a note or a file for an indicator whose value is not
    chosen (it would be lost without a word), a note too long."""
    errors: Errors = []
    for code, answer in typed.items():
        if not answer["nilai"]:
            if answer["keterangan"] or files_chosen(form, f"bukti-{code}"):
                errors.append((f"nilai-{code}", gettext(locale, "web.report_value_missing", indikator=code)))
            continue
        try:
            JawabanIndikator.model_validate(answer)
        except ValidationError as e:
            for r in payload_reasons(e.errors()):
                named = r.model_copy(update={"params": r.params | {"isian": f"{code}.{r.params.get('isian', '')}"}})
                errors.append((f"keterangan-{code}", render(named, locale)))
    return errors


@router.post("/kasus/{year}/{unit}/laporan/{kriteria}", dependencies=[page_reads("command")])
async def simpan_kriteria(
    request: Request,
    year: Year,
    unit: UnitCode,
    kriteria: str,
    actor: PageActor,
    locale: PageLocale,
    db: SessionDep,
    state: State,
) -> Response:
    """Save this criterion's answers and files into the draft, then the next criterion (or the overview). A file the
    evidence store refuses: the same criterion again with the error summary and what was typed; nothing saved."""
    case, draft = open_report(db, actor, year, unit, locale)
    criterion = criterion_of(case, kriteria)
    form = await request.form()
    saved = {a["kode"]: a for a in draft.laporan.get("indikator", [])}
    typed = typed_answers(form, criterion, saved)
    errors = unsaveable(typed, form, locale)
    stored, status, errors = await store_chosen(db, state.settings, actor, form, list(typed), errors, locale)
    if errors:
        return criterion_page(request, db, locale, case, criterion, saved | typed, status, errors)
    answers = saved | {code: a for code, a in with_files(typed, stored).items() if a["nilai"]}
    with as_page():
        laporan = Laporan(indikator=[JawabanIndikator.model_validate(a) for a in answers.values()])
        drafts.save_draft(db, year, unit, laporan, actor, locale)
    return next_criterion(case, kriteria, draft_url(year, unit, "laporan"))


@router.post("/kasus/{year}/{unit}/laporan-kirim", response_class=HTMLResponse, dependencies=[page_reads("command")])
async def kirim_laporan(
    request: Request,
    year: Year,
    unit: UnitCode,
    actor: PageActor,
    locale: PageLocale,
    db: SessionDep,
    client: ClientDep,
    state: State,
) -> Response:
    """Send the saved draft as the report (or its revision). A refusal: the overview with the reasons."""
    _case, draft = open_report(db, actor, year, unit, locale)
    again = partial(overview, request, db, actor, locale, year, unit)
    return await send_draft(request, db, client, state, actor, locale, year, unit, draft.event, draft.laporan, again)
