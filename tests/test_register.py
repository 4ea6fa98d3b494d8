"""The public register of awards in the real Chromium: an awarded unit listed by region with its decree, its
verification page valid then revoked after `cabut`, a unit never awarded answers 404, only public data shown; the
award letter's QR code read back (zxing-cpp) to the verification address."""

import io
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
import zxingcpp
from PIL import Image
from playwright.async_api import Page

from service import register
from service.demo import WITNESSES
from service.settings import Settings
from tests.browser import assert_accessible, assert_light
from tests.stages import OPENS_AT_ONCE, OPENS_LATE, REGION, calendar, case_at


async def test_an_award_is_listed_verifiable_by_its_qr_code_and_shown_revoked_after_cabut(
    page: Page, api: httpx.AsyncClient, settings: Settings, year: int, live_url: str
):
    awarded, other = f"REG-A-{year}", f"REG-B-{year}"
    d = await case_at(api, settings, year, awarded, "berpredikat", calendar(datetime.now(UTC), OPENS_AT_ONCE))
    await case_at(api, settings, year, other, "permohonan", calendar(datetime.now(UTC), OPENS_LATE))

    # The register lists the awarded unit under its region with the decree, and nothing of the other unit.
    await assert_light(page, f"/publik/predikat/{year}")
    table = page.get_by_test_id(f"predikat-{REGION}")
    row = table.locator("tbody tr")
    assert await row.count() == 1
    text = await row.inner_text()
    assert f"Kantor Imigrasi {awarded}" in text and f"M.HH-{year}.HA.01" in text and "Predikat berlaku" in text
    assert other not in await page.content()
    await assert_accessible(page)

    # The award letter's QR code, drawn by the browser and read back, is the verification address.
    letter = await api.get(f"{d.case_path}/documents/surat-keterangan-predikat", headers=d.officials["operator"])
    assert letter.status_code == 200, letter.text
    await page.set_content(letter.text)
    png = await page.locator(".verifikasi svg").screenshot()
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    expected = register.verification_url(settings.public_url, year, awarded)
    assert code.text == expected and expected.endswith(f"/publik/predikat/{year}/{awarded}")

    # The verification page: valid, with the decree entry's hash from the audit log; no score, evidence or name.
    history = await d.call("GET", f"{d.case_path}/history", "ditjen")
    decree_hash = next(e["hash"] for e in history["entries"] if e["event"] == "tetapkan_penghargaan")
    await assert_light(page, urlsplit(code.text).path)
    assert await page.get_by_test_id("status").inner_text() == "Predikat berlaku"
    assert await page.get_by_test_id("hash").inner_text() == decree_hash
    html = (await page.content()).replace(decree_hash, "")  # a hash's hex digits may spell anything
    private = [w["nama"] for w in WITNESSES] + ["Penilai A", "Operator", "Kepala", "Ketua", "Direktur"]
    assert not [word for word in private if word in html]
    assert not re.search(r"\b87([.,]\d+)?\b", html), "the weighted score (87) is not public"
    await assert_accessible(page)

    # After cabut the same page says revoked; in English on request.
    await d.send("cabut", "ditjen", {"alasan": "Pengaduan masyarakat terbukti"})
    await page.goto(f"/publik/predikat/{year}/{awarded}")
    assert await page.get_by_test_id("status").inner_text() == "Predikat dicabut"
    await assert_accessible(page)
    await page.goto(f"/publik/predikat/{year}/{awarded}?lang=en")
    assert await page.get_by_test_id("status").inner_text() == "Award revoked"
    await page.goto(f"/publik/predikat/{year}")
    assert "Predikat dicabut" in await page.get_by_test_id(f"predikat-{REGION}").inner_text()


async def test_a_unit_never_awarded_answers_404_in_words(page: Page, api: httpx.AsyncClient, settings: Settings, year):
    unit = f"REG-C-{year}"
    d = await case_at(api, settings, year, unit, "permohonan", calendar(datetime.now(UTC), OPENS_LATE))
    for path in (f"/publik/predikat/{year}/{unit}", f"/publik/predikat/{year}/TIDAK-ADA"):
        response = await page.goto(path)
        assert response is not None and response.status == 404
        assert "tidak terdaftar" in await page.get_by_role("heading", level=1).inner_text()
        await assert_accessible(page)
    await page.goto(f"/publik/predikat/{year}")
    assert await page.get_by_test_id("kosong").is_visible()
    # The award letter of a case never awarded is refused in words.
    letter = await api.get(f"{d.case_path}/documents/surat-keterangan-predikat", headers=d.officials["ditjen"])
    assert letter.status_code == 404 and letter.json()["error"] == "no_award"
