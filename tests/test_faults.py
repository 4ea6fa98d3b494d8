"""It keeps working when things break: faults injected into real processes while cases are in flight.

- the worker (`python worker.py`) killed with -9 in the middle of a cohort run, and a new one started;
- the Temporal dev server (its own, on a SQLite file) killed in the middle of a run and started again on the same file;
- the read model's PostgreSQL database refusing connections for a while as timers fire and projections retry.

After each: every case exists once, no transition is lost or doubled (seq 1..n contiguous, hash chain linked, each
event where expected), and the read model equals Temporal (`service.audit.verify_case`: replay, chain, read model).
Each test prints how many cases it ran and checked (also to the terminal, past pytest's capture, for CI logs).
"""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, func, make_url, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from models.contracts import Actor, UnitInfo
from models.db import make_engine
from models.policy import Calendar, compressed_calendar
from models.tables import CaseRow, TransitionRow
from service.api import create_app
from service.audit import utc, verify_case
from service.auth import mint
from service.cli import search_attribute_flags
from service.cohort import CohortResult, await_read_model, cases_in_read_model, open_cohort
from service.demo import Driver, assign, declare, open_case, report
from service.i18n import render
from service.settings import Settings
from tests.conftest import temporal_binary
from tests.test_cohort import ajukan_counts, executions
from tests.test_dev_stack import free_ports
from worker import build_worker, connect
from workflows.unit import CaseWorkflow, case_workflow_id

ROOT = Path(__file__).resolve().parent.parent
WAIT = 120.0  # seconds any one step may take: the machine is shared with CI runs, so be generous
POSTGRES_URL = os.environ.get("POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def tell(capsys: pytest.CaptureFixture[str], line: str) -> None:
    """A count for the CI log: printed (for -s runs) and written past pytest's capture (for plain runs)."""
    print(line)
    with capsys.disabled():
        sys.stderr.write(f"\n{line}\n")
        sys.stderr.flush()


def settle(capsys: pytest.CaptureFixture[str], counts: str, problems: list[str]) -> None:
    """The counts for the CI log, then every problem found at once (a test that collects them rather than stopping
    at the first)."""
    tell(capsys, counts)
    assert not problems, counts + "\n" + "\n".join(problems)


def quiet(_: str) -> None:
    pass


# --- Child processes ------------------------------------------------------------------------------------------------


class Child:
    """A process in a session of its own (so its whole group can be killed), its output in a log file."""

    def __init__(self, name: str, args: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.name, self.log = name, log
        with log.open("ab") as out:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        self.proc.wait(timeout=60)

    def tail(self, chars: int = 3000) -> str:
        return f"--- {self.name} (pid {self.pid}, {self.log}):\n" + self.log.read_text(errors="replace")[-chars:]


class Children:
    """Every child a test starts; `close` kills each process group that is left, whatever happened."""

    def __init__(self, logs: Path) -> None:
        self.logs, self.started = logs, []

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Child:
        child = Child(name, args, self.logs / f"{len(self.started):02d}-{name}.log", env)
        self.started.append(child)
        return child

    def worker(self, settings: Settings, address: str) -> Child:
        env = os.environ | {
            "P2HAM_TEMPORAL_ADDRESS": address,
            "P2HAM_DATABASE_URL": settings.database_url,
            "P2HAM_TASK_QUEUE": settings.task_queue,
            "P2HAM_EVIDENCE_DIR": str(settings.evidence_dir),
            "P2HAM_LOG_LEVEL": "WARNING",
        }
        return self.start("worker", [sys.executable, "worker.py"], env)

    def tails(self) -> str:
        return "\n".join(child.tail() for child in self.started)

    def close(self) -> None:
        for child in self.started:
            child.kill()


@contextlib.contextmanager
def children(tmp_path: Path) -> Iterator[Children]:
    kids = Children(tmp_path)
    try:
        yield kids
    finally:
        kids.close()


class DevServer:
    """Our own Temporal dev server (not the session's), on a SQLite file and fixed ports, so it can be restarted."""

    def __init__(self, kids: Children, db: Path) -> None:
        self.kids, self.db = kids, db
        self.port, self.ui_port = free_ports(2)
        self.child: Child | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        args = [temporal_binary(), "server", "start-dev", "--db-filename", str(self.db), "--ip", "127.0.0.1"]
        args += ["--port", str(self.port), "--ui-port", str(self.ui_port), "--headless", "--log-level", "warn"]
        self.child = self.kids.start("temporal", args + search_attribute_flags())

    async def ready(self) -> None:
        """Until the frontend answers for the namespace (a listening port alone is not enough)."""
        assert self.child is not None
        deadline = time.monotonic() + WAIT
        while True:
            assert self.child.alive(), f"the Temporal dev server exited with {self.child.proc.returncode}\n" + (
                self.child.tail()
            )
            try:
                probe = await Client.connect(self.address)
                await probe.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace="default"))
                return
            except Exception as e:
                assert time.monotonic() < deadline, f"the dev server did not answer within {WAIT:.0f}s: {e!r}"
                await asyncio.sleep(0.3)

    def kill(self) -> None:
        assert self.child is not None
        self.child.kill(signal.SIGKILL)


