"""A whole case in the browser, only through the pages, each step by its official (dev login): permohonan to
berpredikat, the report with real photo uploads, a refused event with its reasons, the same path with JavaScript off;
axe and the page weight on every page of the path; keyboard only for a form; another unit's operator gets 404s.

`P2HAM_SCREENSHOTS=docs/screenshots` (make screenshots) saves the main pages while the path runs."""

import io
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from PIL import Image
from playwright.async_api import Browser, Page

from service.demo import sample_statement
from service.settings import Settings
from tests.browser import assert_accessible, assert_light, choose_radio, press, type_into
from tests.stages import KIND, OPENS_AT_ONCE, REGION, REGULATION, WAIT, calendar
from tests.test_web import dev_login

SHOTS = os.environ.get("P2HAM_SCREENSHOTS")
WIB = timedelta(hours=7)


def photo(seed: int, kind: str = "JPEG") -> bytes:
    """A small real photo (JPEG or PNG) whose colours differ by `seed`, made with Pillow."""
    image = Image.new("RGB", (320, 240), ((seed * 53) % 256, (seed * 97) % 256, (seed * 31) % 256))
    for x in range(0, 320, 16):
        image.putpixel((x, (x + seed) % 240), (255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, kind)
    return buffer.getvalue()


def wib(moment: datetime) -> str:
    return (moment.astimezone(UTC) + WIB).strftime("%Y-%m-%d %H:%M:%S")


async def set_up(api: httpx.AsyncClient, token, year: int, unit: str) -> None:
    """The admin's part, through the API: the cycle (a calendar in seconds, one photo per criterion) and the unit."""
    cal = calendar(datetime.now(UTC), OPENS_AT_ONCE)
    policy = {"regulation": REGULATION, "calendar": cal.model_dump(mode="json"), "evidence": {"min_photos": 1}}
    assert (await api.put(f"/cycles/{year}", json=policy, headers=token("admin"))).status_code == 200
    info = {"code": unit, "name": f"Kantor Imigrasi {unit}", "kind": KIND, "region": REGION}
    assert (await api.post("/units", json=info, headers=token("admin"))).status_code in (200, 201)


class Path:
    """The officials of one case, each in a browser context of their own, logged in through the dev login."""

    def __init__(self, browser: Browser, live_url: str, year: int, unit: str, js: bool) -> None:
        self.browser, self.live_url, self.year, self.unit, self.js = browser, live_url, year, unit, js
        self.case = f"/ui/kasus/{year}/{unit}"

    @asynccontextmanager
    async def official(self, role: str, sub: str, name: str, unit: str = "", region: str = "") -> AsyncIterator[Page]:
        context = await self.browser.new_context(base_url=self.live_url, locale="id-ID", java_script_enabled=self.js)
        page = await context.new_page()
        await page.goto("/ui/masuk")
        await dev_login(page, role, sub, name, unit=unit, region=region)
        await page.wait_for_url(f"{self.live_url}/ui/")
        try:
            yield page
        finally:
            await context.close()

    async def check(self, page: Page, shot: str | None = None) -> None:
        """axe and the page weight on the page as it is now (reloaded with an empty cache for the weight). axe runs
        in the page's JavaScript, so only the run with JavaScript on checks it (the pages are the same)."""
        if self.js:
            await assert_accessible(page)
        if SHOTS and shot and self.js:
            os.makedirs(SHOTS, exist_ok=True)
            await page.screenshot(path=f"{SHOTS}/{shot}.png", full_page=True)
        await assert_light(page, page.url)

    async def until(self, page: Page, selector: str) -> None:
        """Reload the case page until `selector` is on it (the calendar moves the case by itself)."""
        deadline = datetime.now(UTC) + timedelta(seconds=WAIT)
        while not await page.locator(selector).count():
            assert datetime.now(UTC) < deadline, f"{selector} did not appear on {page.url}"
            await page.goto(self.case)

    async def stage_is(self, page: Page, stage: str) -> None:
        assert await page.locator("[aria-current=step]").first.inner_text() == stage


async def send(page: Page, event: str) -> None:
    await page.locator(f"#form-{event} button[type=submit]").click()
    await page.locator(".pemberitahuan, .ringkasan-galat").first.wait_for()
    problems = page.locator(".ringkasan-galat")
    assert not await problems.count(), await problems.inner_text()


async def happy_path(p: Path) -> None:
    async with p.official("operator_unit", "op-1", "Operator Kanim", unit=p.unit) as op:
        await op.goto("/ui/permohonan")
        await p.check(op, "permohonan")
        await op.fill("#tahun", str(p.year))
        await op.locator("form[action='/ui/permohonan'] button[type=submit]").click()
        await op.wait_for_url(f"{p.live_url}{p.case}?berhasil=ajukan")
        await p.stage_is(op, "Permohonan")
        await p.check(op, "kasus-permohonan")

    async with p.official("ditjen_ham", "dj-1", "Petugas Ditjen HAM") as dj:
        await dj.goto(p.case)
        await dj.fill("#setujui_permohonan-jadwal", wib(datetime.now(UTC) + timedelta(seconds=3)))
        await dj.fill("#setujui_permohonan-tempat", "Aula Kanwil DKI Jakarta")
        for n, (nama, unsur) in enumerate([("Dr. Hajerati", "ditjen_ham"), ("Kombes Pol. Budi", "forkopimda")]):
            await dj.fill(f"#setujui_permohonan-saksi-{n}-nama", nama)
            await dj.fill(f"#setujui_permohonan-saksi-{n}-jabatan", "Saksi")
            await dj.check(f"input[name=saksi-{n}-unsur][value={unsur}]")
        await send(dj, "setujui_permohonan")
        await p.stage_is(dj, "Pencanangan terjadwal")
        await p.check(dj)

    async with p.official("kanwil", "kw-1", "Kakanwil DKI", region=REGION) as kw:
        await kw.goto(p.case)
        await p.until(kw, "#form-deklarasikan")
        await p.check(kw, "kasus-deklarasi")
        for n, unsur in enumerate(["ditjen_ham", "forkopimda"]):
            await kw.fill(f"#deklarasikan-saksi_hadir-{n}-nama", f"Saksi {n}")
            await kw.fill(f"#deklarasikan-saksi_hadir-{n}-jabatan", "Saksi")
            await kw.check(f"input[name=saksi_hadir-{n}-unsur][value={unsur}]")
        await send(kw, "deklarasikan")

    async with p.official("kepala_unit", "kp-1", "Kepala Kanim", unit=p.unit) as kp:
        await kp.goto(p.case)
        statement = {"name": "pernyataan.pdf", "mimeType": "application/pdf", "buffer": sample_statement(p.unit)}
        await p.check(kp)
        await kp.set_input_files("#tandatangani_pernyataan-dokumen", statement)
        await send(kp, "tandatangani_pernyataan")

    async with p.official("operator_unit", "op-1", "Operator Kanim", unit=p.unit) as op:
        await op.goto(p.case)
        await p.until(op, "a#form-kirim_laporan")
        await op.click("a#form-kirim_laporan")
        await op.wait_for_url(f"{p.live_url}{p.case}/laporan")
        assert await op.get_by_test_id("belum-terpenuhi").count() == 1  # nothing answered yet: the checks say so
        await p.check(op, "laporan-ringkasan")
        await op.locator("table a").first.click()
        seed = 0
        while "/laporan/" in op.url:
            if seed == 0:
                await p.check(op, "laporan-kriteria")
            for group in await op.locator("fieldset.kelompok:has(input[type=radio])").all():
                await group.locator("input[type=radio]").first.check()
            seed += 1
            upload = {"name": f"foto-{seed}.jpg", "mimeType": "image/jpeg", "buffer": photo(seed)}
            await op.locator("input[type=file]").first.set_input_files(upload)
            before = op.url
            await op.locator("main form button[type=submit]").click()
            await op.wait_for_url(lambda url, before=before: url != before)
        assert await op.get_by_test_id("siap").count() == 1
        await op.locator(f"form[action='{p.case}/laporan-kirim'] button").click()
        await op.wait_for_url(f"{p.live_url}{p.case}?berhasil=kirim_laporan")
        await p.stage_is(op, "Verifikasi")

    async with p.official("verifikator", "vf-1", "Verifikator Ditjen") as vf:
        await vf.goto(p.case)
        thumbs = vf.locator("img.gambar-kecil")
        assert await thumbs.count() == seed
        small = await vf.request.get(await thumbs.first.get_attribute("src"))  # the server's small copy
        assert small.ok and 0 < Image.open(io.BytesIO(await small.body())).width <= 240
        await p.check(vf, "kasus-verifikasi")
        await send(vf, "lolos_verifikasi")

    for sub, score in (("pn-a", "90"), ("pn-b", "84")):
        async with p.official("penilai", sub, f"Penilai {sub}") as pn:
            await pn.goto(p.case)
            if sub == "pn-a":
                await p.check(pn, "kasus-penilaian")
            for field in await pn.locator("#form-nilai input[type=text]").all():
                await field.fill(score)
            await send(pn, "nilai")

    async with p.official("ketua_penilai", "kt-1", "Ketua Tim Penilai") as kt:
        await kt.goto(p.case)
        await send(kt, "tetapkan_hasil_evaluasi")
        await p.stage_is(kt, "Lolos evaluasi")

    async with p.official("ditjen_ham", "dj-1", "Petugas Ditjen HAM") as dj:
        await dj.goto(p.case)
        await dj.fill("#tetapkan_penghargaan-nomor_keputusan", f"M.HH-{p.year}.HA.01")
        await dj.fill("#tetapkan_penghargaan-tanggal", str((datetime.now(UTC) + WIB).date()))
        await send(dj, "tetapkan_penghargaan")
        await p.stage_is(dj, "Berpredikat")
        await p.check(dj, "kasus-berpredikat")
        document = await dj.request.get(f"{p.case}/dokumen")
        assert document.status == 200 and "Berita Acara" in await document.text()


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
async def test_a_whole_case_through_the_pages(
    browser: Browser, live_url: str, api: httpx.AsyncClient, token, year: int, js: bool
):
    unit = f"KANIM-WEB-{year}"
    await set_up(api, token, year, unit)
    await happy_path(Path(browser, live_url, year, unit, js))


async def test_a_refused_event_shows_its_reasons_and_keeps_what_was_typed_by_keyboard_only(
    browser: Browser, live_url: str, api: httpx.AsyncClient, token, year: int, settings: Settings
):
    unit = f"KANIM-TOLAK-{year}"
    await set_up(api, token, year, unit)
    p = Path(browser, live_url, year, unit, js=True)
    async with p.official("operator_unit", "op-1", "Operator", unit=unit) as op:
        await op.goto("/ui/permohonan")
        await type_into(op, "#tahun", str(year))
        await press(op, "form[action='/ui/permohonan'] button[type=submit]")
        await op.wait_for_url(f"{live_url}{p.case}?berhasil=ajukan")
    async with p.official("ditjen_ham", "dj-1", "Petugas Ditjen HAM") as dj:
        await dj.goto(p.case)
        await type_into(dj, "#setujui_permohonan-jadwal", wib(datetime.now(UTC) + timedelta(seconds=60)))
        await type_into(dj, "#setujui_permohonan-tempat", "Aula Kanwil")
        await type_into(dj, "#setujui_permohonan-saksi-0-nama", "Dr. Hajerati")
        await type_into(dj, "#setujui_permohonan-saksi-0-jabatan", "Direktur Jenderal HAM")
        await choose_radio(dj, "saksi-0-unsur", "ditjen_ham")
        await press(dj, "#form-setujui_permohonan button[type=submit]")
        summary = dj.locator(".ringkasan-galat")
        await summary.wait_for()
        assert await summary.locator("h2").inner_text() == "Ada masalah"
        assert "Forkopimda" in await summary.inner_text()
        assert await dj.input_value("#setujui_permohonan-tempat") == "Aula Kanwil"  # what was typed is kept
        await p.stage_is(dj, "Permohonan")  # nothing changed
        await assert_accessible(dj)


async def test_another_units_operator_cannot_open_this_units_case_report_or_evidence(
    browser: Browser, live_url: str, api: httpx.AsyncClient, token, year: int
):
    unit = f"KANIM-MILIK-{year}"
    await set_up(api, token, year, unit)
    r = await api.post(f"/cycles/{year}/cases", json={"unit": unit}, headers=token("operator_unit", unit=unit))
    assert r.status_code == 201, r.text
    files = {"file": ("foto.jpg", photo(7), "image/jpeg")}
    uploaded = await api.post("/evidence", files=files, headers=token("operator_unit", unit=unit))
    evidence = uploaded.json()["id"]
    p = Path(browser, live_url, year, unit, js=True)
    async with p.official("operator_unit", "op-lain", "Operator Lain", unit="KANIM-LAIN") as other:
        for path in (p.case, f"{p.case}/laporan", f"{p.case}/bukti/{evidence}", f"{p.case}/bukti/{evidence}/kecil"):
            response = await other.goto(path)
            assert response is not None and response.status == 404, path
    async with p.official("operator_unit", "op-1", "Operator", unit=unit) as own:
        response = await own.goto(f"{p.case}/bukti/{evidence}/kecil")
        assert response is not None and response.status == 200
        assert response.headers["content-type"] == "image/jpeg"
