"""Administrasi in the real Chromium: a CSV of 200 units with two bad lines shows each error by its line and saves
nothing; corrected, its preview lists 200 additions and the confirmation saves them all; a second file changing one
unit previews exactly that change. The cohort of those 200 units opened from the page completes (followed in place
with JavaScript), and opened again (without JavaScript, the page refreshing itself) starts nothing twice. A job's page
follows it step by step either way, and says so in words when the job is gone (a restart). Other roles are refused."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
from playwright.async_api import Browser, Page, expect
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from models.tables import UnitRow
from service import background, cohort_runs
from tests.browser import assert_accessible, assert_light, navigations, without_script
from tests.stages import OPENS_LATE, calendar
from tests.test_web import dev_login

HEADER = "code,name,kind,region,zona_waktu,email"


def units_csv(prefix: str, region: str, bad: bool, renamed: str | None = None) -> str:
    lines = [HEADER]
    for n in range(1, 201):
        code = f"{prefix}-{n:03}"
        kind = "kantor_imigrasi" if n % 2 else "upt_pemasyarakatan"
        name = f"Kantor {code}" if code != renamed else f"Kantor {code} (nama baru)"
        if bad and n == 50:
            kind = "kantor_pajak"  # not a unit kind of the programme
        if bad and n == 120:
            name = ""  # a name is required
        lines.append(f"{code},{name},{kind},{region},WIB,")
    return "\n".join(lines) + "\n"


def registered(engine: Engine, prefix: str) -> int:
    with Session(engine) as db:
        return db.exec(select(func.count()).select_from(UnitRow).where(col(UnitRow.code).startswith(prefix))).one()


async def upload(page: Page, path: Path, text: str) -> None:
    path.write_text(text)
    await page.set_input_files("#berkas", str(path))
    await page.get_by_role("button", name="Tampilkan pratinjau").click()


async def open_cohort(page: Page, live_url: str, year: int, region: str) -> list[str]:
    """Open the cohort from the page, wait until its page says it is done; the counts it shows."""
    await page.goto("/ui/admin/kohort")
    await page.fill("#tahun", str(year))
    await page.fill("#wilayah", region)
    await page.get_by_role("button", name="Buka kohort").click()
    await page.wait_for_url(f"{live_url}/ui/admin/kohort/*")
    await page.get_by_test_id("selesai").wait_for(timeout=300_000)
    return [await page.get_by_test_id(t).inner_text() for t in ("dimulai", "sudah-ada", "gagal", "terlihat")]


async def test_a_csv_import_with_errors_per_line_fixed_then_its_cohort_opened_once(
    page: Page,
    browser: Browser,
    api: httpx.AsyncClient,
    engine: Engine,
    token,
    year: int,
    live_url: str,
    tmp_path: Path,
):
    prefix, region = f"IMP{year}", f"KANWIL-I{year}"  # a region of this test's own: its cohort is these 200 units
    policy = {"regulation": "2023", "calendar": calendar(datetime.now(UTC), OPENS_LATE).model_dump(mode="json")}
    assert (await api.put(f"/cycles/{year}", json=policy, headers=token("admin"))).status_code == 200
    await page.goto("/ui/admin/unit")
    await dev_login(page, "admin", "admin-imp", "Admin Ditjen HAM")
    await page.wait_for_url(f"{live_url}/ui/admin/unit")
    await assert_accessible(page)

    await upload(page, tmp_path / "unit.csv", units_csv(prefix, region, bad=True))
    errors = await page.get_by_test_id("galat-baris").locator("li").all_inner_texts()
    assert len(errors) == 2 and errors[0].startswith("Baris 51:") and errors[1].startswith("Baris 121:"), errors
    assert await page.get_by_role("button", name="Simpan").count() == 0
    assert registered(engine, prefix) == 0  # nothing half-imported
    await assert_accessible(page)

    await upload(page, tmp_path / "unit.csv", units_csv(prefix, region, bad=False))
    assert "Ditambahkan: 200. Diubah: 0." in await page.get_by_test_id("ringkasan-impor").inner_text()
    await page.get_by_role("button", name="Simpan 200 unit").click()
    await page.wait_for_url(f"{live_url}/ui/admin/unit?tersimpan=200")
    assert registered(engine, prefix) == 200
    await assert_light(page, "/ui/admin/unit?tersimpan=200")

    await upload(page, tmp_path / "unit.csv", units_csv(prefix, region, bad=False, renamed=f"{prefix}-007"))
    assert "Ditambahkan: 0. Diubah: 1. Tidak berubah: 199." in await page.get_by_test_id("ringkasan-impor").inner_text()
    changed = await page.get_by_test_id("diubah").locator("tbody tr").all_inner_texts()
    assert changed == [f"{prefix}-007\tNama unit kerja\tKantor {prefix}-007\tKantor {prefix}-007 (nama baru)"]
    # The confirmation is needed: without it the registry keeps the old name.
    with Session(engine) as db:
        assert db.get(UnitRow, f"{prefix}-007").name == f"Kantor {prefix}-007"

    # The cohort of the imported units, opened from the page: followed in place by the script, no reload.
    await page.goto("/ui/admin/kohort")
    await assert_accessible(page)
    await assert_light(page, "/ui/admin/kohort")
    loaded = navigations(page)
    assert await open_cohort(page, live_url, year, region) == ["200", "0", "0", "200"]
    assert loaded[1:] == [page.url]  # the form, then the job's page, and no other load
    await assert_accessible(page)
    await assert_light(page, page.url)

    # Again, without JavaScript (the page refreshes itself until the job is done): nothing is started twice.
    async with without_script(browser, live_url) as plain:
        await plain.goto("/ui/admin/kohort")
        await dev_login(plain, "admin", "admin-koh-2", "Admin Ditjen HAM")
        await plain.wait_for_url(f"{live_url}/ui/admin/kohort")
        assert await open_cohort(plain, live_url, year, region) == ["0", "200", "0", "200"]
    cases = (await api.get(f"/cycles/{year}/cases", params={"limit": 500}, headers=token("ditjen_ham"))).json()
    assert sorted(c["unit"] for c in cases["items"]) == [f"{prefix}-{n:03}" for n in range(1, 201)]


async def test_administrasi_is_the_admins_only(page: Page, live_url: str):
    await page.goto("/ui/admin/unit")
    await dev_login(page, "ditjen_ham", "dj-admin", "Petugas Ditjen")
    await page.wait_for_url(f"{live_url}/ui/admin/unit")
    assert "tidak berwenang" in await page.get_by_role("heading", level=1).inner_text()


class Steps:
    """A background job the test moves on one unit at a time, on the cohort page (service/background.py)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.go = asyncio.Event()

    async def job(self, run: background.Run) -> None:
        run.total = self.total
        while run.done < self.total:
            await self.go.wait()
            self.go.clear()
            run.done += 1
            run.counts["started"] = run.done

    def start(self, year: int) -> background.Run:
        return background.start(cohort_runs.KIND, year, "admin-langkah", self.job)


