"""Administrasi (admin): the unit registry imported from a CSV file, previewed (what is added, what changes, the
errors per line), then saved all at once after the admin confirms (service/unit_import.py); a cohort opened from the
page, in the background, with its progress (service/cohort_runs.py)."""

from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from models.contracts import UTC_OFFSET_HOURS, UnitInfo
from models.policy import CyclePolicy
from models.tables import CycleRow
from service import background, cohort_runs, cycle_policy, unit_import
from service.deps import CYCLE_YEARS, SessionDep, State, Year, get_client
from service.i18n import ZONE_NAMES, display, gettext, moment, render
from service.pages.job_view import Segarkan, job_context
from service.pages.oversight_access import job_gone, require
from service.pages.render import PageActor, PageLocale, page, page_reads
from service.pages.sections import ADMIN
from workflows.reasons import Reason, payload_reasons, reason

router = APIRouter(prefix="/ui/admin")
PENDING = "impor_unit"  # the session key of a previewed import waiting for its confirmation
MAX_FILE = 5 * 1024 * 1024


def unit_page(request: Request, locale: str, status: int = 200, **context: object) -> HTMLResponse:
    context = {"preview": None, "saved": None, "file_error": None, **context}
    return page(request, locale, "admin_unit.html", status, **context)


@router.get("/unit", response_class=HTMLResponse, dependencies=[page_reads("config")])
def unit(
    request: Request, actor: PageActor, locale: PageLocale, tersimpan: Annotated[int | None, Query(ge=0)] = None
) -> HTMLResponse:
    require(actor, ADMIN)
    return unit_page(request, locale, saved=tersimpan)


@router.post("/unit/pratinjau", response_class=HTMLResponse, dependencies=[page_reads("command")])
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


@router.post("/unit/simpan", dependencies=[page_reads("command")])
def simpan(request: Request, actor: PageActor, locale: PageLocale, db: SessionDep) -> Response:
    require(actor, ADMIN)
    pending = request.session.pop(PENDING, None)
    if not pending:
        return unit_page(request, locale, 409, file_error=True)
    units = [UnitInfo.model_validate(u) for u in pending]
    unit_import.save(db, units)
    return RedirectResponse(f"/ui/admin/unit?tersimpan={len(units)}", status_code=303)


@router.get("/kohort", response_class=HTMLResponse, dependencies=[page_reads("config")])
def kohort(request: Request, actor: PageActor, locale: PageLocale) -> HTMLResponse:
    require(actor, ADMIN)
    return page(request, locale, "admin_kohort.html", values={}, errors=[])


