"""The benchmark's worker: the service's worker (worker.build_worker) and the floor's, with the benchmark's tuning.

`python -m bench --worker-processes K` runs this module in K child processes, until SIGTERM, configured like worker.py
through the P2HAM_* environment, plus P2HAM_BENCH_TUNING (JSON, see `Tuning`). In-process runs call `service_worker`.

The tuning flags exist to measure proposed changes to the application (worker.py, models/db.py) without editing it:
they pass Worker arguments to the very same `build_worker` and wrap `make_engine`, and change only the setting named.
"""

import asyncio
import json
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Engine, event
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from bench.floor import FLOOR_ACTIVITIES, FLOOR_WORKFLOWS
from models.db import make_engine
from service.settings import get_settings
from worker import build_worker, connect

TUNING_ENV = "P2HAM_BENCH_TUNING"
SYNCHRONOUS = ("", "full", "normal", "off")  # "": the application's own setting (SQLite's default, FULL)


@dataclass
class Tuning:
    """Settings the application does not expose, changed for an experiment; the defaults change nothing."""

    sqlite_synchronous: str = ""
    worker_options: dict[str, Any] = field(default_factory=dict)  # temporalio Worker keyword arguments
    activity_threads: int = 0  # 0: worker.py's thread pool as it is (16)
    unsandboxed: bool = False  # run workflows without the sandbox: to measure its cost, never for production

    def describe(self) -> str:
        parts = [f"PRAGMA synchronous={self.sqlite_synchronous.upper()}"] if self.sqlite_synchronous else []
        parts += [f"{k}={v}" for k, v in self.worker_options.items()]
        parts += [f"activity threads {self.activity_threads}"] if self.activity_threads else []
        parts += ["workflows UNSANDBOXED"] if self.unsandboxed else []
        return ", ".join(parts) or "none (the application's own settings)"

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> "Tuning":
        raw = os.environ.get(TUNING_ENV)
        return cls(**json.loads(raw)) if raw else cls()


def tune_engine(engine: Engine, tuning: Tuning) -> Engine:
    """Every new SQLite connection of `engine` gets the PRAGMA; pooled ones are dropped so that none escapes it."""
    if tuning.sqlite_synchronous and engine.dialect.name == "sqlite":
        pragma = f"PRAGMA synchronous={tuning.sqlite_synchronous.upper()}"
        event.listen(engine, "connect", lambda conn, _: conn.execute(pragma))
        engine.dispose()
    return engine


def service_worker(client: Client, engine: Engine, task_queue: str, tuning: Tuning) -> Worker:
    """worker.build_worker itself, with the Worker arguments that `tuning` changes."""
    options: dict[str, Any] = dict(tuning.worker_options)
    if tuning.activity_threads:
        options["activity_executor"] = ThreadPoolExecutor(max_workers=tuning.activity_threads)
    if tuning.unsandboxed:
        options["workflow_runner"] = UnsandboxedWorkflowRunner()
    return build_worker(client, engine, task_queue, **options)


def floor_worker(client: Client, task_queue: str) -> Worker:
    """The floor's worker: its workflows and its no-op activity, nothing of the service's."""
    return Worker(client, task_queue=task_queue, workflows=FLOOR_WORKFLOWS, activities=FLOOR_ACTIVITIES)


async def main(floor_queue: str) -> None:
    settings = get_settings()
    tuning = Tuning.from_env()
    client = await connect(settings)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    engine = tune_engine(make_engine(settings.database_url), tuning)
    service = service_worker(client, engine, settings.task_queue, tuning)
    floor = floor_worker(client, floor_queue)
    async with service, floor:
        print("ready", flush=True)  # the benchmark waits for this line before it measures anything
        await stop.wait()


if __name__ == "__main__":
    status = 0
    try:
        asyncio.run(main(sys.argv[1]))
    except Exception as e:
        print(f"bench worker: {type(e).__name__}: {e}", file=sys.stderr)
        status = 1
    # temporalio sdk-python #300: leave without interpreter shutdown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
