"""Abuse limits (issue 12, item 6): refused commands and expensive reads per caller answer 429 with Retry-After and
log nothing more; CSV cells never start a formula; an evidence quota per unit; the audit pack has a size cap."""

import csv
import io
import uuid
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, func, select
from temporalio.client import Client

from models.policy import compressed_calendar
from models.tables import RefusalRow
from service.api import create_app
from service.auth import mint
from service.demo import open_case, sample_photo
from service.settings import Settings


@pytest.fixture
async def tight(settings: Settings, client: Client) -> AsyncIterator[httpx.AsyncClient]:
    """The same service with small limits: 10 refusals and 2 expensive reads a minute, a 200-byte evidence quota."""
    strict = settings.model_copy(
        update={
            "rate_limit_refused": "10/minute",
            "rate_limit_expensive": "2/minute",
            "evidence_quota_bytes": 200,
            "audit_pack_max_bytes": 1000,
        }
    )
    app = create_app(strict, client=client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://p2ham.test") as http:
        yield http


def refusals(engine: Engine, year: int) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(RefusalRow).where(RefusalRow.year == year)).one()


async def test_a_burst_of_refused_commands_is_slowed_and_not_logged_in_full(
    api: httpx.AsyncClient, tight: httpx.AsyncClient, settings: Settings, engine: Engine, year: int
) -> None:
    d = await open_case(api, settings, year, "ABUSE-A", compressed_calendar(datetime.now(UTC), timedelta(minutes=1)))
    before = refusals(engine, year)

    async def refused() -> httpx.Response:
        headers = {**d.officials["operator"], "Idempotency-Key": str(uuid.uuid4())}
        return await tight.post(f"{d.case_path}/events/setujui_permohonan", json={}, headers=headers)

    answers = [await refused() for _ in range(100)]  # one after the other, as fast as the service answers
    statuses = [r.status_code for r in answers]
    assert statuses.count(403) == 10 and statuses.count(429) == 90, statuses
    slowed = next(r for r in answers if r.status_code == 429)
    assert int(slowed.headers["Retry-After"]) >= 1 and slowed.json()["error"] == "too_many_requests"
    assert refusals(engine, year) - before == 10
    other = {**d.officials["kepala"], "Idempotency-Key": str(uuid.uuid4())}  # another caller is not slowed
    assert (await tight.post(f"{d.case_path}/events/setujui_permohonan", json={}, headers=other)).status_code == 403

    # A refusal on a case the caller may not see leaves no record.
    stranger = {"Authorization": f"Bearer {mint(settings, 'operator_unit', 'op-lain', unit='KANIM-LAIN')}"}
    got = await api.post(
        f"{d.case_path}/events/batalkan",
        json={"alasan": "x"},
        headers={**stranger, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert got.status_code == 403 and refusals(engine, year) - before == 11  # the kepala's, not the stranger's


async def test_dashboard_misses_are_limited_and_filters_checked(
    api: httpx.AsyncClient, tight: httpx.AsyncClient, settings: Settings, year: int
) -> None:
    d = await open_case(api, settings, year, "ABUSE-DASH", compressed_calendar(datetime.now(UTC), timedelta(minutes=1)))
    ditjen = d.officials["ditjen"]
    path = f"/cycles/{year}/dashboard"
    assert (await tight.get(path, params={"region": "TIDAK-ADA"}, headers=ditjen)).status_code == 404  # unknown
    assert (await tight.get(path, params={"kind": "pabrik"}, headers=ditjen)).status_code == 422
    kinds = ["kantor_imigrasi", "upt_pemasyarakatan", "opd"]
    answers = [await tight.get(path, params={"kind": k}, headers=ditjen) for k in kinds]
    assert [r.status_code for r in answers] == [200, 200, 429], [r.text for r in answers]
    assert (await tight.get(path, params={"kind": "kantor_imigrasi"}, headers=ditjen)).status_code == 200  # cached


async def test_csv_cells_never_start_a_formula(api: httpx.AsyncClient, settings: Settings, year: int) -> None:
    d = await open_case(api, settings, year, "ABUSE-CSV", compressed_calendar(datetime.now(UTC), timedelta(minutes=1)))
    name = '=HYPERLINK("http://contoh.invalid","klik")'
    evil = {"Authorization": f"Bearer {mint(settings, 'operator_unit', 'op-csv', name=name, unit=d.unit)}"}
    got = await api.post(
        f"{d.case_path}/events/setujui_permohonan", json={}, headers={**evil, "Idempotency-Key": str(uuid.uuid4())}
    )
    assert got.status_code == 403
    auditor = {"Authorization": f"Bearer {mint(settings, 'auditor', 'auditor-csv')}"}
    pack = await api.get(f"{d.case_path}/audit/pack", headers=auditor)
    assert pack.status_code == 200, pack.text
    with zipfile.ZipFile(io.BytesIO(pack.content)) as z:
        rows = list(csv.reader(io.StringIO(z.read("refusals.csv").decode())))
    cells = [cell for row in rows for cell in row]
    assert "'" + name in cells and name not in cells, rows


async def test_evidence_quota_and_pack_size_cap(
    tight: httpx.AsyncClient, api: httpx.AsyncClient, settings: Settings, year: int
) -> None:
    d = await open_case(
        api, settings, year, "ABUSE-KUOTA", compressed_calendar(datetime.now(UTC), timedelta(minutes=1))
    )
    operator = d.officials["operator"]
    first = await tight.post("/evidence", files={"file": ("a.png", sample_photo("kuota-1"))}, headers=operator)
    assert first.status_code == 201, first.text
    again = await tight.post("/evidence", files={"file": ("a.png", sample_photo("kuota-1"))}, headers=operator)
    assert again.status_code == 200  # the same bytes use no more of the quota
    over: list[Any] = []
    for n in range(2, 6):
        r = await tight.post("/evidence", files={"file": (f"{n}.png", sample_photo(f"kuota-{n}"))}, headers=operator)
        over.append(r.status_code)
    assert 413 in over and over[-1] == 413, over
    auditor = {"Authorization": f"Bearer {mint(settings, 'auditor', 'auditor-besar')}"}
    big = await tight.get(f"{d.case_path}/audit/pack", headers=auditor)
    assert big.status_code == 413 and big.json()["error"] == "pack_too_large", big.text