async def progress_text(page: Page) -> str:
    return (await page.get_by_test_id("kemajuan-teks").inner_text()).strip()


async def follow_steps(page: Page, steps: Steps, run: background.Run) -> None:
    """Move the job on one unit at a time; each time the page shows it, then the end."""
    for done in range(1, steps.total + 1):
        steps.go.set()
        if done < steps.total:
            await expect(page.get_by_test_id("kemajuan-teks")).to_have_text(f"Sudah diproses {done} dari 3 unit")
            assert await page.get_by_test_id("kemajuan").get_attribute("value") == str(done)
    await expect(page.get_by_test_id("selesai")).to_have_text("Kohort selesai dibuka")
    assert await page.get_by_test_id("dimulai").inner_text() == "3"


async def test_a_jobs_page_follows_it_in_place_with_script_and_by_refreshing_without(
    page: Page, browser: Browser, year: int, live_url: str
):
    steps = Steps(3)
    run = steps.start(year)
    await page.goto(f"/ui/admin/kohort/{run.id}")
    await dev_login(page, "admin", "admin-langkah", "Admin Ditjen HAM")
    await page.wait_for_url(f"{live_url}/ui/admin/kohort/{run.id}")
    assert await progress_text(page) == "Sudah diproses 0 dari 3 unit"
    status = page.locator("[data-kemajuan=status]")
    assert await status.get_attribute("aria-live") == "polite"
    await status.evaluate("region => { region.dataset.tetap = 'ya' }")  # the same element all along, not a new page
    loaded = navigations(page)
    await assert_accessible(page)
    await follow_steps(page, steps, run)
    assert loaded == [] and await status.get_attribute("data-tetap") == "ya"
    await assert_accessible(page)

    # Without JavaScript the page refreshes itself (a meta refresh the script's absence lets through).
    steps = Steps(3)
    run = steps.start(year)
    async with without_script(browser, live_url) as plain:
        await plain.goto(f"/ui/admin/kohort/{run.id}")
        await dev_login(plain, "admin", "admin-langkah-2", "Admin Ditjen HAM")
        await plain.wait_for_url(f"{live_url}/ui/admin/kohort/{run.id}")
        loaded = navigations(plain)
        await follow_steps(plain, steps, run)
        assert loaded and all(url.endswith(f"/ui/admin/kohort/{run.id}") for url in loaded)


