"""Issue 17 in the browser: the operator plans criterion by criterion (the heritage building, block B), the Kanwil
returns the plan with a note, the operator revises and sends it, the Kanwil accepts; the case page shows the plan.
axe and the page weight on every page of the path; another unit's operator cannot open the plan. `make screenshots`
saves the criterion page and the Kanwil's review while it runs.

Bad input on both forms, with JavaScript and without: the error summary, the same words beside the field, what was
typed kept, nothing saved."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.async_api import Browser, Page, Response

from service.demo import plan
from service.settings import Settings
from tests.browser import assert_accessible, focused_matches
from tests.stages import OPENS_LATE, REGION, calendar, case_at
from tests.test_web_case import Path, photo, wib

HERITAGE = "Gedung cagar budaya: tidak boleh dibangun toilet baru"
BLOCK_B = "Warga binaan penyandang disabilitas dipindahkan ke blok B"


async def test_a_plan_returned_revised_and_accepted_through_the_pages(
    api: httpx.AsyncClient, settings: Settings, browser: Browser, live_url: str, year: int
):
    d = await case_at(api, settings, year, "RUTAN-WEB", "pembangunan", calendar(datetime.now(UTC), OPENS_LATE))
    # Every indicator already met but the first criterion's, which the operator fills in on the page.
    met = [a | {"keadaan": "Ada"} if a["kode"] == "sarana.3" else a for a in await plan(d, datetime.now(UTC))]
    others = [{"kode": a["kode"], "keadaan": a["keadaan"]} for a in met if not a["kode"].startswith("sarana.")]
    await d.call("PUT", f"{d.case_path}/draft/rencana", "operator", {"indikator": others})
    p = Path(browser, live_url, year, d.unit, js=True)
    target = wib(datetime.now(UTC) + timedelta(seconds=120))[:16]

    async with p.official("operator_unit", f"op-{d.unit}", "Operator Rutan", unit=d.unit) as op:
        await op.goto(p.case)
        await op.click("a#form-kirim_rencana")
        await op.wait_for_url(f"{live_url}{p.case}/rencana")
        await p.check(op)
        assert await op.locator("[data-testid=belum-terpenuhi]").count()  # the first criterion is not planned yet
        await op.click(f"a[href='{p.case}/rencana/sarana']")
        await p.check(op)
        for n in range(1, 14):  # the 13 facility items of a kantor imigrasi
            await op.check(f"input[name=keadaan-sarana\\.{n}][value={'Tidak' if n == 3 else 'Ada'}]")
        await op.locator("#indikator-sarana\\.3 ~ details summary").click()
        await op.fill("#kendala-sarana\\.3", HERITAGE)
        await op.fill("#alternatif-sarana\\.3", BLOCK_B)
        await op.fill("#penanggung_jawab-sarana\\.3", "Kepala Subbagian Umum")
        await op.fill("#target-sarana\\.3", target)
        await op.locator(f"form[action='{p.case}/rencana/sarana'] button[type=submit]").click()
        await op.wait_for_url(f"{live_url}{p.case}/rencana/sdm")  # saved: the next criterion
        await op.goto(f"{p.case}/rencana")
        assert await op.locator("[data-testid=siap]").count(), await op.locator("main").inner_text()
        await op.locator(f"form[action='{p.case}/rencana-kirim'] button").click()
        await op.wait_for_url(f"{live_url}{p.case}?berhasil=kirim_rencana")

    async with p.official("kanwil", "kw-1", "Kakanwil DKI", region=REGION) as kw:
        await kw.goto(p.case)
        await kw.click("a#form-tanggapi_rencana")
        await kw.wait_for_url(f"{live_url}{p.case}/tinjau-rencana")
        await p.check(kw, "rencana-tinjau")
        assert HERITAGE in await kw.locator("[data-testid=rencana-belum-selesai]").inner_text()
        await kw.check("input[name=keputusan][value=perbaiki]")
        await kw.locator(
            "#form-tanggapi_rencana button[type=submit]"
        ).click()  # no note: refused, with the reason in words
        await kw.locator(".ringkasan-galat").wait_for()
        assert "catatan" in (await kw.locator(".ringkasan-galat").inner_text()).lower()
        await p.check(kw)  # (reloads the page: the form starts empty again)
        await kw.check("input[name=keputusan][value=perbaiki]")
        await kw.locator("#form-tanggapi_rencana details summary").click()
        await kw.fill("#indikator-sarana\\.3", "Pastikan jalur kursi roda ke blok B")
        await kw.locator("#form-tanggapi_rencana button[type=submit]").click()
        await kw.wait_for_url(f"{live_url}{p.case}?berhasil=tanggapi_rencana")
        assert "mengembalikan" in (await kw.locator("[data-testid=status-rencana]").inner_text()).lower()

    async with p.official("operator_unit", f"op-{d.unit}", "Operator Rutan", unit=d.unit) as op:
        await op.goto(p.case)
        assert (
            "Pastikan jalur kursi roda ke blok B"
            in await op.locator("[data-testid=rencana-belum-selesai]").inner_text()
        )
        await op.goto(f"{p.case}/rencana/sarana")
        await p.check(op, "rencana-kriteria")  # the plan as returned, the action not met open
        note = await op.locator("[data-testid='catatan-sarana.3']").inner_text()
        assert "Pastikan jalur kursi roda ke blok B" in note  # the Kanwil's note beside what it is about
        await op.fill("#tindakan-sarana\\.3", "Bangun ramp menuju blok B")
        await op.locator(f"form[action='{p.case}/rencana/sarana'] button[type=submit]").click()
        await op.goto(f"{p.case}/rencana")
        await op.locator(f"form[action='{p.case}/rencana-kirim'] button").click()
        await op.wait_for_url(f"{live_url}{p.case}?berhasil=kirim_rencana")

    async with p.official("kanwil", "kw-1", "Kakanwil DKI", region=REGION) as kw:
        await kw.goto(f"{p.case}/tinjau-rencana")
        await kw.check("input[name=keputusan][value=diterima]")
        await kw.locator("#form-tanggapi_rencana button[type=submit]").click()
        await kw.wait_for_url(f"{live_url}{p.case}?berhasil=tanggapi_rencana")
        assert "diterima" in (await kw.locator("[data-testid=status-rencana]").inner_text()).lower()
        await p.check(kw)

    history = await d.call("GET", f"{d.case_path}/history", "ditjen")
    plan_steps = [e for e in history["entries"] if e["event"].endswith("_rencana")]
    assert [(e["event"], e["actor"]["role"]) for e in plan_steps] == [
        ("kirim_rencana", "operator_unit"),
        ("tanggapi_rencana", "kanwil"),
        ("kirim_rencana", "operator_unit"),
        ("tanggapi_rencana", "kanwil"),
    ]
    sent = next(a for a in plan_steps[2]["payload"]["indikator"] if a["kode"] == "sarana.3")
    assert (sent["kendala"], sent["alternatif"], sent["tindakan"]) == (HERITAGE, BLOCK_B, "Bangun ramp menuju blok B")

    async with p.official("operator_unit", "op-tetangga", "Operator Tetangga", unit="KANIM-TETANGGA") as other:
        for path in (f"{p.case}/rencana", f"{p.case}/rencana/sarana", f"{p.case}/tinjau-rencana"):
            response = await other.goto(path)
            assert response is not None and response.status == 404, path
            assert HERITAGE not in await other.content()


async def submit(page: Page, button: str) -> Response:
    """Send the form and wait for the page the server answers with (the same address when it is refused)."""
    async with page.expect_navigation() as answered:
        await page.locator(button).click()
    response = await answered.value
    assert response is not None
    return response


async def problem(page: Page, field: str) -> str:
    """The error summary's link to `field` and the words beside the field: the same words in both places."""
    summary = page.locator(".ringkasan-galat")
    assert await summary.locator("h2").inner_text() == "Ada masalah"
    words = await summary.locator(f"a[href='#{field}']").inner_text()
    beside = await page.locator(f"[id='{field}-galat']").inner_text()
    assert words in beside, (words, beside)
    return words


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
async def test_bad_input_on_the_plan_and_review_forms_is_said_beside_its_field_and_what_was_typed_is_kept(
    api: httpx.AsyncClient, settings: Settings, browser: Browser, live_url: str, year: int, js: bool
):
    cal = calendar(datetime.now(UTC), OPENS_LATE)
    d = await case_at(api, settings, year, f"RUTAN-SALAH-{'JS' if js else 'NOJS'}", "pembangunan", cal)
    met = await plan(d, datetime.now(UTC))
    others = [{"kode": a["kode"], "keadaan": a["keadaan"]} for a in met if not a["kode"].startswith("sarana.")]
    draft_path = f"{d.case_path}/draft/rencana"
    await d.call("PUT", draft_path, "operator", {"indikator": others})
    p = Path(browser, live_url, year, d.unit, js=js)
    save = f"form[action='{p.case}/rencana/sarana'] button[type=submit]"

    async def nothing_saved() -> None:
        saved = await d.call("GET", draft_path, "operator")
        assert "sarana.3" not in {a["kode"] for a in saved["rencana"]["indikator"]}

    async with p.official("operator_unit", f"op-{d.unit}", "Operator Rutan", unit=d.unit) as op:
        await op.goto(f"{p.case}/rencana/sarana")
        await op.locator("#indikator-sarana\\.3 ~ details summary").click()
        await op.fill("#kendala-sarana\\.3", HERITAGE)
        plan_photo = {"name": "denah.png", "mimeType": "image/png", "buffer": photo(3, "PNG")}
        await op.set_input_files("#bukti-sarana\\.3", plan_photo)
        refused = await submit(op, save)  # written, but no state chosen: it would be lost without a word
        assert refused.status == 422
        assert "pilih keadaannya" in await problem(op, "keadaan-sarana.3")
        assert "denah.png belum disimpan" in await problem(op, "bukti-sarana.3")  # a form cannot keep a file
        assert await op.input_value("#kendala-sarana\\.3") == HERITAGE
        assert await op.locator("#kendala-sarana\\.3").is_visible()
        await nothing_saved()
        await op.fill("#kendala-sarana\\.3", "")
        await op.set_input_files("#bukti-sarana\\.3", plan_photo)
        refused = await submit(op, save)  # only a file beside no state: said as well, never a failure of the service
        assert refused.status == 422 and "pilih keadaannya" in await problem(op, "keadaan-sarana.3")
        await nothing_saved()
        await op.locator("#indikator-sarana\\.3 ~ details summary").click()  # nothing written: it stays folded
        await op.fill("#kendala-sarana\\.3", HERITAGE)

        for n in range(1, 14):
            await op.check(f"input[name=keadaan-sarana\\.{n}][value={'Tidak' if n == 3 else 'Ada'}]")
        await op.fill("#alternatif-sarana\\.3", BLOCK_B)
        await op.fill("#penanggung_jawab-sarana\\.3", "Kepala Subbagian Umum")
        await op.fill("#target-sarana\\.3", "17 Agustus jam 9")

        refused = await submit(op, save)  # a date that cannot be read
        assert refused.status == 422
        words = await problem(op, "target-sarana.3")
        assert "sarana.3" in words and "17 Agustus jam 9" in words and "2026-08-17 09:00" in words
        assert await op.input_value("#target-sarana\\.3") == "17 Agustus jam 9"
        assert await op.input_value("#kendala-sarana\\.3") == HERITAGE
        assert await op.input_value("#alternatif-sarana\\.3") == BLOCK_B
        assert await op.is_checked("input[name=keadaan-sarana\\.3][value=Tidak]")
        assert await op.is_checked("input[name=keadaan-sarana\\.1][value=Ada]")
        if js:
            assert await focused_matches(op, ".ringkasan-galat")
            await assert_accessible(op)
        await op.locator(".ringkasan-galat a").click()  # the link leads to the field, open to be fixed
        assert await op.locator("#target-sarana\\.3").is_visible()
        await nothing_saved()

        after_the_cycle = wib(cal.cycle_ends + timedelta(days=1))[:16]
        await op.fill("#target-sarana\\.3", after_the_cycle)
        refused = await submit(op, save)  # a date kirim_rencana would refuse: said now, beside the field
        assert refused.status == 422
        assert "setelah siklus berakhir" in await problem(op, "target-sarana.3")
        assert await op.input_value("#target-sarana\\.3") == after_the_cycle
        await nothing_saved()

        await op.fill("#target-sarana\\.3", wib(datetime.now(UTC) + timedelta(seconds=120))[:16])
        text_file = {"name": "catatan.txt", "mimeType": "text/plain", "buffer": b"bukan foto"}
        await op.set_input_files("#bukti-sarana\\.3", text_file)
        refused = await submit(op, save)  # a file the evidence store refuses
        assert refused.status == 415
        assert "catatan.txt" in await problem(op, "bukti-sarana.3")
        await nothing_saved()

        await submit(op, save)
        assert op.url == f"{live_url}{p.case}/rencana/sdm"  # saved: the next criterion

    ready = await d.call("GET", draft_path, "operator")
    assert ready["ready"], ready["checks"]
    await d.send("kirim_rencana", "operator", ready["rencana"])

    answer = "#form-tanggapi_rencana button[type=submit]"
    async with p.official("kanwil", "kw-1", "Kakanwil DKI", region=REGION) as kw:
        await kw.goto(f"{p.case}/tinjau-rencana")
        await kw.check("input[name=keputusan][value=perbaiki]")
        refused = await submit(kw, answer)  # returned without saying what to revise
        assert refused.status == 409
        assert "catatan" in (await problem(kw, "catatan")).lower()
        assert await kw.is_checked("input[name=keputusan][value=perbaiki]")
        if js:
            await assert_accessible(kw)

        await kw.fill("#catatan", "Lengkapi jalur akses")
        await kw.locator("#form-tanggapi_rencana details summary").click()
        await kw.fill("#indikator-sarana\\.3", "x" * 2001)
        refused = await submit(kw, answer)  # a note too long for the record
        assert refused.status == 422
        words = await problem(kw, "indikator-sarana.3")
        assert "sarana.3 Toilet ramah disabilitas" in words and "2000" in words
        assert await kw.locator("#indikator-sarana\\.3").is_visible()  # its details are open
        assert await kw.input_value("#indikator-sarana\\.3") == "x" * 2001
        assert await kw.input_value("#catatan") == "Lengkapi jalur akses"

        await kw.fill("#indikator-sarana\\.3", "Pastikan jalur kursi roda ke blok B")
        await submit(kw, answer)
        assert kw.url == f"{live_url}{p.case}?berhasil=tanggapi_rencana"

        await kw.goto(f"{p.case}/tinjau-rencana")  # a second answer to the same plan (a tab left open)
        await kw.check("input[name=keputusan][value=diterima]")
        refused = await submit(kw, answer)
        assert refused.status == 409
        assert "sudah ditanggapi" in await kw.locator(".ringkasan-galat a[href='#form-tanggapi_rencana']").inner_text()

    history = await d.call("GET", f"{d.case_path}/history", "ditjen")
    assert [e["event"] for e in history["entries"] if e["event"].endswith("_rencana")] == [
        "kirim_rencana",
        "tanggapi_rencana",
    ]
