"""The dashboard page (/ui/dasbor/{year}) over 20,000 synthetic cases: its server time, against the JSON dashboard
(`GET /cycles/{year}/dashboard`, the same numbers without charts) and a plain page (the case list) in the same run.

    .venv/bin/python -m bench.dasbor [--cases 20000] [--repeat 20]

No Temporal needed: both read the read model only. A fresh SQLite database in a temporary directory, the synthetic
cases of bench/run.py (labelled synthetic), the cycle's policy and every unit registered. Each request is served in
this process (httpx's ASGI transport, no network): its time is the server's. Medians of `--repeat` requests,
interleaved, after one request each to warm the caches (the median days are cached for a minute, as in production; a
chart is drawn once per set of numbers). The first request's time is printed too.
"""

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import NoReturn

from sqlalchemy import insert
from sqlmodel import Session, select

from bench.run import insert_synthetic
from bench.served import Timings, arguments, conclude, medians, scratch
from models.db import make_engine, migrate
from models.policy import CyclePolicy, compressed_calendar
from models.tables import CaseRow, CycleRow, UnitRow
from service.api import create_app
from service.auth import mint
from service.settings import Settings

YEAR = 2031
TARGET_MS = 200.0


def prepare(settings: Settings, cases: int) -> None:
    engine = make_engine(settings.database_url)
    migrate(engine)
    insert_synthetic(engine, YEAR, cases)
    now = datetime.now(UTC)
    policy = CyclePolicy(regulation="2023", calendar=compressed_calendar(now - timedelta(days=200), timedelta(days=30)))
    with Session(engine) as session:
        session.add(CycleRow(year=YEAR, policy=policy.model_dump(mode="json")))
        rows = session.exec(select(CaseRow.unit, CaseRow.region, CaseRow.kind).where(CaseRow.year == YEAR)).all()
        units = [{"code": u, "name": u, "kind": k, "region": r, "zona_waktu": "WIB"} for u, r, k in rows]
        for i in range(0, len(units), 2000):
            session.execute(insert(UnitRow), units[i : i + 2000])
        session.commit()
    engine.dispose()


async def measure(settings: Settings, repeat: int) -> Timings:
    api_headers = {"Authorization": f"Bearer {mint(settings, role='auditor', sub='bench', name='Bench')}"}
    paths = {
        "dashboard page (charts + tables)": (f"/ui/dasbor/{YEAR}", {}),
        "JSON dashboard (same numbers)": (f"/cycles/{YEAR}/dashboard", api_headers),
        "case list (a plain page, 25 cases)": (f"/ui/kasus?tahun={YEAR}", {}),
    }
    return await medians(create_app(settings), paths, repeat)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    args = arguments("python -m bench.dasbor", __doc__, 20, argv)
    with scratch("bench-dasbor") as settings:
        t = time.perf_counter()
        prepare(settings, args.cases)
        print(f"{args.cases} synthetic cases of {YEAR} written in {time.perf_counter() - t:.1f} s")
        results = asyncio.run(measure(settings, args.repeat))
    ratios = {
        "dashboard page / JSON dashboard": "JSON dashboard (same numbers)",
        "dashboard page / case list": "case list (a plain page, 25 cases)",
    }
    conclude(results, args.repeat, "dashboard page (charts + tables)", ratios, "the page", TARGET_MS)


if __name__ == "__main__":
    main()
