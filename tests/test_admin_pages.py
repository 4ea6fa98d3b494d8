"""Administrasi in the real Chromium: a CSV of 200 units with two bad lines shows each error by its line and saves
nothing; corrected, its preview lists 200 additions and the confirmation saves them all; a second file changing one
unit previews exactly that change. The cohort of those 200 units opened from the page completes (followed in place
with JavaScript), and opened again (without JavaScript, the page reloading itself) starts nothing twice. A job's page
follows it step by step either way, from any API process; without JavaScript the reader controls the reloading. A job
whose process died is said to have stopped, and runs again from its page. Other roles are refused."""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from playwright.async_api import Browser, Locator, Page, expect
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select
from temporalio.client import Client

from models.tables import JobRunRow, UnitRow
from service import background, cohort_runs
from service.api import create_app
from service.settings import Settings
from tests.browser import assert_accessible, assert_light, navigations, serving, without_script
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
    """A background job the test moves on one unit at a time, on the cohort page (service/background.py), for a region
    of the test's own without units: run again from its page, it finds nothing to open."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.go = asyncio.Event()
        self.dying = False
        self.dead = asyncio.Event()

    async def job(self, run: background.Run) -> None:
        run.total = self.total
        while run.done < self.total:
            await self.go.wait()
            self.go.clear()
            if self.dying:  # what a process killed mid-run does: it writes nothing more, not even its end
                self.dead.set()
                raise asyncio.CancelledError
            run.done += 1
            run.counts["started"] = run.done

    def start(self, engine: Engine, settings: Settings, year: int) -> background.Run:
        job = self.job
        return background.start(engine, settings, cohort_runs.KIND, year, "admin-langkah", job, f"KANWIL-L{year}")

    async def die(self) -> None:
        self.dying = True
        self.go.set()
        await self.dead.wait()  # and with it the writing of its heartbeat


def heartbeat_stopped(engine: Engine, run_id: str) -> None:
    """The run's process died an hour ago: its last heartbeat is that old."""
    with Session(engine) as db:
        row = db.get(JobRunRow, run_id)
        row.heartbeat_at = datetime.now(UTC) - timedelta(hours=1)
        db.add(row)
        db.commit()


async def written(engine: Engine, settings: Settings, run_id: str, done: int) -> None:
    """Wait until the run's process has written `done` units (it writes about once a second, not on each unit)."""
    while background.get(engine, settings, cohort_runs.KIND, run_id).done < done:
        await asyncio.sleep(0.05)


async def progress_text(page: Page) -> str:
    return (await page.get_by_test_id("kemajuan-teks").inner_text()).strip()


def reloads(page: Page) -> Locator:
    """The page's automatic reload: a meta refresh that only a browser without script reads."""
    return page.locator("meta[http-equiv=refresh]")


async def follow_steps(page: Page, steps: Steps, run: background.Run) -> None:
    """Move the job on one unit at a time; each time the page shows it, then the end."""
    for done in range(1, steps.total + 1):
        steps.go.set()
        if done < steps.total:
            await expect(page.get_by_test_id("kemajuan-teks")).to_have_text(f"Sudah diproses {done} dari 3 unit")
            assert await page.get_by_test_id("kemajuan").get_attribute("value") == str(done)
    await expect(page.get_by_test_id("selesai")).to_have_text("Kohort selesai dibuka")
    assert await page.get_by_test_id("dimulai").inner_text() == "3"


