"""Exports a closed case's Temporal history to the archive, with its sha256 in the read model (service/archive.py)."""

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.exceptions import ApplicationError

from models.contracts import ARSIPKAN_RIWAYAT, ClosedRun
from models.tables import ArchivedRunRow
from service.archive import HistoryStore, archive_key, run_histories, sha256


class Archiver:
    def __init__(self, client: Client, engine: Engine, store: HistoryStore) -> None:
        self.client = client
        self.engine = engine
        self.store = store

    @activity.defn(name=ARSIPKAN_RIWAYAT)
    async def arsipkan_riwayat(self, run: ClosedRun) -> int:
        """Archive the run and every run it continued, once it has closed; returns how many runs were written now."""
        description = await self.client.get_workflow_handle(run.workflow_id, run_id=run.run_id).describe()
        if description.status == WorkflowExecutionStatus.RUNNING:
            # Its history is not complete yet: the case is finishing its last task. Retried until it has.
            raise ApplicationError(f"{run.workflow_id} run {run.run_id} has not closed yet", type="StillRunning")
        written = 0
        for number, history in enumerate(await run_histories(self.client, run.workflow_id, run.run_id), start=1):
            run_id = history.run_id
            with Session(self.engine) as session:
                if session.get(ArchivedRunRow, (run.workflow_id, run_id)) is not None:
                    continue  # archived before (a retry, or an earlier export): never rewritten
            data = history.to_json().encode()
            location = self.store.put(archive_key(run.workflow_id, run_id), data)
            row = ArchivedRunRow(
                workflow_id=run.workflow_id,
                run_id=run_id,
                run_number=number,
                year=run.year,
                unit=run.unit,
                location=location,
                sha256=sha256(data),
                size=len(data),
                events=len(history.events),
                archived_at=datetime.now(UTC),
            )
            with Session(self.engine) as session:
                session.add(row)
                try:
                    session.commit()
                    written += 1
                except IntegrityError:
                    session.rollback()  # another attempt recorded it meanwhile, with the same bytes
        return written
