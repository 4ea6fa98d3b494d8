"""The benchmark: the P2HAM service through its real API against the Temporal floor, on one dev server, in one run.

Phases (each prints its numbers, and a ratio against a baseline measured in this same run, so a busy shared machine
slows both sides alike):

1. service: N cases through the whole lifecycle with a compressed calendar (service/demo.py's `happy_path`, through
   the API over ASGI, the worker in this process or in `--worker-processes` child processes): transitions per second;
2. floor: the same number of Updates to bare workflows (bench/floor.py) on the same server: transitions per second;
3. dashboard: `GET /cycles/{year}/dashboard` over the N cases, and over `--dashboard-rows` synthetic cases written
   straight into the read model, against a plain `SELECT stage, count(*) ... GROUP BY stage` on the same table;
4. cohort: `open_cohort` of M units (the code behind `p2ham cohort open`) against bare `client.start_workflow`;
5. optional `--idle N`: N open cases left waiting, and the worker's memory.

Wall-clock rates include the compressed calendar's waits; CPU time per transition (this process, the Temporal
server and any worker processes) does not, and is printed beside them.
"""

import argparse
import asyncio
import os
import random
import resource
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine, func, insert, select, text
from sqlmodel import Session
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.projection import case_row
from bench.floor import FLOOR_WORKFLOWS, FloorWorkflow, TrivialWorkflow
from models.contracts import Actor, CaseData, UnitInfo
from models.db import make_engine
from models.policy import CyclePolicy, compressed_calendar
from models.tables import CaseRow, TransitionRow
from service.api import create_app
from service.auth import mint
from service.cli import PROJECT_ROOT, temporal_binary
from service.cohort import open_cohort
from service.demo import happy_path
from service.deps import ActorDep, SessionDep
from service.routers import dashboard
from service.settings import Settings
from worker import build_worker
from workflows.unit import SEARCH_ATTRIBUTES

TASK_QUEUE = "p2ham-bench"
FLOOR_QUEUE = "p2ham-bench-floor"
PLAIN_SQL = "SELECT stage, count(*) FROM case_view WHERE year = :year GROUP BY stage"
KANWIL = [f"KANWIL-{n:02d}" for n in range(1, 35)]  # one regional office per province
KINDS = ["upt_pemasyarakatan", "kantor_imigrasi", "kanwil", "unit_utama", "opd"]
ADMIN = Actor(sub="admin-bench", name="Admin benchmark", role="admin")
READY_TIMEOUT = 120.0


def say(line: str = "") -> None:
    print(line, flush=True)


def quiet(_: str) -> None:
    pass


# --- Measuring ------------------------------------------------------------------------------------------------------


def proc_stat(pid: int) -> list[str]:
    """/proc/PID/stat after the command name (which may hold spaces): field 3 (state) first."""
    data = Path(f"/proc/{pid}/stat").read_text()
    return data[data.rindex(")") + 2 :].split()


