"""The audit log's hash chain: every entry's hash recomputed from its fields, each entry linked to the one before, and
the entries compared with what Temporal recorded (the officials' requests, and the case state each answer and the end
result carried)."""

from typing import Any

from models.contracts import Actor, CaseData, CaseStart, Transition
from models.tables import TransitionRow
from service.audit.findings import Findings, named, short, shown
from service.audit.history import Anchor, Official, TemporalFacts
from service.audit.log import entry_of
from workflows import lifecycle
from workflows.reasons import Reason, reason


def check_chain(rows: list[TransitionRow], facts: TemporalFacts | None) -> tuple[Findings, list[Transition], set[int]]:
    """Recompute every hash and link, and compare the entries with what Temporal recorded.

    Returns the findings, the entries as they were hashed (for the re-run and the pack), and the sequence numbers
    whose hash does not match their own fields."""
    entries = [entry_of(row) for row in rows]
    found, altered = link_findings(rows, entries)
    if facts:
        found.differences += compare_with_temporal(rows, facts)
    found.info = {
        "ok": found.ok,
        "entries": len(rows),
        "first_seq": rows[0].seq if rows else None,
        "last_seq": rows[-1].seq if rows else None,
        "last_hash": rows[-1].hash if rows else None,
        "altered_entries": sorted(altered),
        "temporal_anchors": len(facts.anchors) if facts else 0,
        "temporal_last_hash": max(facts.anchors, key=lambda a: a.seq).hash if facts and facts.anchors else None,
    }
    return found, entries, altered


def link_findings(rows: list[TransitionRow], entries: list[Transition]) -> tuple[Findings, set[int]]:
    """Each entry's hash against its own fields, and its link to the entry before; with the entries altered."""
    found = Findings()
    altered: set[int] = set()
    previous: TransitionRow | None = None
    for row, entry in zip(rows, entries, strict=True):
        recomputed = lifecycle.chain_hash(entry.model_dump(mode="json"))
        if recomputed != row.hash:
            altered.add(row.seq)
            found.differences.append(
                reason("audit.entri_diubah", entri=named(row), dihitung=short(recomputed), tercatat=short(row.hash))
            )
        found.differences += link_differences(previous, row)
        previous = row
    return found, altered


def link_differences(previous: TransitionRow | None, row: TransitionRow) -> list[Reason]:
    """An entry follows the one before: the next sequence number, and its hash as `prev_hash` (the first: empty)."""
    expected_seq = previous.seq + 1 if previous else 1
    if row.seq != expected_seq:
        missing = f"{expected_seq}" if row.seq == expected_seq + 1 else f"{expected_seq}–{row.seq - 1}"
        return [reason("audit.entri_hilang", hilang=missing, entri=named(row))]
    if row.prev_hash != (previous.hash if previous else ""):
        before = (
            reason("audit.hash_entri_sebelumnya", seq=previous.seq, hash=short(previous.hash))
            if previous
            else reason("audit.kosong_entri_pertama")
        )
        return [reason("audit.tidak_tersambung", entri=named(row), prev_hash=short(row.prev_hash), seharusnya=before)]
    return []


def align(rows: list[TransitionRow], officials: list[Official]) -> tuple[dict[int, Official], list[Official]]:
    """Which audit-log entry each official event Temporal accepted made. Handlers fire in acceptance order, so entries
    and requests run in the same order; the answer's sequence bounds where (a timer may have fired just after)."""
    by_seq = {row.seq: row for row in rows}
    matched: dict[int, Official] = {}
    unmatched: list[Official] = []
    after = 1  # the application is entry 1
    for official in officials:
        request = official.request
        limit = official.answer.seq if official.answer else (rows[-1].seq if rows else 0)
        window = [s for s in range(after + 1, limit + 1) if s in by_seq]
        # The first entry of the same event by the same person; else of the same event (its actor was altered).
        same = [s for s in window if by_seq[s].event == request.event]
        exact = [s for s in same if by_seq[s].actor_sub == request.actor.sub]
        if exact or same:
            seq = (exact or same)[0]
        elif official.answer and official.answer.seq in by_seq and official.answer.seq > after:
            seq = official.answer.seq  # the row at this step was altered beyond recognition
        else:
            unmatched.append(official)
            continue
        matched[seq] = official
        after = seq
    return matched, unmatched


def compare_with_temporal(rows: list[TransitionRow], facts: TemporalFacts) -> list[Reason]:
    """The entries against what Temporal recorded: the application and each official's request as the entry it made,
    the requests that made none and the entries no request made, the stages and hashes Temporal stated, and any entry
    after the case ended."""
    by_seq = {row.seq: row for row in rows}
    matched, unmatched = align(rows, facts.officials)
    return [
        *application_differences(by_seq.get(1), facts.start),
        *request_differences(by_seq, matched),
        *requests_without_entry(unmatched),
        *entries_without_request(by_seq, matched),
        *anchor_differences(by_seq, facts.anchors),
        *entries_after_end(rows, facts.result),
    ]


