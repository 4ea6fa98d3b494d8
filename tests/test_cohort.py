"""Cohorts: `p2ham cohort open` run twice on one CSV starts each case once; the admin endpoint shares its code."""

import asyncio
import os
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, func, select
from temporalio.client import Client

from models.contracts import Actor, UnitInfo
from models.policy import compressed_calendar
from models.tables import TransitionRow
from service.cohort import await_read_model, cases_in_read_model, open_cohort
from service.settings import Settings
from worker import build_worker
from workflows.unit import case_workflow_id

P2HAM = Path(sys.executable).with_name("p2ham")
STEP = timedelta(seconds=60)  # applications stay open for ten minutes: the cases wait in permohonan
WAIT = 120.0  # seconds the read model may go without a new case: the machine is shared, be generous
UNITS = [
    ("LAPAS-KOHORT-1", "Lapas Kelas I Kohort", "upt_pemasyarakatan", "KANWIL-JATENG", ""),
    ("RUTAN-KOHORT-2", "Rutan Kelas IIA Kohort", "upt_pemasyarakatan", "KANWIL-JATENG", "KANWIL-JATENG"),
    ("KANIM-KOHORT-3", "Kantor Imigrasi Kohort", "kantor_imigrasi", "KANWIL-JATENG", ""),
    ("OPD-KOHORT-4", "Dinas Kependudukan Kohort", "opd", "KANWIL-DIY", ""),
    ("OPD-KOHORT-5", "Dinas Sosial Kohort", "opd", "KANWIL-DIY", ""),
]


async def put_cycle(api: httpx.AsyncClient, token, year: int, start: datetime | None = None) -> None:
    calendar = compressed_calendar(start or datetime.now(UTC), STEP).model_dump(mode="json")
    r = await api.put(f"/cycles/{year}", json={"regulation": "2023", "calendar": calendar}, headers=token("admin"))
    assert r.status_code == 200, r.text


