"""The auditor's pages: find a case; its verified replay (`service.audit.verify_case`) as checks passed and
differences; its history as it stood at a chosen day, and time to the second (WIB), with the refused commands; the
evidence with its hashes; the audit pack, which verifies offline (`python3 -m service.audit_verify`). Auditors only
(service/pages/oversight_access.py)."""

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from models.contracts import WIB
from models.tables import CaseRow, EvidenceRow, RefusalRow, TransitionRow
from service import audit_runs, background
from service.access import log_read
from service.audit import AuditVerdict, PackTooLarge, UnknownCase, download_pack, in_words, verify_case
from service.audit.log import load_refusals, load_rows, utc
from service.cases import history_cut
from service.deps import CYCLE_YEARS, SessionDep, State, get_client, temporal_errors
from service.i18n import clock, display, gettext, moment, person, render
from service.pages.job_view import Segarkan, job_context
from service.pages.oversight_access import job_gone, require_scope
from service.pages.render import Errors, PageActor, PageError, PageLocale, page, page_reads
from service.spreadsheet import csv_text
from workflows.reasons import reason

router = APIRouter(prefix="/ui/audit")
FOUND_SHOWN = 50
RESULT_COLUMNS = ["unit", "verdict", "differences"]
CLOCK = re.compile(r"\d{2}:\d{2}(:\d{2})?")  # what a time field sends: HH:MM, or HH:MM:SS with step="1"


@router.get("", response_class=HTMLResponse, dependencies=[page_reads("audit")])
def cari(
    request: Request,
    actor: PageActor,
    locale: PageLocale,
    db: SessionDep,
    tahun: Annotated[str, Query(max_length=8)] = "",
    unit: Annotated[str, Query(max_length=64)] = "",
) -> HTMLResponse:
    """Search the cases of a year by (part of) the unit code."""
    require_scope(actor, "audit")
    errors, found = [], None
    if tahun or unit:
        if not tahun.isdigit() or len(tahun) != 4:
            errors.append(("tahun", gettext(locale, "web.audit_enter_year")))
        else:
            query = select(CaseRow).where(CaseRow.year == int(tahun), col(CaseRow.unit).contains(unit.strip()))
            rows = db.exec(query.order_by(CaseRow.unit).limit(FOUND_SHOWN)).all()
            found = [[r.unit, r.region, display(locale, "stage", r.stage), r.year] for r in rows]
    return page(request, locale, "audit_cari.html", values={"tahun": tahun, "unit": unit}, errors=errors, found=found)


def checks(verdict: AuditVerdict) -> list[tuple[bool, str]]:
    """The verdict's four checks as (passed, the check in words), for the reader's language."""
    replay, chain, read_model = verdict.replay, verdict.chain, verdict.read_model
    rerun = replay.get("lifecycle") or {}
    return [
        (
            replay.get("failure") is None and "history_events" in replay,
            reason("web.audit_check_replay", n=replay.get("history_events", 0)),
        ),
        (rerun.get("ok", False), reason("web.audit_check_lifecycle", n=rerun.get("entries", 0))),
        (chain.get("ok", False), reason("web.audit_check_chain", n=chain.get("entries", 0))),
        (read_model.get("ok", False), reason("web.audit_check_read_model", seq=read_model.get("seq") or 0)),
    ]


@router.post("/semua", dependencies=[page_reads("command")])
async def mulai_semua(
    request: Request, actor: PageActor, locale: PageLocale, state: State, tahun: Annotated[str, Form()] = ""
) -> Response:
    """`audit --all` for a cycle, in the background; the browser goes to the page that follows it."""
    require_scope(actor, "audit")
    if not tahun.isdigit() or int(tahun) not in CYCLE_YEARS:
        errors = [("tahun-semua", gettext(locale, "web.audit_enter_year"))]
        return page(
            request, locale, "audit_cari.html", 422, values={"tahun": "", "unit": ""}, errors=errors, found=None
        )
    run = audit_runs.start(await get_client(state), state.engine, state.settings, int(tahun), actor.sub)
    return RedirectResponse(f"/ui/audit/semua/{run.id}", status_code=303)


