"""The web pages in the real Chromium: the dev login by keyboard only, Beranda's worklist, axe, page weight, CSRF, the
language switch; the dev login's absence in production; the lifecycle diagram kept equal to the machine."""

import re
from datetime import UTC, datetime, timedelta

import httpx
from fastapi.routing import APIRoute
from playwright.async_api import Page
from sqlalchemy import Engine
from sqlmodel import Session

from activities.projection import case_row
from models.contracts import CaseData, UnitInfo
from models.policy import Calendar, CyclePolicy
from service.api import create_app
from service.pages import diagram
from service.settings import Settings
from tests.browser import assert_accessible, assert_light, choose_radio, press, type_into
from tests.stages import KIND, OPENS_LATE, REGION, REGULATION, calendar, case_at


async def dev_login(page: Page, role: str, sub: str, name: str, unit: str = "", region: str = "") -> None:
    """The dev login page filled and sent with the keyboard alone."""
    await choose_radio(page, "role", role)
    await type_into(page, "#sub", sub)
    await type_into(page, "#name", name)
    if unit:
        await type_into(page, "#unit", unit)
    if region:
        await type_into(page, "#region", region)
    await press(page, "form[action='/ui/masuk/dev'] button[type=submit]")


def reporting_case(engine: Engine, year: int, unit: str, kind: str, deadline: datetime, cal: Calendar) -> None:
    """A case in pelaporan written straight into the read model (no workflow): Beranda reads only the read model, and
    a deadline already passed (a late timer) is otherwise never seen."""
    info = UnitInfo(code=unit, name=f"Lapas {unit}", kind=kind, region=REGION)  # type: ignore[arg-type]
    policy = CyclePolicy(regulation=REGULATION, calendar=cal)
    case = CaseData(year=year, unit=info, policy=policy, stage="pelaporan", seq=7, reporting_deadline=deadline)
    with Session(engine) as session:
        session.add(case_row(case))
        session.commit()


async def rows(page: Page) -> list[str]:
    return [await row.inner_text() for row in await page.locator("[data-testid=tugas] tbody tr").all()]


