"""Upacara in the browser: one pencanangan for three units of a region, set up by Ditjen HAM with JavaScript off
(its form's problems at the top, what was typed kept), approved for every unit at once, declared by the region's
Kanwil; the per-unit report says which cases moved and, in words, why the others did not. axe and the page weight on
the pages."""

from datetime import UTC, datetime, timedelta

import httpx
from playwright.async_api import Browser, Page

from service.settings import Settings
from tests.stages import REGION, WAIT
from tests.test_ceremony import PLACE, open_units
from tests.test_web_case import Path, wib


async def unit_row(page: Page, unit: str) -> str:
    return await page.locator(f'[data-testid=unit-upacara] tr[data-unit="{unit}"]').inner_text()


async def add_witness(page: Page, form: str, field: str, n: int, nama: str, unsur: str) -> None:
    await page.fill(f"#{form}-{field}-{n}-nama", nama)
    await page.fill(f"#{form}-{field}-{n}-jabatan", "Saksi")
    await page.check(f'input[name="{field}-{n}-unsur"][value="{unsur}"]')


async def test_one_ceremony_for_three_units_set_up_approved_and_declared_through_the_pages(
    browser: Browser, live_url: str, api: httpx.AsyncClient, settings: Settings, year: int
):
    codes = [f"LAPAS-UPC-{n}-{year}" for n in "ABC"]
    drivers = await open_units(api, settings, year, codes)
    rejected = codes[2]

    nojs = Path(browser, live_url, year, codes[0], js=False)
    async with nojs.official("ditjen_ham", "dj-1", "Petugas Ditjen HAM") as dj:
        await dj.goto(f"/ui/upacara?tahun={year}")
        assert await dj.get_by_test_id("kosong").count() == 1
        await dj.get_by_test_id("upacara-baru").click()
        await dj.select_option("#wilayah", REGION)
        await dj.locator("form.saring button").click()
        for code in codes:
            await dj.check(f'[id="unit-{code}"]')
        jadwal = datetime.now(UTC) + timedelta(seconds=20)
        await dj.fill("#upacara-jadwal", wib(jadwal))
        await dj.fill("#upacara-tempat", PLACE)
        await add_witness(dj, "upacara", "saksi", 0, "Dr. Hajerati", "ditjen_ham")
        await dj.locator("#form-upacara button[type=submit]").click()
        summary = dj.locator(".ringkasan-galat")
        await summary.wait_for()
        assert "Forkopimda" in await summary.inner_text()  # a witness of each kind: nothing was set up
        assert [await dj.is_checked(f'[id="unit-{code}"]') for code in codes] == [True] * 3
        assert await dj.input_value("#upacara-tempat") == PLACE
        await add_witness(dj, "upacara", "saksi", 1, "Kombes Pol. Budi", "forkopimda")
        await dj.locator("#form-upacara button[type=submit]").click()
        await dj.wait_for_url(lambda url: "berhasil=buat" in url)
        report = dj.url.split("?")[0]
        for code in codes:
            assert "Belum dikirim" in await unit_row(dj, code) and "Permohonan" in await unit_row(dj, code)

        # One unit's application is rejected meanwhile: the approval moves the other two and says why not this one.
        await drivers[rejected].send("tolak_permohonan", "ditjen", {"alasan": "Surat permohonan belum lengkap"})
        await dj.locator("#form-setujui button[type=submit]").click()
        await dj.wait_for_url(lambda url: "berhasil=setujui" in url)
        for code in codes[:2]:
            row = await unit_row(dj, code)
            assert "Diterapkan" in row and "Pencanangan terjadwal" in row
        row = await unit_row(dj, rejected)
        assert "Ditolak" in row and "berada pada tahap Permohonan ditolak" in row

    js = Path(browser, live_url, year, codes[0], js=True)
    async with js.official("kanwil", "kw-dki", "Kakanwil DKI", region=REGION) as kw:
        await kw.goto(f"/ui/upacara?tahun={year}")
        assert await kw.get_by_test_id("upacara-baru").count() == 1  # a Kanwil sets up its region's too
        await js.check(kw)
        await kw.locator("table a").first.click()
        await kw.wait_for_url(report)

        # A new date outside the cycle: every case refuses it; the reasons at the top, the date kept, nothing moved.
        await kw.fill("#jadwal_ulang-jadwal", wib(datetime.now(UTC) + timedelta(days=1)))
        await kw.fill("#jadwal_ulang-alasan", "Aula dipakai")
        await kw.locator("#form-jadwal_ulang button[type=submit]").click()
        summary = kw.locator(".ringkasan-galat")
        await summary.wait_for()
        assert "setelah siklus berakhir" in await summary.inner_text()
        assert await kw.input_value("#jadwal_ulang-alasan") == "Aula dipakai"
        assert "Ditolak" in await unit_row(kw, codes[0]) and "Pencanangan terjadwal" in await unit_row(kw, codes[0])
        await js.check(kw)

        # The date reached: one declaration for the region's units.
        await drivers[codes[0]].wait_until("kanwil", lambda v: "deklarasikan" in v["allowed"], "the date", WAIT)
        await kw.goto(report)
        await add_witness(kw, "deklarasikan", "saksi_hadir", 0, "Dr. Hajerati", "ditjen_ham")
        await add_witness(kw, "deklarasikan", "saksi_hadir", 1, "Kombes Pol. Budi", "forkopimda")
        await kw.locator("#form-deklarasikan button[type=submit]").click()
        await kw.wait_for_url(lambda url: "berhasil=deklarasikan" in url)
        for code in codes[:2]:
            row = await unit_row(kw, code)
            assert "Diterapkan" in row and "Dicanangkan" in row and "menandatangani" in row
        assert "Ditolak" in await unit_row(kw, rejected)
        await js.check(kw, "upacara")
