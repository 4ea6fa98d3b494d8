"""What the pages of a draft filled in criterion by criterion share: the report's (`service/pages/report.py`) and the
action plan's (`service/pages/rencana.py`). The draft opened for the unit's operator only; an overview of the unit
kind's criteria, each with its indicators answered, then the send button or the checks still failing
(draf_ringkasan.html); one form per criterion, a section per indicator, saved on its way to the next criterion
(draf_kriteria.html), its evidence files stored only when nothing else on it is wrong; and a form's event sent (the
draft, or the Kanwil's answer to the plan)."""

import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlmodel import Session
from starlette.datastructures import FormData, UploadFile
from temporalio.client import Client

from models.contracts import Actor, CaseData
from models.criteria import Criterion
from models.tables import CaseRow
from service import cases, drafts, evidence
from service.access import readable_case
from service.deps import AppState
from service.errors import ApiError
from service.i18n import gettext, render
from service.pages.cases import as_page, case_url
from service.pages.forms import text
from service.pages.render import Errors, PageError
from service.settings import Settings
from workflows.reasons import reason

View = TypeVar("View")


def open_draft(
    db: Session,
    actor: Actor,
    year: int,
    unit: str,
    locale: str,
    event: str,
    get: Callable[[Session, CaseRow, str], View],
) -> tuple[CaseData, View]:
    """The case and its draft (`get`: the report's or the plan's), for the unit's operator, who sends it with `event`;
    the other officials read the case page, and are told so."""
    with as_page():
        row = readable_case(db, actor, "draft", year, unit)
        drafts.own_case(db, year, unit, actor, event)
        view = get(db, row, locale)
    return CaseData.model_validate(row.data), view


def draft_url(year: int, unit: str, name: str) -> str:
    """A draft's overview, `<case>/laporan` or `<case>/rencana`: each criterion's form is below it, and the draft is
    sent from `<overview>-kirim`."""
    return f"{case_url(year, unit)}/{name}"


def criterion_of(case: CaseData, code: str) -> Criterion:
    """The criterion `code` of the unit kind's catalogue; one it does not have is a page in words (404)."""
    found = [c for c in case.policy.criteria_for(case.unit.kind) if c.code == code]
    if not found:
        raise PageError(404, reason("web.criterion_unknown_title"), reason("web.criterion_unknown", kriteria=code))
    return found[0]


def overview_context(
    case: CaseData, draft: Any, answered: set[str], link: str, errors: Errors | None, locale: str
) -> dict[str, Any]:
    """The overview's names in draf_ringkasan.html: each criterion linked to its form (below `link`, the overview),
    with how many of its indicators the draft answers (`answered`: their codes)."""
    criteria_rows = [
        [
            Markup('<a href="{}">{}</a>').format(f"{link}/{c.code}", c.name),
            gettext(
                locale, "web.answered_n_of", n=sum(i.code in answered for i in c.indicators), total=len(c.indicators)
            ),
        ]
        for c in case.policy.criteria_for(case.unit.kind)
    ]
    return {
        "case": case,
        "draft": draft,
        "criteria_rows": criteria_rows,
        "errors": errors or [],
        "key": secrets.token_urlsafe(16),  # the send's idempotency key: a form sent twice sends the draft once
        "case_url": case_url(case.year, case.unit.code),
        "draft_url": link,
    }


def criterion_context(
    case: CaseData, criterion: Criterion, notes: dict[str, str], link: str, errors: Errors
) -> dict[str, Any]:
    """A criterion's form's names in draf_kriteria.html: where it stands among the criteria, its scale, the note on
    each indicator (`notes`, by indicator code) and the draft's overview (`link`)."""
    codes = [c.code for c in case.policy.criteria_for(case.unit.kind)]
    return {
        "case": case,
        "criterion": criterion,
        "scale": [(value, value) for value in criterion.scale],
        "position": codes.index(criterion.code) + 1,
        "total": len(codes),
        "notes": notes,
        "errors": errors,
        "case_url": case_url(case.year, case.unit.code),
        "draft_url": link,
    }


