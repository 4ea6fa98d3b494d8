"""Bad input, deliberately: oversized bodies, wrong content types, odd unicode, dates at the calendar's edges, unknown
years and units. Never a 5xx, always the error shape, and nothing stored that was refused (the tables are checked).
Schemathesis over every role, with all its checks, is tests/test_schemathesis.py.
"""

import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, func, select
from temporalio.client import Client
from temporalio.worker import Worker

from models.tables import CaseRow, CycleRow, EvidenceRow, IdempotencyKeyRow, RefusalRow, TransitionRow, UnitRow
from service.api import create_app
from service.demo import WITNESSES, Driver, open_case, sample_photo
from service.settings import Settings
from tests.stages import OPENS_LATE, REGION, calendar
from tests.test_faults import postgres_database, settle

Token = Callable[..., dict[str, str]]
MiB = 1024 * 1024
SHAPE = {"error", "message", "why", "why_codes"}
NAME_MAX, TEXT_MAX = 200, 2000  # models/contracts.py: Name and Text, the documented limits


@pytest.fixture
async def http(settings: Settings, client: Client, worker: Worker) -> AsyncIterator[httpx.AsyncClient]:
    """The API on the session's database and worker; an unhandled exception is a 500 here, as a real server's."""
    app = create_app(settings, client=client)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://p2ham.test") as client_:
        yield client_
    app.state.p2ham.engine.dispose()  # the transport runs no lifespan


def quiet(_: str) -> None:
    pass


async def a_case(http: httpx.AsyncClient, settings: Settings, year: int, unit: str) -> Driver:
    """A case waiting at permohonan, its windows minutes long."""
    return await open_case(http, settings, year, unit, calendar(datetime.now(UTC), OPENS_LATE), say=quiet)


def stored(engine: Engine, year: int, unit: str) -> dict[str, Any]:
    """Everything a request on this case could have written, except the refusal log (checked on its own)."""
    with Session(engine) as s:
        row = s.get(CaseRow, (year, unit))
        entries = s.exec(
            select(TransitionRow.seq, TransitionRow.event, TransitionRow.hash).where(
                TransitionRow.year == year, TransitionRow.unit == unit
            )
        ).all()
        keys = s.exec(
            select(func.count())
            .select_from(IdempotencyKeyRow)
            .where(IdempotencyKeyRow.year == year, IdempotencyKeyRow.unit == unit)
        ).one()
    return {"case": row and (row.stage, row.seq, row.data), "entries": sorted(entries), "keys": keys}


def refusal_bytes(engine: Engine, year: int, unit: str) -> int:
    """How much the refusal log holds for a case: a refused request may be logged, its oversized body must not be."""
    with Session(engine) as s:
        rows = s.exec(select(RefusalRow).where(RefusalRow.year == year, RefusalRow.unit == unit)).all()
    return sum(len(str(r.payload)) + len(str(r.why)) for r in rows)


def unit_row(engine: Engine, code: str) -> UnitRow | None:
    with Session(engine) as s:
        return s.get(UnitRow, code)


def refused_well(r: httpx.Response, *statuses: int) -> str | None:
    """None if the response is one of `statuses` with the API's error shape; else what is wrong with it."""
    try:
        body = r.json()
    except ValueError:
        body = None
    if r.status_code in statuses and isinstance(body, dict) and set(body) == SHAPE:
        return None
    return f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:300]!r}, expected {statuses} + shape"


async def event(d: Driver, name: str, who: str = "ditjen", **kwargs: Any) -> httpx.Response:
    headers = {**d.officials[who], "Idempotency-Key": str(uuid.uuid4()), **kwargs.pop("headers", {})}
    return await d.http.post(f"{d.case_path}/events/{name}", headers=headers, **kwargs)


# --- Oversized bodies ----------------------------------------------------------------------------------------------