def proc_cpu(pid: int) -> float:
    try:
        fields = proc_stat(pid)
    except OSError:  # it ended: its time is no longer ours to count
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def temporal_server_pids() -> list[int]:
    """The dev server that WorkflowEnvironment.start_local started: our child process named temporal."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
            ppid = int(proc_stat(int(entry.name))[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and comm.startswith("temporal"):
            found.append(int(entry.name))
    return found


def status_kib(pid: int | str, key: str) -> int:
    """A line of /proc/PID/status in KiB, e.g. VmRSS (now) or VmHWM (peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def mib(kib: float) -> str:
    return f"{kib / 1024:.0f} MiB"


@dataclass
class Meter:
    """Wall seconds of one phase, and CPU seconds of each part: this process and the processes named in `parts`."""

    parts: dict[str, Sequence[int]]
    wall: float = 0.0
    cpu_parts: dict[str, float] = field(default_factory=dict)
    _start: tuple[float, dict[str, float]] = (0.0, {})

    def cpu_now(self) -> dict[str, float]:
        now = {"this process": time.process_time()}
        now.update({name: sum(proc_cpu(pid) for pid in pids) for name, pids in self.parts.items() if pids})
        return now

    def __enter__(self) -> "Meter":
        self._start = (time.perf_counter(), self.cpu_now())
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self._start[0]
        self.cpu_parts = {name: cpu - self._start[1][name] for name, cpu in self.cpu_now().items()}

    @property
    def cpu(self) -> float:
        return sum(self.cpu_parts.values())

    def per(self, n: int) -> str:
        """CPU milliseconds per unit of work, in all and by part."""
        parts = ", ".join(f"{name} {1000 * cpu / max(n, 1):.1f}" for name, cpu in self.cpu_parts.items())
        return f"CPU {1000 * self.cpu / max(n, 1):.1f} ms ({parts})"


async def bounded(n: int, concurrency: int, job: Callable[[int], Awaitable[None]]) -> list[str]:
    """Run job(0..n-1), at most `concurrency` at once; the failures, as text."""
    failures: list[str] = []
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            try:
                await job(i)
            except Exception as e:  # counted and shown; one failure must not hide the others' numbers
                failures.append(f"#{i}: {type(e).__name__}: {e}")

    await asyncio.gather(*(one(i) for i in range(n)))
    return failures


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


# --- The stack ------------------------------------------------------------------------------------------------------


@dataclass
class Bench:
    args: argparse.Namespace
    settings: Settings
    client: Client
    engine: Engine
    http: httpx.AsyncClient
    server_pids: list[int]
    worker_pids: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    base_year: int = 2900
    requests: Counter[str] = field(default_factory=Counter)  # API requests by method, counted by an httpx hook

    @property
    def parts(self) -> dict[str, Sequence[int]]:
        return {"Temporal server": self.server_pids, "worker processes": self.worker_pids}

    def headers(self, role: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {mint(self.settings, role, f'{role}-bench')}"}

    def fail(self, phase: str, failures: list[str]) -> None:
        if failures:
            self.problems.append(f"{phase}: {len(failures)} failed")
            say(f"  !! {len(failures)} failed in {phase}; the first: {failures[:3]}")

    async def put_cycle(self, year: int, step: timedelta) -> None:
        calendar = compressed_calendar(datetime.now(UTC), step).model_dump(mode="json")
        r = await self.http.put(
            f"/cycles/{year}", json={"regulation": "2023", "calendar": calendar}, headers=self.headers()
        )
        r.raise_for_status()

    def count_transitions(self, year: int) -> int:
        with Session(self.engine) as session:
            query = select(func.count()).select_from(TransitionRow).where(TransitionRow.year == year)
            return session.execute(query).scalar_one()


async def start_worker_processes(bench: Bench, n: int) -> list[asyncio.subprocess.Process]:
    env = {
        **os.environ,
        "P2HAM_TEMPORAL_ADDRESS": bench.client.service_client.config.target_host,
        "P2HAM_DATABASE_URL": bench.settings.database_url,
        "P2HAM_TASK_QUEUE": TASK_QUEUE,
    }
    children = []
    for _ in range(n):
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.worker", FLOOR_QUEUE, env=env, cwd=PROJECT_ROOT, stdout=asyncio.subprocess.PIPE
        )
        children.append(child)
    for child in children:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), READY_TIMEOUT)
        if line.strip() != b"ready":
            raise RuntimeError(f"a bench worker process did not start (exit status {child.returncode})")
    return children


# --- 1 and 2: the service against the floor -------------------------------------------------------------------------


