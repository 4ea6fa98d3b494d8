"""Laporan: the report, criterion by criterion from the unit kind's catalogue, each indicator on its scale with its
evidence; the draft saved on every step (`service/drafts.py`), the checks that still fail listed before sending, and
the send button only when they pass. The same pages serve `kirim_perbaikan`, with the verifier's notes beside each
indicator."""

import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlmodel import Session

from models.contracts import Actor, CaseData, JawabanIndikator, Laporan
from models.criteria import Criterion
from service import cases, drafts, evidence
from service.access import readable_case
from service.deps import ClientDep, SessionDep, State
from service.errors import ApiError
from service.i18n import display, gettext, render
from service.pages.cases import as_page, case_url, evidence_context, verifier_notes
from service.pages.forms import text
from service.pages.render import PageActor, PageError, PageLocale, page, page_reads
from workflows.reasons import reason

router = APIRouter(prefix="/ui")


def open_report(db: Session, actor: Actor, year: int, unit: str, locale: str) -> tuple[CaseData, drafts.DraftView]:
    with as_page():
        row = readable_case(db, actor, "draft", year, unit)
        drafts.own_case(db, year, unit, actor)  # the unit's operator edits its report; the others read the case page
        view = drafts.get_draft(db, row, locale)
    return CaseData.model_validate(row.data), view


def criterion_of(case: CaseData, code: str) -> Criterion:
    found = [c for c in case.policy.criteria_for(case.unit.kind) if c.code == code]
    if not found:
        raise PageError(404, reason("web.criterion_unknown_title"), reason("web.criterion_unknown", kriteria=code))
    return found[0]


def overview(
    request: Request, db: Session, actor: Actor, locale: str, year: int, unit: str, status: int = 200, errors=None
) -> HTMLResponse:
    case, draft = open_report(db, actor, year, unit, locale)
    answered = {a["kode"] for a in draft.laporan.get("indikator", [])}
    link = case_url(year, unit) + "/laporan/"
    criteria_rows = [
        [
            Markup('<a href="{}">{}</a>').format(link + c.code, c.name),
            gettext(
                locale, "web.answered_n_of", n=sum(i.code in answered for i in c.indicators), total=len(c.indicators)
            ),
        ]
        for c in case.policy.criteria_for(case.unit.kind)
    ]
    return page(
        request,
        locale,
        "laporan.html",
        status,
        case=case,
        draft=draft,
        criteria_rows=criteria_rows,
        errors=errors or [],
        key=secrets.token_urlsafe(16),
        notes=verifier_notes(cases.transitions(db, year, unit)),
        event_name=display(locale, "event", draft.event),
        case_url=case_url(year, unit),
    )


@router.get("/kasus/{year}/{unit}/laporan", response_class=HTMLResponse, dependencies=[page_reads("draft")])
def laporan(request: Request, year: int, unit: str, actor: PageActor, locale: PageLocale, db: SessionDep):
    return overview(request, db, actor, locale, year, unit)


@router.get("/kasus/{year}/{unit}/laporan/{kriteria}", response_class=HTMLResponse, dependencies=[page_reads("draft")])
def laporan_kriteria(
    request: Request, year: int, unit: str, kriteria: str, actor: PageActor, locale: PageLocale, db: SessionDep
):
    case, draft = open_report(db, actor, year, unit, locale)
    criterion = criterion_of(case, kriteria)
    codes = [c.code for c in case.policy.criteria_for(case.unit.kind)]
    answers = {a["kode"]: a for a in draft.laporan.get("indikator", [])}
    named = [b for i in criterion.indicators for b in answers.get(i.code, {}).get("bukti", [])]
    return page(
        request,
        locale,
        "laporan_kriteria.html",
        case=case,
        criterion=criterion,
        scale=[(value, value) for value in criterion.scale],
        position=codes.index(kriteria) + 1,
        total=len(codes),
        answers=answers,
        notes=verifier_notes(cases.transitions(db, year, unit)),
        errors=[],
        case_url=case_url(year, unit),
        **evidence_context(db, locale, unit, named),
    )


@router.post("/kasus/{year}/{unit}/laporan/{kriteria}", dependencies=[page_reads("command")])
async def simpan_kriteria(
    request: Request,
    year: int,
    unit: str,
    kriteria: str,
    actor: PageActor,
    locale: PageLocale,
    db: SessionDep,
    state: State,
) -> Response:
    """Save this criterion's answers and files into the draft, then the next criterion (or the overview)."""
    case, draft = open_report(db, actor, year, unit, locale)
    criterion = criterion_of(case, kriteria)
    form = await request.form()
    answers: dict[str, dict[str, Any]] = {a["kode"]: a for a in draft.laporan.get("indikator", [])}
    with as_page():
        for i in criterion.indicators:
            previous = answers.get(i.code, {})
            bukti = list(previous.get("bukti", []))
            for upload in form.getlist(f"bukti-{i.code}"):
                if isinstance(upload, str) or not upload.filename:
                    continue
                info, _ = await evidence.store_upload(db, state.settings, actor, upload)
                bukti += [info.id] if info.id not in bukti else []
            nilai = text(form, f"nilai-{i.code}") or previous.get("nilai", "")
            keterangan = text(form, f"keterangan-{i.code}") or None
            if nilai:
                answers[i.code] = {"kode": i.code, "nilai": nilai, "bukti": bukti, "keterangan": keterangan}
        laporan = Laporan(indikator=[JawabanIndikator.model_validate(a) for a in answers.values()])
        drafts.save_draft(db, year, unit, laporan, actor, locale)
    codes = [c.code for c in case.policy.criteria_for(case.unit.kind)]
    after = codes.index(kriteria) + 1
    target = f"/laporan/{codes[after]}" if after < len(codes) else "/laporan"
    return RedirectResponse(case_url(year, unit) + target, status_code=303)


@router.post("/kasus/{year}/{unit}/laporan-kirim", response_class=HTMLResponse, dependencies=[page_reads("command")])
async def kirim_laporan(
    request: Request,
    year: int,
    unit: str,
    actor: PageActor,
    locale: PageLocale,
    db: SessionDep,
    client: ClientDep,
    state: State,
) -> Response:
    """Send the saved draft as the report (or its revision). A refusal: the overview with the reasons."""
    case, draft = open_report(db, actor, year, unit, locale)
    form = await request.form()
    try:
        key = text(form, "kunci") or secrets.token_urlsafe(16)
        await cases.send_event(db, client, state.limits, year, unit, draft.event, actor, draft.laporan, key)
    except ApiError as e:
        db.rollback()
        errors = [("kirim", render(r, locale)) for r in (e.why or [e.message])]
        return overview(request, db, actor, locale, year, unit, e.status, errors)
    return RedirectResponse(f"{case_url(year, unit)}?berhasil={draft.event}", status_code=303)