async def test_oversized_bodies_are_refused_and_nothing_is_stored(
    http: httpx.AsyncClient, settings: Settings, engine: Engine, year: int, capsys
) -> None:
    d = await a_case(http, settings, year, "KANIM-BESAR")
    before = stored(engine, year, d.unit)
    huge = "x" * (5 * MiB)
    many = [{"nama": f"Saksi {i}", "jabatan": "Anggota", "unsur": "lainnya"} for i in range(60_000)]  # ~5 MB
    problems = []
    sent = [
        await event(d, "tolak_permohonan", json={"alasan": huge}),
        await event(
            d, "setujui_permohonan", json={"jadwal": "2030-01-01T09:00:00+07:00", "tempat": "A", "saksi": many}
        ),
        await http.post(
            f"/cycles/{year}/cases", json={"unit": d.unit, "catatan": huge}, headers=d.officials["operator"]
        ),
    ]
    for r in sent:
        problems.append(refused_well(r, 413, 422))
    unit = {"code": "KANIM-BESAR-2", "name": huge, "kind": "kantor_imigrasi", "region": REGION}
    r = await http.post("/units", json=unit, headers=d.officials["admin"])
    problems.append(refused_well(r, 413, 422))
    if unit_row(engine, "KANIM-BESAR-2") is not None:
        problems.append("a unit with a 5 MB name was registered")
    if stored(engine, year, d.unit) != before:
        problems.append("an oversized request changed the case, its history or its idempotency keys")
    logged = refusal_bytes(engine, year, d.unit)
    if logged > 64 * 1024:
        problems.append(f"the refusal log kept {logged} bytes of refused oversized bodies for this case")
    problems = [p for p in problems if p]
    counts = f"test_bad_input oversized bodies: {len(sent) + 1} requests of ~5 MB, {len(problems)} problems"
    settle(capsys, counts, problems)


async def test_a_20_mb_upload_is_413_and_nothing_is_kept(
    http: httpx.AsyncClient, settings: Settings, engine: Engine, token
) -> None:
    unit = f"KANIM-UNGGAH-{uuid.uuid4().hex[:6].upper()}"
    files_before = sorted(p for p in settings.evidence_dir.rglob("*") if p.is_file())
    big = sample_photo("besar") + b"\0" * (20 * MiB)  # a PNG by its first bytes, twice the limit
    r = await http.post("/evidence", files={"file": ("besar.png", big)}, headers=token("operator_unit", unit=unit))
    assert refused_well(r, 413) is None, refused_well(r, 413)
    with Session(engine) as s:
        assert s.exec(select(EvidenceRow).where(EvidenceRow.unit == unit)).all() == []
    assert sorted(p for p in settings.evidence_dir.rglob("*") if p.is_file()) == files_before, "a file was kept"


# --- Wrong content types -------------------------------------------------------------------------------------------

KINDS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "text/plain": lambda body: {"content": json.dumps(body).encode(), "headers": {"Content-Type": "text/plain"}},
    "form": lambda body: {"data": {k: str(v) for k, v in body.items()}},
    "multipart": lambda body: {"data": {k: str(v) for k, v in body.items()}, "files": {"x": ("x.txt", b"x")}},
    "xml": lambda body: {"content": b"<alasan>x</alasan>", "headers": {"Content-Type": "application/xml"}},
}