def application_differences(first: TransitionRow | None, start: CaseStart | None) -> list[Reason]:
    if start is None or first is None:
        return []
    catatan = {"catatan": start.catatan} if start.catatan else {}
    return field_differences(first, "ajukan", start.applicant, catatan)


def request_differences(by_seq: dict[int, TransitionRow], matched: dict[int, Official]) -> list[Reason]:
    return [
        difference
        for seq, official in sorted(matched.items())
        for difference in field_differences(
            by_seq[seq],
            official.request.event,
            official.request.actor,
            official.request.payload,
            official.request.lineage,
        )
    ]


def requests_without_entry(unmatched: list[Official]) -> list[Reason]:
    return [
        reason(
            "audit.permintaan_tanpa_entri", event=o.request.event, sub=o.request.actor.sub, role=o.request.actor.role
        )
        for o in unmatched
    ]


def entries_without_request(by_seq: dict[int, TransitionRow], matched: dict[int, Official]) -> list[Reason]:
    """An official's entry (after the application, not the system's) that no request Temporal accepted made."""
    people = {seq for seq, row in by_seq.items() if row.seq > 1 and row.actor_role != "system"}
    return [
        reason("audit.entri_tanpa_permintaan", entri=named(row), sub=row.actor_sub, role=row.actor_role)
        for row in (by_seq[seq] for seq in sorted(people - set(matched)))
    ]


def anchor_differences(by_seq: dict[int, TransitionRow], anchors: list[Anchor]) -> list[Reason]:
    """Where Temporal states the chain, the entry is there with the stage and hash stated. The same step may be stated
    twice (an answer, then the current state): its difference is said once."""
    differences: list[Reason] = []
    reported: set[int] = set()
    for anchor in anchors:
        difference = None if anchor.seq in reported else anchor_difference(by_seq.get(anchor.seq), anchor)
        if difference is not None:
            reported.add(anchor.seq)
            differences.append(difference)
    return differences


def anchor_difference(row: TransitionRow | None, anchor: Anchor) -> Reason | None:
    if row is None:
        return reason("audit.entri_tidak_ada", seq=anchor.seq, sumber=anchor.source, stage=anchor.stage)
    if row.target != anchor.stage:
        return reason(
            "audit.tahap_berbeda", entri=named(row), stage_log=row.target, sumber=anchor.source, stage=anchor.stage
        )
    if row.hash != anchor.hash:
        return reason(
            "audit.log_ditulis_ulang",
            entri=named(row),
            hash=short(row.hash),
            hash_temporal=short(anchor.hash),
            sumber=anchor.source,
        )
    return None


def entries_after_end(rows: list[TransitionRow], result: CaseData | None) -> list[Reason]:
    """Nothing is logged after the step the workflow's result ends on."""
    if result is None:
        return []
    extra = [row for row in rows if row.seq > result.seq]
    return [reason("audit.entri_setelah_selesai", seq=result.seq, entri=[named(r) for r in extra])] if extra else []


def field_differences(
    row: TransitionRow, event: str, actor: Actor, payload: dict[str, Any], lineage: list[str] | None = None
) -> list[Reason]:
    """What the audit log says of one step against what Temporal recorded of it: the lineage too, where the entry
    recorded one (the re-run judges the step with it)."""
    differences = []
    if row.event != event:
        differences.append(reason("audit.peristiwa_berbeda", entri=named(row), event_temporal=event))
    logged = (row.actor_sub, row.actor_name, row.actor_role)
    if logged != (actor.sub, actor.name, actor.role):
        differences.append(
            reason(
                "audit.pelaku_berbeda",
                entri=named(row),
                pelaku=reason("audit.pelaku", sub=row.actor_sub, nama=row.actor_name, role=row.actor_role),
                pelaku_temporal=reason("audit.pelaku", sub=actor.sub, nama=actor.name, role=actor.role),
            )
        )
    for key in sorted(set(row.payload) | set(payload)):
        logged, recorded = row.payload.get(key), payload.get(key)
        if lifecycle.canonical(logged) != lifecycle.canonical(recorded):
            differences.append(
                reason("audit.isian_berbeda", entri=named(row), kunci=key, log=shown(logged), temporal=shown(recorded))
            )
    if row.lineage is not None and row.lineage != lineage:
        differences.append(
            reason("audit.silsilah_berbeda", entri=named(row), log=shown(row.lineage), temporal=shown(lineage))
        )
    return differences
