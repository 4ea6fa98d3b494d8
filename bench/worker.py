"""A worker process for `python -m bench --worker-processes K`: the service's worker (worker.build_worker) and the
floor's, until SIGTERM. Configured like worker.py, through the P2HAM_* environment."""

import asyncio
import os
import signal
import sys

from temporalio.worker import Worker

from bench.floor import FLOOR_WORKFLOWS
from models.db import make_engine
from service.settings import get_settings
from worker import build_worker, connect


async def main(floor_queue: str) -> None:
    settings = get_settings()
    client = await connect(settings)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    service = build_worker(client, make_engine(settings.database_url), settings.task_queue)
    floor = Worker(client, task_queue=floor_queue, workflows=FLOOR_WORKFLOWS)
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
