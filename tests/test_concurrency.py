"""Twenty officials acting on one case at once: the outcome equals some serial order of their requests.

Each race is 20 API requests sent together (asyncio.gather) to the in-process API. Afterwards: the history's seqs are
contiguous and its hash chain links; every applied request is one entry, every refused one a 409 with a reason that
holds in some state the case passed through; replaying the history serially through `workflows.lifecycle` gives the
case the API shows; the read model, the audit log and Temporal agree (nothing half-applied).
"""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, func, select
from temporalio.client import Client

from models.contracts import Actor, CaseData, Transition
from models.tables import CaseRow, IdempotencyKeyRow, RefusalRow, TransitionRow
from service.audit import entry_of, verify_case
from service.demo import WITNESSES, Driver, open_case
from service.i18n import in_words, render
from service.settings import Settings
from tests.stages import OPENS_LATE, REGION, calendar
from tests.test_faults import settle
from workflows import lifecycle
from workflows.unit import CaseWorkflow, case_workflow_id

N = 20  # officials at once


@dataclass
class Request:
    """One official's request in a race, and what came back."""

    event: str
    actor: Actor
    body: dict[str, Any]
    key: str
    response: httpx.Response | None = None

    @property
    def status(self) -> int:
        assert self.response is not None
        return self.response.status_code


def official(role: str, n: int, **claims: str) -> Actor:
    return Actor(sub=f"{role}-{n:02d}", name=f"{role} {n}", role=role, **claims)  # type: ignore[arg-type]


async def race(api: httpx.AsyncClient, d: Driver, token, requests: list[Request]) -> None:
    """Send every request at the same time, each with its own official's token."""

    async def send(r: Request) -> None:
        claims = {k: v for k, v in (("unit", r.actor.unit), ("region", r.actor.region)) if v}
        headers = {**token(r.actor.role, r.actor.sub, name=r.actor.name, **claims), "Idempotency-Key": r.key}
        r.response = await api.post(f"{d.case_path}/events/{r.event}", json=r.body, headers=headers)

    await asyncio.gather(*(send(r) for r in requests))


def key() -> str:
    return f"race-{uuid.uuid4()}"


def replay(engine: Engine, year: int, unit: str) -> tuple[list[CaseData], list[TransitionRow], list[str]]:
    """The audit log fired again, serially, through the lifecycle alone: the case after each entry (seq - 1), the
    entries, and where a re-run step records something other than the log (field by field)."""
    with Session(engine) as s:
        rows = list(
            s.exec(
                select(TransitionRow)
                .where(TransitionRow.year == year, TransitionRow.unit == unit)
                .order_by(TransitionRow.seq)
            )
        )
        row = s.get(CaseRow, (year, unit))
    assert row is not None and rows
    known = CaseData.model_validate(row.data)
    case = CaseData(year=year, unit=known.unit, policy=known.policy)
    first = entry_of(rows[0])
    machine, made = lifecycle.start(case, first.actor, first.payload.get("catatan"), first.at)
    states, problems = [case.model_copy(deep=True)], differences(made, first)
    for logged in map(entry_of, rows[1:]):
        try:
            kept = logged.lineage  # judged with the lineage the step recorded, and recording it again
            made = machine.fire(
                logged.event, logged.actor, logged.payload, logged.at, None, True, tuple(kept or ()), kept is not None
            )
            problems += differences(made, logged)
        except lifecycle.Refused as e:  # a log no serial order can produce: say so, and stop the re-run there
            problems.append(f"entry {logged.seq} ({logged.event} by {logged.actor.sub}) cannot follow: {e.why}")
            break
        states.append(case.model_copy(deep=True))
    return states, rows, problems


def differences(made: Transition, logged: Transition) -> list[str]:
    ours, theirs = made.model_dump(mode="json"), logged.model_dump(mode="json")
    return [
        f"entry {logged.seq} ({logged.event}) re-run serially: {field} {ours[field]!r}, the log {theirs[field]!r}"
        for field in ours
        if ours[field] != theirs[field]
    ]


