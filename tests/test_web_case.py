"""A whole case in the browser, only through the pages, each step by its official (dev login): permohonan to
berpredikat, the report with real photo uploads, a refused event with its reasons, the same path with JavaScript off;
axe and the page weight on every page of the path; keyboard only for a form; another unit's operator gets 404s.

`P2HAM_SCREENSHOTS=docs/screenshots` (make screenshots) saves the main pages while the path runs."""

import io
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from PIL import Image
from playwright.async_api import Browser, FilePayload, Page

from service.demo import sample_statement
from service.i18n import moment
from service.settings import Settings
from tests.browser import (
    assert_accessible,
    assert_light,
    attach_by_keyboard,
    choose_radio,
    fresh_context,
    images_loaded,
    press,
    type_into,
)
from tests.stages import KIND, OPENS_AT_ONCE, REGION, REGULATION, WAIT, calendar, case_at
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
    """The officials of one case, each in a browser context of their own, logged in through the dev login. With
    `keys`, every form is filled and sent with the keyboard alone (Tab, arrows, Space, Enter, typing)."""

    def __init__(self, browser: Browser, live_url: str, year: int, unit: str, js: bool, keys: bool = False) -> None:
        self.browser, self.live_url, self.year, self.unit, self.js, self.keys = browser, live_url, year, unit, js, keys
        self.case = f"/ui/kasus/{year}/{unit}"

    async def fill(self, page: Page, selector: str, text: str) -> None:
        await (type_into(page, selector, text) if self.keys else page.fill(selector, text))

    async def choose(self, page: Page, name: str, value: str) -> None:
        """One option of a radio group."""
        if self.keys:
            await choose_radio(page, name, value)
        else:
            await page.check(f'input[type=radio][name="{name}"][value="{value}"]')

    async def attach(self, page: Page, selector: str, *files: FilePayload) -> None:
        await (
            attach_by_keyboard(page, selector, list(files))
            if self.keys
            else page.set_input_files(selector, list(files))
        )

    async def submit(self, page: Page, selector: str) -> None:
        """A button or a link: pressed with Enter, or clicked."""
        await (press(page, selector) if self.keys else page.locator(selector).first.click())

    async def send(self, page: Page, event: str) -> None:
        """An event's form sent; it must come back done, without an error summary."""
        await self.submit(page, f"#form-{event} button[type=submit]")
        await page.locator(".pemberitahuan, .ringkasan-galat").first.wait_for()
        problems = page.locator(".ringkasan-galat")
        assert not await problems.count(), await problems.inner_text()

    @asynccontextmanager
    async def official(self, role: str, sub: str, name: str, unit: str = "", region: str = "") -> AsyncIterator[Page]:
        context = await fresh_context(self.browser, self.live_url, js=self.js)
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
        if SHOTS and shot and self.js and not self.keys:
            os.makedirs(SHOTS, exist_ok=True)
            await images_loaded(page)  # the lazy thumbnails too, or the screenshot shows them blank
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


def attendance_list() -> bytes:
    """A PDF evidence file beside the photos (a list of attendance): it has no thumbnail, the pages name it."""
    return b"%PDF-1.4\n% Daftar hadir sosialisasi P2HAM\n%%EOF\n"


async def witnesses(p: Path, page: Page, event: str, field: str, people: list[tuple[str, str]]) -> None:
    for n, (nama, unsur) in enumerate(people):
        await p.fill(page, f"#{event}-{field}-{n}-nama", nama)
        await p.fill(page, f"#{event}-{field}-{n}-jabatan", "Saksi")
        await p.choose(page, f"{field}-{n}-unsur", unsur)


