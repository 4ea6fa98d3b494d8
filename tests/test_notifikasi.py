"""The Notifikasi page in the real Chromium: the caller's feed newest first, the ones not seen before marked, each
linking to its case; another role's or region's notification not shown; axe clean, under the page budget."""

from datetime import UTC, datetime, timedelta

from playwright.async_api import Page
from sqlalchemy import Engine
from sqlmodel import Session

from activities.projection import case_row
from models.contracts import CaseData, UnitInfo
from models.policy import CyclePolicy
from models.tables import CaseRow, NotificationRow
from tests.browser import assert_accessible, assert_light
from tests.stages import OPENS_LATE, REGULATION, calendar
from tests.test_web import dev_login

NOW = datetime.now(UTC)


def case(year: int, region: str, unit: str) -> CaseRow:
    """The read model's row of the case a notice is about (the feed shows what concerns a case the reader may see): a
    whole case as the projection writes it, since every page and the worklist read the rows of this database."""
    info = UnitInfo(code=unit, name=f"Kantor Imigrasi {unit}", kind="kantor_imigrasi", region=region)
    policy = CyclePolicy(regulation=REGULATION, calendar=calendar(NOW, OPENS_LATE))
    return case_row(CaseData(year=year, unit=info, policy=policy, stage="pelaporan", seq=1))


def notice(year: int, region: str, unit: str, subject: str, hours_ago: int, role: str = "kanwil") -> NotificationRow:
    return NotificationRow(
        key=f"{year}:{unit}:{subject}:{role}",
        notice_key=f"{year}:{unit}:{subject}",
        kind="pengingat",
        year=year,
        unit=unit,
        role=role,
        target_region=region,
        subject=subject,
        body=f"Isi pemberitahuan {subject}",
        due_at=NOW - timedelta(hours=hours_ago),
        created_at=NOW - timedelta(hours=hours_ago),
    )


async def test_the_feed_newest_first_with_the_unseen_marked_and_links_to_cases(
    page: Page, engine: Engine, year: int, live_url: str
):
    region = f"KANWIL-N{year}"
    with Session(engine) as db:
        for unit, where in (
            ("UNIT-LAMA", region),
            ("UNIT-BARU", region),
            ("UNIT-LAIN", "KANWIL-LAIN"),
            ("UNIT-OP", region),
        ):
            db.add(case(year, where, unit))
        db.add(notice(year, region, "UNIT-LAMA", "Pelaporan dibuka", 48))
        db.add(notice(year, region, "UNIT-BARU", "Batas pelaporan tiga hari lagi", 2))
        db.add(notice(year, "KANWIL-LAIN", "UNIT-LAIN", "Untuk wilayah lain", 1))
        db.add(notice(year, region, "UNIT-OP", "Untuk operator", 1, role="operator_unit"))
        db.commit()

    await page.goto("/ui/notifikasi")
    await dev_login(page, "kanwil", f"kanwil-n{year}", "Kakanwil N", region=region)
    await page.wait_for_url(f"{live_url}/ui/notifikasi")
    items = page.get_by_test_id("notifikasi").locator("li")
    assert [await h.inner_text() for h in await items.locator("h2 a").all()] == [
        "Batas pelaporan tiga hari lagi",
        "Pelaporan dibuka",
    ]
    assert await items.locator(".tanda-baru").count() == 2
    assert await items.first.locator("a").get_attribute("href") == f"/ui/kasus/{year}/UNIT-BARU"
    text = await page.locator("main").inner_text()
    assert "Untuk wilayah lain" not in text and "Untuk operator" not in text
    await assert_accessible(page)

    # Seen once: on the next visit nothing is marked, until a new notification arrives.
    await assert_light(page, "/ui/notifikasi")
    assert await page.locator(".tanda-baru").count() == 0
    with Session(engine) as db:
        db.add(notice(year, region, "UNIT-BARU", "Laporan dikembalikan untuk perbaikan", 0))
        db.commit()
    await page.goto("/ui/notifikasi")
    marked = page.locator("li.belum-dibaca h2 a")
    assert [await a.inner_text() for a in await marked.all()] == ["Laporan dikembalikan untuk perbaikan"]
    assert "Belum dibaca: 1" in await page.get_by_test_id("jumlah-baru").inner_text()