async def consistent(
    api: httpx.AsyncClient, client: Client, engine: Engine, d: Driver, before: int, requests: list[Request]
) -> tuple[list[TransitionRow], list[str]]:
    """Check that the race's outcome equals a serial order; the entries it added, and the problems found."""
    states, rows, problems = replay(engine, d.year, d.unit)
    seqs = [r.seq for r in rows]
    if seqs != list(range(1, len(rows) + 1)):
        problems.append(f"seqs {seqs} are not contiguous")
    for prev, row in zip(rows, rows[1:], strict=False):
        if row.prev_hash != prev.hash:
            problems.append(f"entry {row.seq} ({row.event}): prev_hash does not link to entry {prev.seq}")
    added = rows[before:]

    # Every applied request (one per key: retries share it) is exactly one new entry, by that official with that
    # body, and its answer is the case as that entry left it: a serial order, whatever the others did meanwhile.
    applied = {r.key: r for r in requests if r.status == 200}
    mine: dict[int, Request] = {}
    for r in applied.values():
        own = [row for row in added if (row.event, row.actor_sub, row.payload) == (r.event, r.actor.sub, r.body)]
        answer = r.response.json()  # type: ignore[union-attr]
        if len(own) != 1:
            problems.append(f"{r.event} by {r.actor.sub} was applied (200) but the log holds {len(own)} such entries")
            continue
        mine[own[0].seq] = r
        if (answer["seq"], answer["stage"]) != (own[0].seq, own[0].target):
            problems.append(
                f"{r.event} by {r.actor.sub} is entry {own[0].seq} (to {own[0].target}), but its answer shows the "
                f"case at seq {answer['seq']} ({answer['stage']})"
            )
    answered = sorted({r.response.json()["seq"] for r in applied.values()})  # type: ignore[union-attr]
    if len(answered) != len(applied):  # in a serial order each request's answer is the case just after its own entry
        problems.append(f"{len(applied)} applied requests were answered with only {len(answered)} seqs: {answered}")
    strays = [f"{row.seq} {row.event} by {row.actor_sub}" for row in added if row.seq not in mine]
    if strays:
        problems.append(f"entries no applied request made: {strays}")

    # Every refused request is a 409 with a reason, and would be refused in some state the case passed through.
    now = datetime.now(UTC)
    for r in requests:
        if r.status == 200:
            continue
        body = r.response.json()  # type: ignore[union-attr]
        if r.status != 409 or not body.get("why"):
            problems.append(f"{r.event} by {r.actor.sub}: {r.status} {body}, expected 200 or a 409 with a reason")
        elif not any(lifecycle.refused(s, r.event, r.actor, now, r.body) for s in states[before - 1 :]):
            problems.append(f"{r.event} by {r.actor.sub} was refused, but every state it could meet allowed it")

    # The case the API shows is the serial replay's; the read model and Temporal agree with the log.
    shown = (await api.get(d.case_path, headers=d.officials["ditjen"])).json()
    ditjen = Actor(sub="ditjen-1", name="Direktur Diseminasi dan Penguatan HAM", role="ditjen_ham")
    expected = in_words(lifecycle.view(states[-1], ditjen, datetime.now(UTC)), "id").model_dump(mode="json")
    if shown != expected:
        problems.append(f"the case view {shown} is not the serial replay's {expected}")
    with Session(engine) as s:
        row = s.get(CaseRow, (d.year, d.unit))
        verdict = await verify_case(client, s, d.year, d.unit)
        refusals = s.exec(
            select(func.count()).select_from(RefusalRow).where(RefusalRow.year == d.year, RefusalRow.unit == d.unit)
        ).one()
    assert row is not None
    data = CaseData.model_validate(row.data).model_dump(mode="json", exclude={"reminded"})
    if data != states[-1].model_dump(mode="json", exclude={"reminded"}):
        problems.append("the read model's case data differs from the serial replay")
    live = await client.get_workflow_handle_for(CaseWorkflow.run, case_workflow_id(d.year, d.unit)).query(
        CaseWorkflow.keadaan
    )
    if (live.stage, live.seq, live.last_hash) != (row.stage, row.seq, row.data["last_hash"]):
        problems.append(
            f"Temporal has {live.stage} seq {live.seq} hash {live.last_hash[:12]}, the read model {row.stage} seq "
            f"{row.seq} hash {row.data['last_hash'][:12]}"
        )
    problems += [f"audit: {render(why, 'en')}" for why in verdict.difference_codes]
    refused = sum(r.status != 200 for r in requests)
    if refusals != refused:
        problems.append(f"the refusal log holds {refusals} refusals, {refused} requests were refused")
    return added, problems