async def happy_path(p: Path) -> None:
    async with p.official("operator_unit", "op-1", "Operator Kanim", unit=p.unit) as op:
        await op.goto("/ui/permohonan")
        await p.check(op, "permohonan")
        await p.fill(op, "#tahun", str(p.year))
        await p.submit(op, "form[action='/ui/permohonan'] button[type=submit]")
        await op.wait_for_url(f"{p.live_url}{p.case}?berhasil=ajukan")
        await p.stage_is(op, "Permohonan")
        await p.check(op, "kasus-permohonan")

    async with p.official("ditjen_ham", "dj-1", "Petugas Ditjen HAM") as dj:
        await dj.goto(f"/ui/?tahun={p.year}")  # Beranda: the application waits for Ditjen HAM
        assert p.unit in await dj.get_by_test_id("tugas").inner_text()
        await p.check(dj, "beranda")
        await dj.goto(p.case)
        await p.fill(dj, "#setujui_permohonan-jadwal", wib(datetime.now(UTC) + timedelta(seconds=3)))
        await p.fill(dj, "#setujui_permohonan-tempat", "Aula Kanwil DKI Jakarta")
        await witnesses(
            p, dj, "setujui_permohonan", "saksi", [("Dr. Hajerati", "ditjen_ham"), ("Kombes Pol. Budi", "forkopimda")]
        )
        await p.send(dj, "setujui_permohonan")
        await p.stage_is(dj, "Pencanangan terjadwal")
        await p.check(dj)

    async with p.official("kanwil", "kw-1", "Kakanwil DKI", region=REGION) as kw:
        await kw.goto(p.case)
        await p.until(kw, "#form-deklarasikan")
        await p.check(kw, "kasus-deklarasi")
        await witnesses(p, kw, "deklarasikan", "saksi_hadir", [("Saksi 0", "ditjen_ham"), ("Saksi 1", "forkopimda")])
        await p.send(kw, "deklarasikan")

    async with p.official("kepala_unit", "kp-1", "Kepala Kanim", unit=p.unit) as kp:
        await kp.goto(p.case)
        statement = {"name": "pernyataan.pdf", "mimeType": "application/pdf", "buffer": sample_statement(p.unit)}
        await p.check(kp)
        await p.attach(kp, "#tandatangani_pernyataan-dokumen", statement)
        await p.send(kp, "tandatangani_pernyataan")

    async with p.official("operator_unit", "op-1", "Operator Kanim", unit=p.unit) as op:
        await op.goto(p.case)
        await p.until(op, "a#form-kirim_laporan")
        await p.submit(op, "a#form-kirim_laporan")
        await op.wait_for_url(f"{p.live_url}{p.case}/laporan")
        assert await op.get_by_test_id("belum-terpenuhi").count() == 1  # nothing answered yet: the checks say so
        await p.check(op, "laporan-ringkasan")
        await p.submit(op, "table a")
        await op.wait_for_url(f"{p.live_url}{p.case}/laporan/*")
        seed = 0
        while "/laporan/" in op.url:
            if seed == 0:
                await p.check(op, "laporan-kriteria")
            seed += 1
            for n, section in enumerate(await op.locator("main form section").all()):
                radio = section.locator("input[type=radio]").first
                await p.choose(op, await radio.get_attribute("name") or "", await radio.get_attribute("value") or "")
                if n == 0:  # one photo per criterion; the first criterion also gets a PDF
                    upload = {"name": f"foto-{seed}.jpg", "mimeType": "image/jpeg", "buffer": photo(seed)}
                    pdf = {"name": "daftar-hadir.pdf", "mimeType": "application/pdf", "buffer": attendance_list()}
                    field = f'[id="{await section.locator("input[type=file]").get_attribute("id")}"]'
                    await p.attach(op, field, *([upload, pdf] if seed == 1 else [upload]))
            before = op.url
            await p.submit(op, "main form button[type=submit]")
            await op.wait_for_url(lambda url, before=before: url != before)
        assert await op.get_by_test_id("siap").count() == 1, await op.locator("main").inner_text()
        await p.submit(op, f"form[action='{p.case}/laporan-kirim'] button")
        await op.wait_for_url(f"{p.live_url}{p.case}?berhasil=kirim_laporan")
        await p.stage_is(op, "Verifikasi")

    async with p.official("ditjen_ham", "dj-1", "Petugas Ditjen HAM") as dj:  # penugasan: the team of the case
        await dj.goto(p.case)
        await p.fill(dj, "#tugaskan-verifikator", "vf-1")
        await p.fill(dj, "#tugaskan-penilai", "pn-a\npn-b")
        await p.fill(dj, "#tugaskan-ketua_penilai", "kt-1")
        await p.send(dj, "tugaskan")
        await p.stage_is(dj, "Verifikasi")

    async with p.official("verifikator", "vf-1", "Verifikator Ditjen") as vf:
        await vf.goto(p.case)
        thumbs = vf.locator("img.gambar-kecil")
        assert await thumbs.count() == seed  # the photos; the PDF has no thumbnail, it is named
        small = await vf.request.get(await thumbs.first.get_attribute("src"))  # the server's small copy
        assert small.ok and 0 < Image.open(io.BytesIO(await small.body())).width <= 240
        document = vf.get_by_test_id("berkas")
        assert re.fullmatch(r"daftar-hadir\.pdf \(PDF, 0,1 KB\)", await document.inner_text())
        pdf = await vf.request.get(await document.get_attribute("href") or "")
        assert pdf.ok and (await pdf.body()).startswith(b"%PDF")
        await images_loaded(vf)  # no broken picture in the report
        await p.check(vf, "kasus-verifikasi")
        await p.send(vf, "lolos_verifikasi")

    for sub, score in (("pn-a", "90"), ("pn-b", "84")):
        async with p.official("penilai", sub, f"Penilai {sub}") as pn:
            await pn.goto(p.case)
            if sub == "pn-a":
                await p.check(pn, "kasus-penilaian")
            for field in await pn.locator("#form-nilai input[type=text]").all():
                await p.fill(pn, f'[id="{await field.get_attribute("id")}"]', score)
            await p.send(pn, "nilai")

    async with p.official("ketua_penilai", "kt-1", "Ketua Tim Penilai") as kt:
        await kt.goto(p.case)
        await p.send(kt, "tetapkan_hasil_evaluasi")
        await p.stage_is(kt, "Lolos evaluasi")

    async with p.official("ditjen_ham", "dj-1", "Petugas Ditjen HAM") as dj:
        await dj.goto(p.case)
        await p.fill(dj, "#tetapkan_penghargaan-nomor_keputusan", f"M.HH-{p.year}.HA.01")
        await p.fill(dj, "#tetapkan_penghargaan-tanggal", str((datetime.now(UTC) + WIB).date()))
        await p.send(dj, "tetapkan_penghargaan")
        await p.stage_is(dj, "Berpredikat")
        await p.check(dj, "kasus-berpredikat")
        document = await dj.request.get(f"{p.case}/dokumen")
        assert document.status == 200 and "Berita Acara" in await document.text()