async def cohort_open(
    client: Client, settings: Settings, year: int, csv_file: Path, *more: str
) -> tuple[int, str, str]:
    """The real command in a child process, against this session's dev server, database and worker (`more`: more
    options). Asynchronous, so the worker in this process keeps projecting the cases while the command waits."""
    env = {
        **os.environ,
        "P2HAM_TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "P2HAM_DATABASE_URL": settings.database_url,
        "P2HAM_TASK_QUEUE": settings.task_queue,
    }
    args = ["cohort", "open", str(year), "--units", str(csv_file), "--concurrency", "3", "--by", "admin-kohort", *more]
    child = await asyncio.create_subprocess_exec(
        str(P2HAM), *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(child.communicate(), timeout=180)
    assert child.returncode is not None
    return child.returncode, out.decode(), err.decode()


def ajukan_counts(engine: Engine, year: int) -> dict[str, tuple[int, str]]:
    """Per unit: how many `ajukan` entries its history has, and who made them (always an admin here)."""
    query = (
        select(TransitionRow.unit, func.count(), func.max(TransitionRow.actor_sub + ":" + TransitionRow.actor_role))
        .where(TransitionRow.year == year, TransitionRow.event == "ajukan")
        .group_by(TransitionRow.unit)
    )
    with Session(engine) as session:
        return {unit: (n, who) for unit, n, who in session.exec(query)}


async def executions(client: Client, year: int, expected: int) -> list[str]:
    """Workflow executions of the year, by search attribute; visibility lags a little behind, so look until it
    shows at least `expected` (or give up after a while and return what it shows)."""
    found: list[str] = []
    for _ in range(100):
        found = [w.id async for w in client.list_workflows(f"P2hamYear = {year}")]
        if len(found) >= expected:
            break
        await asyncio.sleep(0.2)
    return found


def units_csv(tmp_path: Path) -> Path:
    csv_file = tmp_path / "units.csv"
    lines = ["code,name,kind,region,parent"] + [",".join(unit) for unit in UNITS]
    csv_file.write_text("\n".join(lines) + "\n")
    return csv_file


async def test_cohort_open_twice_starts_each_case_once(
    api: httpx.AsyncClient, token, settings: Settings, client: Client, engine: Engine, year: int, tmp_path: Path
) -> None:
    await put_cycle(api, token, year)
    csv_file = units_csv(tmp_path)
    codes = [unit[0] for unit in UNITS]

    status, out, err = await cohort_open(client, settings, year, csv_file)
    assert status == 0, out + err
    assert f"Kohort {year}: 5 unit; dimulai 5, sudah ada 0, gagal 0." in out, out + err
    status, out, err = await cohort_open(client, settings, year, csv_file)
    assert status == 0, out + err
    assert f"Kohort {year}: 5 unit; dimulai 0, sudah ada 5, gagal 0." in out, out + err

    assert ajukan_counts(engine, year) == dict.fromkeys(codes, (1, "admin-kohort:admin"))
    found = await executions(client, year, len(codes))
    assert sorted(found) == sorted(case_workflow_id(year, code) for code in codes)

    # The units are registered as the CSV says, and every case waits in permohonan for Ditjen HAM.
    r = await api.get("/units", params={"region": "KANWIL-DIY"}, headers=token("auditor"))
    assert {u["code"]: u["kind"] for u in r.json()} == {"OPD-KOHORT-4": "opd", "OPD-KOHORT-5": "opd"}
    r = await api.get(f"/cycles/{year}/cases", headers=token("auditor"))
    assert {c["unit"]: c["stage"] for c in r.json()["items"]} == dict.fromkeys(codes, "permohonan")


async def test_a_second_run_before_the_read_model_has_the_cases_starts_nothing_twice(
    api: httpx.AsyncClient, token, settings: Settings, client: Client, engine: Engine, year: int, tmp_path: Path
) -> None:
    """No worker polls the cohort's task queue at first: the starts are answered, the read model stays empty, and
    every later run (in process, then the command) finds the cases in Temporal. A worker then records each once."""
    await put_cycle(api, token, year)
    own = settings.model_copy(update={"task_queue": f"p2ham-cohort-{uuid.uuid4().hex[:8]}"})
    admin = Actor(sub="admin-kohort", name="Admin Kohort", role="admin")
    units = [UnitInfo(code=c, name=n, kind=k, region=r, parent=p or None) for c, n, k, r, p in UNITS]
    codes = [u.code for u in units]

    first = await open_cohort(engine, client, own.task_queue, year, units, admin, concurrency=3)
    second = await open_cohort(engine, client, own.task_queue, year, units, admin, concurrency=3)
    assert (first.started, first.already, first.failed) == (5, 0, 0), first
    assert (second.started, second.already, second.failed) == (0, 5, 0), second
    assert cases_in_read_model(engine, year, codes) == 0  # the second run did not learn it from the read model

    # The command says how many are missing and which task queue needs a worker, and exits 1.
    status, out, err = await cohort_open(client, own, year, units_csv(tmp_path), "--wait", "1")
    assert status == 1, out + err
    assert f"Kohort {year}: 5 unit; dimulai 0, sudah ada 5, gagal 0." in out, out + err
    assert "5 dari 5 kasus belum tercatat" in err, err
    assert f"antrean tugas {own.task_queue}" in err, err
    assert cases_in_read_model(engine, year, codes) == 0

    async with build_worker(client, engine, own.task_queue):
        assert await await_read_model(engine, year, codes, WAIT) == 0
    assert ajukan_counts(engine, year) == dict.fromkeys(codes, (1, "admin-kohort:admin"))
    found = await executions(client, year, len(codes))
    assert sorted(found) == sorted(case_workflow_id(year, code) for code in codes)


async def test_a_bad_csv_line_fails_alone_and_is_reported(
    api: httpx.AsyncClient, token, settings: Settings, client: Client, engine: Engine, year: int, tmp_path: Path
) -> None:
    await put_cycle(api, token, year)
    csv_file = tmp_path / "units.csv"
    csv_file.write_text(
        "code,name,kind,region\nOPD-BAIK,Dinas Baik,opd,KANWIL-NTB\nOPD-SALAH,Dinas Salah,kapal,KANWIL-NTB\n"
    )
    status, out, err = await cohort_open(client, settings, year, csv_file)
    assert status == 1, out + err
    assert f"Kohort {year}: 2 unit; dimulai 1, sudah ada 0, gagal 1." in out, out + err
    assert "OPD-SALAH: Baris 3: Isian kind tidak termasuk pilihan yang tersedia." in err, err
    assert ajukan_counts(engine, year) == {"OPD-BAIK": (1, "admin-kohort:admin")}


async def test_endpoint_counts_started_already_and_failed(
    api: httpx.AsyncClient, token, engine: Engine, year: int
) -> None:
    await put_cycle(api, token, year)
    unit = {"name": "Unit", "kind": "opd", "region": "KANWIL-BALI"}
    first = [{"code": "OPD-BALI-1", **unit}]
    r = await api.post(f"/cycles/{year}/cohorts", json=first, headers=token("admin"))
    assert r.status_code == 200, r.text
    assert (r.json()["started"], r.json()["already"], r.json()["failed"]) == (1, 0, 0)

    body = [{"code": "OPD-BALI-1", **unit}, {"code": "OPD-BALI-2", **unit}, {"code": "OPD-BALI-2", **unit}]
    r = await api.post(f"/cycles/{year}/cohorts", json=body, headers=token("admin", "admin-2"))
    result = r.json()
    assert (result["requested"], result["started"], result["already"], result["failed"]) == (3, 1, 1, 1), result
    assert [(f["unit"], f["error"]) for f in result["failures"]] == [("OPD-BALI-2", "duplicate")]
    # The endpoint answers once the cases are started; the read model has them moments later.
    assert await await_read_model(engine, year, ["OPD-BALI-1", "OPD-BALI-2"], WAIT) == 0
    assert ajukan_counts(engine, year) == {"OPD-BALI-1": (1, "admin-1:admin"), "OPD-BALI-2": (1, "admin-2:admin")}


async def test_endpoint_refusals_change_nothing(api: httpx.AsyncClient, token, engine: Engine, year: int) -> None:
    body = [{"code": "OPD-TOLAK", "name": "Unit", "kind": "opd", "region": "KANWIL-BALI"}]
    r = await api.post(f"/cycles/{year}/cohorts", json=body, headers=token("admin"))
    assert (r.status_code, r.json()["error"]) == (404, "unknown_cycle")
    await put_cycle(api, token, year, start=datetime.now(UTC) - 20 * STEP)  # applications closed 10 steps ago
    r = await api.post(f"/cycles/{year}/cohorts", json=body, headers=token("operator_unit", unit="OPD-TOLAK"))
    assert r.status_code == 403, r.text
    r = await api.post(f"/cycles/{year}/cohorts", json=body, headers=token("admin"))
    assert r.status_code == 409 and [w["code"] for w in r.json()["why_codes"]] == ["permohonan_ditutup"], r.text
    assert "Masa permohonan untuk siklus ini sudah ditutup" in r.json()["why"][0]
    assert ajukan_counts(engine, year) == {}
    r = await api.get("/units", params={"region": "KANWIL-BALI"}, headers=token("auditor"))
    assert "OPD-TOLAK" not in {u["code"] for u in r.json()}
