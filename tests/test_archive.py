"""A closed case's history outlives Temporal: exported to the archive when the case ends, audited from there after it
is deleted from Temporal, and a changed archive file is caught by the sha256 in the read model."""

import asyncio
import base64
import hashlib
import io
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client, WorkflowHistory

from activities.archive import Archiver
from models.contracts import ClosedRun
from models.policy import compressed_calendar
from models.tables import ArchivedRunRow
from service.archive import DirectoryStore, S3Store, archive_key, ensure_namespace, read_location
from service.auth import mint
from service.demo import open_case
from service.settings import HISTORY_RETENTION, Settings
from tests.conftest import temporal_binary
from tests.replay import replayer
from tests.test_audit import audit, cli_env, quiet, run
from workflows.unit import case_workflow_id


async def archived_rows(engine: Engine, workflow_id: str, timeout: float = 60) -> list[ArchivedRunRow]:
    """Wait until the case's archive workflow has recorded its run(s); the archiving follows the case's close."""
    deadline = time.monotonic() + timeout
    while True:
        with Session(engine) as session:
            query = select(ArchivedRunRow).where(ArchivedRunRow.workflow_id == workflow_id)
            rows = list(session.exec(query.order_by(col(ArchivedRunRow.run_number))))
        if rows:
            return rows
        assert time.monotonic() < deadline, f"{workflow_id} was not archived within {timeout}s"
        await asyncio.sleep(0.2)


async def cancelled_case(api: httpx.AsyncClient, settings: Settings, year: int, unit: str) -> str:
    """A case applied for and cancelled by its operator: it ends (dibatalkan) at once."""
    now = datetime.now(UTC)
    d = await open_case(api, settings, year, unit, compressed_calendar(now, timedelta(minutes=10)), say=quiet)
    await d.send("batalkan", "operator", {"alasan": "unit digabung dengan unit lain"})
    return case_workflow_id(year, unit)


