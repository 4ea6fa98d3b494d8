"""Every closed case's Temporal history, kept beyond Temporal's retention, and read back for the audit.

How a history gets here without losing one: a case workflow, once its case reached a final stage, starts a small
child workflow (`workflows/archive.py`, parent-close policy ABANDON) as its very last act. The child outlives the case
and runs the export activity (`activities/archive.py`), which waits until the case run has closed (an activity cannot
read a complete history of a run still going), then fetches the history of that run and of every run it continued,
writes each as JSON (the format of tests/histories/) under `<workflow id>/<run id>.json`, and records its location
and sha256 in the read model (`archived_run`). Temporal keeps the child and its activity durable: a worker that dies
mid-export, a restarted server, an unreachable bucket only delay it; retries rewrite the same bytes, and a run
already recorded is left alone. The namespace's retention (`P2HAM_HISTORY_RETENTION`, ten years by default) keeps the
history in Temporal meanwhile, and much longer.

The audit (service/audit/) replays from Temporal while the history is there, and from here when it is not; a file
whose sha256 is not the one recorded was changed after it was archived, and is not replayed.
"""

import hashlib
import io
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, unquote, urlsplit

from google.protobuf.duration_pb2 import Duration
from sqlmodel import Session, col, select
from temporalio.api.namespace.v1 import NamespaceConfig
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    RegisterNamespaceRequest,
    UpdateNamespaceRequest,
)
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from models.tables import ArchivedRunRow
from service.settings import Settings, get_settings
from workflows.reasons import Reason, reason


def archive_key(workflow_id: str, run_id: str) -> str:
    """`<workflow id>/<run id>.json`, each part percent-encoded so that no id can climb out of its folder."""
    return f"{quote(workflow_id, safe='-_.')}/{quote(run_id, safe='-_.')}.json"


class HistoryStore(Protocol):
    def put(self, key: str, data: bytes) -> str:
        """Store the bytes under the key; returns the location recorded in the read model."""
        ...


@dataclass
class DirectoryStore:
    """A directory (in compose, a volume of its own). Written to a temporary name, then renamed: never half a file."""

    root: Path

    def put(self, key: str, data: bytes) -> str:
        path = (self.root / key).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(data)
        partial.replace(path)
        return path.as_uri()


@dataclass
class S3Store:
    """An S3-compatible bucket (AWS S3, MinIO, Ceph...) through the minio client."""

    client: Any  # minio.Minio
    bucket: str
    prefix: str = ""

    def put(self, key: str, data: bytes) -> str:
        name = self.prefix + key
        self.client.put_object(self.bucket, name, io.BytesIO(data), len(data), content_type="application/json")
        return f"s3://{self.bucket}/{name}"

    def get(self, name: str) -> bytes:
        response = self.client.get_object(self.bucket, name)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()


def minio_client(settings: Settings) -> Any:
    from minio import Minio  # only where a bucket is configured

    return Minio(
        settings.archive_s3_endpoint,
        access_key=settings.archive_s3_access_key,
        secret_key=settings.archive_s3_secret_key,
        secure=settings.archive_s3_secure,
    )


def store_for(settings: Settings) -> HistoryStore:
    if settings.archive_s3_bucket:
        return S3Store(minio_client(settings), settings.archive_s3_bucket, settings.archive_s3_prefix)
    return DirectoryStore(settings.archive_dir)


def read_location(location: str) -> bytes:
    """The bytes at a recorded location; an s3:// one through the bucket client configured in this process."""
    parts = urlsplit(location)
    if parts.scheme == "file":
        return Path(unquote(parts.path)).read_bytes()
    if parts.scheme == "s3":
        return S3Store(minio_client(get_settings()), parts.netloc).get(parts.path.lstrip("/"))
    raise ValueError(f"unknown archive location {location}")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def run_histories(client: Client, workflow_id: str, run_id: str | None = None) -> list[WorkflowHistory]:
    """Every run's history up to `run_id` (default: the latest run), oldest first: each run that continued a case
    names the run before it."""
    histories = [await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()]
    while before := histories[0].events[0].workflow_execution_started_event_attributes.continued_execution_run_id:
        histories.insert(0, await client.get_workflow_handle(workflow_id, run_id=before).fetch_history())
    return histories


# --- Read back for the audit ---------------------------------------------------------------------------------------


@dataclass
class Archived:
    """A case's archived histories, oldest run first, those whose bytes still match their recorded sha256."""

    histories: list[WorkflowHistory] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    differences: list[Reason] = field(default_factory=list)


def archived_histories(session: Session, workflow_id: str) -> Archived:
    rows = session.exec(
        select(ArchivedRunRow).where(ArchivedRunRow.workflow_id == workflow_id).order_by(col(ArchivedRunRow.run_number))
    )
    found = Archived()
    for row in rows:
        found.runs.append({"run_id": row.run_id, "location": row.location, "sha256": row.sha256})
        try:
            data = read_location(row.location)
        except Exception as e:  # missing file, unreachable bucket: the audit says so, and what it tried
            found.differences.append(
                reason("audit.arsip_tidak_terbaca", run_id=row.run_id, lokasi=row.location, galat=str(e))
            )
            continue
        digest = sha256(data)
        if digest != row.sha256:
            found.differences.append(
                reason(
                    "audit.arsip_diubah",
                    run_id=row.run_id,
                    lokasi=row.location,
                    sha256=f"{digest[:12]}…",
                    sha256_tercatat=f"{row.sha256[:12]}…",
                )
            )
            continue
        found.histories.append(WorkflowHistory.from_json(workflow_id, data.decode()))
    return found


# --- Retention ------------------------------------------------------------------------------------------------------


async def ensure_namespace(client: Client, namespace: str, retention: timedelta) -> None:
    """Create the namespace with this retention, or set the retention of the one that exists (`p2ham dev`; in
    production deploy/temporal-setup.sh does the same with the temporal CLI)."""
    ttl = Duration(seconds=int(retention.total_seconds()))
    service = client.workflow_service
    try:
        await service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
    except RPCError as e:
        if e.status != RPCStatusCode.NOT_FOUND:
            raise
        await service.register_namespace(
            RegisterNamespaceRequest(namespace=namespace, workflow_execution_retention_period=ttl)
        )
        return
    await service.update_namespace(
        UpdateNamespaceRequest(namespace=namespace, config=NamespaceConfig(workflow_execution_retention_ttl=ttl))
    )
