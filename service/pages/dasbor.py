"""Dasbor: the numbers of `GET /cycles/{year}/dashboard` (service/dashboard.py) as charts drawn on the server, each
with its table, plus the reporting rate against the days left and the coverage per Kanwil; filters in the URL; the
same numbers as CSV and Excel."""

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, get_args

from babel.numbers import format_decimal, format_percent
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from openpyxl import Workbook
from sqlmodel import Session, select

from models.contracts import Actor, UnitInfo
from models.tables import UnitRow
from service import charts, dashboard
from service.deps import SessionDep, Year
from service.i18n import display, gettext, moment
from service.pages.oversight_access import dashboard_region
from service.pages.render import PageActor, PageLocale, page, page_reads
from workflows.lifecycle import Lifecycle

router = APIRouter(prefix="/ui/dasbor")
STAGES = [s.id for s in Lifecycle.states]  # the lifecycle's order: the funnel reads from permohonan down
KINDS = get_args(UnitInfo.model_fields["kind"].annotation)
OVERDUE_SHOWN = 50
Region = Annotated[str | None, Query(max_length=64)]
Kind = Annotated[str | None, Query(max_length=32)]


class Numbers:
    """Everything the page and its downloads show, for one year and filter the caller may see."""

    def __init__(self, db: Session, actor: Actor, year: int, wilayah: str | None, jenis: str | None) -> None:
        self.region = dashboard_region(actor, wilayah or None)
        self.kind = jenis if jenis in KINDS else None
        self.d = dashboard.build(db, year, self.region, self.kind, OVERDUE_SHOWN, actor)
        self.reporting = dashboard.cached(
            "reporting", db, year, self.region, self.kind, lambda: dashboard.reporting(db, year, self.region, self.kind)
        )[1]
        self.coverage = dashboard.coverage(db, year, self.region, self.kind)

    def rows(self) -> list[dashboard.Row]:
        return [*dashboard.rows(self.d), *dashboard.extra_rows(self.reporting, self.coverage)]


class Words:
    """The page's words, stage names and numbers in the reader's language: `_("web.cases")`, `_.stage(s)` (named `_`
    where used, so that `make messages` finds the ids)."""

    def __init__(self, locale: str) -> None:
        self.locale = locale

    def __call__(self, msgid: str, **params: Any) -> str:
        return gettext(self.locale, msgid, **params)

    def stage(self, stage: str) -> str:
        return display(self.locale, "stage", stage)

    def percent(self, value: float | None) -> str:
        return "–" if value is None else format_percent(value, format="#,##0.0%", locale=self.locale)

    def days(self, value: float) -> str:
        return format_decimal(value, format="#,##0.0", locale=self.locale)


@dataclass(frozen=True)
class Figure:
    """One chart with its caption and the table of the same numbers (head, rows): the page's <figure> `id`."""

    id: str
    caption: str
    svg: Markup
    head: list[str]
    rows: list[list[Any]]

    @property
    def caption_id(self) -> str:
        return caption_id(self.id)


def caption_id(figure: str) -> str:
    """The id of the figure's caption: the chart's accessible name (and the table's)."""
    return f"grafik-{figure}-judul"


def stages_figure(_: Words, n: Numbers, id: str) -> Figure:
    """Cases per stage, in the lifecycle's order: the funnel."""
    stages = [s for s in STAGES if s in n.d.by_stage]
    names, counts = [_.stage(s) for s in stages], [n.d.by_stage[s] for s in stages]
    return Figure(
        id,
        _("web.chart_stages", n=n.d.total),
        charts.horizontal_bars(tuple(names), tuple(counts), _("web.cases"), caption_id(id)),
        [_("web.stage"), _("web.cases")],
        [[name, count] for name, count in zip(names, counts, strict=True)],
    )


