"""Runs the Temporal worker: the case workflow and its activities, on the `P2HAM_TASK_QUEUE` task queue."""

import asyncio
import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.projection import Projection
from models.db import make_engine
from service.settings import Settings, get_settings
from workflows.unit import CaseWorkflow

# python-statemachine touches pathlib, time and threading at import: it is deterministic in use, so pass it through.
SANDBOX = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("statemachine", "pydantic", "models")
)


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address, namespace=settings.temporal_namespace, data_converter=pydantic_data_converter
    )


def build_worker(client: Client, engine: Engine, task_queue: str) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[CaseWorkflow],
        activities=[Projection(engine).project_transition],
        activity_executor=ThreadPoolExecutor(max_workers=16),
        workflow_runner=SANDBOX,
    )


async def main() -> None:
    settings = get_settings()
    client = await connect(settings)
    worker = build_worker(client, make_engine(settings.database_url), settings.task_queue)
    logging.info("worker polling task queue %s on %s", settings.task_queue, settings.temporal_address)
    await worker.run()


def run() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    status = 0
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    except Exception:
        logging.exception("worker stopped")
        status = 1
    # temporalio sdk-python #300: leave without interpreter shutdown, or the process can abort after its work is done.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    run()
