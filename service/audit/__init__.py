"""The auditor's verified replay of one case, and the audit pack that lets it be checked offline.

Temporal's history is the source of truth; the audit log (`transition`) and the read model (`case_view`) are
projections of it. `verify_case` checks them against each other and against today's code, and says every difference
in words, naming the entry concerned:

- replay (`replay.py`): the case's Temporal history replayed through today's workflow code; a nondeterminism means
  today's code would not make the decisions this case's history records;
- lifecycle re-run (`rerun.py`): every logged step fired again through the state machine alone, from the workflow's
  start input, with the logged actor, payload and time, must give the logged stages and hashes;
- chain (`chain.py`): every entry's hash recomputed from its fields, each entry linked to the one before, and the
  entries compared with what Temporal recorded (`history.py`: the officials' requests, and the case state each answer
  and the end result carried);
- read model (`read_model.py`): the case list's stage and sequence against the audit log and the workflow.

`case.py` puts the checks together into the verdict (`verdict.py`, with the verdict in words); `pack.py` builds the
audit pack that `service/audit_verify.py` (standard library only) checks offline. Used by
`GET /cycles/{year}/cases/{unit}/audit`, the auditor's pages and `p2ham audit`, through the names below.
"""

from service.audit.case import Audit, UnknownCase, audit_case, cycle_units, verify_case
from service.audit.log import entry_of, utc
from service.audit.pack import PackTooLarge, audit_pack, download_pack, pack_name
from service.audit.replay import replay_history, replayer
from service.audit.verdict import AuditVerdict, describe_verdict, in_words, verdict_mark

__all__ = [
    "Audit",
    "AuditVerdict",
    "PackTooLarge",
    "UnknownCase",
    "audit_case",
    "audit_pack",
    "cycle_units",
    "describe_verdict",
    "download_pack",
    "entry_of",
    "in_words",
    "pack_name",
    "replay_history",
    "replayer",
    "utc",
    "verdict_mark",
    "verify_case",
]