@contextlib.asynccontextmanager
async def asgi(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app in process; its database engine is disposed afterwards (the transport runs no lifespan)."""
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://p2ham.test") as http:
            yield http
    finally:
        app.state.p2ham.engine.dispose()


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:.0f}s"
        await asyncio.sleep(0.3)


# --- What every fault test checks afterwards -------------------------------------------------------------------------


def transitions(engine: Engine, year: int, unit: str) -> list[TransitionRow]:
    with Session(engine) as s:
        query = select(TransitionRow).where(TransitionRow.year == year, TransitionRow.unit == unit)
        return list(s.exec(query.order_by(TransitionRow.seq)))


def case_row(engine: Engine, year: int, unit: str) -> CaseRow | None:
    with Session(engine) as s:
        return s.get(CaseRow, (year, unit))


def log_problems(engine: Engine, year: int, unit: str, expected: list[str]) -> list[str]:
    """What is wrong with a case's audit log and read-model row: it must hold exactly `expected`, seq 1..n, each
    entry linked to the one before, and the case row at the last entry (stage, seq and hash)."""
    rows = transitions(engine, year, unit)
    problems = []
    if [r.event for r in rows] != expected:
        problems.append(f"{unit}: the audit log holds {[r.event for r in rows]}, expected {expected}")
    if [r.seq for r in rows] != list(range(1, len(rows) + 1)):
        problems.append(f"{unit}: the audit log's seqs are {[r.seq for r in rows]}, not 1..{len(rows)}")
    for before, row in zip([None, *rows], rows, strict=False):
        if row.prev_hash != (before.hash if before else ""):
            problems.append(f"{unit}: entry {row.seq} ({row.event}) does not link to the entry before it")
    row = case_row(engine, year, unit)
    if row is None or not rows:
        return [*problems, f"{unit}: no case row or no audit log ({row}, {len(rows)} entries)"]
    if (row.seq, row.stage) != (rows[-1].seq, rows[-1].target):
        problems.append(f"{unit}: the case row is at {row.stage} seq {row.seq}, the log at {rows[-1].target}")
    if row.data["last_hash"] != rows[-1].hash:
        problems.append(
            f"{unit}: the case row ends on hash {row.data['last_hash'][:12]}, the audit log's entry {rows[-1].seq} "
            f"({rows[-1].event}, at {rows[-1].at}) has {rows[-1].hash[:12]}"
        )
    return problems


async def temporal_problems(client: Client, engine: Engine, year: int, unit: str) -> list[str]:
    """What differs between the read model and Temporal: the auditor's verified replay, and the workflow's own state
    (live by query while it runs, else its result) against the case row."""
    with Session(engine) as session:
        verdict = await verify_case(client, session, year, unit)
    problems = [f"{unit}: audit: {render(why, 'en')}" for why in verdict.difference_codes]
    row = case_row(engine, year, unit)
    handle = client.get_workflow_handle_for(CaseWorkflow.run, case_workflow_id(year, unit))
    if (await handle.describe()).status.name == "RUNNING":
        live = await asyncio.wait_for(handle.query(CaseWorkflow.keadaan), WAIT)
    else:
        live = await handle.result()
    seen = (row.stage, row.seq, row.data["last_hash"][:12]) if row else None
    if seen != (live.stage, live.seq, live.last_hash[:12]):
        problems.append(f"{unit}: the read model has {seen}, Temporal {(live.stage, live.seq, live.last_hash[:12])}")
    return problems


async def all_problems(client: Client, engine: Engine, year: int, expected: dict[str, list[str]]) -> list[str]:
    problems: list[str] = []
    for unit, events in expected.items():
        problems += log_problems(engine, year, unit, events)
        problems += await temporal_problems(client, engine, year, unit)
    return problems


# --- a. kill -9 of the worker in the middle of a cohort ------------------------------------------------------------

COHORT_SIZE = 30
KILL_POLL = 0.01  # seconds between two looks at the read model while waiting for the worker's first projection


async def test_worker_killed_mid_cohort_every_case_once(
    settings: Settings, client: Client, engine: Engine, year: int, tmp_path: Path, token, capsys
) -> None:
    own = settings.model_copy(update={"task_queue": f"p2ham-faults-cohort-{uuid.uuid4().hex[:8]}"})
    address = client.service_client.config.target_host
    admin = Actor(sub="admin-faults", name="Admin Ditjen HAM", role="admin")
    units = [
        UnitInfo(code=f"KANIM-KILL-{i:02d}", name=f"Kantor Imigrasi {i}", kind="kantor_imigrasi", region="KANWIL-DKI")
        for i in range(COHORT_SIZE)
    ]
    codes = [u.code for u in units]
    # Applications stay open for ten minutes: every case waits in permohonan.
    cal = compressed_calendar(datetime.now(UTC), timedelta(seconds=60)).model_dump(mode="json")
    async with asgi(create_app(own, client=client)) as http:
        r = await http.put(f"/cycles/{year}", json={"regulation": "2023", "calendar": cal}, headers=token("admin"))
        assert r.status_code == 200, r.text

    with children(tmp_path) as kids:
        first = kids.worker(own, address)
        outcomes: list[str] = []
        at_kill: dict[str, int] = {}

        def progress(unit: str, outcome: str) -> None:
            outcomes.append(outcome)

        async def killer() -> None:
            # kill -9 as soon as the worker has recorded its first application, while it projects the others.
            deadline = time.monotonic() + WAIT
            while cases_in_read_model(engine, year, codes) == 0:
                assert time.monotonic() < deadline, f"the worker recorded nothing within {WAIT:.0f}s\n{kids.tails()}"
                await asyncio.sleep(KILL_POLL)
            first.kill(signal.SIGKILL)  # no shutdown, whatever it was doing is cut off
            at_kill.update(
                status=first.proc.returncode,
                started=outcomes.count("started"),
                recorded=cases_in_read_model(engine, year, codes),
            )

        run, _ = await asyncio.gather(
            open_cohort(engine, client, own.task_queue, year, units, admin, concurrency=4, progress=progress), killer()
        )
        runs: list[CohortResult] = [run]
        assert at_kill["status"] == -signal.SIGKILL
        assert 0 < at_kill["recorded"] < COHORT_SIZE, f"the worker was not killed mid-projection: {at_kill}"
        # A start needs no worker: the kill stops no start, the whole cohort started in one run.
        assert (runs[0].started, runs[0].already, runs[0].failed) == (COHORT_SIZE, 0, 0), runs[0]

        # With no worker, nothing records the applications: the read model stays short of the cohort. Running the
        # cohort again meanwhile finds every case in Temporal and starts nothing.
        missing = await await_read_model(engine, year, codes, timeout=2)
        assert missing == COHORT_SIZE - at_kill["recorded"], f"{missing} missing after the kill: {at_kill}"
        runs.append(await open_cohort(engine, client, own.task_queue, year, units, admin, concurrency=4))
        assert (runs[-1].started, runs[-1].already, runs[-1].failed) == (0, COHORT_SIZE, 0), runs[-1]

        # A new worker records them all: the applications the killed one was projecting, and those it never saw.
        kids.worker(own, address)
        late = await await_read_model(engine, year, codes, WAIT)
        assert late == 0, f"{late} cases never reached the read model\n{kids.tails()}"
        again = await open_cohort(engine, client, own.task_queue, year, units, admin, concurrency=4)
        assert (again.started, again.already, again.failed) == (0, COHORT_SIZE, 0), again

        # Every case exists once, at permohonan, with one `ajukan`, in the read model and in Temporal.
        with Session(engine) as s:
            cases = s.exec(select(CaseRow).where(CaseRow.year == year)).all()
            per_unit = dict(
                s.exec(
                    select(TransitionRow.unit, func.count())
                    .where(TransitionRow.year == year)
                    .group_by(TransitionRow.unit)
                ).all()
            )
        assert {c.unit: (c.stage, c.seq) for c in cases} == dict.fromkeys(codes, ("permohonan", 1))
        assert per_unit == dict.fromkeys(codes, 1), per_unit
        assert ajukan_counts(engine, year) == dict.fromkeys(codes, (1, "admin-faults:admin"))
        ids = await executions(client, year, COHORT_SIZE)
        assert sorted(ids) == sorted(case_workflow_id(year, code) for code in codes), ids
        problems = await all_problems(client, engine, year, dict.fromkeys(codes, ["ajukan"]))

    counts = (
        f"test_faults kill -9 of the worker mid-cohort: {COHORT_SIZE} cases run, the worker killed when "
        f"{at_kill['started']} were started and {at_kill['recorded']} in the read model, {missing} missing until a new "
        f"worker ran, {len(runs) + 1} cohort runs (started, already, failed: "
        f"{[(r.started, r.already, r.failed) for r in [*runs, again]]}), {len(codes)} cases checked, "
        f"{len(problems)} problems"
    )
    settle(capsys, counts, problems)


# --- b. the Temporal dev server restarted on its SQLite file ----------------------------------------------------------

REVISION = timedelta(seconds=15)  # the revision deadline runs out while the server is down


async def test_temporal_restarted_on_its_file_cases_continue(
    settings: Settings, engine: Engine, year: int, tmp_path: Path, capsys
) -> None:
    with children(tmp_path) as kids:
        server = DevServer(kids, tmp_path / "t.db")
        server.start()
        await server.ready()
        own = settings.model_copy(
            update={"temporal_address": server.address, "task_queue": f"p2ham-faults-restart-{uuid.uuid4().hex[:8]}"}
        )
        worker = kids.worker(own, server.address)
        now = datetime.now(UTC)
        cal = Calendar(
            applications_close=now + timedelta(seconds=600),
            reporting_opens=now + timedelta(seconds=2),
            reporting_closes=now + timedelta(seconds=500),
            cycle_ends=now + timedelta(seconds=550),
            award_valid_until=now + timedelta(seconds=600),
            revision_period=REVISION,
            reminders_before=[timedelta(seconds=5)],
        )
        # No client passed: the API connects on demand, as in production, and must cope with the server going away.
        async with asgi(create_app(own)) as http:

            async def reporting(unit: str) -> Driver:
                d = await open_case(http, own, year, unit, cal, say=quiet)
                await declare(d, datetime.now(UTC) + timedelta(seconds=1), WAIT)
                await d.wait_until("operator", lambda v: v["stage"] == "pelaporan", "the reporting window", WAIT)
                return d

            async def revising() -> Driver:
                d = await reporting("KANIM-PULIH-A")
                await assign(d)
                await report(d)
                return d

            a, b, c = await asyncio.gather(
                revising(), reporting("KANIM-PULIH-B"), open_case(http, own, year, "KANIM-PULIH-C", cal, say=quiet)
            )
            view = await a.send("kembalikan", "verifikator", {"catatan": "Foto ramp tidak sesuai"})
            revision_deadline = datetime.fromisoformat(view["deadline"])

            server.kill()  # kill -9 while A's revision timer is pending and nothing is in flight for B and C
            down_at = datetime.now(UTC)
            assert down_at < revision_deadline, "the server went down after the timer was due: the machine is too slow"
            c_before = (
                await c.call("GET", c.case_path, "ditjen"),
                await c.call("GET", f"{c.case_path}/history", "ditjen"),
            )

            # While it is down: writes are a 503 with Retry-After, never a 500; reads of the read model still work.
            key = f"tolak-{uuid.uuid4()}"
            tolak = {"alasan": "Surat permohonan belum ditandatangani"}
            headers = {**c.officials["ditjen"], "Idempotency-Key": key}
            r = await http.post(f"{c.case_path}/events/tolak_permohonan", json=tolak, headers=headers)
            assert r.status_code == 503, r.text
            assert r.headers["Retry-After"].isdigit() and r.json()["error"] == "temporal_unavailable", r.text
            d = Driver(http, c.officials, year, "KANIM-PULIH-D", quiet)
            await d.call(
                "POST",
                "/units",
                "admin",
                {"code": d.unit, "name": "Kanim D", "kind": "kantor_imigrasi", "region": "KANWIL-DKI"},
                expect=201,
            )
            d_token = {"Authorization": f"Bearer {mint(own, 'operator_unit', 'op-d', unit=d.unit)}"}
            r = await http.post(f"/cycles/{year}/cases", json={"unit": d.unit}, headers=d_token)
            assert r.status_code == 503, r.text
            assert r.headers["Retry-After"].isdigit() and r.json()["error"] == "temporal_unavailable", r.text
            assert case_row(engine, year, d.unit) is None, "an application refused with 503 left a case behind"
            assert (
                await c.call("GET", c.case_path, "ditjen"),
                await c.call("GET", f"{c.case_path}/history", "ditjen"),
            ) == c_before
            listed = await c.call("GET", f"/cycles/{year}/cases", "ditjen")
            assert listed["total"] == 3, listed
            assert (await http.get("/health")).json() == {"status": "ok", "database": True, "temporal": False}

            # Stay down until A's revision deadline has passed: its timer is due while nobody can fire it.
            await asyncio.sleep(max(0.0, (revision_deadline - datetime.now(UTC)).total_seconds()) + 1.0)
            assert worker.alive(), "the worker died while the server was down\n" + worker.tail()
            server.start()  # the same file, the same port
            await server.ready()
            up_at = datetime.now(UTC)

            # The same worker process reconnects by itself; the missed timer fires, events apply again.
            await a.wait_until("operator", lambda v: v["stage"] == "tidak_lolos", "the missed revision deadline", WAIT)
            r = await http.post(f"{c.case_path}/events/tolak_permohonan", json=tolak, headers=headers)  # the retry
            assert r.status_code == 200 and r.json()["stage"] == "permohonan_ditolak", r.text
            r = await http.post(f"/cycles/{year}/cases", json={"unit": d.unit}, headers=d_token)
            assert r.status_code == 201 and r.json()["stage"] == "permohonan", r.text
            await assign(b)
            await report(b)
            await b.send("lolos_verifikasi", "verifikator")
            assert worker.alive(), "the worker died\n" + worker.tail()

        declared = ["ajukan", "setujui_permohonan", "deklarasikan", "tandatangani_pernyataan", "buka_pelaporan"]
        expected = {
            "KANIM-PULIH-A": [*declared, "tugaskan", "kirim_laporan", "kembalikan", "tutup_perbaikan"],
            "KANIM-PULIH-B": [*declared, "tugaskan", "kirim_laporan", "lolos_verifikasi"],
            "KANIM-PULIH-C": ["ajukan", "tolak_permohonan"],
            "KANIM-PULIH-D": ["ajukan"],
        }
        fired = transitions(engine, year, "KANIM-PULIH-A")[-1]
        assert (fired.event, fired.actor_role) == ("tutup_perbaikan", "system") and utc(fired.at) > revision_deadline
        problems = await all_problems(await connect(own), engine, year, expected)

    counts = (
        f"test_faults Temporal dev server killed and restarted: {len(expected)} cases run across a "
        f"{(up_at - down_at).total_seconds():.0f}s outage, {len(expected)} cases and "
        f"{sum(map(len, expected.values()))} transitions checked, {len(problems)} problems"
    )
    settle(capsys, counts, problems)


# --- c. the read model's database unavailable while projections run -------------------------------------------------


@contextlib.contextmanager
def postgres_database(prefix: str) -> Iterator[tuple[str, Engine]]:
    """A fresh database on the PostgreSQL server CI starts, dropped afterwards; its admin engine (AUTOCOMMIT)."""
    url = make_url(POSTGRES_URL)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except OperationalError as e:
        admin.dispose()
        pytest.fail(
            f"PostgreSQL is not reachable at {url.render_as_string(hide_password=True)} ({e.orig}): this test needs "
            "it (CI starts it in .ci/run; set POSTGRES_URL for another server)",
            pytrace=False,
        )
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield url.set(database=name).render_as_string(hide_password=False), admin
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def set_available(admin: Engine, name: str, available: bool) -> None:
    with admin.connect() as conn:
        conn.exec_driver_sql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS {str(available).lower()}")
        if not available:  # and cut every session it has: the pools of the API and the worker lose their connections
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"), {"name": name}
            )


def reachable(url: str) -> bool:
    probe = create_engine(url)
    try:
        with probe.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return True
    except OperationalError:
        return False
    finally:
        probe.dispose()


SETUP = timedelta(seconds=25)  # time to open and declare the cases; the calendar's timers fall after it
SILENT = [f"KANIM-SUNYI-{i}" for i in range(4)]  # declared, never report: buka_pelaporan, then tutup_pelaporan
REJECTED = [f"KANIM-TOLAK-{i}" for i in range(2)]  # rejected: tutup_permohonan when applications close


async def test_database_unavailable_during_projections_read_model_catches_up(
    settings: Settings, client: Client, year: int, capsys
) -> None:
    with postgres_database("p2ham_faults") as (url, admin):
        name = make_url(url).database
        assert name is not None
        own = settings.model_copy(update={"database_url": url, "task_queue": f"p2ham-faults-db-{uuid.uuid4().hex[:8]}"})
        engine = make_engine(url)
        now = datetime.now(UTC)
        opens = now + SETUP
        cal = Calendar(
            applications_close=opens + timedelta(seconds=1),
            reporting_opens=opens,
            reporting_closes=opens + timedelta(seconds=3),
            cycle_ends=opens + timedelta(seconds=60),
            award_valid_until=opens + timedelta(seconds=70),
            reminders_before=[timedelta(seconds=1)],
        )
        try:
            async with build_worker(client, engine, own.task_queue), asgi(create_app(own, client=client)) as http:

                async def silent(unit: str) -> None:
                    d = await open_case(http, own, year, unit, cal, say=quiet)
                    await declare(d, datetime.now(UTC) + timedelta(seconds=1), WAIT)

                async def rejected(unit: str) -> None:
                    d = await open_case(http, own, year, unit, cal, say=quiet)
                    await d.send("tolak_permohonan", "ditjen", {"alasan": "Berkas belum lengkap"})

                await asyncio.gather(*map(silent, SILENT), *map(rejected, REJECTED))
                assert datetime.now(UTC) < opens - timedelta(seconds=1), (
                    f"setting up took longer than {SETUP.total_seconds():.0f}s: the machine is too slow for this test"
                )

                set_available(admin, name, False)
                down_at = datetime.now(UTC)
                assert not reachable(url), "the database still accepts connections"
                assert (await http.get("/health")).json() == {"status": "ok", "database": False, "temporal": True}
                # Down until every timer of the calendar is due: they fire, and their projections fail and retry.
                back = cal.reporting_closes + timedelta(seconds=4)
                await asyncio.sleep((back - datetime.now(UTC)).total_seconds())
                set_available(admin, name, True)
                up_at = datetime.now(UTC)

                finals = dict.fromkeys(SILENT, "tidak_melapor") | dict.fromkeys(REJECTED, "ditolak")

                async def caught_up() -> bool:
                    with Session(engine) as s:
                        rows = s.exec(select(CaseRow).where(CaseRow.year == year)).all()
                    return {r.unit: r.stage for r in rows} == finals

                await eventually(caught_up, "the read model catching up after the outage")
                declared = ["ajukan", "setujui_permohonan", "deklarasikan", "tandatangani_pernyataan"]
                expected = dict.fromkeys(SILENT, [*declared, "buka_pelaporan", "tutup_pelaporan"]) | dict.fromkeys(
                    REJECTED, ["ajukan", "tolak_permohonan", "tutup_permohonan"]
                )
                fired_while_down = []
                for unit in expected:
                    first_timer = next(r for r in transitions(engine, year, unit) if r.actor_role == "system")
                    # The workflow fires it on the calendar while the database is down; only its projection waits.
                    if down_at <= utc(first_timer.at) <= up_at:
                        fired_while_down.append(unit)
                problems = await all_problems(client, engine, year, expected)
        finally:
            engine.dispose()

    counts = (
        f"test_faults database outage: {len(expected)} cases run across a {(up_at - down_at).total_seconds():.0f}s "
        f"outage, {len(fired_while_down)} timers fired while it was down, {len(expected)} cases and "
        f"{sum(map(len, expected.values()))} transitions checked, {len(problems)} problems"
    )
    settle(capsys, counts, problems)
    assert sorted(fired_while_down) == sorted(expected), counts
