"""Administrasi in the real Chromium: a CSV of 200 units with two bad lines shows each error by its line and saves
nothing; corrected, its preview lists 200 additions and the confirmation saves them all; a second file changing one
unit previews exactly that change. A cohort opened from the page completes (the page refreshing itself), and opened
again starts nothing twice. Other roles are refused."""

from datetime import UTC, datetime
from pathlib import Path

import httpx
from playwright.async_api import Page
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from models.tables import UnitRow
from tests.browser import assert_accessible, assert_light
from tests.stages import OPENS_LATE, calendar
from tests.test_web import dev_login

HEADER = "code,name,kind,region,zona_waktu,email"


def units_csv(prefix: str, bad: bool, renamed: str | None = None) -> str:
    lines = [HEADER]
    for n in range(1, 201):
        code = f"{prefix}-{n:03}"
        kind = "kantor_imigrasi" if n % 2 else "upt_pemasyarakatan"
        name = f"Kantor {code}" if code != renamed else f"Kantor {code} (nama baru)"
        if bad and n == 50:
            kind = "kantor_pajak"  # not a unit kind of the programme
        if bad and n == 120:
            name = ""  # a name is required
        lines.append(f"{code},{name},{kind},KANWIL-BANTEN,WIB,")
    return "\n".join(lines) + "\n"


def registered(engine: Engine, prefix: str) -> int:
    with Session(engine) as db:
        return db.exec(select(func.count()).select_from(UnitRow).where(col(UnitRow.code).startswith(prefix))).one()


async def upload(page: Page, path: Path, text: str) -> None:
    path.write_text(text)
    await page.set_input_files("#berkas", str(path))
    await page.get_by_role("button", name="Tampilkan pratinjau").click()


async def test_a_csv_import_with_errors_per_line_then_fixed_and_confirmed(
    page: Page, engine: Engine, year: int, live_url: str, tmp_path: Path
):
    prefix = f"IMP{year}"
    await page.goto("/ui/admin/unit")
    await dev_login(page, "admin", "admin-imp", "Admin Ditjen HAM")
    await page.wait_for_url(f"{live_url}/ui/admin/unit")
    await assert_accessible(page)

    await upload(page, tmp_path / "unit.csv", units_csv(prefix, bad=True))
    errors = await page.get_by_test_id("galat-baris").locator("li").all_inner_texts()
    assert len(errors) == 2 and errors[0].startswith("Baris 51:") and errors[1].startswith("Baris 121:"), errors
    assert await page.get_by_role("button", name="Simpan").count() == 0
    assert registered(engine, prefix) == 0  # nothing half-imported
    await assert_accessible(page)

    await upload(page, tmp_path / "unit.csv", units_csv(prefix, bad=False))
    assert "Ditambahkan: 200. Diubah: 0." in await page.get_by_test_id("ringkasan-impor").inner_text()
    await page.get_by_role("button", name="Simpan 200 unit").click()
    await page.wait_for_url(f"{live_url}/ui/admin/unit?tersimpan=200")
    assert registered(engine, prefix) == 200
    await assert_light(page, "/ui/admin/unit?tersimpan=200")

    await upload(page, tmp_path / "unit.csv", units_csv(prefix, bad=False, renamed=f"{prefix}-007"))
    assert "Ditambahkan: 0. Diubah: 1. Tidak berubah: 199." in await page.get_by_test_id("ringkasan-impor").inner_text()
    changed = await page.get_by_test_id("diubah").locator("tbody tr").all_inner_texts()
    assert changed == [f"{prefix}-007\tNama unit kerja\tKantor {prefix}-007\tKantor {prefix}-007 (nama baru)"]
    # The confirmation is needed: without it the registry keeps the old name.
    with Session(engine) as db:
        assert db.get(UnitRow, f"{prefix}-007").name == f"Kantor {prefix}-007"


async def test_administrasi_is_the_admins_only(page: Page, live_url: str):
    await page.goto("/ui/admin/unit")
    await dev_login(page, "ditjen_ham", "dj-admin", "Petugas Ditjen")
    await page.wait_for_url(f"{live_url}/ui/admin/unit")
    assert "tidak berwenang" in await page.get_by_role("heading", level=1).inner_text()


async def test_a_cohort_opened_from_the_page_completes_and_again_starts_nothing_twice(
    page: Page, api: httpx.AsyncClient, engine: Engine, token, year: int, live_url: str
):
    region = f"KANWIL-K{year}"
    policy = {"regulation": "2023", "calendar": calendar(datetime.now(UTC), OPENS_LATE).model_dump(mode="json")}
    assert (await api.put(f"/cycles/{year}", json=policy, headers=token("admin"))).status_code == 200
    with Session(engine) as db:
        for n in range(5):
            db.add(UnitRow(code=f"KOH-{year}-{n}", name=f"Unit {n}", kind="kantor_imigrasi", region=region))
        db.commit()

    await page.goto("/ui/admin/kohort")
    await dev_login(page, "admin", "admin-koh", "Admin Ditjen HAM")
    await page.wait_for_url(f"{live_url}/ui/admin/kohort")
    await assert_accessible(page)
    for attempt, (started, already) in enumerate([(5, 0), (0, 5)]):
        await page.goto("/ui/admin/kohort")
        await page.fill("#tahun", str(year))
        await page.fill("#wilayah", region)
        await page.get_by_role("button", name="Buka kohort").click()
        await page.wait_for_url(f"{live_url}/ui/admin/kohort/*")
        await page.get_by_test_id("selesai").wait_for(timeout=120_000)  # the page refreshes itself until then
        counts = [await page.get_by_test_id(t).inner_text() for t in ("dimulai", "sudah-ada", "gagal", "terlihat")]
        assert counts == [str(started), str(already), "0", "5"], (attempt, counts)
        await assert_accessible(page)
    cases = (await api.get(f"/cycles/{year}/cases", headers=token("ditjen_ham"))).json()
    assert sorted(c["unit"] for c in cases["items"]) == [f"KOH-{year}-{n}" for n in range(5)]


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
