"""The dashboard page in the real Chromium over known cases written into the read model: every chart's table holds
the dashboard API's numbers (and the reporting rate and coverage computed by hand), a Kanwil sees only its region,
the CSV and Excel downloads hold the same rows, no script in the charts, axe clean, under the page budget."""

import csv
import io
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from babel.numbers import format_decimal, format_percent
from openpyxl import load_workbook
from playwright.async_api import Page
from sqlalchemy import Engine
from sqlmodel import Session

from models.policy import CyclePolicy, compressed_calendar
from models.tables import CycleRow, UnitRow
from service.i18n import display
from tests.browser import assert_accessible, assert_light
from tests.test_dashboard import CASES, DKI, JATIM, T0, UPT, Known, write_case
from tests.test_web import dev_login


def own_region(year: int) -> str:
    """A region only this test's year uses, so the coverage counts do not depend on other tests' units."""
    return f"KANWIL-T{year}"


def coverage_cases(year: int) -> list[Known]:
    region = own_region(year)
    awarded = CASES[7].path  # DB-A8's path: to berpredikat
    return [Known(f"COV-1-{year}", region, UPT, awarded), Known(f"COV-2-{year}", region, UPT, CASES[0].path)]


@pytest.fixture
def known_cycle(engine: Engine, year: int) -> Iterator[int]:
    calendar = compressed_calendar(T0, timedelta(days=30))
    calendar = calendar.model_copy(
        update={"reporting_opens": T0 + timedelta(days=20), "reporting_closes": T0 + timedelta(days=40)}
    )
    with Session(engine) as session:
        session.add(
            CycleRow(year=year, policy=CyclePolicy(regulation="2023", calendar=calendar).model_dump(mode="json"))
        )
        for known in CASES + coverage_cases(year):
            write_case(session, year, known)
            session.merge(UnitRow(code=known.unit, name=known.unit, kind=known.kind, region=known.region))
        session.add(UnitRow(code=f"COV-3-{year}", name="no case", kind=UPT, region=own_region(year)))
        session.commit()
    yield year


async def table(page: Page, name: str) -> list[list[str]]:
    rows = page.get_by_test_id(f"tabel-{name}").locator("tbody tr")
    return [[c.strip() for c in (await r.inner_text()).split("\t")] for r in await rows.all()]


def number(cell: str) -> float | str:
    """A cell as a number when it is one (Excel gives 1.0 back as 1), else its text."""
    try:
        return float(cell)
    except ValueError:
        return cell


def stage(s: str) -> str:
    return display("id", "stage", s)


