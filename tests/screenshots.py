"""The screenshots of docs/ (the dashboard and the public verification page), taken in the system Chromium over the
synthetic cases of the benchmark (labelled synthetic). Run with `make screenshots-oversight`; no Temporal needed.

    .venv/bin/python -m tests.screenshots [--cases 2000]
"""

import argparse
import asyncio
import hashlib
import os
from pathlib import Path

from playwright.async_api import async_playwright
from sqlalchemy import update
from sqlmodel import Session, select

from bench.dasbor import YEAR, prepare
from bench.served import scratch
from models.db import make_engine
from models.tables import CaseRow, TransitionRow
from service.api import create_app
from service.settings import Settings
from tests.browser import FLAGS, chromium_path, serving

DOCS = Path(__file__).resolve().parent.parent / "docs"
DECREE = {"nomor_keputusan": f"M.HH-{YEAR}.HA.02", "tanggal": f"{YEAR}-12-10"}


def award_decrees(settings: Settings) -> str:
    """The synthetic awards get a decree and a hash (the synthetic log has neither); returns one awarded unit."""
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        session.execute(
            update(TransitionRow)
            .where(TransitionRow.event == "tetapkan_penghargaan")
            .values(payload=DECREE, hash=hashlib.sha256(b"synthetic decree").hexdigest())
        )
        session.commit()
        unit = session.exec(select(CaseRow.unit).where(CaseRow.stage == "berpredikat").order_by(CaseRow.unit)).first()
    engine.dispose()
    assert unit, "no synthetic case holds an award"
    return unit


async def shoot(settings: Settings, unit: str) -> None:
    async with serving(create_app(settings)) as url, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=FLAGS)
        page = await browser.new_page(base_url=url, locale="id-ID", viewport={"width": 1100, "height": 900})
        await page.goto(f"/publik/predikat/{YEAR}/{unit}")
        await page.screenshot(path=DOCS / "verifikasi-predikat.png", full_page=True)
        await page.goto(f"/ui/dasbor/{YEAR}")
        await page.check("input[value=ditjen_ham]")
        await page.fill("#sub", "ditjen-1")
        await page.fill("#name", "Petugas Ditjen HAM")
        await page.click("form[action='/ui/masuk/dev'] button[type=submit]")
        await page.wait_for_url(f"{url}/ui/dasbor/{YEAR}")
        await page.set_viewport_size({"width": 1100, "height": 2000})  # the filters and the first charts
        await page.screenshot(path=DOCS / "dasbor.png")
        await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.screenshots")
    parser.add_argument("--cases", type=int, default=2000)
    args = parser.parse_args()
    with scratch("screenshots") as settings:
        prepare(settings, args.cases)
        asyncio.run(shoot(settings, award_decrees(settings)))
    print(f"written: {DOCS / 'dasbor.png'}, {DOCS / 'verifikasi-predikat.png'}")
    os._exit(0)  # as every entry point (DESIGN §3)


if __name__ == "__main__":
    main()