def audit_run(actor: PageActor, state: State, run_id: str) -> background.Run:
    require_scope(actor, "audit")
    run = background.get(state.engine, state.settings, audit_runs.KIND, run_id)
    if run is None:
        raise job_gone("/ui/audit#audit-semua")
    return run


@router.get("/semua/{run_id}", response_class=HTMLResponse, dependencies=[page_reads("audit")])
def semua(
    request: Request, run_id: str, actor: PageActor, locale: PageLocale, state: State, segarkan: Segarkan = ""
) -> HTMLResponse:
    run = audit_run(actor, state, run_id)
    context = job_context(request, run, segarkan)
    return page(request, locale, "audit_semua.html", started=moment(locale, run.started_at), **context)


@router.get("/semua/{run_id}/hasil.csv", dependencies=[page_reads("audit")])
def semua_csv(run_id: str, actor: PageActor, state: State) -> Response:
    run = audit_run(actor, state, run_id)
    rows = [[r["unit"], "ok" if r["ok"] else "differences", " | ".join(r["differences"])] for r in run.results]
    headers = {"Content-Disposition": f'attachment; filename="p2ham-audit-{run.year}.csv"'}
    return Response(csv_text(RESULT_COLUMNS, rows), media_type="text/csv; charset=utf-8", headers=headers)


@dataclass(frozen=True)
class AsOf:
    """The moment the auditor chose, in Jakarta time: a day, and on it perhaps a time to the minute or the second."""

    day: date
    at: time | None = None
    to_the_second: bool = False

    @property
    def cutoff(self) -> datetime:
        """The end of the chosen second, minute or day: what happened during it is part of the history; cut as the
        API's `as_of` cuts (`history_cut`)."""
        if self.at is None:
            return history_cut(self.day)
        second = self.at if self.to_the_second else self.at.replace(second=59)
        return history_cut(datetime.combine(self.day, second, tzinfo=WIB))

    def stage_on(self, stage: str | None, locale: str) -> str:
        """Where the case stood then, the time as precise as chosen: "Pada 9 Januari 2030 pukul 10.15.30 WIB …"."""
        if self.at is None:
            return gettext(locale, "web.audit_stage_on", tanggal=self.day, stage=stage or "–")
        at = clock(locale, datetime.combine(self.day, self.at, tzinfo=WIB), seconds=self.to_the_second)
        return gettext(locale, "web.audit_stage_at", tanggal=self.day, pukul=at, stage=stage or "–")


def time_of_day(pukul: str) -> time | None:
    """HH:MM or HH:MM:SS, as a time field sends it; None for anything else (25:00, 10.15, 10:15:30.5)."""
    if not CLOCK.fullmatch(pukul):
        return None
    try:
        return time.fromisoformat(pukul)
    except ValueError:
        return None


def chosen_moment(per: str, pukul: str, locale: str) -> tuple[AsOf | None, Errors]:
    """The moment the history is shown as it stood at (`?per=YYYY-MM-DD&pukul=HH:MM[:SS]`, WIB): none given is
    today's history; a day or time that cannot be read, or a time without a day, is today's history with the problem
    in words."""
    errors: Errors = []
    day = at = None
    if per:
        try:
            day = date.fromisoformat(per)
        except ValueError:
            errors.append(("per", gettext(locale, "web.audit_enter_date")))
    elif pukul:
        errors.append(("per", gettext(locale, "web.audit_time_needs_date")))
    if pukul:
        at = time_of_day(pukul)
        if at is None:
            errors.append(("pukul", gettext(locale, "web.audit_enter_time")))
    if errors or day is None:
        return None, errors
    return AsOf(day, at, to_the_second=len(pukul) > len("HH:MM")), errors


def not_found(year: int, unit: str) -> PageError:
    return PageError(
        404, reason("web.audit_not_found_title"), reason("error.kasus_tidak_ditemukan", unit=unit, tahun=year)
    )


