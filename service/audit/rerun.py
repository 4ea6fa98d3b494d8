"""The lifecycle re-run: every logged step fired again through the state machine alone, from the workflow's start
input, with the logged actor, payload and time, must give the logged stages and hashes."""

from pydantic import ValidationError
from sqlmodel import Session

from models.contracts import CaseStart, EvidenceInfo, Transition
from models.tables import TransitionRow
from service.access import lineage
from service.audit.findings import Findings, named, short
from service.evidence import resolve
from workflows import lifecycle
from workflows.reasons import Reason, reason


def evidence_for(session: Session, row: TransitionRow) -> dict[str, EvidenceInfo] | None:
    """What the evidence store knows of the files the step named, as the API resolved them. An entry that lists no
    evidence was not checked (no evidence named, or a case from before evidence was checked): None, as then."""
    rule = lifecycle.RULES.get(row.event)
    if not row.evidence or rule is None:
        return None
    try:
        parsed = rule.payload.model_validate(row.payload)
    except ValidationError:
        return {}
    return resolve(session, parsed, row.unit)


def rerun(
    session: Session, start: CaseStart, rows: list[TransitionRow], entries: list[Transition], altered: set[int]
) -> Findings:
    """Fire every logged step again, each from the log's previous entry, and compare what the machine records. The
    judges' conflicts of interest are checked against the unit's parents the step recorded: the lineage the API
    passed to the workflow from the registry as it then stood (`service/cases.py` `send_event`), so a unit moved in
    the registry later does not make an earlier step look refused. A step recorded before entries kept their lineage
    is checked against today's registry; the verdict lists those judges' steps (`lineage_from_registry`), and a
    refusal of one says that the registry may have changed since."""
    found = Findings()
    case = start.case.model_copy(deep=True)
    today = lineage(session, case.unit.code)
    from_registry: list[int] = []
    first = entries[0]
    if first.seq != 1 or first.event != "ajukan":
        found.differences.append(reason("audit.tidak_diawali_permohonan", entri=named(first)))
        found.info = {"ok": False, "entries": 0, "stage": None, "lineage_from_registry": []}
        return found
    machine, made = lifecycle.start(case, first.actor, first.payload.get("catatan"), first.at)
    found.differences += compare_step(made, first, first.seq in altered)
    checked = 1
    for previous, row, logged in zip(rows, rows[1:], entries[1:], strict=False):
        # Each step from the log's previous entry, so one altered entry does not make every later one differ.
        case.seq, case.last_hash = row.seq - 1, previous.hash
        # A case whose log assigns a team ran with the assignment checks; an older one ran without them.
        assigned = case.penugasan is not None
        recorded = row.lineage is not None
        parents = tuple(row.lineage) if row.lineage is not None else today
        by_registry = not recorded and assigned and row.event in lifecycle.JUDGED_BY_LINEAGE
        if by_registry:
            from_registry.append(row.seq)
        try:
            evidence = evidence_for(session, row)
            made = machine.fire(row.event, logged.actor, row.payload, logged.at, evidence, assigned, parents, recorded)
        except lifecycle.Refused as e:
            found.differences.append(refused_step(row, logged, e.why, by_registry))
            break
        found.differences += compare_step(made, logged, row.seq in altered)
        checked += 1
    found.info = {"ok": found.ok, "entries": checked, "stage": case.stage, "lineage_from_registry": from_registry}
    return found


def refused_step(row: TransitionRow, logged: Transition, why: list[Reason], by_registry: bool) -> Reason:
    """A logged step the lifecycle refuses. One judged against today's registry (its entry recorded no lineage) and
    refused for a parent unit says that the registry may have changed since the step was made."""
    said = {
        "entri": named(row),
        "sub": row.actor_sub,
        "role": row.actor_role,
        "waktu": logged.at.isoformat(),
        "alasan": [r for r in why if isinstance(r, Reason)] or [str(r) for r in why],
    }
    if by_registry and any(isinstance(r, Reason) and r.code == "penugasan.unit_induk" for r in why):
        return reason("audit.langkah_ditolak_registri_kini", **said)
    return reason("audit.langkah_ditolak", **said)


def compare_step(made: Transition, logged: Transition, altered: bool) -> list[Reason]:
    what = named(logged)
    differences = []
    if (made.source, made.target) != (logged.source, logged.target):
        differences.append(
            reason(
                "audit.langkah_berbeda",
                entri=what,
                dari=made.source or reason("audit.awal"),
                ke=made.target,
                dari_log=logged.source or reason("audit.awal"),
                ke_log=logged.target,
            )
        )
    if made.policy_version != logged.policy_version:
        differences.append(
            reason(
                "audit.versi_kebijakan_berbeda",
                entri=what,
                versi_log=short(logged.policy_version),
                versi=short(made.policy_version),
            )
        )
    if made.evidence != logged.evidence:
        differences.append(
            reason(
                "audit.bukti_berbeda",
                entri=what,
                bukti_log=", ".join(logged.evidence) or "-",
                bukti=", ".join(made.evidence) or "-",
            )
        )
    if not altered and not differences and made.hash != logged.hash:  # an altered entry is reported by the chain
        differences.append(
            reason("audit.hash_ulang_berbeda", entri=what, hash=short(made.hash), hash_log=short(logged.hash))
        )
    return differences