async def test_beranda_shows_what_waits_for_me_filtered_from_the_url_paged_and_kept_on_the_way_back(
    page: Page, api: httpx.AsyncClient, settings: Settings, engine: Engine, year: int, live_url: str
):
    now = datetime.now(UTC)
    cal = calendar(now, OPENS_LATE)
    await case_at(api, settings, year, f"WEB-A-{year}", "permohonan", cal)
    await case_at(api, settings, year, f"WEB-B-{year}", "permohonan", cal)
    late = f"WEB-TELAT-{year}"
    reporting_case(engine, year, late, KIND, now - timedelta(days=2), cal)
    for n in range(26):  # a page and a bit: every other one a prison
        kind = "upt_pemasyarakatan" if n % 2 else KIND
        reporting_case(engine, year, f"WEB-L{n:02d}-{year}", kind, now + timedelta(days=n + 1), cal)

    # Not logged in: Beranda sends the browser to the login page, which is light and accessible.
    await assert_light(page, f"/ui/?tahun={year}")
    assert page.url.startswith(f"{live_url}/ui/masuk")
    assert await page.locator("html").get_attribute("lang") == "id"
    await assert_accessible(page)

    # The unit's operator: its own case only, with what waits for it there (its report; cancelling is an option
    # the case page offers, not a task).
    await dev_login(page, "operator_unit", "op-web-l00", "Operator Unit L00", unit=f"WEB-L00-{year}")
    await page.wait_for_url(f"{live_url}/ui/?tahun={year}")  # back where it was going
    assert await page.get_by_test_id("siapa").inner_text() == "Operator Unit L00"
    assert await page.get_by_role("heading", level=1).inner_text() == "Beranda"
    [mine] = await rows(page)
    assert f"WEB-L00-{year}" in mine and "Pelaporan" in mine and "Kirim laporan" in mine and "1 hari lagi" in mine
    assert "Batalkan" not in mine
    assert f"WEB-L01-{year}" not in await page.content()  # another unit's case is not listed
    await press(page, "form[action='/ui/keluar'] button")
    await page.wait_for_url(f"{live_url}/ui/masuk")

    # Ditjen HAM: the soonest deadline first, the one already passed marked in words, 25 to a page.
    await dev_login(page, "ditjen_ham", "dj-web", "Petugas Ditjen")
    await page.wait_for_url(f"{live_url}/ui/")
    await page.goto(f"/ui/?tahun={year}")
    first_page = await rows(page)
    assert len(first_page) == 25 and late in first_page[0]
    overdue = page.locator("[data-testid=tugas] tbody tr").first.locator(".tanda--peringatan")
    assert await overdue.inner_text() == "Terlambat 2 hari"
    # Its team waits to be assigned; extending the window is an option of the case page, not a task.
    assert "Tugaskan tim verifikasi dan penilai" in first_page[0] and "Perpanjang" not in first_page[0]
    assert "WIB" in first_page[0] and "1 hari lagi" in first_page[1]
    assert not await page.locator("[data-testid=tugas] tbody tr").nth(1).locator(".tanda--peringatan").count()
    await assert_accessible(page)
    await assert_light(page, f"/ui/?tahun={year}")
    await page.get_by_test_id("berikutnya").click()
    second_page = await rows(page)
    assert len(second_page) == 4 and f"WEB-A-{year}" in second_page[-2] and f"WEB-B-{year}" in second_page[-1]
    assert not await page.get_by_test_id("berikutnya").count()

    # Filters from the form land in the URL (a bookmark), and the way back from a case keeps them.
    await page.goto(f"/ui/?tahun={year}")
    await page.select_option("#jenis", "upt_pemasyarakatan")
    before = (now + timedelta(hours=7) + timedelta(days=10)).date().isoformat()  # its midnight, WIB
    await page.fill("#sebelum", before)
    await page.locator("form.saring button").click()
    await page.wait_for_url(lambda url: "jenis=upt_pemasyarakatan" in url)
    filtered_url = page.url
    filtered = await rows(page)
    assert [row.split()[1] for row in filtered] == [f"WEB-L{n:02d}-{year}" for n in (1, 3, 5, 7)]
    await page.locator("[data-testid=tugas] tbody tr a").first.click()
    await page.wait_for_url(f"{live_url}/ui/kasus/{year}/WEB-L01-{year}")
    await page.locator("a.kembali").click()
    await page.wait_for_url(filtered_url)
    assert await rows(page) == filtered
    assert await page.input_value("#sebelum") == before

    await page.goto(f"/ui/?tahun={year}&dari=banyak")  # a page position that cannot be read: the first page
    assert await rows(page) == first_page

    # A filter that cannot be read is said in words, at the top and at its field; nothing is listed.
    response = await page.goto("/ui/?tahun=dua-ribu&sebelum=kemarin")
    assert response is not None and response.status == 422
    summary = page.locator(".ringkasan-galat")
    assert [await a.get_attribute("href") for a in await summary.locator("a").all()] == ["#tahun", "#sebelum"]
    assert not await page.locator("[data-testid=tugas]").count()
    await assert_accessible(page)

    # An auditor acts on no case: Beranda says so and leads to what it reads.
    await press(page, "form[action='/ui/keluar'] button")
    await page.wait_for_url(f"{live_url}/ui/masuk")
    await dev_login(page, "auditor", "au-web", "Auditor Inspektorat")
    await page.wait_for_url(f"{live_url}/ui/")
    assert "Peran Auditor tidak mengirim langkah" in await page.get_by_test_id("kosong").inner_text()
    links = page.get_by_test_id("halaman-lain")
    assert {"/ui/kasus", "/ui/upacara", "/ui/audit"} <= {
        await a.get_attribute("href") for a in await links.locator("a").all()
    }
    await assert_accessible(page)
    await page.goto(f"/ui/kasus?tahun={year}")
    listed = await page.locator("table").inner_text()
    assert "(29 kasus)" in listed and f"WEB-A-{year}" in listed and "WIB" in listed
    await assert_accessible(page)


