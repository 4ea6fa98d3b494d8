"""The dashboard over a known set of cases written straight into the read model: counts, filters, overdue cases,
pass rates, median days per stage, and the CSV carrying the same numbers as the JSON."""

import csv
import io
import statistics
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from activities.projection import case_row
from models.contracts import CaseData, UnitInfo
from models.policy import CyclePolicy, compressed_calendar
from models.tables import TransitionRow
from service.api import create_app
from service.settings import Settings

DKI, JATIM = "KANWIL-DKI", "KANWIL-JATIM"
KANIM, UPT = "kantor_imigrasi", "upt_pemasyarakatan"
T0 = datetime(2030, 1, 6, 2, 0, tzinfo=UTC)
NOW = datetime.now(UTC)
PAST = compressed_calendar(NOW - timedelta(days=400), timedelta(days=30))  # every deadline has passed
FUTURE = compressed_calendar(NOW + timedelta(days=30), timedelta(days=30))  # no deadline has passed

# (event, stage entered, day since T0): the audit log of each case; its stage is the last one entered.
Path = list[tuple[str, str, float]]
TO_PEMBANGUNAN: Path = [
    ("ajukan", "permohonan", 0),
    ("setujui_permohonan", "pencanangan_terjadwal", 2),
    ("deklarasikan", "dicanangkan", 5),
    ("tandatangani_pernyataan", "pembangunan", 6),
]
TO_EVALUASI: Path = TO_PEMBANGUNAN + [
    ("buka_pelaporan", "pelaporan", 20),
    ("kirim_laporan", "verifikasi", 30.5),
    ("lolos_verifikasi", "evaluasi", 33),
    ("nilai", "evaluasi", 34),  # a self-transition: the case stays in evaluasi
    ("nilai", "evaluasi", 35),
]


@dataclass
class Known:
    unit: str
    region: str
    kind: str
    path: Path
    past: bool = False  # every deadline of its calendar has passed
    overdue: bool = False


CASES = [
    Known("DB-A1", DKI, KANIM, [("ajukan", "permohonan", 0)]),
    Known("DB-A2", DKI, KANIM, [("ajukan", "permohonan", 0), ("setujui_permohonan", "pencanangan_terjadwal", 4)]),
    Known(
        "DB-A3",
        DKI,
        UPT,
        [
            ("ajukan", "permohonan", 0),
            ("setujui_permohonan", "pencanangan_terjadwal", 1),
            ("jadwal_ulang", "pencanangan_terjadwal", 3),  # rescheduled: still one stay, from day 1 to day 9
            ("deklarasikan", "dicanangkan", 9),
        ],
    ),
    Known("DB-A4", JATIM, UPT, TO_PEMBANGUNAN, past=True, overdue=True),  # reporting should have opened long ago
    Known("DB-A5", DKI, KANIM, TO_PEMBANGUNAN + [("buka_pelaporan", "pelaporan", 21)], past=True, overdue=True),
    Known("DB-A6", JATIM, KANIM, TO_EVALUASI + [("tetapkan_hasil_evaluasi", "tidak_lolos", 40)], past=True),
    Known("DB-A7", JATIM, UPT, TO_EVALUASI + [("tetapkan_hasil_evaluasi", "lolos_evaluasi", 37)]),
    Known(
        "DB-A8",
        JATIM,
        UPT,
        TO_EVALUASI + [("tetapkan_hasil_evaluasi", "lolos_evaluasi", 36), ("tetapkan_penghargaan", "berpredikat", 50)],
        past=True,
        overdue=True,  # its award's validity ended, and the calendar has not closed it yet
    ),
    Known(
        "DB-A9",
        DKI,
        UPT,
        TO_EVALUASI
        + [
            ("tetapkan_hasil_evaluasi", "lolos_evaluasi", 38),
            ("tetapkan_penghargaan", "berpredikat", 45),
            ("akhiri_masa_berlaku", "selesai", 400),
        ],
        past=True,
    ),
    Known("DB-A10", DKI, KANIM, [("ajukan", "permohonan", 0), ("batalkan", "dibatalkan", 1.5)], past=True),
]