@router.post("/kohort", dependencies=[page_reads("command")])
async def buka_kohort(
    request: Request,
    actor: PageActor,
    locale: PageLocale,
    state: State,
    tahun: Annotated[str, Form()] = "",
    wilayah: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Open the cases of the registered units (of one region, or all) for a cycle, in the background."""
    require(actor, ADMIN)
    if not tahun.isdigit() or int(tahun) not in CYCLE_YEARS:
        errors = [("tahun", gettext(locale, "web.audit_enter_year"))]
        values = {"tahun": tahun, "wilayah": wilayah}
        return page(request, locale, "admin_kohort.html", 422, values=values, errors=errors)
    client = await get_client(state)
    run = cohort_runs.start(client, state.engine, state.settings, int(tahun), actor, wilayah.strip() or None)
    return RedirectResponse(f"/ui/admin/kohort/{run.id}", status_code=303)


@router.get("/kohort/{run_id}", response_class=HTMLResponse, dependencies=[page_reads("config")])
def kohort_berjalan(
    request: Request, run_id: str, actor: PageActor, locale: PageLocale, state: State, segarkan: Segarkan = ""
) -> HTMLResponse:
    require(actor, ADMIN)
    run = background.get(state.engine, state.settings, cohort_runs.KIND, run_id)
    if run is None:
        raise job_gone("/ui/admin/kohort")
    refused = [render(r, locale) for r in run.refused]
    failures = [(f["unit"], "; ".join(render(w, locale) for w in f["why_codes"])) for f in run.results]
    return page(
        request,
        locale,
        "admin_kohort_jalan.html",
        started=moment(locale, run.started_at),
        refused=refused,
        failures=failures,
        **job_context(request, run, segarkan),
    )


DATES = ("applications_close", "reporting_opens", "reporting_closes", "cycle_ends", "award_valid_until")
DAYS = ("revision_period", "verification_sla", "evaluation_sla")
# A refusal of the policy's own rules points at the field to correct.
RULE_FIELDS = {
    "isian.pelaporan_dibuka_sebelum_ditutup": "reporting_closes",
    "isian.pelaporan_ditutup_sebelum_siklus_berakhir": "cycle_ends",
    "isian.masa_berlaku_setelah_siklus": "award_valid_until",
    "isian.jangka_waktu_positif": "revision_period",
    "isian.bobot_kriteria": "bobot",
    "isian.bobot_nol": "bobot",
}


def policy_form(policy: CyclePolicy | None) -> dict[str, Any]:
    """The form's values from a saved policy, or empty dates and the documented defaults."""
    if policy is None:
        return {
            "regulation": "2023",
            "ends_after": "penghargaan",
            "zona": "WIB",
            "pass_mark": "75",
            "reminders": "7, 3, 1",
            "holidays": "",
            "bobot": "",
            **dict.fromkeys(DATES, ""),
            "award_ceremony": "",
            "revision_period": "14",
            "verification_sla": "14",
            "evaluation_sla": "14",
        }
    cal = policy.calendar
    zone = ZONE_NAMES.get(cal.applications_close.utcoffset(), "WIB")
    return {
        "regulation": policy.regulation,
        "ends_after": policy.ends_after,
        "zona": zone,
        **{name: getattr(cal, name).date().isoformat() for name in DATES},
        "award_ceremony": cal.award_ceremony.date().isoformat() if cal.award_ceremony else "",
        "pass_mark": f"{policy.pass_mark:g}",
        "bobot": ", ".join(f"{code}={w:g}" for code, w in policy.weights.items()),
        "reminders": ", ".join(str(r.days) for r in cal.reminders_before),
        **{name: str(getattr(cal, name).days) for name in DAYS},
        "holidays": "\n".join(d.isoformat() for d in cal.holidays or []),
    }


def policy_from_form(values: dict[str, str]) -> tuple[dict[str, Any], list[tuple[str, Reason]]]:
    """The form as the JSON `PUT /cycles/{year}` takes, and the fields that could not even be read."""
    problems: list[tuple[str, Reason]] = []
    zone = timezone(timedelta(hours=UTC_OFFSET_HOURS.get(values["zona"], UTC_OFFSET_HOURS["WIB"])))

    def moment(name: str, at: time) -> str | None:
        try:
            return datetime.combine(date.fromisoformat(values[name]), at, zone).isoformat()
        except ValueError:
            problems.append((name, reason("web.policy_enter_date")))
            return None

    def whole(name: str, text: str) -> list[int]:
        try:
            return [int(p) for p in text.replace(",", " ").split()]
        except ValueError:
            problems.append((name, reason("web.policy_enter_days")))
            return []

    calendar: dict[str, Any] = {
        name: moment(name, time(0) if name == "reporting_opens" else time(23, 59)) for name in DATES
    }
    if values["award_ceremony"]:
        calendar["award_ceremony"] = moment("award_ceremony", time(9))
    for name in DAYS:
        calendar[name] = f"P{(whole(name, values[name]) or [0])[0]}D"
    calendar["reminders_before"] = [f"P{d}D" for d in whole("reminders", values["reminders"])]
    holidays = values["holidays"].split()
    for day in holidays:
        try:
            date.fromisoformat(day)
        except ValueError:
            problems.append(("holidays", reason("web.policy_bad_holiday", tanggal=day)))
    calendar["holidays"] = holidays or None
    weights: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in values["bobot"].split(","))):
        code, _, weight = part.partition("=")
        weights[code.strip()] = weight.strip()
    policy = {
        "regulation": values["regulation"],
        "ends_after": values["ends_after"],
        "calendar": calendar,
        "pass_mark": values["pass_mark"],
        "weights": weights,
    }
    return policy, problems


def field_of(r: Reason, loc: str) -> str:
    if r.code in RULE_FIELDS:
        return RULE_FIELDS[r.code]
    parts = loc.split(".")
    names = {"weights": "bobot", "reminders_before": "reminders"}
    return names.get(parts[1] if parts[0] == "calendar" and len(parts) > 1 else parts[0], parts[-1])


@router.get("/siklus/{year}", response_class=HTMLResponse, dependencies=[page_reads("config")])
def siklus(request: Request, year: Year, actor: PageActor, locale: PageLocale, db: SessionDep) -> HTMLResponse:
    require(actor, ADMIN)
    row = db.get(CycleRow, year)
    policy = CyclePolicy.model_validate(row.policy) if row else None
    saved = request.query_params.get("tersimpan") == "1"
    return page(request, locale, "admin_siklus.html", year=year, values=policy_form(policy), errors=[], saved=saved)


@router.post("/siklus/{year}", response_class=HTMLResponse, dependencies=[page_reads("command")])
async def simpan_siklus(request: Request, year: Year, actor: PageActor, locale: PageLocale, db: SessionDep) -> Response:
    """Checked by the same model as `PUT /cycles/{year}` (CyclePolicy); saved by the same code (cycle_policy.save)."""
    require(actor, ADMIN)
    form = await request.form()
    values = {k: str(form.get(k, "")).strip() for k in policy_form(None)}
    raw, problems = policy_from_form(values)
    errors = [(f, render(r, locale)) for f, r in problems]
    if not errors:
        try:
            policy = CyclePolicy.model_validate(raw)
        except ValidationError as e:
            for err, r in zip(e.errors(), payload_reasons(e.errors()), strict=True):
                errors.append((field_of(r, ".".join(str(p) for p in err["loc"])), render(r, locale)))
        else:
            cycle_policy.save(db, year, policy)
            return RedirectResponse(f"/ui/admin/siklus/{year}?tersimpan=1", status_code=303)
    return page(request, locale, "admin_siklus.html", 422, year=year, values=values, errors=errors, saved=False)