async def test_a_wrong_dev_login_shows_each_problem_at_the_top_and_at_its_field(page: Page, live_url: str):
    await page.goto("/ui/masuk")
    await press(page, "form[action='/ui/masuk/dev'] button[type=submit]")
    summary = page.locator(".ringkasan-galat")
    await summary.wait_for()
    assert await summary.locator("h2").inner_text() == "Ada masalah"
    links = summary.locator("a")
    assert [await a.get_attribute("href") for a in await links.all()] == ["#role", "#sub"]
    assert await summary.evaluate("e => e === document.activeElement")  # the script moved the focus here
    for field, words in [("role", "Pilih peran Anda"), ("sub", "Isi kode pengguna")]:
        assert words in await page.locator(f"#{field}-galat").inner_text()  # the same words at the field
    await assert_accessible(page)
    await press(page, ".ringkasan-galat a[href='#sub']")
    assert await page.evaluate("document.activeElement.id") == "sub"


async def test_the_language_switch_is_kept_for_the_session(page: Page, live_url: str):
    await page.goto("/ui/masuk?lang=en")
    assert await page.locator("html").get_attribute("lang") == "en"
    assert await page.get_by_role("heading", level=1).inner_text() == "Log in to P2HAM"
    await page.goto("/ui/masuk")
    assert await page.locator("html").get_attribute("lang") == "en"
    await page.goto("/ui/masuk?lang=id")
    assert await page.get_by_role("heading", level=1).inner_text() == "Masuk ke P2HAM"


async def test_a_post_without_the_csrf_token_is_refused_with_a_page(live_url: str):
    async with httpx.AsyncClient(base_url=live_url) as http:
        login = await http.get("/ui/masuk")
        assert login.status_code == 200 and "p2ham_sesi" in http.cookies
        forged = {"role": "admin", "sub": "intruder"}
        for data in (forged, {**forged, "csrf_token": "not-the-token"}):
            r = await http.post("/ui/masuk/dev", data=data)
            assert r.status_code == 403
            assert "Formulir tidak dapat diproses" in r.text and "Tidak ada yang diubah" in r.text
        home = await http.get("/ui/")
        assert home.status_code == 303 and home.headers["location"].startswith("/ui/masuk")  # not logged in


async def test_production_has_no_dev_login_and_a_secure_cookie(settings: Settings):
    production = {"mode": "production", "jwt_issuer": "https://sso.example.go.id", "jwt_audience": "p2ham"}
    app = create_app(settings.model_copy(update=production))
    assert "/ui/masuk/dev" not in {r.path for r in app.routes if isinstance(r, APIRoute)}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://p2ham.test") as http:
        login = await http.get("/ui/masuk")
        assert 'action="/ui/masuk/dev"' not in login.text
        cookie = login.headers["set-cookie"]
        assert all(flag in cookie for flag in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/ui"))
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        data = {"role": "admin", "sub": "x", "csrf_token": token.group(1) if token else ""}
        assert (await http.post("/ui/masuk/dev", data=data)).status_code == 404


def test_the_committed_diagrams_are_drawn_from_the_machine():
    for locale in ("id", "en"):
        assert diagram.path_of(locale).read_text() == diagram.svg(locale), "run `make diagram` and commit"
    marked = diagram.svg("id", "pelaporan")
    assert re.search(r'<g id="tahap-pelaporan" class="tahap kini">', marked)
    assert marked.count(" kini") == 1
    assert diagram.steps("perbaikan").index("perbaikan") == diagram.steps("perbaikan").index("verifikasi") + 1


async def test_the_lifecycle_macro_marks_the_current_stage_for_screen_readers(page: Page, live_url: str):
    from markupsafe import Markup

    from service.i18n import display, gettext
    from service.pages.render import ENV

    html = ENV.from_string('{% import "macros.html" as m with context %}{{ m.lifecycle("verifikasi") }}').render(
        _=lambda msgid, **p: gettext("id", msgid, **p),
        stage_name=lambda s: display("id", "stage", s),
        lifecycle_svg=lambda s: Markup(diagram.svg("id", s)),
        lifecycle_steps=diagram.steps,
    )
    await page.set_content(
        f'<html lang="id"><head><title>t</title></head><body><main><h1>x</h1>{html}</main></body></html>'
    )
    current = page.locator("[aria-current=step]")
    assert await current.count() == 1
    assert await current.inner_text() == display("id", "stage", "verifikasi")
    await assert_accessible(page)