@pytest.mark.parametrize(("js", "keys"), [(True, False), (False, False), (True, True)], ids=["js", "nojs", "keyboard"])
async def test_a_whole_case_through_the_pages(
    browser: Browser, live_url: str, api: httpx.AsyncClient, token, year: int, js: bool, keys: bool
):
    """The whole path; `keyboard`: every form of it (login, permohonan, witnesses, uploads, the report's steps, the
    team's lines, the score sheet, the decree) filled and sent without a mouse."""
    unit = f"KANIM-WEB-{year}"
    await set_up(api, token, year, unit)
    await happy_path(Path(browser, live_url, year, unit, js, keys))


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


async def summary_value(page: Page, key: str) -> str:
    """The value beside `key` in the case's summary list."""
    row = page.locator(".ringkasan__baris", has=page.locator("dt", has_text=key))
    return await row.locator("dd").inner_text()


async def test_a_new_pencanangan_date_and_a_longer_reporting_window_through_the_case_page(
    browser: Browser, live_url: str, api: httpx.AsyncClient, settings: Settings, year: int
):
    """Ditjen HAM's jadwal_ulang and perpanjang, each from its form on the case page: the page then shows the new
    date (in the unit's zone), and nothing else moved."""
    now = datetime.now(UTC)
    ends = {"cycle_ends": now + timedelta(minutes=10), "award_valid_until": now + timedelta(minutes=11)}
    cal = calendar(now, OPENS_AT_ONCE).model_copy(update=ends)  # room for a later reporting deadline
    scheduled = await case_at(api, settings, year, f"KANIM-JADWAL-{year}", "pencanangan_terjadwal", cal)
    reporting = await case_at(api, settings, year, f"KANIM-LAPOR-{year}", "pelaporan", cal)
    p = Path(browser, live_url, year, scheduled.unit, js=True)
    async with p.official("ditjen_ham", "dj-1", "Petugas Ditjen HAM") as dj:
        await dj.goto(p.case)
        before = await summary_value(dj, "Jadwal pencanangan")
        new_date = (datetime.now(UTC) + timedelta(seconds=120)).replace(second=0, microsecond=0)
        await p.fill(dj, "#jadwal_ulang-jadwal", wib(new_date))
        await p.fill(dj, "#jadwal_ulang-alasan", "Kakanwil bertugas ke luar kota")
        await p.send(dj, "jadwal_ulang")
        shown = moment("id", new_date.astimezone(timezone(WIB, "WIB")))
        assert await summary_value(dj, "Jadwal pencanangan") == shown != before
        await p.stage_is(dj, "Pencanangan terjadwal")
        await assert_accessible(dj)

        case = f"/ui/kasus/{year}/{reporting.unit}"
        await dj.goto(case)
        assert await summary_value(dj, "Tenggat") == moment("id", cal.reporting_closes.astimezone(timezone(WIB, "WIB")))
        later = (cal.reporting_closes + timedelta(minutes=2)).replace(microsecond=0)
        await p.fill(dj, "#perpanjang-batas_baru", wib(later))
        await p.fill(dj, "#perpanjang-alasan", "Jaringan di unit terputus seminggu")
        await p.send(dj, "perpanjang")
        assert await summary_value(dj, "Tenggat") == moment("id", later.astimezone(timezone(WIB, "WIB")))
        await p.stage_is(dj, "Pelaporan")