async def test_the_dashboards_tables_equal_the_api_and_the_downloads_hold_the_same_rows(
    page: Page, api: httpx.AsyncClient, token, known_cycle: int, live_url: str
):
    year = known_cycle
    await page.goto(f"/ui/dasbor/{year}")
    await dev_login(page, "ditjen_ham", "dj-dasbor", "Petugas Ditjen")
    await page.wait_for_url(f"{live_url}/ui/dasbor/{year}")
    want = (await api.get(f"/cycles/{year}/dashboard", params={"overdue_limit": 50}, headers=token("auditor"))).json()

    assert {s: int(n) for s, n in [(r[0], r[1]) for r in await table(page, "tahap")]} == {
        stage(s): n for s, n in want["by_stage"].items()
    }
    regions = await table(page, "wilayah")
    head = [h.strip() for h in await page.get_by_test_id("tabel-wilayah").locator("thead th").all_inner_texts()]
    got_regions = {r[0]: {h: int(v) for h, v in zip(head[1:], r[1:], strict=True) if v != "0"} for r in regions}
    assert got_regions == {r: {stage(s): n for s, n in by.items()} for r, by in want["by_region"].items()}
    rates = want["pass_rates"]
    assert await table(page, "kelulusan") == [
        ["Lolos evaluasi", str(rates["passed"])],
        ["Tidak lolos", str(rates["failed"])],
        ["Berpredikat", str(rates["awarded"])],
        ["Tingkat kelulusan", format_percent(rates["pass_rate"], "#,##0.0%", locale="id")],
        ["Tingkat penganugerahan", format_percent(rates["award_rate"], "#,##0.0%", locale="id")],
    ]
    assert {r[0]: r[1] for r in await table(page, "median")} == {
        stage(s): format_decimal(d, "#,##0.0", locale="id") for s, d in want["median_days"].items()
    }
    # Coverage by hand in this year's own region: three units registered, two with a case, one holding the award.
    assert [own_region(year), "3", "2", "1"] in await table(page, "cakupan")
    # Reporting: six cases entered pelaporan, five sent their report on day 30 of the cycle, 10 days before close.
    reporting = await table(page, "pelaporan")
    assert reporting[0] == ["20", "0", "0,0%"] and ["10", "5", "83,3%"] in reporting and reporting[-1][:2] == ["0", "5"]
    overdue = await table(page, "terlambat")
    assert sorted(r[0] for r in overdue) == sorted(c["unit"] for c in want["overdue"])
    link = page.get_by_test_id("tabel-terlambat").get_by_role("link", name=overdue[0][0])
    assert await link.get_attribute("href") == f"/ui/kasus/{year}/{overdue[0][0]}"

    # No unit of this cycle sent an action plan: the plans figure says so (tests/test_rencana.py counts them).
    assert (await table(page, "rencana"))[-1][:3] == ["Nasional", str(want["total"]), "0"]
    assert await page.locator("figure svg").count() == 7 and await page.locator("svg script").count() == 0
    assert await page.locator("script:not([src])").count() == 0
    await assert_accessible(page)
    await assert_light(page, f"/ui/dasbor/{year}")

    # The downloads (same filters) hold the same rows, and the dashboard's sections equal the API's CSV.
    await page.goto(f"/ui/dasbor/{year}?jenis=upt_pemasyarakatan")
    csv_href = await page.get_by_test_id("unduh-csv").get_attribute("href")
    xlsx_href = await page.get_by_test_id("unduh-xlsx").get_attribute("href")
    assert csv_href == f"/ui/dasbor/{year}/unduh.csv?jenis=upt_pemasyarakatan" and xlsx_href
    from_csv = list(csv.reader(io.StringIO(await (await page.request.get(csv_href)).text())))
    book = load_workbook(io.BytesIO(await (await page.request.get(xlsx_href)).body()))
    from_xlsx = [["" if v is None else str(v) for v in row] for row in book.active.iter_rows(values_only=True)]
    assert [[number(c) for c in r] for r in from_csv] == [[number(c) for c in r] for r in from_xlsx]
    assert len(from_csv) > 20
    api_csv = await api.get(
        f"/cycles/{year}/dashboard",
        params={"format": "csv", "kind": "upt_pemasyarakatan", "overdue_limit": 50},
        headers=token("auditor"),
    )
    api_rows = [r for r in csv.reader(io.StringIO(api_csv.text)) if r[0] != "median_days_as_of"]
    page_rows = [r for r in from_csv if r[0] != "median_days_as_of"]
    assert page_rows[: len(api_rows)] == api_rows  # then the page's own: reporting and coverage


async def test_a_kanwil_sees_only_its_region(page: Page, known_cycle: int, live_url: str):
    year = known_cycle
    await page.goto(f"/ui/dasbor/{year}")
    await dev_login(page, "kanwil", "kanwil-jatim", "Kakanwil Jawa Timur", region=JATIM)
    await page.wait_for_url(f"{live_url}/ui/dasbor/{year}")
    assert [r[0] for r in await table(page, "wilayah")] == [JATIM]
    assert [r[0] for r in await table(page, "cakupan")] == [JATIM]  # the registry of its region only
    assert DKI not in await page.locator("main").inner_text()
    response = await page.goto(f"/ui/dasbor/{year}?wilayah={DKI}")
    assert response is not None and response.status == 403
    assert "wilayahnya sendiri" in await page.locator("main").inner_text()
    csv_other = await page.request.get(f"/ui/dasbor/{year}/unduh.csv?wilayah={DKI}")
    assert csv_other.status == 403
    await assert_accessible(page)


async def test_a_role_without_the_dashboard_is_refused_in_words(page: Page, known_cycle: int, live_url: str):
    await page.goto(f"/ui/dasbor/{known_cycle}")
    await dev_login(page, "operator_unit", "op-x", "Operator X", unit="DB-A1")
    await page.wait_for_url(f"{live_url}/ui/dasbor/{known_cycle}")
    assert "tidak berwenang" in await page.get_by_role("heading", level=1).inner_text()
