"""The auditor's pages in the real Chromium: find a finished case, a clean verdict as checks in words, the refused
commands and the evidence with its hashes, its history as it stood at an earlier second, the audit pack downloaded
and verified offline; the history as it stood on earlier days and minutes (a case written into the read model with
entries days apart), and a day or time that cannot be read; other roles refused."""

import asyncio
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
from playwright.async_api import Browser, Page
from sqlalchemy import Engine
from sqlmodel import Session

from models.tables import TransitionRow
from service import audit_runs, background
from service.audit import utc
from service.i18n import display, moment
from service.settings import Settings
from tests.browser import assert_accessible, assert_light, navigations, without_script
from tests.stages import OPENS_AT_ONCE, calendar, case_at
from tests.test_dashboard import DKI, KANIM, TO_PEMBANGUNAN, Known, write_case
from tests.test_web import dev_login

ROOT = Path(__file__).resolve().parent.parent
WIB = timezone(timedelta(hours=7))


async def test_an_auditor_finds_a_finished_case_sees_a_clean_verdict_an_earlier_stage_and_verifies_the_pack_offline(
    page: Page, api: httpx.AsyncClient, settings: Settings, year: int, live_url: str, tmp_path: Path
):
    unit = f"AUD-A-{year}"
    d = await case_at(api, settings, year, unit, "berpredikat", calendar(datetime.now(UTC), OPENS_AT_ONCE))
    headers = {**d.officials["verifikator"], "Idempotency-Key": f"refused-{year}"}
    refused = await api.post(f"{d.case_path}/events/lolos_verifikasi", json={}, headers=headers)
    assert refused.status_code == 409, refused.text  # recorded as a refused command
    await d.send("cabut", "ditjen", {"alasan": "Pengaduan masyarakat terbukti"})

    await page.goto(f"/ui/audit?tahun={year}&unit=AUD-A")
    await dev_login(page, "auditor", "auditor-1", "Auditor Inspektorat")
    await page.wait_for_url(f"{live_url}/ui/audit?tahun={year}&unit=AUD-A")
    await assert_accessible(page)
    await page.get_by_test_id("hasil-cari").get_by_role("link", name=unit).click()
    await page.wait_for_url(f"{live_url}/ui/audit/{year}/{unit}")

    assert await page.get_by_test_id("putusan").inner_text() == "Audit bersih: semua pemeriksaan lolos"
    checks = await page.get_by_test_id("pemeriksaan").locator("li").all_inner_texts()
    assert len(checks) == 4 and all(c.startswith("Lolos:") for c in checks), checks
    assert await page.get_by_test_id("perbedaan").count() == 0
    assert display("id", "event", "lolos_verifikasi") in await page.get_by_test_id("ditolak").inner_text()
    history = (await api.get(f"{d.case_path}/history", headers=d.officials["ditjen"])).json()["entries"]
    hashes = await page.get_by_test_id("riwayat").locator("code").all_inner_texts()
    assert hashes == [e["hash"] for e in history]
    evidence = await page.get_by_test_id("bukti").locator("tbody th").all_inner_texts()
    assert evidence and len(evidence[0]) == 64  # the sha256 each file is named by
    await assert_accessible(page)
    await assert_light(page, f"/ui/audit/{year}/{unit}")

    # An earlier moment: the second of an entry whose next entry came in a later second (the pencanangan is
    # scheduled a second ahead, so a real case has one). The history is cut after that entry.
    times = [datetime.fromisoformat(e["at"]).astimezone(WIB).replace(microsecond=0) for e in history]
    i = next(i for i in range(len(times) - 1) if times[i] < times[i + 1])
    chosen, target = times[i], history[i]["to"]
    await page.fill("#per", chosen.date().isoformat())
    await page.fill("#pukul", f"{chosen:%H:%M:%S}")
    await page.get_by_role("button", name="Tampilkan").click()
    await page.wait_for_url(
        f"{live_url}/ui/audit/{year}/{unit}?per={chosen.date()}&pukul={quote(f'{chosen:%H:%M:%S}')}#riwayat"
    )
    stage = display("id", "stage", target)
    assert await page.get_by_test_id("tahap-per").inner_text() == (
        f"Pada {moment('id', chosen.date())} pukul {chosen:%H.%M.%S} WIB kasus berada pada tahap {stage}."
    )
    shown = await page.get_by_test_id("riwayat").locator("code").all_inner_texts()
    assert shown == [e["hash"] for e in history[: i + 1]]
    assert await page.get_by_test_id("putusan").inner_text() == "Audit bersih: semua pemeriksaan lolos"
    await assert_accessible(page)
    await page.get_by_role("link", name="English", exact=True).click()  # the same moment, in English
    english = await page.get_by_test_id("tahap-per").inner_text()
    assert english.startswith(f"On {moment('en', chosen.date())} at {chosen.hour % 12 or 12}:{chosen:%M:%S}")
    assert english.endswith(f"WIB the case was at the stage {display('en', 'stage', target)}."), english
    assert await page.get_by_test_id("riwayat").locator("tbody tr").count() == i + 1

    pack = await page.request.get(await page.get_by_test_id("paket").get_attribute("href"))
    assert pack.status == 200
    path = tmp_path / f"p2ham-audit-{year}-{unit}.zip"
    path.write_bytes(await pack.body())
    checked = subprocess.run(
        [sys.executable, "-m", "service.audit_verify", str(path)], cwd=ROOT, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_the_history_as_it_stood_on_an_earlier_date(page: Page, engine: Engine, year: int, live_url: str):
    unit = f"AUD-B-{year}"
    with Session(engine) as db:  # entries on 6, 8, 11 and 12 January 2030; no Temporal history: the verdict says so
        write_case(db, year, Known(unit, DKI, KANIM, TO_PEMBANGUNAN))
        db.commit()
    await page.goto(f"/ui/audit/{year}/{unit}")
    await dev_login(page, "auditor", "auditor-2", "Auditor BPK")
    await page.wait_for_url(f"{live_url}/ui/audit/{year}/{unit}")
    assert "perbedaan" in await page.get_by_test_id("putusan").inner_text()
    assert await page.get_by_test_id("perbedaan").locator("li").count() >= 1
    assert await page.get_by_test_id("riwayat").locator("tbody tr").count() == 4

    await page.fill("#per", "2030-01-09")
    await page.get_by_role("button", name="Tampilkan").click()
    await page.wait_for_url(
        f"{live_url}/ui/audit/{year}/{unit}?per=2030-01-09&pukul=#riwayat"
    )  # no time: the end of the day
    stage = display("id", "stage", "pencanangan_terjadwal")
    assert (
        await page.get_by_test_id("tahap-per").inner_text() == f"Pada 9 Januari 2030 kasus berada pada tahap {stage}."
    )
    assert await page.get_by_test_id("riwayat").locator("tbody tr").count() == 2
    await assert_accessible(page)

    # To the end of the chosen minute: the entry of 8 January at 09.00 WIB is in from 09:00, not at 08:59.
    await page.fill("#per", "2030-01-08")
    await page.fill("#pukul", "08:59")
    await page.get_by_role("button", name="Tampilkan").click()
    await page.wait_for_url(f"{live_url}/ui/audit/{year}/{unit}?per=2030-01-08&pukul=08%3A59#riwayat")
    stage = display("id", "stage", "permohonan")
    assert await page.get_by_test_id("tahap-per").inner_text() == (
        f"Pada 8 Januari 2030 pukul 08.59 WIB kasus berada pada tahap {stage}."
    )
    assert await page.get_by_test_id("riwayat").locator("tbody tr").count() == 1
    await page.goto(f"/ui/audit/{year}/{unit}?per=2030-01-08&pukul=09:00")
    assert await page.get_by_test_id("riwayat").locator("tbody tr").count() == 2

    await page.goto(f"/ui/audit/{year}/{unit}?per=2030-01-05")
    assert await page.get_by_test_id("belum-ada").is_visible()
    await page.goto(f"/ui/audit/{year}/{unit}?per=30-06-2024")
    assert "Isi tanggal dengan benar" in await page.locator(".ringkasan-galat").inner_text()
    # A time that cannot be read, or one without its day: said in words, what was typed kept, the whole history.
    await page.goto(f"/ui/audit/{year}/{unit}?per=2030-01-08&pukul=25:00")
    assert "Isi pukul dengan benar" in await page.locator(".ringkasan-galat").inner_text()
    assert "Isi pukul dengan benar" in await page.locator("#pukul-galat").inner_text()
    assert await page.locator("#pukul").get_attribute("value") == "25:00"
    assert await page.get_by_test_id("tahap-per").count() == 0
    assert await page.get_by_test_id("riwayat").locator("tbody tr").count() == 4
    await assert_accessible(page)
    await page.goto(f"/ui/audit/{year}/{unit}?pukul=09:00")
    assert "Isi juga tanggalnya" in await page.locator(".ringkasan-galat").inner_text()
    assert await page.locator("#pukul").get_attribute("value") == "09:00"
    assert await page.get_by_test_id("riwayat").locator("tbody tr").count() == 4


async def test_the_page_and_the_api_cut_the_history_at_the_end_of_the_same_second(
    page: Page, api: httpx.AsyncClient, engine: Engine, token, year: int, live_url: str
):
    """An entry made half a second into the chosen second is in the history as of that second, on the page and in
    the API's `as_of` alike; as of the second before, in neither."""
    unit = f"AUD-D-{year}"
    with Session(engine) as db:
        write_case(db, year, Known(unit, DKI, KANIM, TO_PEMBANGUNAN))
        db.commit()
        approval = db.get(TransitionRow, (year, unit, 2))
        assert approval is not None
        approval.at += timedelta(milliseconds=500)
        db.add(approval)
        db.commit()
        chosen = utc(approval.at).astimezone(WIB).replace(microsecond=0)
    await page.goto(f"/ui/audit/{year}/{unit}")
    await dev_login(page, "auditor", "auditor-3", "Auditor Itjen")
    await page.wait_for_url(f"{live_url}/ui/audit/{year}/{unit}")
    for second, seen in ((chosen, 2), (chosen - timedelta(seconds=1), 1)):
        await page.goto(f"/ui/audit/{year}/{unit}?per={second.date()}&pukul={second:%H:%M:%S}")
        assert await page.get_by_test_id("riwayat").locator("tbody tr").count() == seen, second
        r = await api.get(
            f"/cycles/{year}/cases/{unit}/history", params={"as_of": second.isoformat()}, headers=token("auditor")
        )
        assert r.status_code == 200, r.text
        assert [e["seq"] for e in r.json()["entries"]] == list(range(1, seen + 1)), second


async def test_the_audit_pages_are_the_auditors_only(page: Page, live_url: str):
    await page.goto("/ui/audit")
    await dev_login(page, "ditjen_ham", "dj-audit", "Petugas Ditjen")
    await page.wait_for_url(f"{live_url}/ui/audit")
    assert "tidak berwenang" in await page.get_by_role("heading", level=1).inner_text()


async def audit_all(page: Page, live_url: str, year: int) -> str:
    """Start the audit of the cycle from the search page, wait until its page says it is done; its address."""
    await page.goto("/ui/audit")
    await page.fill("#tahun-semua", str(year))
    await page.get_by_role("button", name="Mulai audit seluruh kasus").click()
    await page.wait_for_url(f"{live_url}/ui/audit/semua/*")
    await page.get_by_test_id("selesai").wait_for(timeout=120_000)
    return page.url


async def test_audit_all_runs_in_the_background_and_its_table_downloads(
    page: Page, browser: Browser, api: httpx.AsyncClient, settings: Settings, year: int, live_url: str
):
    units = [f"AUD-C-{year}", f"AUD-D-{year}"]
    for unit in units:
        await case_at(api, settings, year, unit, "permohonan", calendar(datetime.now(UTC), OPENS_AT_ONCE))
    await page.goto("/ui/audit")
    await dev_login(page, "auditor", "auditor-3", "Auditor Itjen")
    await page.wait_for_url(f"{live_url}/ui/audit")
    await assert_light(page, "/ui/audit")
    loaded = navigations(page)
    run_url = await audit_all(page, live_url, year)
    assert loaded[1:] == [run_url]  # the search page, then the run's: followed in place by the script, no reload
    assert await page.get_by_test_id("selesai").inner_text() == "Audit selesai: 2 kasus diperiksa, 0 dengan perbedaan"
    rows = await page.get_by_test_id("hasil").locator("tbody tr").all_inner_texts()
    assert [r.split("\t")[0] for r in rows] == units
    await assert_accessible(page)
    table = await page.request.get(await page.get_by_test_id("unduh-hasil").get_attribute("href"))
    lines = (await table.text()).splitlines()
    assert lines == ["unit,verdict,differences", f"{units[0]},ok,", f"{units[1]},ok,"]
    # The finished run stays readable and light; an unknown run (e.g. after a restart) is a page in words.
    await assert_light(page, run_url)
    missing = await page.goto("/ui/audit/semua/tidak-ada")
    assert missing is not None and missing.status == 404
    assert "Pekerjaan ini tidak ditemukan" in await page.locator("main").inner_text()
    assert await page.get_by_test_id("tindakan-galat").get_attribute("href") == "/ui/audit#audit-semua"

    # Without JavaScript the page reloads itself until the run is done, with the same result, and then no more.
    async with without_script(browser, live_url) as plain:
        await plain.goto("/ui/audit")
        await dev_login(plain, "auditor", "auditor-4", "Auditor Itjen")
        await plain.wait_for_url(f"{live_url}/ui/audit")
        await audit_all(plain, live_url, year)
        again = await plain.get_by_test_id("hasil").locator("tbody tr").all_inner_texts()
        assert again == rows
        assert await plain.locator("meta[http-equiv=refresh]").count() == 0


async def test_audit_all_without_script_reloads_only_as_the_auditor_chooses(
    browser: Browser, engine: Engine, settings: Settings, year: int, live_url: str
):
    """While the audit runs, the page without JavaScript offers "Muat ulang" and a link that turns its automatic reload
    off (WCAG 2.2.1); off, the page has no reload, and the choice stays in the address."""
    go = asyncio.Event()

    async def held(run: background.Run) -> None:  # an audit that waits for the test
        run.total = 1
        await go.wait()

    run = background.start(engine, settings, audit_runs.KIND, year, "auditor-5", held)
    here = f"{live_url}/ui/audit/semua/{run.id}"
    async with without_script(browser, live_url) as plain:
        await plain.goto(f"/ui/audit/semua/{run.id}")
        await dev_login(plain, "auditor", "auditor-5", "Auditor Itjen")
        await plain.wait_for_url(here)
        reload = plain.locator("meta[http-equiv=refresh]")
        assert await reload.get_attribute("content") == "10"
        assert (
            await plain.get_by_role("link", name="Muat ulang", exact=True).get_attribute("href") == urlsplit(here).path
        )
        async with plain.expect_navigation(url=f"{here}?segarkan=tidak"):
            await plain.get_by_role("link", name="Matikan muat ulang otomatis").click()
        assert await reload.count() == 0
        assert await plain.get_by_role("link", name="Muat ulang", exact=True).get_attribute("href") == (
            f"{urlsplit(here).path}?segarkan=tidak"
        )
        go.set()
        async with plain.expect_navigation(url=f"{here}?segarkan=tidak"):
            await plain.get_by_role("link", name="Muat ulang", exact=True).click()
        while await plain.get_by_test_id("selesai").count() == 0:  # the end is written a moment after the job
            async with plain.expect_navigation(url=f"{here}?segarkan=tidak"):
                await plain.get_by_role("link", name="Muat ulang", exact=True).click()
        assert await reload.count() == 0 and await plain.get_by_test_id("muat-ulang").count() == 0