def regions_figure(_: Words, n: Numbers, id: str) -> Figure:
    """Cases per region, stacked by stage (only the stages some region has)."""
    by_region = n.d.by_region
    stages = [s for s in STAGES if any(s in by_region[r] for r in by_region)]
    counts = {r: [by_region[r].get(s, 0) for s in stages] for r in by_region}
    series = tuple((_.stage(s), tuple(counts[r][i] for r in by_region)) for i, s in enumerate(stages))
    return Figure(
        id,
        _("web.chart_regions"),
        charts.stacked_bars(tuple(by_region), series, caption_id(id)),
        [_("web.region"), *[_.stage(s) for s in stages]],
        [[r, *counts[r]] for r in by_region],
    )


def reporting_figure(_: Words, n: Numbers, id: str) -> Figure | None:
    """The share of cases that reported, day by day until the reporting window closes; none without a window. The
    table keeps only the days on which the count changed, and the last."""
    rep = n.reporting
    if rep is None:
        return None
    changed = [
        day
        for i, day in enumerate(rep.days)
        if i == 0 or day.reported != rep.days[i - 1].reported or day.days_left == 0
    ]
    return Figure(
        id,
        _("web.chart_reporting", opened=rep.opened, closes=rep.closes),
        charts.line(
            tuple(str(day.days_left) for day in rep.days),
            tuple(None if day.rate is None else round(day.rate * 100, 1) for day in rep.days),
            _("web.reported_share"),
            caption_id(id),
        ),
        [_("web.days_left"), _("web.reported"), _("web.reported_share")],
        [[day.days_left, day.reported, _.percent(day.rate)] for day in changed],
    )


def rates_figure(_: Words, n: Numbers, id: str) -> Figure:
    """The pass and award rates; the table also has the counts they come from."""
    r = n.d.pass_rates
    rates = (round((r.pass_rate or 0) * 100, 1), round((r.award_rate or 0) * 100, 1))
    return Figure(
        id,
        _("web.chart_rates", passed=r.passed, failed=r.failed, awarded=r.awarded),
        charts.grouped_bars((_("web.pass_rate"), _("web.award_rate")), ((_("web.rate"), rates),), caption_id(id)),
        [_("web.measure"), _("web.value")],
        [
            [_("web.passed"), r.passed],
            [_("web.failed"), r.failed],
            [_("web.awarded"), r.awarded],
            [_("web.pass_rate"), _.percent(r.pass_rate)],
            [_("web.award_rate"), _.percent(r.award_rate)],
        ],
    )


def medians_figure(_: Words, n: Numbers, id: str) -> Figure:
    """The median days a case spends in each stage."""
    medians = n.d.median_days
    stages = [s for s in STAGES if s in medians]
    return Figure(
        id,
        _("web.chart_medians", as_of=moment(_.locale, n.d.median_days_as_of)),
        charts.horizontal_bars(
            tuple(_.stage(s) for s in stages),
            tuple(round(medians[s], 1) for s in stages),
            _("web.median_days"),
            caption_id(id),
        ),
        [_("web.stage"), _("web.median_days")],
        [[_.stage(s), _.days(medians[s])] for s in stages],
    )


def plans_figure(_: Words, n: Numbers, id: str) -> Figure:
    """Action plans per region and nationally: sent, accepted, overdue actions; the table also has the share with a
    plan and the criteria most often answered `tidak`."""
    plans = [*n.d.plans.by_region.items(), (_("web.national"), n.d.plans.national)]
    series = (
        (_("web.plans_sent"), tuple(p.with_plan for _r, p in plans)),
        (_("web.plans_accepted"), tuple(p.accepted for _r, p in plans)),
        (_("web.plans_overdue_actions"), tuple(p.overdue_actions for _r, p in plans)),
    )
    return Figure(
        id,
        _("web.chart_plans"),
        charts.grouped_bars(tuple(r for r, _p in plans), series, caption_id(id)),
        [
            _("web.region"),
            _("web.cases"),
            _("web.plans_sent"),
            _("web.plans_share"),
            _("web.plans_accepted"),
            _("web.plans_overdue_actions"),
            _("web.plans_most_tidak"),
        ],
        [
            [
                r,
                p.cases,
                p.with_plan,
                _.percent(p.share_with_plan),
                p.accepted,
                p.overdue_actions,
                ", ".join(f"{c.kode} ({c.units})" for c in p.most_tidak[:3]) or "–",
            ]
            for r, p in plans
        ],
    )