def write_case(session: Session, year: int, known: Known) -> None:
    unit = UnitInfo(code=known.unit, name=known.unit, kind=known.kind, region=known.region)
    policy = CyclePolicy(regulation="2023", calendar=PAST if known.past else FUTURE)
    case = CaseData(year=year, unit=unit, policy=policy, stage=known.path[-1][1], seq=len(known.path))
    session.add(case_row(case))  # the projection's own mapping, so deadlines and `final` are as in production
    source = None
    for seq, (event, target, day) in enumerate(known.path, start=1):
        session.add(
            TransitionRow(
                year=year,
                unit=known.unit,
                seq=seq,
                at=T0 + timedelta(days=day),
                event=event,
                source=source,
                target=target,
                actor_sub="test",
                actor_name="test",
                actor_role="admin",
                payload={},
                evidence=[],
                policy_version="test",
                prev_hash="",
                hash=f"{known.unit}-{seq}",
            )
        )
        source = target


def expected(region: str | None = None, kind: str | None = None) -> dict[str, Any]:
    """The dashboard computed by hand, in Python, from the cases above."""
    cases = [c for c in CASES if (region is None or c.region == region) and (kind is None or c.kind == kind)]
    by_stage: dict[str, int] = {}
    by_region: dict[str, dict[str, int]] = {}
    stays: dict[str, list[float]] = {}
    for c in cases:
        stage = c.path[-1][1]
        by_stage[stage] = by_stage.get(stage, 0) + 1
        by_region.setdefault(c.region, {})
        by_region[c.region][stage] = by_region[c.region].get(stage, 0) + 1
        moves = [(target, day) for i, (_, target, day) in enumerate(c.path) if i == 0 or c.path[i - 1][1] != target]
        for (entered, since), (_, until) in zip(moves, moves[1:], strict=False):
            stays.setdefault(entered, []).append(until - since)
    return {
        "total": len(cases),
        "by_stage": by_stage,
        "by_region": by_region,
        "overdue": sorted(c.unit for c in cases if c.overdue),
        "median_days": {stage: statistics.median(days) for stage, days in stays.items()},
    }


@pytest.fixture
async def dashboard_api(settings: Settings, engine: Engine, year: int) -> AsyncIterator[httpx.AsyncClient]:
    with Session(engine) as session:
        for known in CASES:
            write_case(session, year, known)
        session.commit()
    app = create_app(settings)  # the dashboard needs no Temporal: it reads the read model only
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://p2ham.test") as http:
        yield http


def as_utc(moment: str) -> datetime:
    """The read model's datetimes come back without a zone from SQLite; they are UTC."""
    parsed = datetime.fromisoformat(moment)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def from_csv(text: str) -> dict[str, Any]:
    """Rebuild the JSON's numbers from the CSV (section,key,item,value)."""
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["section", "key", "item", "value"]
    out: dict[str, Any] = {"by_stage": {}, "by_region": {}, "overdue": [], "pass_rates": {}, "median_days": {}}
    for section, key, item, value in rows[1:]:
        if section in ("total", "overdue_total"):
            out[section] = int(value)
        elif section == "by_stage":
            out["by_stage"][item] = int(value)
        elif section == "by_region":
            out["by_region"].setdefault(key, {})[item] = int(value)
        elif section == "overdue":
            out["overdue"].append({"unit": key, "stage": item, "deadline": value})
        elif section == "pass_rates":
            out["pass_rates"][item] = None if value == "" else float(value)
        elif section == "median_days":
            out["median_days"][item] = float(value)
        elif section == "median_days_as_of":
            out[section] = value
        elif section.startswith("plans"):
            continue  # the action plans' numbers: tests/test_rencana.py reads them back
        else:
            raise AssertionError(f"unexpected CSV section {section!r}")
    return out


@pytest.mark.parametrize(("region", "kind"), [(None, None), (JATIM, None), (None, UPT), (DKI, KANIM)])
async def test_counts_filters_overdue_and_medians(
    dashboard_api: httpx.AsyncClient, token, year: int, region: str | None, kind: str | None
) -> None:
    params = {k: v for k, v in (("region", region), ("kind", kind)) if v}
    r = await dashboard_api.get(f"/cycles/{year}/dashboard", params=params, headers=token("auditor"))
    assert r.status_code == 200, r.text
    got = r.json()
    want = expected(region, kind)
    assert (got["region"], got["kind"]) == (region, kind)
    assert got["total"] == want["total"]
    assert got["by_stage"] == want["by_stage"]
    assert got["by_region"] == want["by_region"]
    assert sorted(c["unit"] for c in got["overdue"]) == want["overdue"]
    assert got["overdue_total"] == len(want["overdue"])
    assert all(as_utc(c["deadline"]) < NOW and not c["final"] for c in got["overdue"])
    assert got["median_days"] == pytest.approx(want["median_days"], abs=1e-6)


