"""The report's criterion form in the browser, with JavaScript and without: a file the evidence store refuses is said
in the error summary and beside that indicator's file field, what was typed is kept and nothing is saved (a file
chosen beside it is said not saved); the same form then saves with a real photo."""

import hashlib
from datetime import UTC, datetime

import httpx
import pytest
from playwright.async_api import Browser, Page

from service.settings import Settings
from tests.browser import assert_accessible, focused_matches
from tests.stages import OPENS_AT_ONCE, calendar, case_at
from tests.test_web_case import Path, photo
from tests.test_web_rencana import problem, submit

NOTE = "Foto ruang tunggu diambil setelah renovasi"


async def first_criterion(op: Page, p: Path, live_url: str) -> tuple[str, str]:
    """Open the report's first criterion from its overview; the codes of its first two indicators."""
    await op.goto(f"{p.case}/laporan")
    await op.locator("table a").first.click()
    await op.wait_for_url(f"{live_url}{p.case}/laporan/*")
    codes = [
        (await h.get_attribute("id") or "").removeprefix("indikator-")
        for h in await op.locator("main form section h2").all()
    ]
    return codes[0], codes[1]


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
async def test_a_refused_file_on_the_report_keeps_what_was_typed_and_saves_nothing(
    api: httpx.AsyncClient, settings: Settings, browser: Browser, live_url: str, year: int, js: bool
):
    cal = calendar(datetime.now(UTC), OPENS_AT_ONCE)
    d = await case_at(api, settings, year, f"KANIM-BERKAS-{'JS' if js else 'NOJS'}", "pelaporan", cal)
    draft_path = f"{d.case_path}/draft"
    before = await d.call("GET", draft_path, "operator")
    p = Path(browser, live_url, year, d.unit, js=js)

    async with p.official("operator_unit", f"op-{d.unit}", "Operator Kanim", unit=d.unit) as op:
        first, second = await first_criterion(op, p, live_url)
        criterion_url = op.url
        value = await op.locator(f"input[name='nilai-{first}']").last.get_attribute("value") or ""
        await op.check(f"input[name='nilai-{first}'][value='{value}']")
        await op.fill(f"[id='keterangan-{first}']", NOTE)
        not_a_photo = {"name": "ruang-tunggu.jpg", "mimeType": "image/jpeg", "buffer": b"teks biasa, bukan foto"}
        await op.set_input_files(f"[id='bukti-{first}']", not_a_photo)
        a_photo = {"name": "loket.jpg", "mimeType": "image/jpeg", "buffer": photo(5)}
        other = await op.locator(f"input[name='nilai-{second}']").last.get_attribute("value") or ""
        await op.check(f"input[name='nilai-{second}'][value='{other}']")  # a file is kept only beside a value
        await op.set_input_files(f"[id='bukti-{second}']", a_photo)
        save = "main form button[type=submit]"

        refused = await submit(op, save)
        assert refused.status == 415
        assert op.url == criterion_url
        assert "ruang-tunggu.jpg bukan foto JPEG atau PNG" in await problem(op, f"bukti-{first}")
        assert "loket.jpg belum disimpan" in await problem(op, f"bukti-{second}")  # a form cannot keep a file
        assert await op.is_checked(f"input[name='nilai-{first}'][value='{value}']")
        assert await op.input_value(f"[id='keterangan-{first}']") == NOTE
        after = await d.call("GET", draft_path, "operator")
        assert (after["saved_at"], after["laporan"]) == (before["saved_at"], before["laporan"])
        if js:
            assert await focused_matches(op, ".ringkasan-galat")
            await assert_accessible(op)
        await op.locator(f".ringkasan-galat a[href='#bukti-{first}']").click()  # the link leads to the file field
        assert await op.locator(f"[id='bukti-{first}']").is_visible()

        await op.set_input_files(f"[id='bukti-{first}']", {**a_photo, "name": "ruang-tunggu-asli.jpg"})
        await submit(op, save)
        assert op.url != criterion_url  # saved: the next criterion, or the overview after the last
        assert not await op.locator(".ringkasan-galat").count()

    saved = next(a for a in (await d.call("GET", draft_path, "operator"))["laporan"]["indikator"] if a["kode"] == first)
    assert (saved["nilai"], saved["keterangan"]) == (value, NOTE)
    assert hashlib.sha256(a_photo["buffer"]).hexdigest() in saved["bukti"]  # the store names a file by its bytes


async def test_a_note_or_file_without_a_value_and_a_note_too_long_are_said_beside_their_fields(
    api: httpx.AsyncClient, settings: Settings, browser: Browser, live_url: str, year: int
):
    """Nothing typed is lost without a word: a note or a file beside an indicator whose value is not chosen, and a
    note longer than the report allows (sent past the field's limit), come back beside their fields; nothing saved."""
    cal = calendar(datetime.now(UTC), OPENS_AT_ONCE)
    d = await case_at(api, settings, year, "KANIM-TANPA-NILAI", "pelaporan", cal)
    draft_path = f"{d.case_path}/draft"
    before = await d.call("GET", draft_path, "operator")
    p = Path(browser, live_url, year, d.unit, js=True)

    async with p.official("operator_unit", f"op-{d.unit}", "Operator Kanim", unit=d.unit) as op:
        first, second = await first_criterion(op, p, live_url)
        value = await op.locator(f"input[name='nilai-{first}']").last.get_attribute("value") or ""
        await op.check(f"input[name='nilai-{first}'][value='{value}']")
        # Past the field's own limit, as a browser without it (or a hand-made request) would send it.
        await op.locator(f"[id='keterangan-{first}']").evaluate("(field, n) => field.value = 'x'.repeat(n)", 2001)
        await op.fill(f"[id='keterangan-{second}']", NOTE)  # no value chosen for it
        await op.set_input_files(
            f"[id='bukti-{second}']", {"name": "a.jpg", "mimeType": "image/jpeg", "buffer": photo(3)}
        )

        refused = await submit(op, "main form button[type=submit]")
        assert refused.status == 422
        assert "pilih nilainya" in await problem(op, f"nilai-{second}")
        assert "2000" in await problem(op, f"keterangan-{first}")
        assert "a.jpg belum disimpan" in await problem(op, f"bukti-{second}")
        assert await op.input_value(f"[id='keterangan-{second}']") == NOTE
        await assert_accessible(op)
    after = await d.call("GET", draft_path, "operator")
    assert (after["saved_at"], after["laporan"]) == (before["saved_at"], before["laporan"])
