"""The read model's check: the case list's stage and sequence against the audit log and the workflow."""

from models.contracts import CaseData
from models.tables import CaseRow, TransitionRow
from service.audit.findings import Findings, named, short
from workflows import lifecycle
from workflows.reasons import reason


def check_read_model(case_row: CaseRow | None, rows: list[TransitionRow], live: CaseData | None, how: str) -> Findings:
    found = Findings()
    last = rows[-1] if rows else None
    if case_row is None:
        found.differences.append(reason("audit.read_model_tanpa_kasus"))
        found.info = {"ok": False}
        return found
    found.info = {"stage": case_row.stage, "seq": case_row.seq, "final": case_row.final}
    if last is not None and (case_row.seq, case_row.stage) != (last.seq, last.target):
        found.differences.append(
            reason(
                "audit.read_model_berbeda_log",
                stage=case_row.stage,
                seq=case_row.seq,
                entri=named(last),
                ke=last.target,
            )
        )
    if case_row.final != (case_row.stage in lifecycle.FINAL_STAGES):
        found.differences.append(
            reason("audit.read_model_final_salah", stage=case_row.stage)
            if case_row.final
            else reason("audit.read_model_belum_final_salah", stage=case_row.stage)
        )
    data_hash = (case_row.data or {}).get("last_hash")
    if last is not None and case_row.seq == last.seq and data_hash != last.hash:
        found.differences.append(
            reason(
                "audit.read_model_hash_berbeda",
                hash=short(data_hash or ""),
                entri=named(last),
                hash_log=short(last.hash),
            )
        )
    if live is not None:
        found.info["temporal"] = {"stage": live.stage, "seq": live.seq, "from": how}
        # The read model is written before Temporal records a step: it may be ahead of a running case, never behind.
        if case_row.seq < live.seq or (case_row.seq == live.seq and case_row.stage != live.stage):
            found.differences.append(
                reason(
                    "audit.read_model_tertinggal",
                    stage=case_row.stage,
                    seq=case_row.seq,
                    sumber=reason("audit.sumber_hasil") if how == "result" else reason("audit.sumber_keadaan_kini"),
                    stage_temporal=live.stage,
                    seq_temporal=live.seq,
                )
            )
    found.info["ok"] = found.ok
    return found