async def service_phase(bench: Bench) -> tuple[int, Meter]:
    a = bench.args
    year, step = bench.base_year, timedelta(seconds=a.step)
    say(f"service: {a.cases} cases through the whole lifecycle, {a.concurrency} at a time, calendar step {a.step:g}s")

    async def one(i: int) -> None:
        await happy_path(bench.http, bench.settings, year, f"BENCH-{i:05d}", step, say=quiet)

    # Set up the cycle once first: every happy_path PUTs it again, and concurrent first PUTs of a year collide.
    await bench.put_cycle(year, step)
    before = bench.requests.copy()
    with Meter(bench.parts) as m:
        bench.fail("service", await bounded(a.cases, a.concurrency, one))
    transitions = bench.count_transitions(year)
    sent = bench.requests - before
    by_method = ", ".join(f"{method} {n}" for method, n in sorted(sent.items()))
    per = sent.total() / max(transitions, 1)
    say(f"  the driver sent {sent.total()} API requests ({by_method}): {per:.1f} per transition")
    rate = transitions / m.wall
    say(
        f"  service: {transitions} transitions in {m.wall:.1f}s = {rate:.1f} transitions/s; "
        f"{m.per(transitions)} per transition"
    )
    return transitions, m


async def floor_phase(bench: Bench, transitions: int) -> tuple[int, Meter]:
    a = bench.args
    each = max(1, round(transitions / max(a.cases, 1)))  # Updates per workflow: as many as a case had transitions
    run = uuid.uuid4().hex[:8]
    say(f"floor: {a.cases} bare workflows x {each} Updates, {a.concurrency} at a time, no domain logic")

    async def one(i: int) -> None:
        workflow_id = f"bench-floor-{run}-{i}"
        start = WithStartWorkflowOperation(
            FloorWorkflow.run,
            each,
            id=workflow_id,
            task_queue=FLOOR_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
        await bench.client.execute_update_with_start_workflow(FloorWorkflow.step, start_workflow_operation=start)
        handle = bench.client.get_workflow_handle(workflow_id)
        for _ in range(each - 1):
            await handle.execute_update(FloorWorkflow.step)
        await handle.result()

    with Meter(bench.parts) as m:
        bench.fail("floor", await bounded(a.cases, a.concurrency, one))
    done = a.cases * each
    say(
        f"  floor: {done} transitions in {m.wall:.1f}s = {done / m.wall:.1f} transitions/s; "
        f"{m.per(done)} per transition"
    )
    return done, m


# --- 3: the dashboard against plain SQL -----------------------------------------------------------------------------


async def dashboard_phase(bench: Bench, year: int, label: str) -> None:
    repeat = bench.args.repeat
    headers = bench.headers("auditor")

    async def get(path: str) -> tuple[float, Any]:
        t = time.perf_counter()
        r = await bench.http.get(path, headers=headers)
        elapsed = time.perf_counter() - t
        r.raise_for_status()
        return elapsed, r.json()

    def plain_sql() -> int:
        with bench.engine.connect() as conn:
            return sum(n for _, n in conn.execute(text(PLAIN_SQL), {"year": year}))

    cold, first = await get(f"/cycles/{year}/dashboard")  # the first one computes the medians
    await get(f"/bench/plain-sql/{year}")
    plain_sql()
    # Interleaved, so that a busy moment of the shared machine hits both sides alike.
    api: list[float] = []
    api_sql: list[float] = []
    sql: list[float] = []
    for _ in range(repeat):
        api.append((await get(f"/cycles/{year}/dashboard"))[0])
        api_sql.append((await get(f"/bench/plain-sql/{year}"))[0])
        t = time.perf_counter()
        counted = plain_sql()
        sql.append(time.perf_counter() - t)
    if counted != first["total"]:
        bench.problems.append(f"dashboard {label}: total {first['total']}, plain SQL {counted}")
    parts = dashboard_parts(bench.engine, year, repeat)
    counts_ms = parts["counts per region and stage"] + parts["overdue"]
    say(f"dashboard over {first['total']} cases ({label}), medians of {repeat} requests:")
    say(
        f"  GET /dashboard {median_ms(api):.1f} ms (medians cached for {dashboard.MEDIANS_TTL:.0f}s; "
        f"the first request, computing them: {1000 * cold:.0f} ms)"
    )
    say(f"  plain SQL GROUP BY stage: {median_ms(sql):.2f} ms direct, {median_ms(api_sql):.1f} ms through the API")
    say("  the dashboard's queries alone: " + ", ".join(f"{name} {ms:.1f} ms" for name, ms in parts.items()))
    say(f"  ratio dashboard/plain SQL ({label}), both through the API: {median_ms(api) / median_ms(api_sql):.1f}x")
    say(f"  ratio dashboard/plain SQL ({label}), API vs direct SQL: {median_ms(api) / median_ms(sql):.1f}x")
    say(f"  ratio dashboard counts+overdue SQL/plain SQL ({label}), both direct: {counts_ms / median_ms(sql):.1f}x")


def add_plain_sql_route(app: FastAPI) -> None:
    """A bench-only endpoint answering the plain GROUP BY through the same stack (token, session, JSON) as the
    dashboard, so the two latencies differ by the dashboard's own work only."""

    def plain_sql(year: int, _: ActorDep, session: SessionDep) -> dict[str, int]:
        return {stage: n for stage, n in session.execute(text(PLAIN_SQL), {"year": year})}

    app.add_api_route("/bench/plain-sql/{year}", plain_sql, methods=["GET"])


def dashboard_parts(engine: Engine, year: int, repeat: int) -> dict[str, float]:
    """The dashboard's own queries timed one by one (service/routers/dashboard.py), to show where the time goes."""
    where = dashboard.case_filters(year, None, None)
    now = datetime.now(UTC)
    parts: dict[str, Callable[[Session], Any]] = {
        "counts per region and stage": lambda s: dashboard.counts(s, where),
        "overdue": lambda s: dashboard.overdue(s, where, now, 20),
        "median days (computed, as on a cache miss)": lambda s: dashboard.median_days(s, year, None, None),
    }
    timings: dict[str, float] = {}
    with Session(engine) as session:
        for name, query in parts.items():
            samples = []
            for _ in range(3 if name.startswith("median") else repeat):  # the medians take long: a few suffice
                t = time.perf_counter()
                query(session)
                samples.append(time.perf_counter() - t)
            timings[name] = median_ms(samples)
    return timings


# The synthetic year's cases: prefixes of the happy path, and the ways out of it, as (event, stage entered).
HAPPY = [
    ("ajukan", "permohonan"),
    ("setujui_permohonan", "pencanangan_terjadwal"),
    ("deklarasikan", "dicanangkan"),
    ("tandatangani_pernyataan", "pembangunan"),
    ("buka_pelaporan", "pelaporan"),
    ("kirim_laporan", "verifikasi"),
    ("lolos_verifikasi", "evaluasi"),
    ("nilai", "evaluasi"),
    ("nilai", "evaluasi"),
    ("tetapkan_hasil_evaluasi", "lolos_evaluasi"),
    ("tetapkan_penghargaan", "berpredikat"),
    ("akhiri_masa_berlaku", "selesai"),
]
PATHS = [HAPPY[:n] for n in (1, 2, 3, 4, 5, 6, 9, 10, 11, 12)] + [
    HAPPY[:5] + [("tutup_pelaporan", "tidak_melapor")],
    HAPPY[:9] + [("tetapkan_hasil_evaluasi", "tidak_lolos")],
    HAPPY[:11] + [("cabut", "dicabut")],
    HAPPY[:2] + [("batalkan", "dibatalkan")],
]


def insert_synthetic(engine: Engine, year: int, n: int, seed: int = 7) -> int:
    """`n` cases and their audit log written straight into the read model (labelled synthetic wherever printed)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    # A cycle under way: reporting opened 110 days ago and closes in 100 days, so cases in pembangunan are overdue.
    policy = CyclePolicy(regulation="2023", calendar=compressed_calendar(now - timedelta(days=200), timedelta(days=30)))
    templates = []
    for path in PATHS:
        unit = UnitInfo(code="TEMPLATE", name="template", kind="opd", region=KANWIL[0])
        case = CaseData(year=year, unit=unit, policy=policy, stage=path[-1][1], seq=len(path))
        templates.append((path, case_row(case).model_dump()))
    cases: list[dict[str, Any]] = []
    transitions: list[dict[str, Any]] = []
    for i in range(n):
        path, template = templates[rng.randrange(len(templates))]
        code, region, kind = f"SYN-{i:06d}", rng.choice(KANWIL), rng.choice(KINDS)
        data = {**template["data"], "unit": {"code": code, "name": code, "kind": kind, "region": region}}
        cases.append({**template, "unit": code, "region": region, "kind": kind, "data": data})
        at, source = now - timedelta(days=200 - rng.uniform(0, 30)), None
        for seq, (event, target) in enumerate(path, start=1):
            transitions.append(
                {
                    "year": year,
                    "unit": code,
                    "seq": seq,
                    "at": at,
                    "event": event,
                    "source": source,
                    "target": target,
                    "actor_sub": "synthetic",
                    "actor_name": "synthetic",
                    "actor_role": "system",
                    "payload": {},
                    "evidence": [],
                    "policy_version": "synthetic",
                    "prev_hash": "",
                    "hash": "",
                }
            )
            at, source = at + timedelta(days=rng.uniform(0.5, 20)), target
    with Session(engine) as session:
        for table, rows in ((CaseRow, cases), (TransitionRow, transitions)):
            for i in range(0, len(rows), 2000):
                session.execute(insert(table), rows[i : i + 2000])
        session.commit()
    return len(transitions)


# --- 4: a cohort against bare starts --------------------------------------------------------------------------------


def cohort_units(prefix: str, n: int) -> list[UnitInfo]:
    return [
        UnitInfo(code=f"{prefix}-{i:06d}", name=f"Unit {prefix} {i}", kind=KINDS[i % len(KINDS)], region=KANWIL[i % 34])
        for i in range(n)
    ]


async def cohort_phase(bench: Bench) -> None:
    a = bench.args
    year, m, c = bench.base_year + 2, a.cohort, a.cohort_concurrency
    await bench.put_cycle(year, timedelta(minutes=10))  # applications open for 100 minutes; cases wait in permohonan
    say(f"cohort: {m} units, {c} at a time (service/cohort.py, as `p2ham cohort open`) vs bare starts")
    with Meter(bench.parts) as cohort:
        result = await open_cohort(
            bench.engine, bench.client, TASK_QUEUE, year, cohort_units("COHORT", m), ADMIN, concurrency=c
        )
    bench.fail("cohort", [f"{f.unit}: {f.error}: {f.why}" for f in result.failures])
    if result.started != m:
        bench.problems.append(f"cohort: started {result.started} of {m}")
    run = uuid.uuid4().hex[:8]

    async def bare(i: int) -> None:
        await bench.client.start_workflow(TrivialWorkflow.run, id=f"bench-bare-{run}-{i}", task_queue=FLOOR_QUEUE)

    async def bare_update(i: int) -> None:
        start = WithStartWorkflowOperation(
            FloorWorkflow.run,
            1,
            id=f"bench-uws-{run}-{i}",
            task_queue=FLOOR_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        await bench.client.execute_update_with_start_workflow(FloorWorkflow.step, start_workflow_operation=start)

    with Meter(bench.parts) as plain:
        bench.fail("bare start_workflow", await bounded(m, c, bare))
    with Meter(bench.parts) as answered:
        bench.fail("bare update-with-start", await bounded(m, c, bare_update))
    rates = {name: m / meter.wall for name, meter in (("cohort", cohort), ("bare", plain), ("uws", answered))}
    say(f"  cohort: {result.started} started in {cohort.wall:.1f}s = {rates['cohort']:.1f} units/s")
    say(f"  bare client.start_workflow of a trivial workflow: {rates['bare']:.1f} starts/s")
    say(f"  bare update-with-start answered by the worker (what a case start waits for): {rates['uws']:.1f} starts/s")
    say(f"  ratio cohort/bare start_workflow: {rates['cohort'] / rates['bare']:.2f}x (target >= 0.8x)")
    say(f"  ratio cohort/bare update-with-start: {rates['cohort'] / rates['uws']:.2f}x")


# --- 5: idle open cases and the worker's memory ---------------------------------------------------------------------


def worker_memory(bench: Bench) -> tuple[int, int, str]:
    """(current, peak) KiB of the worker: the worker processes, or this whole process when the worker runs here."""
    if bench.worker_pids:
        pids: list[int | str] = list(bench.worker_pids)
        return (
            sum(status_kib(p, "VmRSS") for p in pids),
            sum(status_kib(p, "VmHWM") for p in pids),
            f"{len(pids)} worker process(es)",
        )
    return status_kib("self", "VmRSS"), status_kib("self", "VmHWM"), "this process: worker + API + driver"


async def idle_phase(bench: Bench) -> None:
    a = bench.args
    year, n = bench.base_year + 3, a.idle
    await bench.put_cycle(year, timedelta(hours=1))
    before = worker_memory(bench)[0]
    samples = [(0, before)]  # (open cases, worker RSS KiB)
    say(f"idle: opening {n} cases that then wait in permohonan ({a.cohort_concurrency} at a time); RSS {mib(before)}")

    opened = 0

    def progress(unit: str, outcome: str) -> None:
        nonlocal opened
        opened += 1
        if opened % 1000 == 0 or opened == n:
            now, peak, _ = worker_memory(bench)
            say(f"  {opened} opened, worker RSS {mib(now)} (peak {mib(peak)})")
            samples.append((opened, now))

    with Meter(bench.parts) as m:
        result = await open_cohort(
            bench.engine,
            bench.client,
            TASK_QUEUE,
            year,
            cohort_units("IDLE", n),
            ADMIN,
            concurrency=a.cohort_concurrency,
            progress=progress,
        )
    bench.fail("idle", [f"{f.unit}: {f.error}: {f.why}" for f in result.failures])
    after, peak, whose = worker_memory(bench)
    say(f"  idle: {result.started} open cases in {m.wall:.0f}s; worker RSS {mib(after)}, peak {mib(peak)} ({whose})")
    if n >= 20_000:
        return
    # Past the worker's workflow cache (1000 runs by default) the growth per case is what the remaining ones add.
    (n0, rss0), (n1, rss1) = (samples[-2], samples[-1]) if n > 1000 else (samples[0], samples[-1])
    per_case = max(rss1 - rss0, 0) / max(n1 - n0, 1)
    say(f"  growth {per_case:.1f} KiB per open case (between {n0} and {n1} open cases)")
    say(
        f"  EXTRAPOLATED (measured {n}, not 20000): worker RSS at 20000 idle cases ~ "
        f"{mib(after + per_case * (20_000 - n))}, at that growth"
    )


# --- The run --------------------------------------------------------------------------------------------------------


async def run(a: argparse.Namespace) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="p2ham-bench-"))
    try:
        return await run_in(a, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # the SQLite read model and the evidence files of this run


async def run_in(a: argparse.Namespace, tmp: Path) -> int:
    settings = Settings(
        database_url=a.database_url or f"sqlite:///{tmp / 'bench.db'}",
        task_queue=TASK_QUEUE,
        jwt_secret="bench-" + secrets.token_hex(16),
        evidence_dir=tmp / "evidence",
    )
    say(f"P2HAM benchmark on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_existing_path=temporal_binary(),
        dev_server_log_level="error",  # its "slow gRPC call" warnings would drown the numbers
    )
    async with env:
        engine = make_engine(settings.database_url)
        app = create_app(settings, client=env.client)
        add_plain_sql_route(app)
        transport = httpx.ASGITransport(app=app)
        requests: Counter[str] = Counter()

        async def count(request: httpx.Request) -> None:
            requests[request.method] += 1

        hooks = {"request": [count]}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://p2ham.bench", timeout=120, event_hooks=hooks
        ) as http:
            bench = Bench(a, settings, env.client, engine, http, temporal_server_pids(), requests=requests)
            if a.database_url:  # a shared database may hold earlier runs: years of our own
                bench.base_year = 5000 + 4 * secrets.randbelow(1000)
            if not bench.server_pids:
                say("  (the Temporal server process was not found: CPU times count this process only)")
            return await phases(bench)


async def phases(bench: Bench) -> int:
    a = bench.args
    children: list[asyncio.subprocess.Process] = []
    in_process: list[Worker] = []
    try:
        if a.worker_processes:
            children = await start_worker_processes(bench, a.worker_processes)
            bench.worker_pids = [child.pid for child in children]
            say(f"workers: {a.worker_processes} separate process(es)")
        else:
            in_process = [
                build_worker(bench.client, bench.engine, TASK_QUEUE),
                Worker(bench.client, task_queue=FLOOR_QUEUE, workflows=FLOOR_WORKFLOWS),
            ]
            for w in in_process:
                await w.__aenter__()
            say("workers: in this process (the API and the driver run here too)")

        if a.cases:
            transitions, service = await service_phase(bench)
            done, floor = await floor_phase(bench, transitions)
            ratio = (transitions / service.wall) / (done / floor.wall)
            say(f"  ratio service/floor (transitions per second): {ratio:.2f}x (target >= 0.6x)")
            cpu_ratio = (transitions / service.cpu) / (done / floor.cpu)
            say(f"  ratio service/floor (transitions per CPU second): {cpu_ratio:.2f}x")
            now, peak, whose = worker_memory(bench)
            say(f"  worker memory after the run: RSS {mib(now)}, peak {mib(peak)} ({whose})")
            await dashboard_phase(bench, bench.base_year, f"the {a.cases} cases above")
        if a.dashboard_rows:
            year = bench.base_year + 1
            written = insert_synthetic(bench.engine, year, a.dashboard_rows)
            say(f"dashboard: {a.dashboard_rows} SYNTHETIC cases and {written} transitions inserted straight into SQL")
            await dashboard_phase(bench, year, f"{a.dashboard_rows} synthetic rows")
        if a.cohort:
            await cohort_phase(bench)
        if a.idle:
            await idle_phase(bench)
        say(f"peak memory of this process: {mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)}")
    finally:
        for w in reversed(in_process):
            await w.__aexit__(None, None, None)
        for child in children:  # ours: started above, stopped by pid
            child.terminate()
            await child.wait()
    for problem in bench.problems:
        say(f"PROBLEM: {problem}")
    return 1 if bench.problems else 0


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument("--cases", type=int, default=120, help="cases through the whole lifecycle (0: skip)")
    p.add_argument(
        "--concurrency",
        type=int,
        default=10,
        help="cases (and floor workflows) at once; keep it under the API's 15 database connections (see README)",
    )
    p.add_argument("--step", type=float, default=1.0, help="seconds per step of the compressed calendar")
    p.add_argument("--dashboard-rows", type=int, default=20_000, help="synthetic cases for the dashboard (0: skip)")
    p.add_argument("--repeat", type=int, default=50, help="timed requests per dashboard measurement")
    p.add_argument("--cohort", type=int, default=500, help="units in the cohort start measurement (0: skip)")
    p.add_argument("--cohort-concurrency", type=int, default=32, help="starts at once, cohort and bare alike")
    p.add_argument("--idle", type=int, default=0, help="open cases to leave idle while measuring worker memory")
    p.add_argument("--worker-processes", type=int, default=0, help="workers in child processes; 0: in this process")
    p.add_argument("--database-url", default=None, help="read model; default: a fresh SQLite file")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    status = 1
    try:
        status = asyncio.run(run(parse(argv)))
    except KeyboardInterrupt:
        status = 130
    except SystemExit as e:  # argparse's --help and usage errors
        status = e.code if isinstance(e.code, int) else 1
    except BaseException:
        traceback.print_exc()
    # temporalio sdk-python #300: leave without interpreter shutdown, with the real status.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
