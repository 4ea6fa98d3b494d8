"""Runs the Temporal worker: the case workflow and its activities, on the `P2HAM_TASK_QUEUE` task queue."""

import asyncio
import logging
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import TLSConfig
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.archive import Archiver
from activities.ceremony import CeremonyActivities
from activities.notifications import Mailer, Notifications
from activities.projection import Projection
from models.db import make_engine
from service.archive import HistoryStore, store_for
from service.observability import configure_logging
from service.settings import CACHED_CASES, Settings, UnsafeSettings, check_production, get_settings
from workflows.archive import ArchiveWorkflow
from workflows.ceremony import CeremonyWorkflow
from workflows.unit import CaseWorkflow

# python-statemachine touches pathlib, time and threading at import: it is deterministic in use, so pass it through.
# The lifecycle and reminder rules are pure functions of their arguments (no clock, no I/O): passed through, they are
# imported once per worker, not re-imported (and the state machine class rebuilt) for every case the worker starts.
PASSTHROUGH = ("statemachine", "pydantic", "models", "workflows.lifecycle", "workflows.reminders")
SANDBOX = SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH))


def tls_config(settings: Settings) -> TLSConfig | None:
    """mTLS to the Temporal frontend when a client certificate is configured (deploy/make-certs.sh makes them)."""
    if settings.temporal_tls_cert_file is None:
        return None
    assert settings.temporal_tls_key_file, "P2HAM_TEMPORAL_TLS_CERT_FILE needs P2HAM_TEMPORAL_TLS_KEY_FILE"
    ca = settings.temporal_tls_ca_file
    return TLSConfig(
        server_root_ca_cert=ca.read_bytes() if ca else None,
        client_cert=settings.temporal_tls_cert_file.read_bytes(),
        client_private_key=settings.temporal_tls_key_file.read_bytes(),
        domain=settings.temporal_tls_server_name,
    )


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime,
        tls=tls_config(settings) or False,
    )


def metrics_runtime(settings: Settings) -> Runtime | None:
    """temporalio's own worker metrics (task latencies, slots, cache) served for Prometheus, when an address is set."""
    if not settings.worker_metrics_address:
        return None
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=settings.worker_metrics_address)))


def mailer(settings: Settings) -> Mailer | None:
    if not settings.smtp_host:
        return None
    return Mailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_sender,
        username=settings.smtp_username,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
    )


def build_worker(
    client: Client,
    engine: Engine,
    task_queue: str,
    mail: Mailer | None = None,
    ditjen_email: str | None = None,
    cached_cases: int = CACHED_CASES,
    archive: HistoryStore | None = None,
    **options: Any,
) -> Worker:
    """The service's worker. `options`: temporalio Worker arguments that replace the defaults below (the benchmark's
    experiments, e.g. another activity pool or workflow runner)."""
    defaults: dict[str, Any] = {
        "activity_executor": ThreadPoolExecutor(max_workers=16),
        "workflow_runner": SANDBOX,
        # Bounds the worker's memory however many cases are open: an evicted case is replayed when it next wakes.
        "max_cached_workflows": cached_cases,
        # On SIGTERM, running activities (a projection, a mail) get this long to finish before they are cancelled;
        # compose's stop_grace_period for the worker is longer.
        "graceful_shutdown_timeout": timedelta(seconds=get_settings().worker_graceful_shutdown_seconds),
    }
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[CaseWorkflow, CeremonyWorkflow, ArchiveWorkflow],
        activities=[
            Projection(engine).project_transition,
            Archiver(client, engine, archive or store_for(get_settings())).arsipkan_riwayat,
            *CeremonyActivities(client, engine).activities(),
            Notifications(engine, mail, ditjen_email, get_settings().language).kirim_notifikasi,
        ],
        **{**defaults, **options},
    )


async def main() -> None:
    settings = get_settings()
    client = await connect(settings, metrics_runtime(settings))
    engine = make_engine(settings.database_url)
    worker = build_worker(
        client,
        engine,
        settings.task_queue,
        mailer(settings),
        settings.ditjen_email,
        settings.worker_cached_cases,
        archive=store_for(settings),
    )
    logging.info("worker polling task queue %s on %s", settings.task_queue, settings.temporal_address)
    # SIGTERM (docker stop, a deploy) stops polling and lets running activities finish; then the process ends.
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    async with worker:
        await stop.wait()
        logging.info("worker stopping: no new tasks, running activities may finish")


def run() -> None:
    configure_logging(get_settings().log_level)
    status = 0
    try:
        check_production(get_settings())
        asyncio.run(main())
    except UnsafeSettings as e:
        print(f"p2ham worker: {e}", file=sys.stderr, flush=True)
        status = 2
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
