"""Dasbor: the numbers of `GET /cycles/{year}/dashboard` (service/dashboard.py) as charts drawn on the server, each
with its table, plus the reporting rate against the days left and the coverage per Kanwil; filters in the URL; the
same numbers as CSV and Excel."""

import io
from typing import Annotated, Any, get_args

from babel.numbers import format_decimal, format_percent
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from openpyxl import Workbook
from sqlmodel import Session, select

from models.contracts import Actor, UnitInfo
from models.tables import UnitRow
from service import charts, dashboard
from service.deps import SessionDep
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


def percent(locale: str, value: float | None) -> str:
    return "–" if value is None else format_percent(value, format="#,##0.0%", locale=locale)


def days(locale: str, value: float) -> str:
    return format_decimal(value, format="#,##0.0", locale=locale)


def figures(locale: str, n: Numbers) -> list[dict[str, Any]]:
    """Each chart with its caption and its table (head, rows), in the order the page shows them."""
    _ = lambda msgid, **p: gettext(locale, msgid, **p)  # noqa: E731
    stage = lambda s: display(locale, "stage", s)  # noqa: E731
    d = n.d
    out = []

    def label(figure: str) -> str:
        return f"grafik-{figure}-judul"  # the figcaption's id: the chart's accessible name

    stages = [s for s in STAGES if s in d.by_stage]
    out.append(
        dict(
            id="tahap",
            caption=_("web.chart_stages", n=d.total),
            svg=charts.horizontal_bars(
                tuple(stage(s) for s in stages), tuple(d.by_stage[s] for s in stages), _("web.cases"), label("tahap")
            ),
            head=[_("web.stage"), _("web.cases")],
            rows=[[stage(s), d.by_stage[s]] for s in stages],
        )
    )
    regions = list(d.by_region)
    in_regions = [s for s in STAGES if any(s in d.by_region[r] for r in regions)]
    out.append(
        dict(
            id="wilayah",
            caption=_("web.chart_regions"),
            svg=charts.stacked_bars(
                tuple(regions),
                tuple((stage(s), tuple(d.by_region[r].get(s, 0) for r in regions)) for s in in_regions),
                label("wilayah"),
            ),
            head=[_("web.region"), *[stage(s) for s in in_regions]],
            rows=[[r, *[d.by_region[r].get(s, 0) for s in in_regions]] for r in regions],
        )
    )
    if n.reporting is not None:
        rep = n.reporting
        out.append(
            dict(
                id="pelaporan",
                caption=_("web.chart_reporting", opened=rep.opened, closes=rep.closes),
                svg=charts.line(
                    tuple(str(day.days_left) for day in rep.days),
                    tuple(None if day.rate is None else round(day.rate * 100, 1) for day in rep.days),
                    _("web.reported_share"),
                    label("pelaporan"),
                ),
                head=[_("web.days_left"), _("web.reported"), _("web.reported_share")],
                rows=[
                    [day.days_left, day.reported, percent(locale, day.rate)]
                    for i, day in enumerate(rep.days)
                    if i == 0 or day.reported != rep.days[i - 1].reported or day.days_left == 0
                ],
            )
        )
    r = d.pass_rates
    out.append(
        dict(
            id="kelulusan",
            caption=_("web.chart_rates", passed=r.passed, failed=r.failed, awarded=r.awarded),
            svg=charts.grouped_bars(
                (_("web.pass_rate"), _("web.award_rate")),
                ((_("web.rate"), (round((r.pass_rate or 0) * 100, 1), round((r.award_rate or 0) * 100, 1))),),
                label("kelulusan"),
            ),
            head=[_("web.measure"), _("web.value")],
            rows=[
                [_("web.passed"), r.passed],
                [_("web.failed"), r.failed],
                [_("web.awarded"), r.awarded],
                [_("web.pass_rate"), percent(locale, r.pass_rate)],
                [_("web.award_rate"), percent(locale, r.award_rate)],
            ],
        )
    )
    medians = [s for s in STAGES if s in d.median_days]
    out.append(
        dict(
            id="median",
            caption=_("web.chart_medians", as_of=moment(locale, d.median_days_as_of)),
            svg=charts.horizontal_bars(
                tuple(stage(s) for s in medians),
                tuple(round(d.median_days[s], 1) for s in medians),
                _("web.median_days"),
                label("median"),
            ),
            head=[_("web.stage"), _("web.median_days")],
            rows=[[stage(s), days(locale, d.median_days[s])] for s in medians],
        )
    )
    plans = [(r, p) for r, p in d.plans.by_region.items()] + [(_("web.national"), d.plans.national)]
    out.append(
        dict(
            id="rencana",
            caption=_("web.chart_plans"),
            svg=charts.grouped_bars(
                tuple(r for r, _p in plans),
                (
                    (_("web.plans_sent"), tuple(p.with_plan for _r, p in plans)),
                    (_("web.plans_accepted"), tuple(p.accepted for _r, p in plans)),
                    (_("web.plans_overdue_actions"), tuple(p.overdue_actions for _r, p in plans)),
                ),
                label("rencana"),
            ),
            head=[
                _("web.region"),
                _("web.cases"),
                _("web.plans_sent"),
                _("web.plans_share"),
                _("web.plans_accepted"),
                _("web.plans_overdue_actions"),
                _("web.plans_most_tidak"),
            ],
            rows=[
                [
                    r,
                    p.cases,
                    p.with_plan,
                    percent(locale, p.share_with_plan),
                    p.accepted,
                    p.overdue_actions,
                    ", ".join(f"{c.kode} ({c.units})" for c in p.most_tidak[:3]) or "–",
                ]
                for r, p in plans
            ],
        )
    )
    cov = n.coverage
    out.append(
        dict(
            id="cakupan",
            caption=_("web.chart_coverage"),
            svg=charts.grouped_bars(
                tuple(c.region for c in cov),
                (
                    (_("web.units_registered"), tuple(c.registered for c in cov)),
                    (_("web.units_with_case"), tuple(c.with_case for c in cov)),
                    (_("web.units_holding"), tuple(c.holding for c in cov)),
                ),
                label("cakupan"),
            ),
            head=[_("web.region"), _("web.units_registered"), _("web.units_with_case"), _("web.units_holding")],
            rows=[[c.region, c.registered, c.with_case, c.holding] for c in cov],
        )
    )
    return out


def query_of(n: Numbers) -> str:
    parts = [f"wilayah={n.region}" if n.region else "", f"jenis={n.kind}" if n.kind else ""]
    return "&".join(p for p in parts if p)


@router.get("/{year}", response_class=HTMLResponse, dependencies=[page_reads("dashboard")])
def dasbor(
    request: Request,
    year: int,
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
def unduh_csv(year: int, actor: PageActor, db: SessionDep, wilayah: Region = None, jenis: Kind = None) -> Response:
    n = Numbers(db, actor, year, wilayah, jenis)
    headers = {"Content-Disposition": f'attachment; filename="p2ham-dasbor-{year}.csv"'}
    return Response(dashboard.to_csv(n.rows()), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/{year}/unduh.xlsx", dependencies=[page_reads("dashboard")])
def unduh_xlsx(year: int, actor: PageActor, db: SessionDep, wilayah: Region = None, jenis: Kind = None) -> Response:
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