def coverage_figure(_: Words, n: Numbers, id: str) -> Figure:
    """Units per region: registered, with a case this year, holding the award."""
    cov = n.coverage
    series = (
        (_("web.units_registered"), tuple(c.registered for c in cov)),
        (_("web.units_with_case"), tuple(c.with_case for c in cov)),
        (_("web.units_holding"), tuple(c.holding for c in cov)),
    )
    return Figure(
        id,
        _("web.chart_coverage"),
        charts.grouped_bars(tuple(c.region for c in cov), series, caption_id(id)),
        [_("web.region"), *[name for name, _values in series]],
        [[c.region, c.registered, c.with_case, c.holding] for c in cov],
    )


# The page's figures by id (the anchors #grafik-ID and the tables' test ids), in the order the page shows them.
FIGURES: dict[str, Callable[[Words, Numbers, str], Figure | None]] = {
    "tahap": stages_figure,
    "wilayah": regions_figure,
    "pelaporan": reporting_figure,
    "kelulusan": rates_figure,
    "median": medians_figure,
    "rencana": plans_figure,
    "cakupan": coverage_figure,
}


def figures(locale: str, n: Numbers) -> list[Figure]:
    """Each chart with its caption and its table, in the order the page shows them."""
    words = Words(locale)
    shown = (build(words, n, id) for id, build in FIGURES.items())
    return [figure for figure in shown if figure is not None]


def query_of(n: Numbers) -> str:
    parts = [f"wilayah={n.region}" if n.region else "", f"jenis={n.kind}" if n.kind else ""]
    return "&".join(p for p in parts if p)


@router.get("/{year}", response_class=HTMLResponse, dependencies=[page_reads("dashboard")])
def dasbor(
    request: Request,
    year: Year,
    actor: PageActor,
    locale: PageLocale,
    db: SessionDep,
    wilayah: Region = None,
    jenis: Kind = None,
) -> HTMLResponse:
    n = Numbers(db, actor, year, wilayah, jenis)
    regions = [actor.region] if actor.role == "kanwil" else list(db.exec(select(UnitRow.region).distinct()).all())
    return page(
        request,
        locale,
        "dasbor.html",
        year=year,
        n=n,
        figures=figures(locale, n),
        regions=sorted(r for r in regions if r),
        kinds=[(k, display(locale, "kind", k)) for k in KINDS],
        query=query_of(n),
        kind_label=display(locale, "kind", n.kind) if n.kind else "",
        overdue=[
            [c.unit, c.region, display(locale, "stage", c.stage), moment(locale, c.deadline) if c.deadline else "–"]
            for c in n.d.overdue
        ],
    )


@router.get("/{year}/unduh.csv", dependencies=[page_reads("dashboard")])
def unduh_csv(year: Year, actor: PageActor, db: SessionDep, wilayah: Region = None, jenis: Kind = None) -> Response:
    n = Numbers(db, actor, year, wilayah, jenis)
    headers = {"Content-Disposition": f'attachment; filename="p2ham-dasbor-{year}.csv"'}
    return Response(dashboard.to_csv(n.rows()), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/{year}/unduh.xlsx", dependencies=[page_reads("dashboard")])
def unduh_xlsx(year: Year, actor: PageActor, db: SessionDep, wilayah: Region = None, jenis: Kind = None) -> Response:
    n = Numbers(db, actor, year, wilayah, jenis)
    book = Workbook()
    sheet = book.active
    sheet.title = f"Dasbor {year}"
    sheet.append(dashboard.CSV_HEADER)
    for row in n.rows():
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    headers = {"Content-Disposition": f'attachment; filename="p2ham-dasbor-{year}.xlsx"'}
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(out.getvalue(), media_type=media, headers=headers)