async def deleted_from_temporal(client: Client, workflow_id: str) -> None:
    """`temporal workflow delete`, the CLI an operator (or retention) uses, then wait until Temporal forgot it."""
    target = client.service_client.config.target_host
    process = await asyncio.create_subprocess_exec(
        temporal_binary(), "workflow", "delete", "--address", target, "--namespace", client.namespace,
        "--workflow-id", workflow_id, "--yes", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await process.communicate()
    assert process.returncode == 0, out.decode()
    deadline = time.monotonic() + 60
    while True:
        try:
            await client.get_workflow_handle(workflow_id).describe()
        except Exception:
            return
        assert time.monotonic() < deadline, f"Temporal still holds {workflow_id} a minute after its deletion"
        await asyncio.sleep(0.2)


ARCHIVE_YEAR = 4611  # outside the `year` fixture's range: the module's two deleted cases share it
KEPT, CHANGED = "KANIM-ARSIP", "KANIM-ARSIP-UBAH"


@dataclass
class Deleted:
    rows: dict[str, ArchivedRunRow]
    live: dict[str, dict]  # the audit of each while Temporal still held it


@pytest.fixture(scope="module")
async def deleted(api: httpx.AsyncClient, settings: Settings, client: Client, engine: Engine) -> Deleted:
    """Two closed cases, archived, audited, then deleted from Temporal (together: a deletion takes the dev server
    about half a minute)."""
    found = Deleted({}, {})
    auditor = {"Authorization": f"Bearer {mint(settings, 'auditor', 'auditor-1')}"}
    for unit in (KEPT, CHANGED):
        workflow_id = await cancelled_case(api, settings, ARCHIVE_YEAR, unit)
        rows = await archived_rows(engine, workflow_id)
        assert [row.run_number for row in rows] == [1]
        found.rows[unit] = rows[0]
        found.live[unit] = await audit(api, lambda role: auditor, ARCHIVE_YEAR, unit)
    await asyncio.gather(*(deleted_from_temporal(client, row.workflow_id) for row in found.rows.values()))
    return found


async def test_a_closed_case_is_archived_and_audited_from_the_archive_once_deleted(
    api: httpx.AsyncClient, settings: Settings, client: Client, token, deleted: Deleted
):
    row, live = deleted.rows[KEPT], deleted.live[KEPT]
    # The archived file is the closed run's whole history, in the format of tests/histories/, under its ids.
    data = read_location(row.location)
    assert urlsplit(row.location).path.endswith(archive_key(row.workflow_id, row.run_id))
    assert hashlib.sha256(data).hexdigest() == row.sha256 and len(data) == row.size
    archived = WorkflowHistory.from_json(row.workflow_id, data.decode())
    assert archived.run_id == row.run_id and row.events == len(archived.events)
    assert archived.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    await replayer().replay_workflow(archived)
    assert live["ok"], live["differences"]
    assert live["replay"]["history_from"] == "temporal" and live["replay"]["history_events"] == row.events

    verdict = await audit(api, token, ARCHIVE_YEAR, KEPT)
    print(f"audit after deletion from Temporal: ok={verdict['ok']}, history from {verdict['replay']['history_from']}")
    assert verdict["ok"], verdict["differences"]
    assert verdict["replay"]["history_from"] == "archive"
    assert verdict["replay"]["history_events"] == row.events
    assert verdict["chain"]["last_hash"] == live["chain"]["last_hash"]

    # The command line says where the history came from, too.
    status, out = await run(str(Path(temporal_binary()).with_name("p2ham")), "audit", str(ARCHIVE_YEAR), KEPT,
                            env=cli_env(settings, client))  # fmt: skip
    assert status == 0, out
    assert "peristiwa riwayat Temporal (dari arsip) melalui kode workflow saat ini" in out, out


async def test_a_changed_archive_file_is_caught(api: httpx.AsyncClient, token, deleted: Deleted):
    row = deleted.rows[CHANGED]
    assert deleted.live[CHANGED]["ok"], deleted.live[CHANGED]["differences"]
    path = Path(urlsplit(row.location).path)
    # Someone rewrites who applied for the case in the archived history (still valid JSON, still replayable).
    history = json.loads(path.read_text())
    started = history["events"][0]["workflowExecutionStartedEventAttributes"]["input"]["payloads"][0]
    original = base64.b64decode(started["data"])
    started["data"] = base64.b64encode(original.replace(f"op-{CHANGED}".encode(), b"op-KANIM-LAIN-XX")).decode()
    assert base64.b64decode(started["data"]) != original
    path.write_text(json.dumps(history))
    verdict = await audit(api, token, ARCHIVE_YEAR, CHANGED)
    print(f"audit of a changed archive file: ok={verdict['ok']}, differences={len(verdict['differences'])}")
    assert not verdict["ok"]
    [changed] = [d["params"] for d in verdict["difference_codes"] if d["code"] == "audit.arsip_diubah"]
    assert changed["run_id"] == row.run_id and changed["sha256_tercatat"] == f"{row.sha256[:12]}…"
    assert any(
        f"Riwayat arsip run {row.run_id}" in d and "diubah setelah diarsipkan" in d and row.sha256[:12] in d
        for d in verdict["differences"]
    ), verdict["differences"]

    path.unlink()  # and a lost file is named, with what to do
    verdict = await audit(api, token, ARCHIVE_YEAR, CHANGED)
    assert not verdict["ok"]
    assert "audit.arsip_tidak_terbaca" in [d["code"] for d in verdict["difference_codes"]]
    assert any("tidak dapat dibaca" in d and "Pulihkan dari cadangan arsip." in d for d in verdict["differences"])


async def test_an_archived_run_is_not_archived_again(
    api: httpx.AsyncClient, settings: Settings, client: Client, engine: Engine, year: int
):
    """The export is idempotent: exporting a recorded run again (a retried activity) rewrites nothing."""
    workflow_id = await cancelled_case(api, settings, year, "KANIM-ARSIP-ULANG")
    row = (await archived_rows(engine, workflow_id))[0]
    path = Path(urlsplit(row.location).path)
    written_at = path.stat().st_mtime_ns
    archiver = Archiver(client, engine, DirectoryStore(settings.archive_dir))
    again = ClosedRun(workflow_id=workflow_id, run_id=row.run_id, year=year, unit="KANIM-ARSIP-ULANG")
    assert await archiver.arsipkan_riwayat(again) == 0
    assert path.stat().st_mtime_ns == written_at
    assert len(await archived_rows(engine, workflow_id)) == 1


class RecordingMinio:
    """Stands in for the minio client (a third-party library; no S3 server runs here): records what is put."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}

    def put_object(self, bucket: str, name: str, data: io.BytesIO, length: int, content_type: str) -> None:
        assert content_type == "application/json"
        self.objects[(bucket, name)] = data.read(length)


def test_the_s3_key_layout():
    minio = RecordingMinio()
    store = S3Store(minio, "arsip-p2ham", "p2ham-histories/")
    location = store.put(archive_key("p2ham-2027-KANIM JKT/1", "0f1e-run"), b"{}")
    assert minio.objects == {("arsip-p2ham", "p2ham-histories/p2ham-2027-KANIM%20JKT%2F1/0f1e-run.json"): b"{}"}
    assert location == "s3://arsip-p2ham/p2ham-histories/p2ham-2027-KANIM%20JKT%2F1/0f1e-run.json"
    # Every id stays inside its own folder: no `/` or `..` of an id can climb out.
    assert archive_key("../../etc", "..") == "..%2F..%2Fetc/...json"


def test_the_retention_setting_reads_days():
    assert Settings().history_retention == HISTORY_RETENTION == timedelta(days=3653)
    assert Settings(history_retention="3653d").history_retention == timedelta(days=3653)
    assert Settings(history_retention="P400D").history_retention == timedelta(days=400)


async def test_the_namespace_keeps_histories_for_the_retention(client: Client):
    async def retention(namespace: str) -> int:
        described = await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
        return described.config.workflow_execution_retention_ttl.seconds

    created = f"p2ham-retention-{time.monotonic_ns()}"
    await ensure_namespace(client, created, timedelta(days=3653))
    assert await retention(created) == 3653 * 24 * 3600
    # The namespace that exists (the dev server's default, as at each `p2ham dev` start) gets the retention set.
    await ensure_namespace(client, client.namespace, timedelta(days=3653))
    assert await retention(client.namespace) == 3653 * 24 * 3600