async def verified(state: State, db: Session, year: int, unit: str, locale: str) -> AuditVerdict:
    """The case's verified replay, in words."""
    client = await get_client(state)
    async with temporal_errors():
        try:
            return in_words(await verify_case(client, db, year, unit), locale)
        except UnknownCase:
            raise not_found(year, unit) from None


def until(cutoff: datetime | None, at: datetime) -> bool:
    return cutoff is None or utc(at) <= cutoff


def entry_rows(rows: list[TransitionRow], locale: str) -> list[list[Any]]:
    """The audit log's entries with their hashes, oldest first."""
    return [
        [
            r.seq,
            moment(locale, r.at),
            display(locale, "event", r.event),
            display(locale, "stage", r.target),
            person(locale, r.actor_name, r.actor_role),
            r.hash,
        ]
        for r in rows
    ]


def refusal_rows(refusals: list[RefusalRow], locale: str) -> list[list[str]]:
    """Who tried what on the case and was refused, and why, in words."""
    return [
        [
            moment(locale, r.at),
            display(locale, "event", r.event),
            person(locale, r.actor_name, r.actor_role),
            "; ".join(render(w, locale) for w in r.why),
        ]
        for r in refusals
    ]


def evidence_rows(db: Session, rows: list[TransitionRow]) -> list[list[Any]]:
    """Each file the entries name, with its type and size ("–" for one the read model does not hold)."""
    used = sorted({e for r in rows for e in r.evidence})
    files = {e.id: e for e in db.exec(select(EvidenceRow).where(col(EvidenceRow.id).in_(used)))}
    return [[e, files[e].media_type if e in files else "–", files[e].size if e in files else "–"] for e in used]


# After the /semua routes: `/{year}/{unit}` would take /semua/{run_id} too.
@router.get("/{year}/{unit}", response_class=HTMLResponse, dependencies=[page_reads("audit")])
async def kasus(
    request: Request,
    year: int,
    unit: str,
    actor: PageActor,
    locale: PageLocale,
    db: SessionDep,
    state: State,
    per: Annotated[str, Query(max_length=10)] = "",
    pukul: Annotated[str, Query(max_length=8)] = "",
) -> HTMLResponse:
    """The case's verified replay, and its history, refusals and evidence as they stood at the end of `per` (and of
    `pukul` on it)."""
    require_scope(actor, "audit")
    as_of, errors = chosen_moment(per, pukul, locale)
    cutoff = as_of.cutoff if as_of else None
    verdict = await verified(state, db, year, unit, locale)
    rows = [r for r in load_rows(db, year, unit) if until(cutoff, r.at)]
    refusals = [r for r in load_refusals(db, year, unit) if until(cutoff, r.at)]
    log_read(db, actor, year, unit, ["refusals"])  # who tried what on the case, and why refused: as the API logs it
    return page(
        request,
        locale,
        "audit_kasus.html",
        year=year,
        unit=unit,
        verdict=verdict,
        checks=[(ok, render(words, locale)) for ok, words in checks(verdict)],
        per=per,
        pukul=pukul,
        errors=errors,
        stage_on=as_of.stage_on(rows[-1].target if rows else None, locale) if as_of else None,
        entries=entry_rows(rows, locale),
        refusals=refusal_rows(refusals, locale),
        evidence=evidence_rows(db, rows),
    )


@router.get("/{year}/{unit}/paket", dependencies=[page_reads("audit")])
async def paket(year: int, unit: str, actor: PageActor, locale: PageLocale, db: SessionDep, state: State) -> Response:
    """The audit pack, as the API builds it (`GET .../audit/pack`): the same size cap, limit and read log."""
    require_scope(actor, "audit")
    state.limits.expensive(actor)
    client = await get_client(state)
    async with temporal_errors():
        try:
            return await download_pack(client, db, state.settings, actor, year, unit, locale)
        except UnknownCase:
            raise not_found(year, unit) from None
        except PackTooLarge as e:
            raise PageError(413, reason("audit.paket_terlalu_besar"), e.why) from None
