"""Kasus, Permohonan and the forms of every event: the case as its reader may see it, and what the reader may do.

Every write goes through the service layer the JSON API uses (`service/cases.py`, `service/drafts.py`,
`service/evidence.py`); a refusal comes back as `ApiError` with its reasons and is shown as the error summary, with
what was typed kept. Success: POST, then a redirect to the case page (GET).
"""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from babel.numbers import format_decimal
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from models.contracts import Actor, CaseData, CaseView
from models.tables import CaseRow, EvidenceRow
from service import cases, documents, evidence, rencana
from service.access import lineage, readable_case
from service.deps import CYCLE_YEARS, CaseEvent, ClientDep, EvidenceId, SessionDep, State, UnitCode, Year
from service.errors import ApiError
from service.i18n import display, gettext, moment, person, render
from service.pages import forms
from service.pages.render import Errors, PageActor, PageError, PageLocale, page, page_reads, refusal
from workflows import access, lifecycle
from workflows.reasons import Reason, reason

router = APIRouter(prefix="/ui")

REPORT_EVENTS = ("kirim_laporan", "kirim_perbaikan")
# Once the result is fixed (either way) and whatever came after it: the outcome document can be printed.
OUTCOME_STAGES = frozenset().union(*(lifecycle.onward(t) for t in lifecycle.targets("tetapkan_hasil_evaluasi")))


def case_url(year: int, unit: str) -> str:
    return f"/ui/kasus/{year}/{unit}"


@contextmanager
def as_page() -> Iterator[None]:
    """A refusal of the service layer, on a page that has no form to show it beside: a page in words."""
    try:
        yield
    except ApiError as e:
        raise refusal(e) from None


def field_id(event: str, r: Reason | str) -> str:
    """The form field a reason is about (a payload reason names it as `isian`), else the form itself."""
    path = r.params.get("isian") if isinstance(r, Reason) else None
    if isinstance(path, str) and path not in ("", "body"):
        return f"{event}-{path}".replace(".", "-")
    return f"form-{event}"


def refusal_errors(event: str, e: ApiError, locale: str) -> Errors:
    return [(field_id(event, r), render(r, locale)) for r in (e.why or [e.message])]


def local_moment(locale: str, value: datetime | None, case: CaseData) -> str:
    return moment(locale, value.astimezone(case.unit.tz)) if value else "–"


def submitted_report(history: list, case: CaseData) -> dict[str, Any] | None:
    """The report as last sent (kirim_laporan or kirim_perbaikan), with the verifier's notes if it was returned."""
    sent = [t for t in history if t.event in REPORT_EVENTS]
    if not sent:
        return None
    answers = {a["kode"]: a for a in sent[-1].payload.get("indikator", [])}
    return {"answers": answers, "criteria": case.policy.criteria_for(case.unit.kind)}


MEDIA_NAMES = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}


def evidence_context(db: Session, locale: str, unit: str, ids: list[str]) -> dict[str, Any]:
    """What `bukti.html` needs for these files of the unit: the files, and a document's name, type and size."""
    files = evidence.described(db, unit, ids)

    def file_label(evidence_id: str) -> str:
        row = files.get(evidence_id)
        if row is None:
            return gettext(locale, "web.evidence_unknown", bukti=evidence_id[:8])
        kilobytes = format_decimal(max(row.size / 1024, 0.1), format="#,##0.#", locale=locale)
        return gettext(
            locale,
            "web.evidence_file",
            nama=row.name or f"bukti-{evidence_id[:8]}",
            jenis=MEDIA_NAMES.get(row.media_type, row.media_type),
            ukuran=kilobytes,
        )

    return {"files": files, "file_label": file_label}


def verifier_notes(history: list) -> dict[str, Any]:
    """The last `kembalikan`: its general note and the notes per indicator."""
    returned = [t for t in history if t.event == "kembalikan"]
    if not returned:
        return {"catatan": "", "indikator": {}}
    return {"catatan": returned[-1].payload.get("catatan", ""), "indikator": returned[-1].payload.get("indikator", {})}


def event_forms(view: CaseView, case: CaseData) -> list[dict[str, Any]]:
    """A form for each event the reader may send now, each with its own idempotency key: a form sent twice (a double
    click, a retry) is applied once."""
    actions = []
    for event in view.allowed:
        event_fields = forms.fields(event, case)
        key = secrets.token_urlsafe(16)
        actions.append({"event": event, "fields": event_fields, "key": key, "files": forms.has_file(event_fields)})
    return actions


