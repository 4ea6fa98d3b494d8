"""Beranda: what waits for me (the worklist, service/worklist.py, as `GET /me/tasks` answers it), filtered from the
URL so a view is a bookmark; and Daftar kasus: every case of a cycle year the caller may see."""

from datetime import UTC, date, datetime, time, timedelta, timezone
from math import ceil
from typing import Annotated, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from models.contracts import UTC_OFFSET_HOURS, WIB, Actor, UnitInfo
from service.access import visible_case_page
from service.cases import this_year
from service.deps import CYCLE_YEARS, QueryYear, SessionDep
from service.i18n import display, gettext, join, moment, ngettext
from service.pages.render import HOME, HOME_QUERY, Errors, PageActor, PageLocale, page, page_reads
from service.worklist import Filters, Task, acts_at_all, worklist
from workflows import access

router = APIRouter(prefix="/ui")

PER_PAGE = 25
KINDS = get_args(UnitInfo.model_fields["kind"].annotation)
MAX_QUERY = 500
MAX_FILTER = 100  # characters of a filter kept: a longer one is no code, year or date, and reads as a problem
MAX_OFFSET = 10_000_000


def read_filters(locale: str, values: dict[str, str]) -> tuple[Filters, Errors]:
    """The filters as typed in the URL; each one that cannot be read is a problem in words (and nothing is shown)."""
    errors: Errors = []
    year = None
    if values["tahun"]:
        if values["tahun"].isdigit() and int(values["tahun"]) in CYCLE_YEARS:
            year = int(values["tahun"])
        else:
            errors.append(("tahun", gettext(locale, "web.enter_cycle_year")))
    kind = values["jenis"] or None
    if kind is not None and kind not in KINDS:
        errors.append(("jenis", gettext(locale, "web.choose_unit_kind")))
    due_before = None
    if values["sebelum"]:
        try:
            # Midnight of that day in WIB, the zone the ministry's calendar is read in.
            day = date.fromisoformat(values["sebelum"])
            due_before = datetime.combine(day, time(), tzinfo=WIB).astimezone(UTC)
        except ValueError:
            errors.append(("sebelum", gettext(locale, "web.enter_due_date")))
    return Filters(year=year, kind=kind, region=values["wilayah"] or None, due_before=due_before), errors


def zone_tz(zone: str) -> timezone:
    return timezone(timedelta(hours=UTC_OFFSET_HOURS[zone]), zone)


def time_left(locale: str, deadline: datetime | None, zone: str, now: datetime) -> tuple[str, bool]:
    """(the days left or overdue in words, overdue), counted in days of the unit's own calendar."""
    if deadline is None:
        return gettext(locale, "web.task_no_deadline"), False
    tz = zone_tz(zone)
    days = (deadline.astimezone(tz).date() - now.astimezone(tz).date()).days
    if deadline <= now:
        if days == 0:
            return gettext(locale, "web.task_overdue_today"), True
        return ngettext(locale, "web.task_overdue_days", "web.task_overdue_days_plural", -days), True
    if days == 0:
        return gettext(locale, "web.task_due_today"), False
    return ngettext(locale, "web.task_days_left", "web.task_days_left_plural", days), False


def task_row(locale: str, task: Task, now: datetime) -> list[Markup | str]:
    left, overdue = time_left(locale, task.deadline, task.zona_waktu, now)
    case_link = Markup('<a href="/ui/kasus/{}/{}">{} ({})</a>').format(task.year, task.unit, task.unit_name, task.year)
    if task.deadline is None:
        deadline = Markup("{}").format(left)
    else:
        local = moment(locale, task.deadline.astimezone(zone_tz(task.zona_waktu)))
        mark = Markup('<strong class="tanda tanda--peringatan">{}</strong>') if overdue else Markup("<span>{}</span>")
        deadline = Markup("{}<br>").format(local) + mark.format(left)
    return [
        case_link,
        Markup("{}<br><span class='keterangan'>{}</span>").format(task.unit, task.region),
        display(locale, "stage", task.stage),
        join(locale, [display(locale, "event", e) for e in task.events], "or"),  # one of them is done
        deadline,
    ]


