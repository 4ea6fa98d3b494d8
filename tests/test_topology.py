"""The production topology, run here without Docker: one Temporal dev server on its SQLite file with the dynamic
config compose mounts, the namespace made by deploy/temporal-setup.sh, the read model on the local PostgreSQL, three
worker processes and two API processes (uvicorn) started with the environment docker-compose.yml gives them.

Cases are driven through both APIs; one worker is killed with SIGKILL and another stopped with SIGTERM while events
are in flight; the Temporal server is restarted once. Afterwards every case is at its expected stage with exactly its
expected transitions, the audit is clean for each, and the cancelled ones are archived. It checks correctness, not
speed; every wait is for a condition, bounded.
"""

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, make_url
from sqlmodel import Session, select
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from models.db import make_engine
from models.policy import compressed_calendar
from models.tables import ArchivedRunRow, TransitionRow
from service.cli import dynamic_config_flags
from service.demo import WITNESSES, Driver, open_case
from service.settings import Settings
from tests.conftest import temporal_binary
from tests.test_compose import COMPOSE_FILE, OPERATOR_ENV, environment, interpolate
from tests.test_dev_stack import free_ports
from tests.test_faults import (
    POSTGRES_URL,
    WAIT,
    Children,
    DevServer,
    children,
    eventually,
    log_problems,
    quiet,
    tell,
    temporal_problems,
)

ROOT = Path(__file__).resolve().parent.parent
CASES = 8  # half through each API
YEAR = 4711
START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start  (as .ci/run does)"


def postgres_database() -> tuple[str, str]:
    """A fresh database on the local PostgreSQL: (its URL, the server's URL). No PostgreSQL fails the test."""
    server = make_url(POSTGRES_URL)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"p2ham_topology_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    except Exception as e:
        pytest.fail(f"PostgreSQL does not answer at {server.host}:{server.port} ({e}); start it: {START_POSTGRES}")
    finally:
        admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False), name


