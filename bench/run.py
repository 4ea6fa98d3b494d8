"""The benchmark: the P2HAM service through its real API against the Temporal floor, on one dev server, in one run.

Phases (each prints its numbers, and a ratio against a baseline measured in this same run, so a busy shared machine
slows both sides alike):

1. throughput (issue 7, target 1): `--cases` cases are brought to `pencanangan_terjadwal` first (not timed); then, in
   each of `--rounds` rounds, four bursts of the same size and concurrency (`--cases` targets x `--updates`
   sequential Updates each, `--concurrency` targets at a time), in an order that rotates from round to round:
   - floor: bare Updates to bare workflows (bench/floor.py), through the Temporal client;
   - floor + activity: the same, each Update awaiting one no-op regular activity: the least that a projection run
     after the commit (as the service's is, so that a lost workflow task leaves no phantom entry) can cost;
   - worker-only: `jadwal_ulang` Updates sent straight to the case workflow with the Temporal client (validator,
     state machine, projection and audit entry; no API);
   - API path: `POST /cycles/{year}/cases/{unit}/events/jadwal_ulang` as Ditjen HAM (token, read model, payload
     validation, idempotency key, the same Update), one request per transition.
   No calendar wait falls inside a measured window. The ratios are per round, then their median and spread.
2. lifecycle (correctness, not speed): `--lifecycle` cases through the whole lifecycle with a compressed calendar
   (service/demo.py's `happy_path`); its wall time is mostly the calendar's waits, so its rate is no target;
3. dashboard: `GET /cycles/{year}/dashboard` over the throughput cases, and over `--dashboard-rows` synthetic cases
   written straight into the read model, against a plain `SELECT stage, count(*) ... GROUP BY stage`;
4. cohort: `open_cohort` of M units (the code behind `p2ham cohort open`: registering the units, then starting each
   case) against bare `client.start_workflow` calls of a trivial workflow, interleaved, `--cohort-rounds` times; then,
   untimed, the wait until every case is in the read model (as the command waits), reported apart;
5. optional `--idle N`: N open cases left waiting, and the worker's memory.

The API is served in this process over ASGI (no HTTP server, no network): the driver and the API share this process.
`--sqlite-synchronous`, `--worker-option`, `--activity-threads` and `--unsandboxed` change one setting of the worker or
the database for an experiment (bench/worker.py); `--profile DIR` records py-spy profiles of each measurement's first
round. The dev server gets the production dynamic config (deploy/temporal/dynamicconfig.yaml), `--dynamic-config`
values in its place; `--compare-dynamic-config KEY=VALUE` starts a second server (and worker) with that value on top,
and runs phase 1's bursts on both, interleaved round by round, each against its own floor and against the first.
"""

import argparse
import asyncio
import os
import random
import resource
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import time
import traceback
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
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
from bench.floor import FloorWorkflow, TrivialWorkflow
from bench.worker import SYNCHRONOUS, TUNING_ENV, Tuning, floor_worker, service_worker, tune_engine
from models.contracts import Actor, CaseData, EventRequest, EvidenceInfo, Laporan, UnitInfo
from models.db import make_engine
from models.policy import Calendar, CyclePolicy, compressed_calendar
from models.tables import CaseRow, TransitionRow
from service import dashboard
from service.api import create_app
from service.auth import mint
from service.cli import PROJECT_ROOT, dynamic_config, dynamic_config_flags, temporal_binary
from service.cohort import await_read_model, open_cohort
from service.demo import WITNESSES, happy_path, sample_photo, sample_statement
from service.deps import ActorDep, SessionDep
from service.evidence import resolve
from service.settings import Settings
from workflows.unit import SEARCH_ATTRIBUTES, CaseWorkflow, case_workflow_id

TASK_QUEUE = "p2ham-bench"
FLOOR_QUEUE = "p2ham-bench-floor"
PLAIN_SQL = "SELECT stage, count(*) FROM case_view WHERE year = :year GROUP BY stage"
KANWIL = [f"KANWIL-{n:02d}" for n in range(1, 35)]  # one regional office per province
KINDS = ["upt_pemasyarakatan", "kantor_imigrasi", "kanwil", "unit_utama", "opd"]
ADMIN = Actor(sub="admin-bench", name="Admin benchmark", role="admin")
DITJEN = Actor(sub="ditjen-bench", name="Direktur Diseminasi dan Penguatan HAM", role="ditjen_ham")
READY_TIMEOUT = 120.0
EVENT_MIXES = {  # what the bursts send: official events that need no calendar wait, any number of times
    "jadwal_ulang": "jadwal_ulang at pencanangan_terjadwal",
    "revision": "kembalikan / kirim_perbaikan between verifikasi and perbaikan",
}
FLOOR_FOREVER = 10**9  # a floor workflow that takes this many Updates stays open for the whole run
LIFECYCLE_TRANSITIONS = 15  # ajukan ... akhiri_masa_berlaku on the happy path, the plan and tugaskan included


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


def spread(values: list[float], unit: str = "x", digits: int = 2) -> str:
    """'median (min to max, n runs)': the noise of a shared machine, shown rather than hidden."""
    if len(values) == 1:
        return f"{values[0]:.{digits}f}{unit} (1 run)"
    return (
        f"{statistics.median(values):.{digits}f}{unit} "
        f"({min(values):.{digits}f}{unit} to {max(values):.{digits}f}{unit}, {len(values)} runs)"
    )