async def test_a_jobs_page_follows_it_in_place_with_script_and_by_reloads_the_reader_controls_without(
    page: Page, browser: Browser, engine: Engine, settings: Settings, year: int, live_url: str
):
    steps = Steps(3)
    run = steps.start(engine, settings, year)
    await page.goto(f"/ui/admin/kohort/{run.id}")
    await dev_login(page, "admin", "admin-langkah", "Admin Ditjen HAM")
    await page.wait_for_url(f"{live_url}/ui/admin/kohort/{run.id}")
    await expect(page.get_by_test_id("kemajuan-teks")).to_have_text("Sudah diproses 0 dari 3 unit")  # once written
    status = page.locator("[data-kemajuan=status]")
    assert await status.get_attribute("aria-live") == "polite"
    await status.evaluate("region => { region.dataset.tetap = 'ya' }")  # the same element all along, not a new page
    loaded = navigations(page)
    await assert_accessible(page)
    await follow_steps(page, steps, run)
    assert loaded == [] and await status.get_attribute("data-tetap") == "ya"
    await assert_accessible(page)

    # Without JavaScript the page reloads itself while the job runs (WCAG 2.2.1): the reader can reload it at will,
    # and turn the automatic reload off, which the address keeps, and on again; a finished job is not reloaded.
    steps = Steps(3)
    run = steps.start(engine, settings, year)
    here = f"{live_url}/ui/admin/kohort/{run.id}"
    async with without_script(browser, live_url) as plain:
        await plain.goto(f"/ui/admin/kohort/{run.id}")
        await dev_login(plain, "admin", "admin-langkah-2", "Admin Ditjen HAM")
        await plain.wait_for_url(here)
        assert await reloads(plain).get_attribute("content") == "10"
        assert "setiap 10 detik" in await plain.get_by_test_id("muat-ulang-keadaan").inner_text()
        loaded = navigations(plain)
        steps.go.set()
        await expect(plain.get_by_test_id("kemajuan-teks")).to_have_text("Sudah diproses 1 dari 3 unit")
        assert loaded and all(url == here for url in loaded)  # by reloading itself

        async with plain.expect_navigation(url=f"{here}?segarkan=tidak"):
            await plain.get_by_role("link", name="Matikan muat ulang otomatis").click()
        assert await reloads(plain).count() == 0
        assert "dimatikan" in await plain.get_by_test_id("muat-ulang-keadaan").inner_text()
        steps.go.set()
        await written(engine, settings, run.id, 2)
        assert await progress_text(plain) == "Sudah diproses 1 dari 3 unit"  # not reloaded: the reader chose so
        async with plain.expect_navigation(url=f"{here}?segarkan=tidak"):
            await plain.get_by_role("link", name="Muat ulang", exact=True).click()
        assert await progress_text(plain) == "Sudah diproses 2 dari 3 unit"
        assert await reloads(plain).count() == 0  # still off after a reload

        async with plain.expect_navigation(url=here):
            await plain.get_by_role("link", name="Nyalakan muat ulang otomatis").click()
        assert await reloads(plain).count() == 1
        steps.go.set()
        await expect(plain.get_by_test_id("selesai")).to_have_text("Kohort selesai dibuka")
        assert await reloads(plain).count() == 0 and await plain.get_by_test_id("muat-ulang").count() == 0


async def test_a_run_is_followed_from_another_api_process(
    page: Page, client: Client, engine: Engine, settings: Settings, year: int
):
    """No sticky session: a second app on the same database, which never started the run, shows it step by step."""
    steps = Steps(3)
    run = steps.start(engine, settings, year)
    async with serving(create_app(settings, client=client)) as other:
        await page.goto(f"{other}/ui/admin/kohort/{run.id}")
        await dev_login(page, "admin", "admin-lain", "Admin Ditjen HAM")
        await page.wait_for_url(f"{other}/ui/admin/kohort/{run.id}")
        await follow_steps(page, steps, run)


async def test_a_job_whose_process_died_says_it_stopped_and_runs_again(
    page: Page, browser: Browser, engine: Engine, settings: Settings, year: int, live_url: str
):
    """A job whose process stopped (a restart, a crash) writes no heartbeat: its page says so in words, in place when it
    was following the job, and its button starts it again; a job the database does not know is said so too."""
    steps = Steps(3)
    run = steps.start(engine, settings, year)
    await page.goto(f"/ui/admin/kohort/{run.id}")
    await dev_login(page, "admin", "admin-henti", "Admin Ditjen HAM")
    await page.wait_for_url(f"{live_url}/ui/admin/kohort/{run.id}")
    steps.go.set()
    await expect(page.get_by_test_id("kemajuan-teks")).to_have_text("Sudah diproses 1 dari 3 unit")
    loaded = navigations(page)
    await steps.die()
    heartbeat_stopped(engine, run.id)
    await expect(page.get_by_test_id("terhenti")).to_have_text("Pekerjaan terhenti")
    assert loaded == [] and await page.get_by_test_id("dimulai").inner_text() == "1"  # as far as it came
    await assert_accessible(page)

    async with without_script(browser, live_url) as plain:
        await plain.goto(f"/ui/admin/kohort/{run.id}")
        await dev_login(plain, "admin", "admin-henti-2", "Admin Ditjen HAM")
        await plain.wait_for_url(f"{live_url}/ui/admin/kohort/{run.id}")
        assert "terhenti sebelum selesai" in await plain.locator("main").inner_text()
        assert await reloads(plain).count() == 0 and await plain.get_by_test_id("muat-ulang").count() == 0
        await plain.get_by_role("button", name="Jalankan lagi").click()
        await plain.wait_for_url(f"{live_url}/ui/admin/kohort/*")
        assert run.id not in plain.url  # a new run: the stopped one gave up its place
        await plain.get_by_test_id("selesai").wait_for()
        assert await plain.get_by_test_id("dimulai").inner_text() == "0"  # its region has no units to open

    response = await page.goto("/ui/admin/kohort/tidak-ada")
    assert response is not None and response.status == 404
    assert "Pekerjaan ini tidak ditemukan" in await page.locator("main").inner_text()
    assert await page.get_by_test_id("tindakan-galat").get_attribute("href") == "/ui/admin/kohort"


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