async def opened(api: httpx.AsyncClient, settings: Settings, year: int, unit: str) -> Driver:
    return await open_case(api, settings, year, unit, calendar(datetime.now(UTC), OPENS_LATE), say=lambda _: None)


def ceremony(seconds: int) -> dict[str, Any]:
    jadwal = (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()
    return {"jadwal": jadwal, "tempat": "Aula Kanwil DKI Jakarta", "saksi": WITNESSES}


async def approved(api: httpx.AsyncClient, settings: Settings, year: int, unit: str) -> Driver:
    """A case opened and approved (seq 2), its ceremony a minute away: where reschedules race."""
    d = await opened(api, settings, year, unit)
    await d.send("setujui_permohonan", "ditjen", ceremony(60))
    return d


async def test_conflicting_events_one_serial_order(
    api: httpx.AsyncClient, settings: Settings, client: Client, engine: Engine, year: int, token, capsys
) -> None:
    """tolak_permohonan, setujui_permohonan and batalkan race at permohonan: tolak and setujui exclude each other;
    batalkan (allowed from any open stage) wins first, or comes after the winner, or is refused."""
    d = await opened(api, settings, year, "KANIM-RACE-BEDA")
    requests = []
    for n in range(N):
        kind = n % 3
        if kind == 0:
            actor = official("ditjen_ham", n)
            requests.append(Request("tolak_permohonan", actor, {"alasan": f"Berkas kurang ({n})"}, key()))
        elif kind == 1:
            actor = official("ditjen_ham", n)
            requests.append(Request("setujui_permohonan", actor, ceremony(90 + n), key()))
        else:
            actor = official("operator_unit", n, unit=d.unit)
            requests.append(Request("batalkan", actor, {"alasan": f"Unit dilebur ({n})"}, key()))
    await race(api, d, token, requests)
    added, problems = await consistent(api, client, engine, d, 1, requests)

    events = [row.event for row in added]
    allowed_outcomes = (
        ["batalkan"],
        ["tolak_permohonan"],
        ["tolak_permohonan", "batalkan"],
        ["setujui_permohonan"],
        ["setujui_permohonan", "batalkan"],
    )
    if events not in allowed_outcomes:
        problems.append(f"the race added {events}: no serial order of these requests gives that")
    statuses = sorted(r.status for r in requests)
    counts = (
        f"test_concurrency conflicting events: {N} requests at once, {statuses.count(200)} applied ({events}), "
        f"{statuses.count(409)} refused with 409, {len(problems)} problems"
    )
    settle(capsys, counts, problems)


async def test_twenty_reschedules_all_apply_in_some_order(
    api: httpx.AsyncClient, settings: Settings, client: Client, engine: Engine, year: int, token, capsys
) -> None:
    d = await approved(api, settings, year, "KANIM-RACE-SAMA")
    requests = []
    for n in range(N):
        role, claims = ("ditjen_ham", {}) if n % 2 else ("kanwil", {"region": REGION})
        actor = official(role, n, **claims)
        body = {"jadwal": ceremony(100 + n)["jadwal"], "alasan": f"Jadwal bentrok ({n})"}
        requests.append(Request("jadwal_ulang", actor, body, key()))
    await race(api, d, token, requests)
    added, problems = await consistent(api, client, engine, d, 2, requests)

    if [r.status for r in requests] != [200] * N:
        problems.append(f"statuses {[r.status for r in requests]}: every reschedule should apply")
    if [row.event for row in added] != ["jadwal_ulang"] * N:
        problems.append(f"the race added {[row.event for row in added]}")
    with Session(engine) as s:
        row = s.get(CaseRow, (year, d.unit))
    assert row is not None and added
    if datetime.fromisoformat(row.data["jadwal"]) != datetime.fromisoformat(added[-1].payload["jadwal"]):
        problems.append(f"the case keeps jadwal {row.data['jadwal']}, the last entry set {added[-1].payload['jadwal']}")
    counts = (
        f"test_concurrency same event: {N} reschedules at once, {sum(r.status == 200 for r in requests)} applied as "
        f"seqs {added[0].seq if added else '-'}..{added[-1].seq if added else '-'}, {len(problems)} problems"
    )
    settle(capsys, counts, problems)


async def test_twenty_retries_with_one_key_apply_once(
    api: httpx.AsyncClient, settings: Settings, client: Client, engine: Engine, year: int, token, capsys
) -> None:
    d = await approved(api, settings, year, "KANIM-RACE-KUNCI")
    actor = official("ditjen_ham", 1)
    body = {"jadwal": ceremony(120)["jadwal"], "alasan": "Kakanwil berhalangan"}
    same = key()
    requests = [Request("jadwal_ulang", actor, body, same) for _ in range(N)]
    await race(api, d, token, requests)
    added, problems = await consistent(api, client, engine, d, 2, requests)

    answers = {(r.status, r.response.json().get("seq")) for r in requests}  # type: ignore[union-attr]
    if answers != {(200, 3)}:
        problems.append(f"answers {answers}: every retry should get the one result, seq 3")
    if [row.event for row in added] != ["jadwal_ulang"]:
        problems.append(f"the retries added {[row.event for row in added]}, expected one jadwal_ulang")
    with Session(engine) as s:
        keys = s.exec(
            select(func.count())
            .select_from(IdempotencyKeyRow)
            .where(IdempotencyKeyRow.year == year, IdempotencyKeyRow.unit == d.unit, IdempotencyKeyRow.key == same)
        ).one()
    if keys != 1:
        problems.append(f"{keys} idempotency rows for one key")

    # The same key with other bodies at once: one request owns it, the rest are told the key is taken.
    other = key()
    clash = [
        Request("jadwal_ulang", actor, {"jadwal": ceremony(130 + n)["jadwal"], "alasan": f"Bentrok {n}"}, other)
        for n in range(N)
    ]
    await race(api, d, token, clash)
    statuses = sorted(r.status for r in clash)
    if statuses != [200] + [422] * (N - 1):
        problems.append(f"one key, {N} bodies: statuses {statuses}, expected one 200 and {N - 1} 422")
    if not all(r.response.json()["error"] == "idempotency_key_reused" for r in clash if r.status == 422):  # type: ignore[union-attr]
        problems.append("a clash was refused for another reason than the reused key")
    _, rows, _ = replay(engine, year, d.unit)
    if [r.event for r in rows] != ["ajukan", "setujui_permohonan", "jadwal_ulang", "jadwal_ulang"]:
        problems.append(f"the log holds {[r.event for r in rows]}")
    counts = (
        f"test_concurrency same key: {N} retries at once, {len(added)} applied; {N} bodies on one key, "
        f"{statuses.count(200)} applied and {statuses.count(422)} refused; {len(problems)} problems"
    )
    settle(capsys, counts, problems)
