"""The verified replay of one case: Temporal's histories replayed through today's code, the audit log's chain checked
and compared with what Temporal recorded, every logged step re-run through the lifecycle alone, and the read model
checked against both; every difference in words, naming the entry concerned."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, select
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Replayer

from models.contracts import SYSTEM, CaseData, CaseStart, Transition
from models.tables import CaseRow, RefusalRow, TransitionRow
from service.audit.chain import check_chain
from service.audit.findings import Findings
from service.audit.history import Anchor, Recorded, TemporalFacts, case_facts, read_recorded
from service.audit.log import load_refusals, load_rows
from service.audit.read_model import check_read_model
from service.audit.replay import replay_runs
from service.audit.rerun import rerun
from service.audit.verdict import AuditVerdict
from workflows.reasons import Reason, reason
from workflows.unit import case_workflow_id


class UnknownCase(Exception):
    """Neither the read model, the audit log nor Temporal knows this case."""

    def __init__(self, year: int, unit: str) -> None:
        super().__init__(f"{year}/{unit}")
        self.why = reason("error.kasus_tidak_ditemukan", unit=unit, tahun=year)


@dataclass
class Audit:
    verdict: AuditVerdict
    entries: list[Transition]  # as they were hashed
    refusals: list[RefusalRow]


async def audit_case(
    client: Client, session: Session, year: int, unit: str, with_replayer: Replayer | None = None
) -> Audit:
    """The verdict, with the entries and refusals the audit pack holds. Raises UnknownCase."""
    # Temporal first, then the database: each later read is at least as new as the one before.
    recorded = await read_recorded(client, session, case_workflow_id(year, unit))
    rows = load_rows(session, year, unit)
    case_row = session.get(CaseRow, (year, unit))
    if not recorded.histories and not rows and case_row is None:
        raise UnknownCase(year, unit)
    replay = await replay_runs(recorded, with_replayer)
    facts = case_facts(recorded.histories) if recorded.histories else None
    live, how = last_stated(recorded, facts)
    start = start_of(facts, case_row, year)
    chain, entries, altered = check_log(rows, facts, start)
    again = rerun(session, start, rows, entries, altered) if entries and start is not None else None
    read_model = check_read_model(case_row, rows, live, how)
    differences = recorded.differences + replay.differences + chain.differences
    differences += (again.differences if again else []) + read_model.differences
    verdict = AuditVerdict(
        year=year,
        unit=unit,
        checked_at=datetime.now(UTC),
        ok=not differences,
        difference_codes=differences,
        replay=replay.info | ({"lifecycle": again.info, "ok": replay.info["ok"] and again.ok} if again else {}),
        chain={**chain.info, "ok": chain.ok},
        read_model=read_model.info,
    )
    return Audit(verdict, entries, load_refusals(session, year, unit))


def last_stated(recorded: Recorded, facts: TemporalFacts | None) -> tuple[CaseData | None, str]:
    """The case as Temporal last stated it, and how: the workflow's result once it completed ("result"), else a
    running case's answer to the query ("query"), which is then a point of the chain Temporal states too."""
    if facts is not None and facts.result is not None:
        return facts.result, "result"
    live = recorded.live
    if facts is not None and live is not None:
        facts.anchors.append(Anchor(live.seq, live.last_hash, live.stage or "", reason("audit.sumber_keadaan_kini")))
    return live, "query" if live is not None else ""


def start_of(facts: TemporalFacts | None, case_row: CaseRow | None, year: int) -> CaseStart | None:
    """What the case started from: the workflow's start input; without a history, the read model's unit and policy."""
    if facts is not None and facts.start is not None:
        return facts.start
    if case_row is None:
        return None
    data = CaseData.model_validate(case_row.data)
    return CaseStart(case=CaseData(year=year, unit=data.unit, policy=data.policy), applicant=SYSTEM)


def check_log(
    rows: list[TransitionRow], facts: TemporalFacts | None, start: CaseStart | None
) -> tuple[Findings, list[Transition], set[int]]:
    """The chain check (service/audit/chain.py) of a log there is, with a start to check it from."""
    if rows and start is not None:
        return check_chain(rows, facts)
    found = Findings(info={"ok": False, "entries": 0})
    if not rows:
        found.differences.append(reason("audit.log_kosong"))
    return found, [], set()


async def verify_case(
    client: Client, session: Session, year: int, unit: str, with_replayer: Replayer | None = None
) -> AuditVerdict:
    """The verified replay of one case (`GET .../audit`, `p2ham audit`). Raises UnknownCase."""
    return (await audit_case(client, session, year, unit, with_replayer)).verdict


async def cycle_units(client: Client, session: Session, year: int) -> tuple[list[str], Reason | None]:
    """Every case of a cycle: the read model's, the audit log's, and Temporal's (a case missing from the database
    must still be audited). The second value says why Temporal's list could not be read, if it could not."""
    units = set(session.exec(select(CaseRow.unit).where(CaseRow.year == year)))
    units |= set(session.exec(select(TransitionRow.unit).where(TransitionRow.year == year).distinct()))
    prefix = case_workflow_id(year, "")
    try:
        async for execution in client.list_workflows(f"P2hamYear = {year}"):
            if execution.id.startswith(prefix):
                units.add(execution.id.removeprefix(prefix))
    except RPCError as e:
        return sorted(units), reason("audit.daftar_temporal_gagal", galat=e.message)
    return sorted(units), None
