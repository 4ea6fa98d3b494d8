"""Who may send what: every role x every event x (own unit / other unit / other region), through the API.

The expected status of each cell is written from DESIGN.md section 2, not read off `lifecycle.RULES`: the roles of each
event and the stages it leaves from are the tables of tests/test_lifecycle.py (also written from the design), the scopes
are below. One case per stage takes every refusal (a refusal must change nothing); then each expected success runs on
a case of its own at that stage, the tested case taking one of them.
"""

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from models.contracts import ROLES, Actor, EventRequest
from service.demo import Driver
from service.settings import Settings
from tests.stages import OPENS_AT_ONCE, OPENS_LATE, REGION, calendar, case_at, snapshot, valid_payloads
from tests.test_lifecycle import BEFORE_REPORTING, NON_FINAL, ROLE_TABLE, TRANSITIONS, expected_sources
from workflows.lifecycle import EVENTS
from workflows.unit import CaseWorkflow, case_workflow_id

Token = Callable[..., dict[str, str]]

# --- The expectation, from DESIGN.md section 2 ----------------------------------------------------------------------

UNIT_ROLES = ("operator_unit", "kepala_unit")  # act for their own unit only
JUDGES = ("verifikator", "penilai", "ketua_penilai")  # never judge the unit they belong to
SCOPES = ("own_unit", "other_unit", "other_region", "unassigned")
CASE_UNIT = "<the case's unit>"
NEIGHBOUR = "KANIM-TETANGGA"  # another unit of the case's region
FAR_UNIT, FAR_REGION = "LAPAS-SURABAYA", "KANWIL-JATIM"
ASSESSORS = "DITJEN-HAM"  # where verifiers and assessors usually sit
OUTSIDER = "BALITBANG-HAM"  # where judges sit whom no team names
HEAD = "ketua-1"  # the head of the team tests/stages.py assigns (it sits at ASSESSORS)
# tests/stages.py assigns the team (tugaskan) on the way to verifikasi: verifiers and assessors of ASSESSORS and of
# FAR_UNIT, and HEAD. Before that no judge is assigned to the case.
WITH_TEAM = ("verifikasi", "perbaikan", "evaluasi", "lolos_evaluasi", "berpredikat")


def claims(role: str, scope: str) -> dict[str, str]:
    """The token's `unit` or `region` claim. Ditjen HAM, auditors and admins carry neither: for them the three scopes
    are one and the same official. A kanwil has no unit: every unit of its region is its business."""
    if role in UNIT_ROLES:
        return {"unit": {"own_unit": CASE_UNIT, "other_region": FAR_UNIT}.get(scope, NEIGHBOUR)}
    if role == "kanwil":
        return {"region": FAR_REGION if scope == "other_region" else REGION}
    if role in JUDGES:
        return {
            "unit": {"own_unit": CASE_UNIT, "other_unit": ASSESSORS, "other_region": FAR_UNIT, "unassigned": OUTSIDER}[
                scope
            ]
        }
    return {}


def in_scope(role: str, scope: str) -> bool:
    if role in UNIT_ROLES:
        return scope == "own_unit"
    if role == "kanwil":
        return scope != "other_region"
    if role == "ketua_penilai":
        return scope == "other_unit"  # the one head the team names
    if role in JUDGES:
        return scope in ("other_unit", "other_region")  # assigned, and not of the unit (conflict of interest)
    return True


def sees(role: str, scope: str, stage: str) -> bool:
    """Whether this official may read the case at all (else 404): issue 12's read rules."""
    if role in JUDGES:
        return in_scope(role, scope) and stage in WITH_TEAM
    return in_scope(role, scope)


