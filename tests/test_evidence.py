"""Evidence: content-addressed uploads, sniffed types, nothing kept of a refused file, and the reporting rules."""

import base64
import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, select

from models.policy import compressed_calendar
from models.tables import EvidenceRow
from service.api import create_app
from service.demo import declare, open_case, sample_photo, sample_statement
from service.settings import Settings

# A real 1x1 JPEG (baseline, greyscale).
JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8QEBEQCgwSExIQ"
    "Ew8QEBD/wAALCAABAAEBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAACf/EABQQAQAAAAAAAAAAAAAAAAAAAAD/2gAIAQEAAD8AKp//2Q=="
)


def files_in(root) -> set[str]:
    return {p.name for p in root.rglob("*") if p.is_file()}


async def upload(api: httpx.AsyncClient, headers: dict, name: str, content: bytes) -> httpx.Response:
    return await api.post("/evidence", files={"file": (name, content)}, headers=headers)


async def test_real_files_are_kept_by_content_and_a_renamed_text_file_is_not(
    api: httpx.AsyncClient, settings: Settings, engine: Engine, token
):
    operator = token("operator_unit", unit="LAPAS-BUKTI")
    for name, content, media_type in [
        ("ramp.jpg", JPEG, "image/jpeg"),
        ("loket.png", sample_photo("loket"), "image/png"),
        ("pernyataan.pdf", sample_statement("LAPAS-BUKTI"), "application/pdf"),
    ]:
        first = await upload(api, operator, name, content)
        assert first.status_code == 201, first.text
        assert first.json() == {
            "id": hashlib.sha256(content).hexdigest(),
            "media_type": media_type,
            "size": len(content),
            "unit": "LAPAS-BUKTI",
        }
        again = await upload(api, operator, "another-name" + name[-4:], content)
        assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
        got = await api.get(f"/evidence/{first.json()['id']}", headers=token("auditor"))
        assert (got.content, got.headers["content-type"]) == (content, media_type)

    before = files_in(settings.evidence_dir)
    text = b"ini bukan foto, hanya teks yang diberi nama .jpg"
    refused = await upload(api, operator, "foto-ramp.jpg", text)
    assert refused.status_code == 415
    assert "foto-ramp.jpg" in " ".join(refused.json()["why"])
    assert files_in(settings.evidence_dir) == before
    with Session(engine) as s:
        assert s.exec(select(EvidenceRow).where(EvidenceRow.id == hashlib.sha256(text).hexdigest())).first() is None

    assert (await upload(api, token("ditjen_ham"), "x.png", sample_photo("x"))).status_code == 403


async def test_a_file_over_the_limit_is_refused_and_not_kept(settings: Settings, token, tmp_path):
    small = settings.model_copy(update={"evidence_max_bytes": 64, "evidence_dir": tmp_path})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(small)), base_url="http://t") as http:
        big = sample_statement("X" * 100)
        r = await http.post("/evidence", files={"file": ("besar.pdf", big)}, headers=token("operator_unit", unit="U"))
    assert r.status_code == 413
    assert files_in(tmp_path) == set()


async def test_a_report_reusing_a_photo_across_criteria_is_refused_with_their_names(
    api: httpx.AsyncClient, settings: Settings, year: int, token
):
    d = await open_case(
        api, settings, year, "KANIM-REUSE", compressed_calendar(datetime.now(UTC), timedelta(seconds=1))
    )
    await declare(d, datetime.now(UTC) + timedelta(seconds=1), 15)
    await d.wait_until("operator", lambda v: v["stage"] == "pelaporan", "the reporting window", 15)
    cycle = await d.call("GET", f"/cycles/{year}?kind=kantor_imigrasi", "operator")
    photos = [await d.upload("operator", f"p{n}.png", sample_photo(f"{year}-{n}")) for n in range(3)]
    foreign = (await upload(api, token("operator_unit", unit="KANIM-LAIN"), "f.png", sample_photo(f"{year}-f"))).json()
    answers = [
        {"kode": i["code"], "nilai": c["scale"][0], "bukti": photos if k == 0 else []}
        for c in cycle["criteria"]
        for k, i in enumerate(c["indicators"])
    ]
    answers[-1]["bukti"] = [foreign["id"]]
    headers = {**d.officials["operator"], "Idempotency-Key": str(uuid.uuid4())}
    r = await api.post(f"{d.case_path}/events/kirim_laporan", json={"indikator": answers}, headers=headers)
    assert r.status_code == 409
    why = " ".join(r.json()["why"])
    assert {
        "code": "bukti_dipakai_berulang",
        "params": {"bukti": photos[0], "kriteria": sorted(c["code"] for c in cycle["criteria"])},
    } in (r.json()["why_codes"])
    assert f"Bukti dukung {photos[0]} dipakai untuk lebih dari satu kriteria (Inovasi pelayanan publik, " in why
    assert f"Bukti dukung {foreign['id']} diunggah oleh unit lain (KANIM-LAIN)." in why
    assert (await d.call("GET", d.case_path, "operator"))["stage"] == "pelaporan"
