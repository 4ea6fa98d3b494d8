"""A long case continues as new when Temporal suggests it, carrying its state: nothing is lost or repeated."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from models.policy import compressed_calendar
from models.tables import TransitionRow
from service.api import create_app
from service.audit import verify_case
from service.demo import WITNESSES, sample_statement
from service.demo import open_case as open_demo_case
from service.settings import Settings
from tests.conftest import temporal_binary
from worker import build_worker
from workflows.unit import SEARCH_ATTRIBUTES, case_workflow_id

RESCHEDULES = 12


async def test_a_long_case_continues_as_new_with_its_state(settings: Settings, engine: Engine, year: int):
    # A dev server that suggests continue-as-new after 40 history events instead of thousands.
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_existing_path=temporal_binary(),
        dev_server_extra_args=["--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=40"],
    )
    async with env:
        own = settings.model_copy(update={"task_queue": f"p2ham-long-{uuid.uuid4().hex[:8]}"})
        app = create_app(own, client=env.client)
        async with (
            build_worker(env.client, engine, own.task_queue),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://p2ham.test") as http,
        ):
            now = datetime.now(UTC)
            d = await open_demo_case(http, own, year, "LAPAS-PANJANG", compressed_calendar(now, timedelta(seconds=10)))
            jadwal = now + timedelta(seconds=60)
            await d.send(
                "setujui_permohonan", "ditjen", {"jadwal": jadwal.isoformat(), "tempat": "Aula", "saksi": WITNESSES}
            )
            for n in range(RESCHEDULES):  # the Kakanwil's agenda keeps changing
                jadwal = datetime.now(UTC) + timedelta(seconds=3 + n * 0.01)
                await d.send(
                    "jadwal_ulang", "kanwil", {"jadwal": jadwal.isoformat(), "alasan": f"agenda bentrok ke-{n + 1}"}
                )
            await d.wait_until("kanwil", lambda v: "deklarasikan" in v["allowed"], "the last ceremony date", 30)
            await d.send("deklarasikan", "kanwil", {"saksi_hadir": WITNESSES})
            statement = await d.upload("kepala", "pernyataan.pdf", sample_statement(d.unit))
            view = await d.send("tandatangani_pernyataan", "kepala", {"dokumen": statement})
            history = await d.call("GET", f"{d.case_path}/history", "ditjen")
            runs = [w async for w in env.client.list_workflows(f"WorkflowId = '{case_workflow_id(year, d.unit)}'")]
            with Session(engine) as session:
                verdict = await verify_case(env.client, session, year, d.unit)

    assert view["stage"] == "pembangunan"
    statuses = [r.status for r in runs]
    assert statuses.count(WorkflowExecutionStatus.CONTINUED_AS_NEW) >= 1, f"no continue-as-new happened: {statuses}"
    entries = history["entries"]
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert [e["event"] for e in entries].count("jadwal_ulang") == RESCHEDULES
    with Session(engine) as session:
        rows = session.exec(
            select(TransitionRow).where(TransitionRow.year == year, TransitionRow.unit == "LAPAS-PANJANG")
        ).all()
    chain = sorted(rows, key=lambda r: r.seq)
    assert [r.prev_hash for r in chain[1:]] == [r.hash for r in chain[:-1]], "the hash chain broke across runs"
    assert verdict.ok, verdict.difference_codes  # the auditor replays every run, from the application on
    assert verdict.replay["runs"] == len(runs)
