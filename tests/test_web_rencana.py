"""Issue 17 in the browser: the operator plans criterion by criterion (the heritage building, block B), the Kanwil
returns the plan with a note, the operator revises and sends it, the Kanwil accepts; the case page shows the plan.
axe and the page weight on every page of the path; another unit's operator cannot open the plan."""

from datetime import UTC, datetime, timedelta

import httpx
from playwright.async_api import Browser

from service.demo import plan
from service.settings import Settings
from tests.stages import OPENS_LATE, REGION, calendar, case_at
from tests.test_web_case import Path, wib

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
        await p.check(kw)
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
