"""Penugasan per wilayah from the Administrasi pages, in the real Chromium: Ditjen HAM picks a cycle, a region, a stage
and a team, sees the cases it applies to and what the rules say of each, confirms, and reads the report unit by unit
(a team whose head is one of its assessors refused in words, then a proper team assigned). Sending the confirmation
again, or running the whole assignment again (without JavaScript), assigns nothing twice; the API's bulk request is
the same service. Other roles are refused."""

from datetime import UTC, datetime

import httpx
from playwright.async_api import Browser, Page

from service.demo import TEAM
from service.i18n import gettext
from service.settings import Settings
from tests.browser import assert_accessible, assert_light, without_script
from tests.stages import OPENS_AT_ONCE, REGION, calendar, case_at
from tests.test_web import dev_login

FORM = "/ui/admin/penugasan"


async def fill(page: Page, year: int, team: dict[str, object]) -> None:
    await page.fill("#tahun", str(year))
    await page.fill("#wilayah", REGION)
    await page.check("input[name=tahap][value=pelaporan]")
    await page.fill("#verifikator", ", ".join(team["verifikator"]))  # type: ignore[arg-type]
    await page.fill("#penilai", "\n".join(team["penilai"]))  # type: ignore[arg-type]
    await page.fill("#ketua_penilai", str(team["ketua_penilai"]))
    await page.get_by_role("button", name="Tampilkan pratinjau").click()


async def rows(page: Page, test_id: str) -> list[list[str]]:
    found = page.get_by_test_id(test_id).locator("tbody tr")
    return [[c.strip() for c in (await r.inner_text()).split("\t")] for r in await found.all()]


async def tugaskan_count(api: httpx.AsyncClient, token, year: int, unit: str) -> int:
    history = await api.get(f"/cycles/{year}/cases/{unit}/history", headers=token("ditjen_ham"))
    return [e["event"] for e in history.json()["entries"]].count("tugaskan")