def not_now(view: CaseView, locale: str) -> list[tuple[str, list[str]]]:
    """The reader's events that the case refuses now, with the reasons in words; the calendar's own events are
    nobody's to send."""
    return [
        (event, [render(r, locale) for r in why])
        for event, why in view.refused_codes.items()
        if lifecycle.RULES[event].roles != ("system",)
    ]


def history_entries(history: list, case: CaseData, locale: str) -> list[list[str]]:
    """The history newest first: when (in the unit's own zone), who, what, and the stage it led to."""
    return [
        [
            local_moment(locale, t.at, case),
            person(locale, t.actor["name"] or t.actor["sub"], t.actor["role"]),
            display(locale, "event", t.event),
            display(locale, "stage", t.to),
        ]
        for t in reversed(history)
    ]


def report_evidence(report: dict[str, Any] | None) -> list[str]:
    """The evidence the submitted report names, to describe each file beside its answer."""
    return [b for a in report["answers"].values() for b in a.get("bukti", [])] if report else []


def case_page(
    request: Request,
    db: Session,
    actor: Actor,
    locale: str,
    row: CaseRow,
    refused: forms.Refused = forms.NOTHING_REFUSED,
) -> HTMLResponse:
    """The case as `actor` may see it, with the forms of what they may do now (a `refused` one again, with its
    reasons)."""
    case = CaseData.model_validate(row.data)
    view: CaseView = lifecycle.view(case, actor, cases.now(), lineage(db, row.unit))
    # The steps, the report and the notes are the case's contents: only for those who read its history (an admin
    # sees the stage and may cancel, never the contents).
    may_read_history = access.may_read(case, actor, "history")
    steps = cases.transitions(db, row.year, row.unit) if may_read_history else []
    history = cases.visible_history(db, actor, row, steps)
    report = submitted_report(history, case)
    return page(
        request,
        locale,
        "kasus.html",
        refused.status,
        case=case,
        row=row,
        view=view,
        deadline=local_moment(locale, view.deadline, case),
        jadwal=local_moment(locale, case.jadwal, case) if case.jadwal else None,
        actions=event_forms(view, case),
        not_now=not_now(view, locale),
        entries=history_entries(history, case, locale),
        report=report,
        notes=verifier_notes(history),
        plan=rencana.plan_view(db, row) if may_read_history and case.rencana else None,  # beside the report
        outcome=row.stage in OUTCOME_STAGES,
        done=forms.sent(request, {*lifecycle.EVENTS, "ajukan"}),
        kind_name=display(locale, "kind", case.unit.kind),
        event_name=lambda event: display(locale, "event", event),
        case_url=case_url(row.year, row.unit),
        **refused.context(),
        **forms.choices(locale),
        **evidence_context(db, locale, row.unit, report_evidence(report)),
    )


@router.get("/kasus/{year}/{unit}", response_class=HTMLResponse, dependencies=[page_reads("case")])
def kasus(request: Request, year: Year, unit: UnitCode, actor: PageActor, locale: PageLocale, db: SessionDep):
    with as_page():
        row = readable_case(db, actor, "case", year, unit)
    return case_page(request, db, actor, locale, row)


async def stored_files(
    event_fields: list[forms.Field], form: FormData, db: Session, state: Any, actor: Actor
) -> dict[str, str]:
    """The files chosen on the form, stored as evidence of the actor's unit: their ids by field."""
    stored = {}
    for name, upload in forms.files(event_fields, form).items():
        info, _ = await evidence.store_upload(db, state.settings, actor, upload)
        stored[name] = info.id
    return stored


@router.post(
    "/kasus/{year}/{unit}/peristiwa/{event}", response_class=HTMLResponse, dependencies=[page_reads("command")]
)
async def kirim(
    request: Request,
    year: Year,
    unit: UnitCode,
    event: CaseEvent,
    actor: PageActor,
    locale: PageLocale,
    db: SessionDep,
    state: State,
    client: ClientDep,
) -> Response:
    """One event from its form. A refusal shows the case page again with the reasons and what was typed."""
    with as_page():
        row = readable_case(db, actor, "case", year, unit)
        if event not in lifecycle.RULES:
            raise ApiError(404, "unknown_event", reason("error.peristiwa_tidak_dikenal"))
    form = await request.form()
    case = CaseData.model_validate(row.data)
    event_fields = forms.fields(event, case)
    key = forms.text(form, "kunci") or secrets.token_urlsafe(16)
    try:
        uploaded = await stored_files(event_fields, form, db, state, actor)
        payload = forms.payload(event_fields, form, case, uploaded)
        await cases.send_event(db, client, state.limits, year, unit, event, actor, payload, key)
    except ApiError as e:
        db.rollback()
        row = readable_case(db, actor, "case", year, unit)
        refused = forms.Refused(e.status, event, refusal_errors(event, e, locale), forms.kept(form))
        return case_page(request, db, actor, locale, row, refused)
    return RedirectResponse(f"{case_url(year, unit)}?berhasil={event}", status_code=303)