def expected(role: str, scope: str, event: str, stage: str) -> int:
    """403: not this role's event, or not this official's case. 409: not now. 200: done.

    The case at evaluasi carries two sheets by assessors outside the matrix, so the four-eyes rule is met for every
    ketua_penilai in it and none of them scored (tests/test_separation_of_duties.py covers the other side).
    """
    if role not in ROLE_TABLE[event] or not in_scope(role, scope):
        return 403
    if role in JUDGES and stage not in WITH_TEAM:
        return 403  # no team assigned yet: no judge may act
    if stage not in expected_sources(event):
        return 409
    if event == "batalkan" and role == "operator_unit" and stage not in BEFORE_REPORTING:
        return 409  # an operator cancels only before reporting opens; an admin always
    if event == "tanggapi_rencana":
        return 409  # the Kanwil answers a plan once one is sent; these cases have none (tests/test_rencana.py)
    return 200


# --- The requests ---------------------------------------------------------------------------------------------------

Who = tuple[str, tuple[tuple[str, str], ...]]  # (role, claims): one official, relative to the case


def who(role: str, scope: str) -> Who:
    return role, tuple(sorted(claims(role, scope).items()))


def headers(token: Token, official: Who, unit: str) -> dict[str, str]:
    role, relative = official
    real = {name: unit if value == CASE_UNIT else value for name, value in relative}
    sub = f"{role}@{real.get('unit') or real.get('region') or 'pusat'}"
    if role == "ketua_penilai" and real.get("unit") == ASSESSORS:
        sub = HEAD
    return {**token(role, sub, **real), "Idempotency-Key": str(uuid.uuid4())}


async def attempt(
    api: httpx.AsyncClient, token: Token, d: Driver, official: Who, event: str, payloads: dict[str, dict[str, Any]]
) -> httpx.Response:
    return await api.post(
        f"{d.case_path}/events/{event}", json=payloads.get(event, {}), headers=headers(token, official, d.unit)
    )


def target(event: str, stage: str) -> str:
    return next(to for e, source, to in TRANSITIONS if (e, source) == (event, stage))


def test_the_matrix_covers_every_event_and_role() -> None:
    assert set(EVENTS) == set(ROLE_TABLE)
    assert len(ROLES) == 9 and set(ROLES) >= {role for roles in ROLE_TABLE.values() for role in roles} - {"system"}


@pytest.mark.parametrize("stage", NON_FINAL)
async def test_every_role_event_and_scope_gets_the_designed_status(
    api: httpx.AsyncClient, settings: Settings, token: Token, year: int, stage: str
) -> None:
    cal = calendar(datetime.now(UTC), OPENS_LATE if stage in BEFORE_REPORTING else OPENS_AT_ONCE)
    cells = [(role, scope, event) for role in ROLES for scope in SCOPES for event in EVENTS]
    want = {cell: expected(*cell, stage) for cell in cells}
    requests: dict[tuple[Who, str], int] = {}
    for (role, scope, event), status in want.items():
        assert requests.setdefault((who(role, scope), event), status) == status  # one official, one answer
    wins = sorted(key for key, status in requests.items() if status == 200)
    assert wins, f"no event succeeds at {stage}: the table is wrong"

    auditor = token("auditor", "auditor-matrix")
    matrix = await case_at(api, settings, year, f"MX-{stage}", stage, cal)
    fresh = await asyncio.gather(
        *(case_at(api, settings, year, f"MX-{stage}-{n}", stage, cal) for n in range(1, len(wins)))
    )
    cases = [*fresh, matrix]  # one success each; the tested case's comes after all the refusals
    payloads = await asyncio.gather(*(valid_payloads(d, cal) for d in cases))

    before = await snapshot(api, auditor, matrix)
    got: dict[tuple[Who, str], httpx.Response] = {}
    for key, status in requests.items():
        if status != 200:
            got[key] = await attempt(api, token, matrix, *key, payloads[-1])
    assert await snapshot(api, auditor, matrix) == before, "a refusal changed the case"
    for role, scope in {(role, scope) for role, scope, _ in cells}:  # "what may I do now" tells each official the same
        official = who(role, scope)
        view = await api.get(matrix.case_path, headers=headers(token, official, matrix.unit))
        if not sees(role, scope, stage):
            assert view.status_code == 404 and not [e for o, e in wins if o == official], (official, view.text)
            continue
        assert sorted(view.json()["allowed"]) == sorted(e for o, e in wins if o == official), (official, view.text)

    histories = await asyncio.gather(*(snapshot(api, auditor, d) for d in cases))
    sent = zip(wins, cases, payloads, strict=True)
    done = await asyncio.gather(*(attempt(api, token, d, *key, p) for key, d, p in sent))
    got.update(zip(wins, done, strict=True))

    wrong = [
        f"{role} ({scope}) {event} at {stage}: expected {status}, got {got[who(role, scope), event].status_code} "
        f"{got[who(role, scope), event].text[:300]}"
        for (role, scope, event), status in want.items()
        if got[who(role, scope), event].status_code != status
    ]
    assert not wrong, f"{len(wrong)} of {len(want)} cells differ from the design:\n" + "\n".join(wrong)

    for response in (r for key, r in got.items() if requests[key] != 200):
        body = response.json()
        assert set(body) == {"error", "message", "why", "why_codes"} and body["why"], body
        assert body["error"] == ("forbidden" if response.status_code == 403 else "refused"), body
    for ((role, _), event), d, response, (_, history) in zip(wins, cases, done, histories, strict=True):
        assert response.json()["stage"] == target(event, stage), response.json()
        after = (await snapshot(api, auditor, d))[1]["entries"]
        assert after[:-1] == history["entries"], f"{event} rewrote the history of {d.unit}"
        assert (after[-1]["event"], after[-1]["from"], after[-1]["actor"]["role"]) == (event, stage, role)