def other_pages(actor: Actor, locale: str, year: int) -> list[tuple[str, str]]:
    """The other pages this official may open from Beranda: (href, words)."""
    _ = lambda msgid: gettext(locale, msgid)  # noqa: E731
    links = [("/ui/kasus", _("web.all_cases_link"))]
    if access.scope(actor, "ceremony") != "none":
        links.append(("/ui/upacara", _("web.ceremonies_link")))
    if access.scope(actor, "dashboard") != "none":
        links.append((f"/ui/dasbor/{year}", _("web.dashboard_link")))
    if access.scope(actor, "audit") != "none":
        links.append(("/ui/audit", _("web.audit_link")))
    if access.scope(actor, "notification") != "none":
        links.append(("/ui/notifikasi", _("web.notifications_link")))
    if actor.role == "admin":
        links.append(("/ui/admin/unit", _("web.admin_link")))
    return links


def page_numbers(current: int, pages: int, around: int = 3) -> list[int]:
    """The first, the last and the pages near the current one: 800 pages of cases are not 800 links."""
    return sorted({1, pages, *range(max(1, current - around), min(pages, current + around) + 1)})


@router.get("/", response_class=HTMLResponse, dependencies=[page_reads("case")])
def beranda(
    request: Request,
    actor: PageActor,
    locale: PageLocale,
    db: SessionDep,
    tahun: str = "",
    jenis: str = "",
    wilayah: str = "",
    sebelum: str = "",
    dari: str = "",
) -> HTMLResponse:
    """Read leniently from the URL (a bookmark, a link): a filter that cannot be read is a problem on the page, in
    words; a page position that cannot be read is the first page."""
    typed = {"tahun": tahun, "jenis": jenis, "wilayah": wilayah, "sebelum": sebelum}
    values = {k: v.strip()[:MAX_FILTER] for k, v in typed.items()}
    offset = int(dari) if dari.isdigit() and int(dari) <= MAX_OFFSET else 0
    filters, errors = read_filters(locale, values)
    if len(request.url.query) <= MAX_QUERY and request.session.get(HOME_QUERY, "") != request.url.query:
        request.session[HOME_QUERY] = request.url.query
    now = datetime.now(UTC)
    tasks = worklist(db, actor, filters, PER_PAGE, offset, now) if not errors else None
    query = {k: v for k, v in values.items() if v}
    return page(
        request,
        locale,
        "beranda.html",
        422 if errors else 200,
        values=values,
        errors=errors,
        filtered=bool(query),
        acts=acts_at_all(actor),
        rows=[task_row(locale, t, now) for t in tasks.items] if tasks else [],
        first_url=f"{HOME}?{urlencode(query)}" if offset else None,
        next_url=f"{HOME}?{urlencode({**query, 'dari': tasks.next_offset})}" if tasks and tasks.next_offset else None,
        kinds=[(k, display(locale, "kind", k)) for k in KINDS],
        other_pages=other_pages(actor, locale, this_year()),
    )


@router.get("/kasus", response_class=HTMLResponse, dependencies=[page_reads("case")])
def daftar_kasus(
    request: Request,
    actor: PageActor,
    locale: PageLocale,
    db: SessionDep,
    tahun: QueryYear = None,
    halaman: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """Every case of a cycle year this official may see, by unit code: also for whom nothing waits (an auditor)."""
    year = tahun or this_year()
    total, cases = visible_case_page(db, actor, year, (halaman - 1) * PER_PAGE, PER_PAGE)
    pages = max(1, ceil(total / PER_PAGE))
    rows = [
        [
            Markup('<a href="/ui/kasus/{}/{}">{}</a>').format(case.year, case.unit, case.unit),
            case.region,
            display(locale, "kind", case.kind),
            display(locale, "stage", case.stage),
            moment(locale, case.deadline.astimezone(UnitInfo.model_validate(case.data["unit"]).tz))
            if case.deadline
            else "–",
        ]
        for case in cases
    ]
    return page(
        request,
        locale,
        "daftar_kasus.html",
        year=year,
        cases_rows=rows,
        total=total,
        pagination=[(n, f"{request.url.path}?tahun={year}&halaman={n}") for n in page_numbers(halaman, pages)],
        current_page=halaman,
    )