@router.get("/kasus/{year}/{unit}/dokumen", dependencies=[page_reads("document")])
def dokumen(year: Year, unit: UnitCode, actor: PageActor, db: SessionDep) -> Response:
    """The outcome document (Berita Acara / Surat Keterangan Hasil Evaluasi), one click from the case page."""
    with as_page():
        row = readable_case(db, actor, "document", year, unit)
    case = CaseData.model_validate(row.data)
    history = cases.transitions(db, year, unit)
    document = documents.hasil_evaluasi(case, history, actor)
    if document is None:
        stage = [reason("hasil_evaluasi_belum_ditetapkan", stage=row.stage)]
        raise PageError(404, reason("error.hasil_evaluasi_belum_ada", unit=unit, tahun=year), stage[0])
    return HTMLResponse(document.html, headers={"Content-Disposition": f'inline; filename="{document.filename}"'})


def case_file(
    db: Session, root: Path, actor: Actor, year: int, unit: str, evidence_id: str
) -> tuple[EvidenceRow, Path]:
    """A file of the case's unit (its row, where it is stored), for whoever may read the case; its read is logged."""
    with as_page():
        readable_case(db, actor, "evidence", year, unit)
        return evidence.read_unit_file(db, root, actor, year, unit, evidence_id)


@router.get("/kasus/{year}/{unit}/bukti/{evidence_id}", dependencies=[page_reads("evidence")])
def bukti(
    year: Year, unit: UnitCode, evidence_id: EvidenceId, actor: PageActor, db: SessionDep, state: State
) -> Response:
    """A file of the case's unit, for whoever may read the case."""
    row, path = case_file(db, state.settings.evidence_dir, actor, year, unit, evidence_id)
    return Response(
        path.read_bytes(), media_type=row.media_type, headers={"ETag": f'"{evidence_id}"', **evidence.HEADERS}
    )


@router.get("/kasus/{year}/{unit}/bukti/{evidence_id}/kecil", dependencies=[page_reads("evidence")])
def bukti_kecil(
    year: Year, unit: UnitCode, evidence_id: EvidenceId, actor: PageActor, db: SessionDep, state: State
) -> Response:
    """A small JPEG of a photo, made on the server once: a list never loads the full photo."""
    case_file(db, state.settings.evidence_dir, actor, year, unit, evidence_id)
    with as_page():
        small = evidence.thumbnail(state.settings.evidence_dir, evidence_id)
    return Response(small, media_type="image/jpeg", headers=evidence.HEADERS)


@router.get("/permohonan", response_class=HTMLResponse, dependencies=[page_reads("command")])
def permohonan(request: Request, actor: PageActor, locale: PageLocale) -> HTMLResponse:
    year = cases.this_year()
    return page(request, locale, "permohonan.html", values={"tahun": str(year), "catatan": ""}, errors=[])


@router.post("/permohonan", response_class=HTMLResponse, dependencies=[page_reads("command")])
async def ajukan(
    request: Request,
    actor: PageActor,
    locale: PageLocale,
    db: SessionDep,
    state: State,
    client: ClientDep,
    tahun: Annotated[str, Form()] = "",
    catatan: Annotated[str, Form()] = "",
) -> Response:
    """The unit's application (`ajukan`) for a cycle year; then its case page."""
    values = {"tahun": tahun.strip(), "catatan": catatan.strip()}
    year = int(values["tahun"]) if values["tahun"].isdigit() else None
    if year is None or year not in CYCLE_YEARS:
        problem = gettext(locale, "web.enter_cycle_year")
        return page(request, locale, "permohonan.html", 422, values=values, errors=[("tahun", problem)])
    try:
        await cases.apply(
            db,
            client,
            state.limits,
            state.settings.task_queue,
            year,
            actor.unit or "",
            actor,
            values["catatan"] or None,
        )
    except ApiError as e:
        errors = [("tahun", render(r, locale)) for r in (e.why or [e.message])]
        return page(request, locale, "permohonan.html", e.status, values=values, errors=errors)
    return RedirectResponse(f"{case_url(year, actor.unit or '')}?berhasil=ajukan", status_code=303)