def files_chosen(form: FormData, name: str) -> list[UploadFile]:
    return [f for f in form.getlist(name) if isinstance(f, UploadFile) and f.filename]


async def store_chosen(
    db: Session, settings: Settings, actor: Actor, form: FormData, codes: list[str], errors: Errors, locale: str
) -> tuple[dict[str, list[str]], int, Errors]:
    """The files chosen on a criterion's form (field `bukti-<code>` of each indicator in `codes`) kept in the evidence
    store when nothing else on the form is wrong (`errors`): (their ids by indicator, the status of a page shown
    again, every problem). A file the store refuses (its kind, its size, the unit's quota) is a problem beside its
    indicator's file field. With any problem nothing is saved and the form comes back without its files (a browser
    cannot be given them back), so each chosen file not refused is said to be not saved, to be chosen again."""
    chosen = {code: files_chosen(form, f"bukti-{code}") for code in codes}
    stored: dict[str, list[str]] = {code: [] for code in codes}
    refused: set[tuple[str, int]] = set()
    status = 422
    errors = list(errors)
    if not errors:
        for code, files in chosen.items():
            for n, upload in enumerate(files):
                try:
                    info, _ = await evidence.store_upload(db, settings, actor, upload)
                except ApiError as e:
                    db.rollback()
                    status = e.status
                    refused.add((code, n))
                    errors += [(f"bukti-{code}", render(r, locale)) for r in (e.why or [e.message])]
                    continue
                stored[code] += [info.id] if info.id not in stored[code] else []
    if errors:
        for code, files in chosen.items():
            names = ", ".join(f.filename or "" for n, f in enumerate(files) if (code, n) not in refused)
            if names:
                errors.append((f"bukti-{code}", gettext(locale, "web.file_not_saved", berkas=names)))
    return stored, status, errors


def with_files(entries: dict[str, dict[str, Any]], stored: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    """Each indicator's entry (by code) with the files just stored for it (`store_chosen`) added to its `bukti`, each
    file once."""
    return {code: e | {"bukti": list(dict.fromkeys(e["bukti"] + stored.get(code, [])))} for code, e in entries.items()}


def next_criterion(case: CaseData, kriteria: str, link: str) -> RedirectResponse:
    """After a criterion is saved: the next criterion's form, or the overview (`link`) after the last."""
    codes = [c.code for c in case.policy.criteria_for(case.unit.kind)]
    after = codes.index(kriteria) + 1
    return RedirectResponse(f"{link}/{codes[after]}" if after < len(codes) else link, status_code=303)


async def send_from_form(
    db: Session,
    client: Client,
    state: AppState,
    actor: Actor,
    year: int,
    unit: str,
    event: str,
    payload: dict[str, Any],
    form: FormData,
    refused: Callable[[ApiError], Response],
) -> Response:
    """Send `event` from its form (its `kunci`: a form sent twice sends once), then the case page saying so; refused,
    `refused`'s page, with nothing changed."""
    try:
        key = text(form, "kunci") or secrets.token_urlsafe(16)
        await cases.send_event(db, client, state.limits, year, unit, event, actor, payload, key)
    except ApiError as e:
        db.rollback()
        return refused(e)
    return RedirectResponse(f"{case_url(year, unit)}?berhasil={event}", status_code=303)


Overview = Callable[[int, Errors], HTMLResponse]
"""A draft's overview page shown again with a refusal, (status, errors): `overview` of report.py or rencana.py with
its request, reader and case given."""


async def send_draft(
    request: Request,
    db: Session,
    client: Client,
    state: AppState,
    actor: Actor,
    locale: str,
    year: int,
    unit: str,
    event: str,
    payload: dict[str, Any],
    overview: Overview,
) -> Response:
    """The saved draft sent from its overview's button; refused, the overview again with the reasons, each linked to
    the button (or the checks in its place)."""
    form = await request.form()

    def refused(e: ApiError) -> Response:
        errors = [("kirim", render(r, locale)) for r in (e.why or [e.message])]
        return overview(e.status, errors)

    return await send_from_form(db, client, state, actor, year, unit, event, payload, form, refused)