# --- The stack ------------------------------------------------------------------------------------------------------


@dataclass
class Bench:
    args: argparse.Namespace
    settings: Settings
    client: Client
    engine: Engine
    http: httpx.AsyncClient
    server_pids: list[int]
    tuning: Tuning
    label: str = ""  # the server's dynamic config, when it is the second of a comparison (--compare-dynamic-config)
    worker_pids: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    base_year: int = 2900
    requests: Counter[str] = field(default_factory=Counter)  # API requests by method, counted by an httpx hook
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)  # Authorization headers by official (sub)

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

    def stages(self, year: int) -> Counter[str]:
        with Session(self.engine) as session:
            query = select(CaseRow.stage, func.count()).where(CaseRow.year == year).group_by(CaseRow.stage)
            return Counter(dict(session.execute(query).tuples().all()))


async def start_worker_processes(bench: Bench, n: int) -> list[asyncio.subprocess.Process]:
    env = {
        **os.environ,
        "P2HAM_TEMPORAL_ADDRESS": bench.client.service_client.config.target_host,
        "P2HAM_DATABASE_URL": bench.settings.database_url,
        "P2HAM_TASK_QUEUE": TASK_QUEUE,
        "P2HAM_MODE": "dev",
        TUNING_ENV: bench.tuning.to_env(),
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


# --- 1: throughput, the service against the floor, on bursts of official events -------------------------------------


@dataclass
class Burst:
    """One timed burst: how many transitions, the meter, and each Update's latency."""

    name: str
    done: int
    meter: Meter
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.done / self.meter.wall

    def line(self) -> str:
        p95 = statistics.quantiles(self.latencies, n=20)[-1] * 1000 if len(self.latencies) > 1 else 0.0
        return (
            f"{self.name}: {self.done} in {self.meter.wall:.1f}s = {self.rate:.1f}/s, latency median "
            f"{median_ms(self.latencies):.0f} ms, p95 {p95:.0f} ms; {self.meter.per(self.done)} per transition"
        )


@dataclass
class Step:
    """One official event as the API receives it (token for `actor`, `payload`) and as the workflow receives it
    (the same, plus the evidence the API resolves from its store)."""

    event: str
    actor: Actor
    payload: dict[str, Any]
    evidence: dict[str, EvidenceInfo] = field(default_factory=dict)


@dataclass
class Targets:
    """What the bursts send to: the throughput cases and the floor's workflows, brought there untimed, and the plan
    that says which official event case i receives as its k-th burst event."""

    year: int
    units: list[str]
    floor_ids: list[str]
    plan: Callable[[int, int], Step]
    sent: list[int]  # burst events each case has received so far

    def next_step(self, i: int) -> Step:
        step = self.plan(i, self.sent[i])
        self.sent[i] += 1
        return step


async def prepare_targets(bench: Bench) -> Targets:
    """N cases at the burst's starting stage and N floor workflows waiting for Updates (not timed): what is timed
    afterwards is official events only."""
    a = bench.args
    year, n = bench.base_year, a.cases
    t = time.perf_counter()
    units = cohort_units("BURST", n)
    if a.events == "jadwal_ulang":
        plan, stage = await at_pencanangan_terjadwal(bench, year, units), "pencanangan_terjadwal"
    else:
        plan, stage = await at_verifikasi(bench, year, units), "verifikasi"
    run = uuid.uuid4().hex[:8]
    floor_ids = [f"bench-floor-{run}-{i}" for i in range(n)]

    async def start_floor(i: int) -> None:
        # Started with a first Update answered by the worker, as the cases were: the run is in the worker's cache and
        # no first workflow task (the sandbox setting up a new run) falls inside a measured burst.
        start = WithStartWorkflowOperation(
            FloorWorkflow.run,
            FLOOR_FOREVER,
            id=floor_ids[i],
            task_queue=FLOOR_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
        await bench.client.execute_update_with_start_workflow(FloorWorkflow.step, start_workflow_operation=start)

    bench.fail("throughput: starting the floor", await bounded(n, a.cohort_concurrency, start_floor))
    stages = bench.stages(year)
    if stages != Counter({stage: n}):
        bench.problems.append(f"throughput: the cases are not all at {stage}: {dict(stages)}")
    say(f"  {n} cases at {stage} and {n} floor workflows ready in {time.perf_counter() - t:.0f}s")
    return Targets(year, [u.code for u in units], floor_ids, plan, [0] * n)


async def start_cases(bench: Bench, year: int, units: list[UnitInfo], calendar: Calendar) -> None:
    r = await bench.http.put(
        f"/cycles/{year}",
        json={"regulation": "2023", "calendar": calendar.model_dump(mode="json")},
        headers=bench.headers(),
    )
    r.raise_for_status()
    c = bench.args.cohort_concurrency
    started = await open_cohort(bench.engine, bench.client, TASK_QUEUE, year, units, ADMIN, concurrency=c)
    bench.fail("throughput: starting the cases", [f"{f.unit}: {f.error}: {f.why}" for f in started.failures])
    await in_read_model(bench, "throughput: starting the cases", year, units)


async def in_read_model(bench: Bench, phase: str, year: int, units: list[UnitInfo]) -> None:
    """A cohort's starts return before the worker has recorded the applications: wait for them."""
    missing = await await_read_model(bench.engine, year, [u.code for u in units], READY_TIMEOUT)
    if missing:
        bench.problems.append(f"{phase}: {missing} cases never reached the read model")


async def api_step(bench: Bench, year: int, unit: str, step: Step) -> None:
    """One official event through the API (preparation only: bursts use the senders below)."""
    headers = {**token_header(bench, step.actor), "Idempotency-Key": str(uuid.uuid4())}
    r = await bench.http.post(f"/cycles/{year}/cases/{unit}/events/{step.event}", json=step.payload, headers=headers)
    if r.status_code != 200:
        raise RuntimeError(f"{step.event} on {unit}: {r.status_code} {r.text[:300]}")


def token_header(bench: Bench, actor: Actor) -> dict[str, str]:
    """The official's bearer token, minted once (a signature per request would be the driver's cost, not the API's)."""
    if actor.sub not in bench.tokens:
        token = mint(bench.settings, actor.role, actor.sub, actor.name, unit=actor.unit, region=actor.region)
        bench.tokens[actor.sub] = {"Authorization": f"Bearer {token}"}
    return bench.tokens[actor.sub]


async def at_pencanangan_terjadwal(bench: Bench, year: int, units: list[UnitInfo]) -> Callable[[int, int], Step]:
    """Cases approved for a pencanangan in 2 h; each burst event reschedules it (jadwal_ulang, a self-transition
    by Ditjen HAM with a small payload): no stage change, no evidence."""
    await start_cases(bench, year, units, compressed_calendar(datetime.now(UTC), timedelta(hours=1)))
    jadwal = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    approval = Step("setujui_permohonan", DITJEN, {"jadwal": jadwal, "tempat": "Aula Kanwil", "saksi": WITNESSES})

    async def approve(i: int) -> None:
        await api_step(bench, year, units[i].code, approval)

    bench.fail("throughput: setujui_permohonan", await bounded(len(units), bench.args.concurrency, approve))
    base = datetime.now(UTC) + timedelta(hours=3)

    def plan(i: int, k: int) -> Step:
        # A later date each time: in the future and inside the cycle, so the guard lets it through.
        moment = base + timedelta(seconds=k * len(units) + i)
        return Step("jadwal_ulang", DITJEN, {"jadwal": moment.isoformat(), "alasan": "Aula dipakai acara lain"})

    return plan


async def at_verifikasi(bench: Bench, year: int, units: list[UnitInfo]) -> Callable[[int, int], Step]:
    """Cases whose report awaits verification; the burst events alternate `kembalikan` (the verifikator returns it,
    stage perbaikan) and `kirim_perbaikan` (the unit's operator sends the whole report again, every indicator with its
    evidence, checked by the API and the workflow; stage verifikasi): stage changes and large payloads."""
    a, n = bench.args, len(units)
    # The reporting window is open from the start: each case enters pelaporan as soon as its unit head has signed.
    now = datetime.now(UTC)
    calendar = compressed_calendar(now, timedelta(hours=1)).model_copy(update={"reporting_opens": now})
    await start_cases(bench, year, units, calendar)
    kanwil = {
        u.region: Actor(sub=f"kakanwil-{u.region}", name="Kakanwil", role="kanwil", region=u.region) for u in units
    }
    operators = [Actor(sub=f"op-{u.code}", name=f"Operator {u.code}", role="operator_unit", unit=u.code) for u in units]
    heads = [Actor(sub=f"kepala-{u.code}", name=f"Kepala {u.code}", role="kepala_unit", unit=u.code) for u in units]
    jadwal: list[datetime] = [now] * n

    async def approve(i: int) -> None:
        jadwal[i] = datetime.now(UTC) + timedelta(seconds=1)  # the pencanangan a second from now
        payload = {"jadwal": jadwal[i].isoformat(), "tempat": "Aula Kanwil", "saksi": WITNESSES}
        await api_step(bench, year, units[i].code, Step("setujui_permohonan", DITJEN, payload))

    bench.fail("throughput: setujui_permohonan", await bounded(n, a.concurrency, approve))
    await asyncio.sleep(max(0.0, (max(jadwal) - datetime.now(UTC)).total_seconds()))

    async def declare_and_sign(i: int) -> None:
        unit = units[i]
        await api_step(bench, year, unit.code, Step("deklarasikan", kanwil[unit.region], {"saksi_hadir": WITNESSES}))
        statement = await upload(bench, heads[i], "pernyataan.pdf", sample_statement(unit.code))
        await api_step(bench, year, unit.code, Step("tandatangani_pernyataan", heads[i], {"dokumen": statement}))

    bench.fail("throughput: deklarasikan, tandatangani_pernyataan", await bounded(n, a.concurrency, declare_and_sign))
    deadline = time.monotonic() + READY_TIMEOUT
    while bench.stages(year)["pelaporan"] < n and time.monotonic() < deadline:  # buka_pelaporan, by the calendar
        await asyncio.sleep(0.5)
    catalogues = {}
    for kind in sorted({u.kind for u in units}):
        r = await bench.http.get(f"/cycles/{year}?kind={kind}", headers=bench.headers())
        r.raise_for_status()
        catalogues[kind] = r.json()
    reports: list[dict[str, Any]] = [{}] * n
    evidence: list[dict[str, EvidenceInfo]] = [{}] * n

    async def report(i: int) -> None:
        unit, cycle = units[i], catalogues[units[i].kind]
        answers = []
        for c in cycle["criteria"]:
            names = [f"{unit.code}-{c['code']}-{m}.png" for m in range(cycle["evidence"]["min_photos"])]
            photos = [await upload(bench, operators[i], name, sample_photo(name)) for name in names]
            for j, indicator in enumerate(c["indicators"]):
                answers.append({"kode": indicator["code"], "nilai": c["scale"][0], "bukti": photos if j == 0 else []})
        reports[i] = {"indikator": answers}
        await api_step(bench, year, unit.code, Step("kirim_laporan", operators[i], reports[i]))
        with Session(bench.engine) as session:  # what the API resolves for this report, for the worker-only sends
            evidence[i] = resolve(session, Laporan.model_validate(reports[i]), unit.code)

    bench.fail("throughput: kirim_laporan", await bounded(n, a.concurrency, report))
    verifikator = Actor(sub="verif-bench", name="Verifikator", role="verifikator", unit="DITJEN-HAM")

    def plan(i: int, k: int) -> Step:
        if k % 2 == 0:
            first = reports[i]["indikator"][0]["kode"]
            return Step("kembalikan", verifikator, {"catatan": "Foto kurang jelas", "indikator": {first: "foto ulang"}})
        return Step("kirim_perbaikan", operators[i], reports[i], evidence[i])

    return plan


async def upload(bench: Bench, actor: Actor, name: str, content: bytes) -> str:
    r = await bench.http.post("/evidence", files={"file": (name, content)}, headers=token_header(bench, actor))
    if r.status_code not in (200, 201):
        raise RuntimeError(f"upload of {name}: {r.status_code} {r.text[:300]}")
    return r.json()["id"]


async def burst(bench: Bench, name: str, targets: int, each: int, send: Callable[[int], Awaitable[None]]) -> Burst:
    """`targets` x `each` Updates (each target's in sequence), `--concurrency` targets at a time, timed as a whole."""
    latencies: list[float] = []

    async def one(i: int) -> None:
        for _ in range(each):
            t = time.perf_counter()
            await send(i)
            latencies.append(time.perf_counter() - t)

    with Meter(bench.parts) as m:
        bench.fail(name, await bounded(targets, bench.args.concurrency, one))
    return Burst(name, len(latencies), m, latencies)


def floor_sender(bench: Bench, t: Targets) -> Callable[[int], Awaitable[None]]:
    handles = [bench.client.get_workflow_handle(workflow_id) for workflow_id in t.floor_ids]

    async def send(i: int) -> None:
        await handles[i].execute_update(FloorWorkflow.step)

    return send


def durable_floor_sender(bench: Bench, t: Targets) -> Callable[[int], Awaitable[None]]:
    handles = [bench.client.get_workflow_handle(workflow_id) for workflow_id in t.floor_ids]

    async def send(i: int) -> None:
        await handles[i].execute_update(FloorWorkflow.step_projected)

    return send


def worker_sender(bench: Bench, t: Targets) -> Callable[[int], Awaitable[None]]:
    """The Update the API would send (same event, actor, payload, resolved evidence), from the Temporal client."""
    handles = [bench.client.get_workflow_handle(case_workflow_id(t.year, unit)) for unit in t.units]

    async def send(i: int) -> None:
        step = t.next_step(i)
        request = EventRequest(event=step.event, actor=step.actor, payload=step.payload, evidence=step.evidence)
        await handles[i].execute_update(CaseWorkflow.kirim, request, id=str(uuid.uuid4()))

    return send


def api_sender(bench: Bench, t: Targets) -> Callable[[int], Awaitable[None]]:
    """One `POST .../events/{event}` per transition, as the official whose job it is, with its own Idempotency-Key."""
    for i in range(len(t.units)):  # every official's token minted before the burst (the plan has no side effects)
        for k in range(bench.args.updates):
            token_header(bench, t.plan(i, t.sent[i] + k).actor)

    async def send(i: int) -> None:
        step = t.next_step(i)
        headers = {**token_header(bench, step.actor), "Idempotency-Key": str(uuid.uuid4())}
        r = await bench.http.post(
            f"/cycles/{t.year}/cases/{t.units[i]}/events/{step.event}", json=step.payload, headers=headers
        )
        if r.status_code != 200:
            raise RuntimeError(f"{step.event}: {r.status_code} {r.text[:300]}")

    return send


async def throughput_phase(benches: list[Bench]) -> None:
    """The four bursts on each stack, round by round (more than one stack: servers with different dynamic configs,
    interleaved so that a busy shared machine slows each alike)."""
    a = benches[0].args
    n, each, rounds = a.cases, a.updates, a.rounds
    say(
        f"throughput: {n} cases x {each} official events ({EVENT_MIXES[a.events]}) per burst, {a.concurrency} cases "
        f"at a time, {rounds} round(s); the floor gets the same number of Updates at the same concurrency"
    )
    kinds: dict[str, Callable[[Bench, Targets], Callable[[int], Awaitable[None]]]] = {
        "floor": floor_sender,
        "floor + activity": durable_floor_sender,
        "worker-only": worker_sender,
        "API path": api_sender,
    }
    targets = [await prepare_targets(bench) for bench in benches]
    # Warm-up, not counted: the first Updates of a run pay for imports, caches and connections.
    for bench, t in zip(benches, targets, strict=True):
        for name, sender in kinds.items():
            await burst(bench, f"warm-up {name}", min(n, a.concurrency), 1, sender(bench, t))
    results: list[dict[str, list[Burst]]] = [{name: [] for name in kinds} for _ in benches]
    order, stacks = list(kinds), list(range(len(benches)))
    for r in range(rounds):
        say(f"  round {r + 1}/{rounds}:")
        for s in stacks:
            bench, t = benches[s], targets[s]
            of = f" ({bench.label})" if bench.label else ""
            for name in order:
                before, requests = bench.count_transitions(t.year), bench.requests.copy()
                async with profiled(bench, f"burst-{name}{of}", first=r == 0):
                    result = await burst(bench, name + of, n, each, kinds[name](bench, t))
                results[s][name].append(result)
                say(f"    {result.line()}")
                if not name.startswith("floor"):  # every official event must have left its projection and audit entry
                    written = bench.count_transitions(t.year) - before
                    if written != n * each:
                        bench.problems.append(f"throughput {name}{of}: {written} audit entries for {n * each} events")
                if name == "API path":
                    sent = (bench.requests - requests).total()
                    say(f"    API requests per transition: {sent / max(result.done, 1):.2f}")
        order = order[1:] + order[:1]  # the next round starts with another kind: no kind always goes first
        stacks = stacks[1:] + stacks[:1]  # nor any server
    for bench, result in zip(benches, results, strict=True):
        throughput_summary(result, f" ({bench.label})" if bench.label else "")
    first, ones = benches[0].label, results[0]
    for bench, result in zip(benches[1:], results[1:], strict=True):
        for name in kinds:  # the same burst on the compared server and on the first
            ratios = [x.rate / y.rate for x, y in zip(result[name], ones[name], strict=True)]
            say(f"  ratio {name} ({bench.label})/{name} ({first}) (transitions per second): {spread(ratios)}")
        for name in ("floor + activity", "API path"):  # and against the first server's floor
            ratios = [x.rate / y.rate for x, y in zip(result[name], ones["floor"], strict=True)]
            say(f"  ratio {name} ({bench.label})/floor ({first}) (transitions per second): {spread(ratios)}")


def throughput_summary(results: dict[str, list[Burst]], of: str) -> None:
    def rates(name: str) -> list[float]:
        return [b.rate for b in results[name]]

    def ratios(top: str, bottom: str) -> list[float]:
        return [x / y for x, y in zip(rates(top), rates(bottom), strict=True)]

    def cpu_ratios(top: str, bottom: str) -> list[float]:
        return [
            (x.done / x.meter.cpu) / (y.done / y.meter.cpu) for x, y in zip(results[top], results[bottom], strict=True)
        ]

    say(f"  transitions/s{of}: " + "; ".join(f"{name} {spread(rates(name), '/s', 1)}" for name in results))
    say(f"  ratio API path/floor (transitions per second){of}: {spread(ratios('API path', 'floor'))} (target >= 0.6x)")
    say(f"  ratio worker-only/floor (transitions per second){of}: {spread(ratios('worker-only', 'floor'))}")
    say(f"  ratio API path/worker-only (transitions per second){of}: {spread(ratios('API path', 'worker-only'))}")
    # What any projection that runs after the commit costs, with nothing in it: the bound on the ratio above.
    say(f"  ratio floor + activity/floor (transitions per second){of}: {spread(ratios('floor + activity', 'floor'))}")
    say(
        f"  ratio API path/floor + activity (transitions per second){of}: "
        f"{spread(ratios('API path', 'floor + activity'))}"
    )
    say(f"  ratio API path/floor (transitions per CPU second){of}: {spread(cpu_ratios('API path', 'floor'))}")
    say(f"  ratio worker-only/floor (transitions per CPU second){of}: {spread(cpu_ratios('worker-only', 'floor'))}")


# --- py-spy, for finding where the time goes --------------------------------------------------------------------------


@asynccontextmanager
async def profiled(bench: Bench, label: str, first: bool) -> AsyncIterator[None]:
    """With --profile DIR, py-spy records the first round of each measurement in this process (API + driver) and in
    each worker process. py-spy is not a dependency of the project: `.venv/bin/pip install py-spy` first."""
    directory = bench.args.profile
    if directory is None or not first:
        yield
        return
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    directory.mkdir(parents=True, exist_ok=True)
    targets = {"api-and-driver": os.getpid(), **{f"worker-{i}": pid for i, pid in enumerate(bench.worker_pids)}}
    spies = []
    for name, pid in targets.items():
        out = directory / f"{label.replace(' ', '-')}.{name}.txt"
        # --gil: samples of Python holding the GIL, i.e. the process's Python CPU; --nonblocking: barely slows it.
        cmd = [spy, "record", "--pid", str(pid), "--format", "raw", "--output", str(out), "--gil", "--nonblocking"]
        spies.append((await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.DEVNULL), out))
    await asyncio.sleep(1.0)  # py-spy attaches before the measurement starts
    try:
        yield
    finally:
        for child, _ in spies:
            child.send_signal(signal.SIGINT)  # py-spy writes its profile when interrupted; ours, by pid
        for child, out in spies:
            await child.wait()
            say(f"    py-spy profile of {label}: {out}")
            for line in profile_summary(out):
                say(f"      {line}")


GENERIC = ("<frozen", "asyncio/", "threading.py", "concurrent/", "selectors.py", "contextlib.py", "runpy", "bench/")


def profile_summary(path: Path, top: int = 25) -> list[str]:
    """The frames most often on the stack (share of the samples, inclusive), the event loop's and threads' own left
    out, in a py-spy raw profile: the biggest first, callers before what they call."""
    if not path.exists():
        return ["(no profile written: is py-spy installed, and may it attach?)"]
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        frames = {frame.rsplit(":", 1)[0] + ")" for frame in stack.split(";")}  # without line numbers, each once
        inclusive.update({frame: int(count) for frame in frames if not any(g in frame for g in GENERIC)})
    shares = [f"{100 * n / max(total, 1):5.1f}% {frame}" for frame, n in inclusive.most_common(top)]
    return [f"{total} samples holding the GIL", *shares]


# --- 2: the whole lifecycle, for correctness --------------------------------------------------------------------------


async def lifecycle_phase(bench: Bench) -> None:
    a = bench.args
    year, n, step = bench.base_year + 4, a.lifecycle, timedelta(seconds=a.step)
    say(f"lifecycle (correctness, not speed): {n} cases from ajukan to selesai, {a.concurrency} at a time, {a.step:g}s")

    async def one(i: int) -> None:
        await happy_path(bench.http, bench.settings, year, f"LIFE-{i:05d}", step, say=quiet)

    await bench.put_cycle(year, step)  # every happy_path PUTs it again; concurrent first PUTs of a year collide
    before = bench.requests.copy()
    with Meter(bench.parts) as m:
        bench.fail("lifecycle", await bounded(n, a.concurrency, one))
    transitions, stages = bench.count_transitions(year), bench.stages(year)
    sent = bench.requests - before
    if stages != Counter({"selesai": n}) or transitions != LIFECYCLE_TRANSITIONS * n:
        bench.problems.append(f"lifecycle: {transitions} transitions, stages {dict(stages)}")
    say(
        f"  {stages['selesai']} of {n} cases reached selesai with {transitions} transitions in the audit log, in "
        f"{m.wall:.1f}s, mostly calendar waits ({transitions / m.wall:.1f} transitions/s: not a throughput figure)"
    )
    say(
        f"  the driver sent {sent.total()} API requests ({sent.total() / max(transitions, 1):.1f} per transition: "
        f"evidence uploads, reads, polling the calendar); {m.per(transitions)} per transition"
    )


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


NATIONAL = Actor(sub="bench", role="ditjen_ham")  # sees every overdue case, as Ditjen HAM's dashboard does


def dashboard_parts(engine: Engine, year: int, repeat: int) -> dict[str, float]:
    """The dashboard's own queries timed one by one (service/dashboard.py), to show where the time goes."""
    where = dashboard.case_filters(year, None, None)
    now = datetime.now(UTC)
    parts: dict[str, Callable[[Session], Any]] = {
        "counts per region and stage": lambda s: dashboard.counts(s, where),
        "overdue": lambda s: dashboard.overdue(s, where, now, 20, NATIONAL),
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
    say(
        f"cohort: {m} units, {c} at a time (service/cohort.py, as `p2ham cohort open`) vs {m} bare starts, "
        f"{a.cohort_rounds} round(s), interleaved"
    )
    run = uuid.uuid4().hex[:8]

    recorded: list[float] = []  # seconds from a cohort's start until its last case is in the read model

    async def cohort(r: int) -> None:
        units = cohort_units(f"COHORT{r}", m)
        result = await open_cohort(bench.engine, bench.client, TASK_QUEUE, year, units, ADMIN, concurrency=c)
        bench.fail("cohort", [f"{f.unit}: {f.error}: {f.why}" for f in result.failures])
        if result.started != m:
            bench.problems.append(f"cohort: started {result.started} of {m}")

    async def drain_cohort(r: int, began: float) -> None:
        # As `p2ham cohort open` does after its starts; not timed with them, but reported, and the next measurement
        # does not pay for this cohort's first workflow tasks.
        await in_read_model(bench, "cohort", year, cohort_units(f"COHORT{r}", m))
        recorded.append(time.perf_counter() - began)

    async def bare(r: int) -> None:
        async def one(i: int) -> None:
            await bench.client.start_workflow(
                TrivialWorkflow.run, id=f"bench-bare-{run}-{r}-{i}", task_queue=FLOOR_QUEUE
            )

        bench.fail("bare start_workflow", await bounded(m, c, one))

    async def drain(r: int) -> None:
        # start_workflow returns before the worker has run the workflow: let the worker finish them before the next
        # measurement, or their first tasks would be paid for by whatever is measured next.
        async def one(i: int) -> None:
            await bench.client.get_workflow_handle(f"bench-bare-{run}-{r}-{i}").result()

        bench.fail("bare start_workflow (completion, not timed)", await bounded(m, c, one))

    kinds: dict[str, Callable[[int], Awaitable[None]]] = {
        "cohort": cohort,
        "bare start_workflow": bare,
    }
    rates: dict[str, list[float]] = {name: [] for name in kinds}
    order = list(kinds)
    for r in range(a.cohort_rounds):
        line = []
        for name in order:
            began = time.perf_counter()
            async with profiled(bench, f"cohort-{name}", first=r == 0):
                with Meter(bench.parts) as meter:
                    await kinds[name](r)
            if name == "bare start_workflow":
                await drain(r)
            if name == "cohort":
                await drain_cohort(r, began)
            rates[name].append(m / meter.wall)
            line.append(f"{name} {m / meter.wall:.1f}/s ({meter.per(m)})")
        say(f"  round {r + 1}/{a.cohort_rounds}: " + "; ".join(line))
        order = order[1:] + order[:1]

    def ratios(bottom: str) -> list[float]:
        return [x / y for x, y in zip(rates["cohort"], rates[bottom], strict=True)]

    say("  starts/s: " + "; ".join(f"{name} {spread(rates[name], '/s', 1)}" for name in kinds))
    say(f"  ratio cohort/bare start_workflow: {spread(ratios('bare start_workflow'))} (target >= 0.8x)")
    say(f"  cohort of {m} all in the read model (as `p2ham cohort open` waits for): {spread(recorded, ' s', 1)}")
    say(f"  units/s until all are in the read model: {spread([m / x for x in recorded], '/s', 1)}")


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

    step = 1000 if n >= 2000 else max(n // 2, 1)

    def progress(found: int) -> None:
        # Sampled as cases reach the read model: each has then run its first steps in the worker and waits.
        if found >= samples[-1][0] + step or found == n:
            now, peak, _ = worker_memory(bench)
            say(f"  {found} open and waiting, worker RSS {mib(now)} (peak {mib(peak)})")
            samples.append((found, now))

    units = cohort_units("IDLE", n)
    began = time.perf_counter()
    with Meter(bench.parts) as m:
        result = await open_cohort(
            bench.engine, bench.client, TASK_QUEUE, year, units, ADMIN, concurrency=a.cohort_concurrency
        )
    bench.fail("idle", [f"{f.unit}: {f.error}: {f.why}" for f in result.failures])
    missing = await await_read_model(bench.engine, year, [u.code for u in units], READY_TIMEOUT, progress)
    if missing:
        bench.problems.append(f"idle: {missing} cases never reached the read model")
    after, peak, whose = worker_memory(bench)
    say(
        f"  idle: {result.started} open cases, all in the read model after {time.perf_counter() - began:.0f}s "
        f"(started in {m.wall:.0f}s); worker RSS {mib(after)}, peak {mib(peak)} ({whose})"
    )
    if n >= 20_000:
        return
    # Past the worker's workflow cache (P2HAM_WORKER_CACHED_CASES) the growth per case is what the last ones added.
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


def tuning_of(a: argparse.Namespace) -> Tuning:
    options: dict[str, Any] = {}
    for option in a.worker_option:
        key, _, value = option.partition("=")
        options[key] = int(value) if value.lstrip("-").isdigit() else value
    return Tuning(a.sqlite_synchronous, options, a.activity_threads, a.unsandboxed)


def server_config(a: argparse.Namespace, second: bool = False) -> dict[str, str]:
    """The dev server's dynamic config: the production file's (as `p2ham dev` and the topology test give it), with
    --dynamic-config's values in their place; the compared server's, with --compare-dynamic-config's on top."""
    values = dynamic_config()
    for kv in a.dynamic_config + (a.compare_dynamic_config if second else []):
        key, _, value = kv.partition("=")
        values[key] = value
    return values


async def run_in(a: argparse.Namespace, tmp: Path) -> int:
    settings = Settings(
        mode="dev",
        database_url=a.database_url or f"sqlite:///{tmp / 'bench.db'}",
        task_queue=TASK_QUEUE,
        jwt_secret="bench-" + secrets.token_hex(16),
        evidence_dir=tmp / "evidence",
    )
    tuning = tuning_of(a)
    say(f"P2HAM benchmark on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    say(f"tuning: {tuning.describe()}" + "".join(f"; server {kv}" for kv in a.dynamic_config))
    first = ("server " + (", ".join(a.dynamic_config) or "as configured")) if a.compare_dynamic_config else ""
    async with stack(a, settings, tuning, server_config(a), first) as bench:
        if a.database_url:  # a shared database may hold earlier runs: years of our own
            bench.base_year = 5000 + 8 * secrets.randbelow(600)
        if not a.compare_dynamic_config:
            return await phases(bench, [])
        # A second server and worker, their own read model: the bursts run on both, round by round (throughput_phase).
        label = "server " + ", ".join(a.compare_dynamic_config)
        second = settings.model_copy(
            update={"database_url": a.database_url or f"sqlite:///{tmp / 'compare.db'}", "evidence_dir": tmp / "ev2"}
        )
        async with stack(a, second, tuning, server_config(a, second=True), label) as other:
            other.base_year = bench.base_year + 5  # years the first stack does not use, in a shared database
            return await phases(bench, [other])


@asynccontextmanager
async def stack(
    a: argparse.Namespace, settings: Settings, tuning: Tuning, config: dict[str, str], label: str = ""
) -> AsyncIterator[Bench]:
    """A dev server with `config`, the API over ASGI, and the workers (child processes, or in this process)."""
    others = set(temporal_server_pids())
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_existing_path=temporal_binary(),
        dev_server_log_level="error",  # its "slow gRPC call" warnings would drown the numbers
        dev_server_extra_args=dynamic_config_flags(config),
    )
    async with env:
        engine = tune_engine(make_engine(settings.database_url), tuning)
        app = create_app(settings, client=env.client)
        tune_engine(app.state.p2ham.engine, tuning)
        add_plain_sql_route(app)
        transport = httpx.ASGITransport(app=app)
        requests: Counter[str] = Counter()

        async def count(request: httpx.Request) -> None:
            requests[request.method] += 1

        hooks = {"request": [count]}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://p2ham.bench", timeout=120, event_hooks=hooks
        ) as http:
            servers = [pid for pid in temporal_server_pids() if pid not in others]
            bench = Bench(a, settings, env.client, engine, http, servers, tuning, label=label, requests=requests)
            if not bench.server_pids:
                say("  (the Temporal server process was not found: CPU times count this process only)")
            async with workers(bench):
                yield bench


@asynccontextmanager
async def workers(bench: Bench) -> AsyncIterator[None]:
    a = bench.args
    of = f" ({bench.label})" if bench.label else ""
    children: list[asyncio.subprocess.Process] = []
    in_process: list[Worker] = []
    try:
        if a.worker_processes:
            children = await start_worker_processes(bench, a.worker_processes)
            bench.worker_pids = [child.pid for child in children]
            say(f"workers{of}: {a.worker_processes} separate process(es); the API and the driver in this one")
        else:
            in_process = [
                service_worker(bench.client, bench.engine, TASK_QUEUE, bench.tuning),
                floor_worker(bench.client, FLOOR_QUEUE),
            ]
            for w in in_process:
                await w.__aenter__()
            say(f"workers{of}: in this process (the API and the driver run here too)")
        yield
    finally:
        for w in reversed(in_process):
            await w.__aexit__(None, None, None)
        for child in children:  # ours: started above, stopped by pid
            child.terminate()
            await child.wait()


async def phases(bench: Bench, others: list[Bench]) -> int:
    """Every phase on `bench`; the throughput bursts also on `others` (servers with another dynamic config)."""
    a = bench.args
    started = time.perf_counter()
    if a.cases:
        await throughput_phase([bench, *others])
    if a.lifecycle:
        await lifecycle_phase(bench)
    if a.cases:
        now, peak, whose = worker_memory(bench)
        say(f"worker memory so far: RSS {mib(now)}, peak {mib(peak)} ({whose})")
        await dashboard_phase(bench, bench.base_year, f"the {a.cases} throughput cases")
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
    problems = [problem for b in (bench, *others) for problem in b.problems]
    for problem in problems:
        say(f"PROBLEM: {problem}")
    say(f"benchmark took {time.perf_counter() - started:.0f}s")
    return 1 if problems else 0


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument("--cases", type=int, default=100, help="cases (and floor workflows) per burst (0: skip)")
    p.add_argument("--updates", type=int, default=3, help="Updates per case (and per floor workflow) in each burst")
    p.add_argument("--rounds", type=int, default=5, help="rounds of the four throughput bursts")
    p.add_argument(
        "--events",
        choices=EVENT_MIXES,
        default="jadwal_ulang",
        help="the bursts' official events: a small self-transition, or the revision loop (stage changes, full reports)",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=10,
        help="cases (and floor workflows) at once; keep it under the API's 15 database connections (see README)",
    )
    p.add_argument("--lifecycle", type=int, default=20, help="cases through the whole lifecycle (0: skip)")
    p.add_argument("--step", type=float, default=1.0, help="seconds per step of the lifecycle's compressed calendar")
    p.add_argument("--dashboard-rows", type=int, default=20_000, help="synthetic cases for the dashboard (0: skip)")
    p.add_argument("--repeat", type=int, default=50, help="timed requests per dashboard measurement")
    p.add_argument("--cohort", type=int, default=5000, help="units in each cohort start measurement (0: skip)")
    p.add_argument("--cohort-concurrency", type=int, default=32, help="starts at once, cohort and bare alike")
    p.add_argument("--cohort-rounds", type=int, default=1, help="rounds of the cohort and its baseline")
    p.add_argument("--idle", type=int, default=0, help="open cases to leave idle while measuring worker memory")
    p.add_argument("--worker-processes", type=int, default=1, help="workers in child processes; 0: in this process")
    p.add_argument("--database-url", default=None, help="read model; default: a fresh SQLite file")
    experiments = p.add_argument_group("experiments (one setting changed; the default is the application's own)")
    experiments.add_argument("--sqlite-synchronous", choices=SYNCHRONOUS, default="", help="PRAGMA synchronous")
    experiments.add_argument(
        "--worker-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a temporalio Worker argument, e.g. max_cached_workflows=4000 or max_concurrent_workflow_tasks=4",
    )
    experiments.add_argument("--activity-threads", type=int, default=0, help="the worker's activity thread pool")
    experiments.add_argument("--unsandboxed", action="store_true", help="workflows without the sandbox (cost only)")
    experiments.add_argument(
        "--dynamic-config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a Temporal server dynamic config value in place of deploy/temporal/dynamicconfig.yaml's, e.g. "
        "system.enableActivityEagerExecution=true",
    )
    experiments.add_argument(
        "--compare-dynamic-config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a second server with this value too: the throughput bursts run on both servers, round by round, "
        "and each is compared with its own floor and with the first",
    )
    experiments.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="py-spy profiles of the first round of each measurement, written to DIR (they slow what they record)",
    )
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    status = 1
    # SIGTERM (timeout, kill) unwinds like Ctrl-C, so the dev server and worker processes are stopped, not orphaned.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
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