async def test_a_job_the_server_forgot_is_said_in_words(page: Page, year: int, live_url: str):
    """After a restart (or on another API process) the job is unknown: the page says so, in place when it was
    following the job, and offers to run it again."""
    steps = Steps(1)
    run = steps.start(year)
    await page.goto(f"/ui/admin/kohort/{run.id}")
    await dev_login(page, "admin", "admin-lupa", "Admin Ditjen HAM")
    await page.wait_for_url(f"{live_url}/ui/admin/kohort/{run.id}")
    loaded = navigations(page)
    del background.RUNS[run.id]  # what a restart does to it
    message = (
        "Pekerjaan ini tidak ditemukan, mungkin server dimulai ulang; jalankan lagi — tidak ada yang dimulai dua kali."
    )
    await expect(page.locator("main p").first).to_have_text(message)
    assert loaded == []
    assert await page.get_by_test_id("tindakan-galat").get_attribute("href") == "/ui/admin/kohort"
    await assert_accessible(page)
    steps.go.set()  # the forgotten task ends

    response = await page.goto("/ui/admin/kohort/tidak-ada")
    assert response is not None and response.status == 404
    assert message in await page.locator("main").inner_text()


async def test_the_cycle_policy_form_refuses_as_the_api_does_then_saves(
    page: Page, api: httpx.AsyncClient, token, year: int, live_url: str
):
    year = 2070 + year % 20  # a year the holidays package knows (it stops near 2100), still this test's own
    await page.goto(f"/ui/admin/siklus/{year}")
    await dev_login(page, "admin", "admin-siklus", "Admin Ditjen HAM")
    await page.wait_for_url(f"{live_url}/ui/admin/siklus/{year}")
    await assert_accessible(page)
    dates = {
        "applications_close": f"{year}-03-31",
        "reporting_opens": f"{year}-09-01",
        "reporting_closes": f"{year}-08-01",  # before it opens: the policy's own rule refuses it
        "cycle_ends": f"{year}-11-30",
        "award_valid_until": f"{year + 1}-12-31",
    }
    for name, value in dates.items():
        await page.fill(f"#{name}", value)
    await page.get_by_role("button", name="Simpan kebijakan siklus").click()
    summary = page.locator(".ringkasan-galat")
    await summary.wait_for()
    assert await summary.locator("a").get_attribute("href") == "#reporting_closes"
    # The same words as the API's refusal of the same policy.
    wib = "T23:59:00+07:00"
    calendar = {k: v + ("T00:00:00+07:00" if k == "reporting_opens" else wib) for k, v in dates.items()}
    refused = await api.put(
        f"/cycles/{year}", json={"regulation": "2023", "calendar": calendar}, headers=token("admin")
    )
    assert refused.status_code == 422
    assert refused.json()["why"][0] in await page.locator("#reporting_closes-galat").inner_text()
    await assert_accessible(page)

    await page.fill("#reporting_closes", f"{year}-10-31")
    await page.get_by_role("button", name="Simpan kebijakan siklus").click()
    await page.wait_for_url(f"{live_url}/ui/admin/siklus/{year}?tersimpan=1")
    saved = (await api.get(f"/cycles/{year}", headers=token("admin"))).json()
    assert saved["calendar"]["reporting_closes"].startswith(f"{year}-10-31T23:59")
    assert saved["calendar"]["holidays"]  # filled from the holidays package, and now shown to edit
    assert f"{year}-08-17" in await page.locator("#holidays").input_value()
    await assert_light(page, f"/ui/admin/siklus/{year}")