def drop_database(name: str) -> None:
    admin = create_engine(make_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


def compose_env(service: str, local: dict[str, str]) -> dict[str, str]:
    """The service's environment exactly as docker-compose.yml sets it, with the addresses and paths of this machine
    in place of the containers' (`local`), and no mTLS (the dev server has no TLS)."""
    import yaml

    compose = yaml.safe_load(COMPOSE_FILE.read_text())["services"][service]
    env = {key: interpolate(value, OPERATOR_ENV) for key, value in environment(compose).items()}
    unknown = set(local) - set(env)
    assert not unknown, f"{service}: compose does not set {unknown}; the topology would not be the production one"
    env = {k: v for k, v in env.items() if not k.startswith("P2HAM_TEMPORAL_TLS_")} | local
    clean = {k: v for k, v in os.environ.items() if not k.startswith("P2HAM_")}
    return clean | env | {"PYTHONUNBUFFERED": "1", "P2HAM_LOG_LEVEL": "WARNING"}


class ConfiguredServer(DevServer):
    """The dev server with the production dynamic config (deploy/temporal/dynamicconfig.yaml)."""

    def start(self) -> None:
        args = [temporal_binary(), "server", "start-dev", "--db-filename", str(self.db), "--ip", "127.0.0.1"]
        args += ["--port", str(self.port), "--ui-port", str(self.ui_port), "--headless", "--log-level", "warn"]
        self.child = self.kids.start("temporal", args + dynamic_config_flags())

    def stop(self) -> None:
        assert self.child is not None
        self.child.kill(signal.SIGTERM)


def setup_namespace(address: str, env: dict[str, str]) -> None:
    """deploy/temporal-setup.sh, the namespace step that compose's temporal-setup service runs."""
    setup = {**env, "TEMPORAL_ADDRESS": address, "TEMPORAL_CLI": temporal_binary()}
    done = subprocess.run(
        ["sh", str(ROOT / "deploy" / "temporal-setup.sh"), "namespace"],
        env=setup,
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert done.returncode == 0, done.stdout + done.stderr


async def healthy(api: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            health = (await http.get(f"{api}/health")).json()
        return bool(health.get("temporal") and health.get("database"))
    except (httpx.HTTPError, ValueError):
        return False


def count(engine, event: str) -> int:
    with Session(engine) as s:
        return len(s.exec(select(TransitionRow).where(TransitionRow.year == YEAR, TransitionRow.event == event)).all())


async def test_three_workers_two_apis_a_killed_and_a_stopped_worker_and_a_server_restart(tmp_path: Path, capsys):
    database_url, database = postgres_database()
    engine = make_engine(database_url)
    try:
        with children(tmp_path) as kids:
            await run_topology(kids, tmp_path, database_url, engine, capsys)
    finally:
        engine.dispose()
        drop_database(database)


async def run_topology(kids: Children, tmp_path: Path, database_url: str, engine, capsys) -> None:
    server = ConfiguredServer(kids, tmp_path / "temporal.db")
    server.start()
    await server.ready()
    local = {
        "P2HAM_DATABASE_URL": database_url,
        "P2HAM_TEMPORAL_ADDRESS": server.address,
        "P2HAM_EVIDENCE_DIR": str(tmp_path / "evidence"),
        "P2HAM_ARCHIVE_DIR": str(tmp_path / "archive"),
    }
    api_env = compose_env("api", local)
    setup_namespace(server.address, api_env)
    workers = []
    for port in free_ports(3):
        env = compose_env("worker", local | {"P2HAM_WORKER_METRICS_ADDRESS": f"127.0.0.1:{port}"})
        workers.append(kids.start(f"worker-{len(workers)}", [sys.executable, "worker.py"], env))
    apis = [f"http://127.0.0.1:{port}" for port in free_ports(2)]
    for api in apis:
        port = api.rsplit(":", 1)[1]
        kids.start(f"api-{port}", [sys.executable, "-m", "uvicorn", "service.api:app", "--port", port], api_env)
    for api in apis:
        await eventually(lambda api=api: healthy(api), f"the API at {api} answering")

    settings = Settings(_env_file=None, **{k.removeprefix("P2HAM_").lower(): v for k, v in api_env.items()
                                           if k.startswith("P2HAM_JWT_")})  # fmt: skip
    https = [httpx.AsyncClient(base_url=api, timeout=WAIT) for api in apis]
    now = datetime.now(UTC)
    calendar = compressed_calendar(now, timedelta(minutes=10))  # no timer fires during the test
    units = [f"KANIM-TOPO-{i:02d}" for i in range(CASES)]
    drivers: list[Driver] = []
    for i, unit in enumerate(units):  # cases opened through both APIs
        drivers.append(await open_case(https[i % 2], settings, YEAR, unit, calendar, say=quiet))

    # Ditjen HAM approves every case, through the other API; worker 0 is killed with SIGKILL meanwhile.
    jadwal = (now + timedelta(minutes=3)).isoformat()
    approve = {"jadwal": jadwal, "tempat": "Aula Kanwil", "saksi": WITNESSES}
    for d in drivers:
        d.http = https[(units.index(d.unit) + 1) % 2]
    approvals = asyncio.gather(*(d.send("setujui_permohonan", "ditjen", approve) for d in drivers))
    await eventually(lambda: asyncio.sleep(0, count(engine, "setujui_permohonan") > 0), "a first approval")
    workers[0].kill(signal.SIGKILL)
    await approvals
    assert workers[0].proc.returncode == -signal.SIGKILL

    # The Temporal server restarts (same SQLite file) while the workers and APIs keep running.
    server.stop()
    server.start()
    await server.ready()
    for api in apis:
        await eventually(lambda api=api: healthy(api), f"the API at {api} reaching Temporal again")

    # Odd cases cancelled, even ones rescheduled; worker 1 is stopped with SIGTERM meanwhile (graceful: exit 0).
    later = {"jadwal": (now + timedelta(minutes=4)).isoformat(), "alasan": "Kakanwil dinas luar"}
    events = [
        d.send("batalkan", "operator", {"alasan": "unit digabung"})
        if i % 2
        else d.send("jadwal_ulang", "kanwil", later)
        for i, d in enumerate(drivers)
    ]
    last = asyncio.gather(*events)
    await eventually(lambda: asyncio.sleep(0, count(engine, "jadwal_ulang") + count(engine, "batalkan") > 0), "a step")
    workers[1].proc.send_signal(signal.SIGTERM)
    await last
    await eventually(lambda: asyncio.sleep(0, workers[1].proc.poll() is not None), "worker 1 stopping on SIGTERM")
    assert workers[1].proc.returncode == 0, workers[1].tail()
    for http in https:
        await http.aclose()

    expected = {
        unit: ["ajukan", "setujui_permohonan", "batalkan" if i % 2 else "jadwal_ulang"] for i, unit in enumerate(units)
    }
    client = await Client.connect(server.address, namespace=api_env["P2HAM_TEMPORAL_NAMESPACE"],
                                  data_converter=pydantic_data_converter)  # fmt: skip
    problems: list[str] = []
    for unit, events_expected in expected.items():
        problems += log_problems(engine, YEAR, unit, events_expected)
        problems += await temporal_problems(client, engine, YEAR, unit)
    cancelled = [unit for i, unit in enumerate(units) if i % 2]

    async def all_archived() -> bool:
        with Session(engine) as s:
            return len(s.exec(select(ArchivedRunRow).where(ArchivedRunRow.year == YEAR)).all()) == len(cancelled)

    await eventually(all_archived, "every cancelled case archived")
    with Session(engine) as s:
        transitions = len(s.exec(select(TransitionRow).where(TransitionRow.year == YEAR)).all())
    tell(
        capsys,
        f"topology: {CASES} cases through 2 APIs, 3 workers (one SIGKILLed, one SIGTERMed), 1 Temporal restart: "
        f"{transitions} transitions (expected {sum(map(len, expected.values()))}), {len(cancelled)} archived, "
        f"{len(problems)} problems",
    )
    assert not problems, "\n".join(problems) + "\n" + kids.tails()