async def test_a_team_assigned_to_a_region_from_the_page_once(
    page: Page, browser: Browser, api: httpx.AsyncClient, settings: Settings, token, year: int, live_url: str
):
    cal = calendar(datetime.now(UTC), OPENS_AT_ONCE)
    units = sorted([(await case_at(api, settings, year, f"PGW-{n}", "pelaporan", cal)).unit for n in (1, 2)])

    await page.goto(FORM)
    await dev_login(page, "ditjen_ham", "dj-tugas", "Petugas Ditjen")
    await page.wait_for_url(f"{live_url}{FORM}")
    assert (
        await page.get_by_test_id("navigasi").get_by_role("link", name="Penugasan").get_attribute("aria-current")
        == "page"
    )
    await assert_accessible(page)
    await assert_light(page, FORM)

    # Nothing filled in: every problem named by its field, nothing sent.
    await page.get_by_role("button", name="Tampilkan pratinjau").click()
    summary = page.locator(".ringkasan-galat")
    await summary.wait_for()
    assert await summary.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))") == [
        "#tahun",
        "#wilayah",
        "#tahap",
        "#verifikator",
        "#penilai",
        "#ketua_penilai",
    ]
    await assert_accessible(page)

    # The head of the team is one of its assessors: the preview says each case will refuse it, and why.
    conflicted = {**TEAM, "ketua_penilai": TEAM["penilai"][0]}
    await fill(page, year, conflicted)
    why = gettext("id", "penugasan.ketua_juga_penilai", ketua=TEAM["penilai"][0])
    preview = await rows(page, "pratinjau")
    assert [r[0] for r in preview] == units
    assert all(r[1] == "Belum ada tim" and r[2] == f"Akan ditolak: {why}" for r in preview), preview
    await assert_accessible(page)
    await page.get_by_role("button", name="Tugaskan tim ke 2 kasus").click()
    await page.wait_for_url(f"{live_url}{FORM}/laporan")
    assert await page.get_by_test_id("ringkasan-penugasan").inner_text() == "Ditugaskan: 0. Ditolak: 2. Gagal: 0."
    assert await rows(page, "hasil-penugasan") == [[unit, "Ditolak", why] for unit in units]
    assert [await tugaskan_count(api, token, year, unit) for unit in units] == [0, 0]

    # A proper team: previewed as assigned, confirmed, reported unit by unit.
    await page.goto(FORM)
    await fill(page, year, TEAM)
    assert [r[2] for r in await rows(page, "pratinjau")] == ["Akan ditugaskan.", "Akan ditugaskan."]
    confirmation = await page.locator("form[action$='/kirim'] input").evaluate_all(
        "inputs => Object.fromEntries(inputs.map(i => [i.name, i.value]))"
    )
    await page.get_by_role("button", name="Tugaskan tim ke 2 kasus").click()
    await page.wait_for_url(f"{live_url}{FORM}/laporan")
    assert await page.get_by_test_id("ringkasan-penugasan").inner_text() == "Ditugaskan: 2. Ditolak: 0. Gagal: 0."
    assert await rows(page, "hasil-penugasan") == [[unit, "Ditugaskan", "–"] for unit in units]
    await assert_accessible(page)
    await assert_light(page, f"{FORM}/laporan")

    # The same confirmation sent again (a double click, the back button): the same report, nothing twice.
    again = await page.request.post(f"{FORM}/kirim", form=confirmation)
    assert again.ok and "Ditugaskan: 2. Ditolak: 0. Gagal: 0." in await again.text()
    assert [await tugaskan_count(api, token, year, unit) for unit in units] == [1, 1]

    # The whole assignment run again, without JavaScript: the preview says the cases hold the team; nothing twice.
    async with without_script(browser, live_url) as plain:
        await plain.goto(FORM)
        await dev_login(plain, "ditjen_ham", "dj-tugas-2", "Petugas Ditjen")
        await plain.wait_for_url(f"{live_url}{FORM}")
        await fill(plain, year, {**TEAM, "penilai": list(reversed(TEAM["penilai"]))})  # the order does not matter
        assert "2 sudah memegang tim ini" in await plain.get_by_test_id("ringkasan-pratinjau").inner_text()
        preview = await rows(plain, "pratinjau")
        assert all("verif-1" in r[1] and "ketua-1" in r[1] for r in preview), preview  # the team they hold
        assert [r[2] for r in preview] == ["Sudah memegang tim ini; tidak dikirim lagi."] * 2
        await plain.get_by_role("button", name="Tugaskan tim ke 2 kasus").click()
        await plain.wait_for_url(f"{live_url}{FORM}/laporan")
        assert await plain.get_by_test_id("ringkasan-penugasan").inner_text() == "Ditugaskan: 2. Ditolak: 0. Gagal: 0."
    # And through the API (the same service), under a new key: nothing twice either.
    body = {"region": REGION, "stage": "pelaporan", "tim": TEAM}
    headers = {**token("ditjen_ham", "dj-api"), "Idempotency-Key": f"again-{year}"}
    by_api = await api.post(f"/cycles/{year}/penugasan", json=body, headers=headers)
    assert by_api.status_code == 200 and by_api.json()["applied"] == 2, by_api.text
    assert [await tugaskan_count(api, token, year, unit) for unit in units] == [1, 1]


async def test_no_case_at_the_stage_is_said_and_nothing_can_be_confirmed(page: Page, api, token, year: int, live_url):
    policy = {"regulation": "2023", "calendar": calendar(datetime.now(UTC), OPENS_AT_ONCE).model_dump(mode="json")}
    assert (await api.put(f"/cycles/{year}", json=policy, headers=token("admin"))).status_code == 200
    await page.goto(FORM)
    await dev_login(page, "ditjen_ham", "dj-kosong", "Petugas Ditjen")
    await page.wait_for_url(f"{live_url}{FORM}")
    await fill(page, year, TEAM)
    assert "Tidak ada kasus" in await page.get_by_test_id("tidak-ada-kasus").inner_text()
    assert await page.locator("form[action$='/kirim']").count() == 0
    # A cycle that does not exist: said on the year's field.
    await page.goto(FORM)
    await fill(page, year + 5000, TEAM)
    assert await page.locator(".ringkasan-galat a").get_attribute("href") == "#tahun"


async def test_penugasan_is_for_who_sends_tugaskan(page: Page, live_url: str):
    await page.goto(FORM)
    await dev_login(page, "admin", "admin-tugas", "Admin Ditjen HAM")
    await page.wait_for_url(f"{live_url}{FORM}")
    assert "tidak berwenang" in await page.get_by_role("heading", level=1).inner_text()
