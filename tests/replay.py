"""Replaying recorded histories through today's workflow code: the guard against nondeterministic changes."""

import os
from pathlib import Path

from temporalio.client import Client, WorkflowHistory

from service.audit import replayer  # one replayer for CI, the auditor's API and the CLI

__all__ = ["HISTORIES", "RECORDING", "fetch_and_keep", "replayer"]

HISTORIES = Path(__file__).parent / "histories"
# Bump with every workflow.patched(...) so new recordings sit beside the old ones, which must keep replaying.
# v6: the archive (archive-on-close), v7: penugasan (recorded apart), v8: both, v9: rencana (action plans),
# v10: reminders-in-time (reminders wait for their deadline to be known and stop where the stage ends),
# v11: lineage-recorded too (each official's entry records the unit's parents it was judged with)
RECORDING = 11


async def fetch_and_keep(client: Client, workflow_id: str, name: str) -> WorkflowHistory:
    """The history of a finished run; with P2HAM_RECORD_HISTORIES=1 it is also saved under tests/histories/, unless
    this recording of it exists (an old history is never overwritten)."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    path = HISTORIES / f"{name}.v{RECORDING}.json"
    if os.environ.get("P2HAM_RECORD_HISTORIES") and not path.exists():
        path.write_text(history.to_json())
    return history