async def test_a_direct_temporal_update_is_refused_by_the_validator(
    api: httpx.AsyncClient, settings: Settings, client: Client, token: Token, year: int
) -> None:
    """Going around the API changes nothing either: the workflow's validator asks the same questions."""
    cal = calendar(datetime.now(UTC), OPENS_LATE)
    d = await case_at(api, settings, year, "MX-DIRECT", "permohonan", cal)
    payload = (await valid_payloads(d, cal))["setujui_permohonan"]
    handle = client.get_workflow_handle(case_workflow_id(year, d.unit))
    events_before = [e.event_type for e in (await handle.fetch_history()).events]
    auditor = token("auditor", "auditor-matrix")
    before = await snapshot(api, auditor, d)
    intruders = [
        Actor(sub="auditor-1", role="auditor"),
        Actor(sub="admin-1", role="admin"),
        Actor(sub="op-x", role="operator_unit", unit=d.unit),
        Actor(sub="kanwil-x", role="kanwil", region=REGION),
        Actor(sub="system", role="system"),
    ]
    for actor in intruders:
        with pytest.raises(WorkflowUpdateFailedError) as caught:
            await handle.execute_update(
                CaseWorkflow.kirim,
                EventRequest(event="setujui_permohonan", actor=actor, payload=payload),
                id=f"direct-{uuid.uuid4()}",
            )
        cause = caught.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == "Refused", cause
        [why] = cause.details[0]  # the reasons as data: {"code", "params"}
        assert why == {
            "code": "peran_salah",
            "params": {"event": "setujui_permohonan", "roles": ["ditjen_ham"], "role": actor.role},
        }
    scoped = EventRequest(
        event="batalkan", actor=Actor(sub="op-y", role="operator_unit", unit=FAR_UNIT), payload={"alasan": "salah unit"}
    )
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(CaseWorkflow.kirim, scoped, id=f"direct-{uuid.uuid4()}")

    assert [e.event_type for e in (await handle.fetch_history()).events] == events_before
    assert (await handle.query(CaseWorkflow.keadaan)).stage == "permohonan"
    assert await snapshot(api, auditor, d) == before

    # The same path with the right official works, so the refusals above were the validator's and nothing else.
    ditjen = Actor(sub="ditjen-1", role="ditjen_ham")
    done = await handle.execute_update(
        CaseWorkflow.kirim, EventRequest(event="setujui_permohonan", actor=ditjen, payload=payload), id="direct-ok"
    )
    assert done.stage == "pencanangan_terjadwal"
    assert len((await handle.fetch_history()).events) > len(events_before)
