"""What one check of the audit finds, and how a difference names what it is about (an entry, a hash, a value)."""

import json
from dataclasses import dataclass, field
from typing import Any

from models.contracts import Transition
from models.tables import TransitionRow
from workflows.reasons import Reason, reason


@dataclass
class Findings:
    differences: list[Reason] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.differences


def short(digest: str) -> str:
    return digest[:12] + "…" if len(digest) > 12 else digest or "-"


def entry(seq: int, event: str) -> Reason:
    """An entry of the audit log, named in a difference: "entri 2 (Setujui permohonan)"."""
    return reason("audit.entri", seq=seq, event=event)


def named(row: TransitionRow | Transition) -> Reason:
    return entry(row.seq, row.event)


def shown(value: Any, limit: int = 200) -> str | Reason:
    if value is None:
        return reason("audit.tidak_ada_nilai")
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"