def sent_as(kind: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    """httpx keyword arguments sending `body` as `kind`, with the caller's headers."""
    request = KINDS[kind](body)
    return {**request, "headers": {**headers, **request.get("headers", {})}}


@pytest.mark.parametrize("kind", list(KINDS))
async def test_wrong_content_types_are_415_or_422_and_change_nothing(
    http: httpx.AsyncClient, settings: Settings, engine: Engine, year: int, kind: str
) -> None:
    d = await a_case(http, settings, year, f"KANIM-JENIS-{kind.replace('/', '-').upper()}")
    before = stored(engine, year, d.unit)
    with Session(engine) as s:
        cycle_before = s.get(CycleRow, year).policy  # type: ignore[union-attr]
    new_unit = {"code": f"OPD-JENIS-{year}", "name": "Dinas Jenis", "kind": "opd", "region": REGION}
    cal = calendar(datetime.now(UTC), OPENS_LATE).model_dump(mode="json")
    admin, operator = d.officials["admin"], d.officials["operator"]
    ditjen = {**d.officials["ditjen"], "Idempotency-Key": str(uuid.uuid4())}
    sent = [
        await http.post(f"{d.case_path}/events/tolak_permohonan", **sent_as(kind, {"alasan": "Berkas kurang"}, ditjen)),
        await http.post("/units", **sent_as(kind, new_unit, admin)),
        await http.put(f"/cycles/{year}", **sent_as(kind, {"regulation": "2018", "calendar": cal}, admin)),
        await http.post(f"/cycles/{year}/cases", **sent_as(kind, {"unit": d.unit}, operator)),
        await http.post(f"/cycles/{year}/cohorts", **sent_as(kind, new_unit, admin)),
    ]
    problems = [p for r in sent if (p := refused_well(r, 415, 422))]
    assert not problems, "\n".join(problems)
    assert stored(engine, year, d.unit) == before
    assert unit_row(engine, new_unit["code"]) is None
    with Session(engine) as s:
        assert s.get(CycleRow, year).policy == cycle_before  # type: ignore[union-attr]


async def test_what_the_framework_refuses_is_said_in_words(http: httpx.AsyncClient, token: Token) -> None:
    """An unreadable body (400), an unknown address (404), a method the path does not serve (405, `Allow` naming every
    method of every route at that path): the error shape in words, never a message id."""
    admin = token("admin", "admin-words")
    unreadable = await http.post("/units", content=b"\xff\xfe{", headers={**admin, "Content-Type": "application/json"})
    unknown = await http.get("/tidak/ada", headers=admin)
    not_served = await http.delete("/cycles/2024/cases", headers=admin)
    assert (unreadable.status_code, unknown.status_code, not_served.status_code) == (400, 404, 405)
    assert not_served.headers["Allow"] == "GET, POST"  # two routes serve this path: GET and POST
    for answer in (unreadable, unknown, not_served):
        body = answer.json()
        assert set(body) == {"error", "message", "why", "why_codes"}
        assert " " in body["message"] and not body["message"].startswith("error."), body
    english = await http.get("/tidak/ada?lang=en", headers=admin)
    assert english.json()["message"] != unknown.json()["message"]


# --- Unicode and long strings --------------------------------------------------------------------------------------

EMOJI = "🇮🇩🏛️👩🏽‍🦽"  # a flag, a variation selector, a zero-width-joined sequence
RTL = "مكتب الهجرة \u202eterbalik\u202c"  # Arabic, and a right-to-left override
ODD = f"Kantor {EMOJI} {RTL} Ṣ̌ NUL[\x00] tab[\t]"


def exactly(text: str, length: int) -> str:
    """`text` repeated and cut to `length` code points, ending on a visible character (no whitespace to strip)."""
    out = (text * (length // len(text) + 1))[: length - 1]
    return out + "."


async def test_unicode_names_and_reasons_are_stored_exactly_within_the_limits(
    http: httpx.AsyncClient, settings: Settings, engine: Engine, year: int, capsys
) -> None:
    d = await a_case(http, settings, year, "KANIM-UNIKODE")
    admin = d.officials["admin"]
    problems: list[str | None] = []

    # Names: up to 200 code points kept as sent; one more is a 422 that leaves the registry as it was.
    code = f"OPD-UNIKODE-{year}"
    name = exactly(ODD, NAME_MAX)
    r = await http.post("/units", json={"code": code, "name": name, "kind": "opd", "region": REGION}, headers=admin)
    problems.append(None if r.status_code in (201, 422) else f"POST /units, odd name: {r.status_code} {r.text[:300]}")
    kept = unit_row(engine, code)
    if r.status_code == 201 and (kept is None or kept.name != name):
        problems.append(f"the unit's name was stored as {kept and kept.name!r}, not as sent {name!r}")
    too_long = {"code": code, "name": exactly(EMOJI, NAME_MAX + 1), "kind": "opd", "region": REGION}
    problems.append(refused_well(await http.post("/units", json=too_long, headers=admin), 422))
    if (unit_row(engine, code) and unit_row(engine, code).name) != (kept and kept.name):  # type: ignore[union-attr]
        problems.append("a refused name changed the registered unit")
    bad_code = {"code": f"KANIM-{EMOJI}", "name": "Kantor", "kind": "opd", "region": REGION}
    problems.append(refused_well(await http.post("/units", json=bad_code, headers=admin), 422))

    # Reasons: 2,000 code points of emoji, RTL text and a NUL byte are applied and kept exactly; 10,000 are a 422.
    before = stored(engine, year, d.unit)
    r = await event(d, "tolak_permohonan", json={"alasan": exactly(ODD, TEXT_MAX + 8000)})
    problems.append(refused_well(r, 422))
    if stored(engine, year, d.unit) != before:
        problems.append("a 10,000-character alasan changed the case")
    alasan = exactly(ODD, TEXT_MAX)
    r = await event(d, "tolak_permohonan", json={"alasan": alasan})
    if r.status_code == 200:
        history = (await http.get(f"{d.case_path}/history", headers=d.officials["ditjen"])).json()
        if history["entries"][-1]["payload"] != {"alasan": alasan}:
            problems.append("the alasan in the history is not the one sent")
        with Session(engine) as s:
            row = s.exec(
                select(TransitionRow)
                .where(TransitionRow.year == year, TransitionRow.unit == d.unit)
                .order_by(TransitionRow.seq.desc())  # type: ignore[union-attr]
            ).first()
        if row is None or row.payload != {"alasan": alasan}:
            problems.append("the alasan in the audit log is not the one sent")
    elif r.status_code != 422:
        problems.append(f"tolak_permohonan with a 2,000-character odd alasan: {r.status_code} {r.text[:300]}")
    problems = [p for p in problems if p]
    counts = (
        f"test_bad_input unicode: names of {NAME_MAX} and reasons of {TEXT_MAX} code points, {len(problems)} problems"
    )
    settle(capsys, counts, problems)


async def test_nul_bytes_and_odd_unicode_on_postgresql_are_not_server_errors(
    settings: Settings, client: Client, token: Token, tmp_path: Path
) -> None:
    """PostgreSQL, unlike SQLite, cannot hold a NUL byte in a text column: the API must say 422, or keep it exactly."""
    with postgres_database("p2ham_badinput") as (url, _):
        own = settings.model_copy(update={"database_url": url, "evidence_dir": tmp_path / "evidence"})
        app = create_app(own, client=client)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        admin = token("admin", "admin-nul")
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://p2ham.test") as http:
                problems = []
                for n, name in enumerate([exactly(ODD, NAME_MAX), "Kantor\x00Imigrasi", EMOJI + RTL]):
                    unit = {"code": f"OPD-PG-{n}", "name": name, "kind": "opd", "region": f"KANWIL-{n}"}
                    r = await http.post("/units", json=unit, headers=admin)
                    if r.status_code == 201:
                        got = [
                            u["name"]
                            for u in (await http.get("/units", headers=admin, params={"region": f"KANWIL-{n}"})).json()
                        ]
                        if got != [name]:
                            problems.append(f"name {name!r} stored as {got!r}")
                    elif refused_well(r, 422):
                        problems.append(f"POST /units with name {name!r}: {r.status_code} {r.text[:200]}")
        finally:
            app.state.p2ham.engine.dispose()
    assert not problems, "\n".join(problems)


# --- Dates at the calendar's edges ---------------------------------------------------------------------------------

FIRST = "0001-01-01T00:00:00+07:00"  # in UTC this is in year 0, which Python's datetime cannot hold
LAST = "9999-12-31T23:59:59-10:00"  # and this is in year 10000


async def test_dates_out_of_range_are_refused_and_nothing_is_stored(
    http: httpx.AsyncClient, settings: Settings, engine: Engine, year: int, token, capsys
) -> None:
    d = await a_case(http, settings, year, "KANIM-TANGGAL")
    admin, ditjen = d.officials["admin"], d.officials["ditjen"]
    before = stored(engine, year, d.unit)
    problems: list[str | None] = []
    jadwal = {"tempat": "Aula", "saksi": WITNESSES}
    for when, statuses in (
        (FIRST, (409, 422)),
        (LAST, (409, 422)),
        ("2030-01-01T09:00:00", (422,)),
        ("0000-01-01T00:00:00+07:00", (422,)),
    ):
        r = await event(d, "setujui_permohonan", json={**jadwal, "jadwal": when})
        problems.append(refused_well(r, *statuses))
    after = stored(engine, year, d.unit)
    # A 409 comes from the workflow, after the API claimed the request's Idempotency-Key: that row may stay.
    if (after["case"], after["entries"]) != (before["case"], before["entries"]):
        problems.append(f"a refused date changed the case: {before} -> {after}")

    # A cycle: naive datetimes are a 422; a calendar from year 1 to 9999 with offsets is kept exactly, or refused.
    other = year + 5000  # a year no other test uses (the fixture counts from 3000)
    edge = {
        "applications_close": FIRST,
        "reporting_opens": "0001-01-02T00:00:00+07:00",
        "reporting_closes": "9999-12-31T00:00:00-10:00",
        "cycle_ends": "9999-12-31T10:00:00-10:00",
        "award_valid_until": LAST,
    }
    naive = {k: v[:19] for k, v in edge.items()}
    r = await http.put(f"/cycles/{other}", json={"regulation": "2023", "calendar": naive}, headers=admin)
    problems.append(refused_well(r, 422))
    with Session(engine) as s:
        if s.get(CycleRow, other) is not None:
            problems.append("a cycle with naive datetimes was stored")
    r = await http.put(f"/cycles/{other}", json={"regulation": "2023", "calendar": edge}, headers=admin)
    if r.status_code == 200:
        got = (await http.get(f"/cycles/{other}", headers=admin)).json()
        for k, v in edge.items():
            if (
                datetime.fromisoformat(got["calendar"][k]) != datetime.fromisoformat(v)
                or got["calendar"][k][-6:] != v[-6:]
            ):
                problems.append(f"calendar.{k} sent {v}, read back {got['calendar'][k]}")
        for path in (f"/cycles/{other}/dashboard", f"/cycles/{other}/cases"):
            g = await http.get(path, headers=admin)
            if g.status_code >= 500:
                problems.append(f"GET {path} after an edge calendar: {g.status_code} {g.text[:200]}")
        op = token("operator_unit", unit=d.unit)
        problems.append(refused_well(await http.post(f"/cycles/{other}/cases", json={"unit": d.unit}, headers=op), 409))
    else:
        problems.append(refused_well(r, 422))
    for as_of in (FIRST, LAST, "0001-01-01", "9999-12-31"):
        r = await http.get(f"{d.case_path}/history", params={"as_of": as_of}, headers=ditjen)
        if r.status_code >= 500 or (r.status_code != 200 and set(r.json()) != SHAPE):
            problems.append(f"history as_of {as_of}: {r.status_code} {r.text[:200]}")
    for path in ("/cycles/0/cases", "/cycles/0001", "/cycles/10000", "/cycles/99999999999999999999/dashboard"):
        problems.append(refused_well(await http.get(path, headers=ditjen), 404, 422))
    problems = [p for p in problems if p]
    counts = f"test_bad_input dates: year 1 and 9999 with offsets, naive and year 0, {len(problems)} problems"
    settle(capsys, counts, problems)


# --- Unknown years and units ---------------------------------------------------------------------------------------


async def test_unknown_years_and_units_are_404_with_the_error_shape(
    http: httpx.AsyncClient, settings: Settings, engine: Engine, year: int, token
) -> None:
    d = await a_case(http, settings, year, "KANIM-ADA")
    unknown_year = 9999 - year % 500  # no cycle: above the years the other tests use (8000s here, 3000s and 4000s)
    auditor, ditjen = token("auditor"), d.officials["ditjen"]
    operator_elsewhere = token("operator_unit", unit="KANIM-TIDAK-ADA")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    cases = [
        ("GET", f"/cycles/{unknown_year}", ditjen, None, "unknown_cycle"),
        ("GET", f"/cycles/{year}/cases/KANIM-TIDAK-ADA", ditjen, None, "unknown_case"),
        ("GET", f"/cycles/{unknown_year}/cases/{d.unit}", ditjen, None, "unknown_case"),
        ("GET", f"/cycles/{year}/cases/KANIM-TIDAK-ADA/history", ditjen, None, "unknown_case"),
        ("GET", f"/cycles/{year}/cases/KANIM-TIDAK-ADA/audit", auditor, None, "unknown_case"),
        ("GET", f"/cycles/{year}/cases/KANIM-TIDAK-ADA/documents/hasil-evaluasi", ditjen, None, "unknown_case"),
        (
            "POST",
            f"/cycles/{year}/cases/KANIM-TIDAK-ADA/events/tolak_permohonan",
            {**ditjen, **key},
            {"alasan": "x"},
            "unknown_case",
        ),
        (
            "POST",
            f"/cycles/{unknown_year}/cases/{d.unit}/events/tolak_permohonan",
            {**ditjen, **key},
            {"alasan": "x"},
            "unknown_case",
        ),
        ("POST", f"/cycles/{year}/cases", operator_elsewhere, {"unit": "KANIM-TIDAK-ADA"}, "unknown_unit"),
        ("POST", f"/cycles/{unknown_year}/cases", d.officials["operator"], {"unit": d.unit}, "unknown_cycle"),
        ("GET", f"/cycles/{year}/ceremonies/tidak-ada", ditjen, None, None),
        ("GET", f"/cycles/{year}/cases/{d.unit}/evidence/" + "0" * 64, ditjen, None, "unknown_evidence"),
    ]
    problems = []
    for method, path, headers, body, error in cases:
        r = await http.request(method, path, headers=headers, json=body)
        if (p := refused_well(r, 404)) or (error and r.json()["error"] != error):
            problems.append(p or f"{method} {path}: error {r.json()['error']}, expected {error}")
    assert not problems, "\n".join(problems)
    with Session(engine) as s:
        assert s.exec(select(CaseRow).where(CaseRow.unit == "KANIM-TIDAK-ADA")).all() == []
        assert s.exec(select(CaseRow).where(CaseRow.year == unknown_year)).all() == []
        assert s.exec(select(TransitionRow).where(TransitionRow.unit == "KANIM-TIDAK-ADA")).all() == []