async def test_pass_rates(dashboard_api: httpx.AsyncClient, token, year: int) -> None:
    got = (await dashboard_api.get(f"/cycles/{year}/dashboard", headers=token("operator_unit", unit="X"))).json()
    # passed: lolos_evaluasi (A7), berpredikat (A8), selesai (A9); failed: tidak_lolos (A6); awarded: A8, A9.
    assert got["pass_rates"] == {
        "passed": 3,
        "failed": 1,
        "awarded": 2,
        "pass_rate": pytest.approx(3 / 4),
        "award_rate": pytest.approx(2 / 3),
    }


async def test_median_days_by_hand(dashboard_api: httpx.AsyncClient, token, year: int) -> None:
    """A few medians written out, so the test does not only compare two computations of the same idea."""
    got = (await dashboard_api.get(f"/cycles/{year}/dashboard", headers=token("ditjen_ham"))).json()["median_days"]
    # pencanangan_terjadwal: A3 stayed 8 days (rescheduled inside it), the six cases on the long paths 3 days each.
    assert got["pencanangan_terjadwal"] == pytest.approx(3.0)
    # permohonan: A2 4 days, A3 1, A10 1.5, the six on the long paths 2 days: median 2 (A1 is still in it).
    assert got["permohonan"] == pytest.approx(2.0)
    # evaluasi: entered on day 33, left on day 40, 37, 36, 38 (the sheets in between do not end the stay): 7, 4, 3, 5.
    assert got["evaluasi"] == pytest.approx(4.5)
    assert "dibatalkan" not in got and "dicanangkan" in got


async def test_overdue_limit_keeps_the_most_overdue_and_the_total(
    dashboard_api: httpx.AsyncClient, token, year: int
) -> None:
    r = await dashboard_api.get(f"/cycles/{year}/dashboard", params={"overdue_limit": 1}, headers=token("auditor"))
    got = r.json()
    assert got["overdue_total"] == 3
    assert [c["unit"] for c in got["overdue"]] == ["DB-A4"]  # reporting_opens is the earliest deadline of the three


@pytest.mark.parametrize("how", ["query", "accept"])
@pytest.mark.parametrize(("region", "kind"), [(None, None), (JATIM, UPT)])
async def test_csv_matches_json(
    dashboard_api: httpx.AsyncClient, token, year: int, how: str, region: str | None, kind: str | None
) -> None:
    params = {k: v for k, v in (("region", region), ("kind", kind)) if v}
    path = f"/cycles/{year}/dashboard"
    as_json = (await dashboard_api.get(path, params=params, headers=token("auditor"))).json()
    if how == "query":
        r = await dashboard_api.get(path, params={**params, "format": "csv"}, headers=token("auditor"))
    else:
        r = await dashboard_api.get(path, params=params, headers={**token("auditor"), "Accept": "text/csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    got = from_csv(r.text)
    assert got["total"] == as_json["total"] and got["overdue_total"] == as_json["overdue_total"]
    assert got["by_stage"] == as_json["by_stage"]
    assert got["by_region"] == as_json["by_region"]
    assert got["median_days"] == as_json["median_days"]
    assert datetime.fromisoformat(got["median_days_as_of"]) == datetime.fromisoformat(as_json["median_days_as_of"])
    assert got["pass_rates"] == as_json["pass_rates"]
    assert got["overdue"] == [
        {"unit": c["unit"], "stage": c["stage"], "deadline": datetime.fromisoformat(c["deadline"]).isoformat()}
        for c in as_json["overdue"]
    ]


async def test_needs_a_token(dashboard_api: httpx.AsyncClient, year: int) -> None:
    assert (await dashboard_api.get(f"/cycles/{year}/dashboard")).status_code == 401
