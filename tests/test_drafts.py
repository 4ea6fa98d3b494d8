"""A unit saves its report as a draft and sees which checks still fail, before anything is sent."""

from datetime import UTC, datetime, timedelta

import httpx

from models.policy import compressed_calendar
from service.demo import declare, open_case, sample_photo
from service.settings import Settings


async def test_a_draft_shows_what_still_fails_and_sends_nothing(api: httpx.AsyncClient, settings: Settings, year: int):
    d = await open_case(
        api, settings, year, "LAPAS-DRAFT", compressed_calendar(datetime.now(UTC), timedelta(seconds=1))
    )
    draft_path = f"{d.case_path}/draft"
    early = await d.call("GET", draft_path, "operator")
    assert not early["ready"] and [c["code"] for c in early["check_codes"]] == ["tahap_salah"]  # not open yet
    assert "tahap Pelaporan" in early["checks"][0]
    await declare(d, datetime.now(UTC) + timedelta(seconds=1), 15)
    await d.wait_until("operator", lambda v: v["stage"] == "pelaporan", "the reporting window", 15)

    cycle = await d.call("GET", f"/cycles/{year}?kind=kantor_imigrasi", "operator")
    first = cycle["criteria"][0]
    photo = await d.upload("operator", "ramp.png", sample_photo(f"{year}-ramp"))
    partial = {"indikator": [{"kode": first["indicators"][0]["code"], "nilai": "Ada", "bukti": [photo]}]}
    saved = await d.call("PUT", draft_path, "operator", partial)
    why = " ".join(saved["checks"])
    assert not saved["ready"]
    assert f"Indikator {first['indicators'][1]['code']} ({first['indicators'][1]['name']}) belum dijawab." in why
    assert "Kriteria Aksesibilitas dan ketersediaan sarana prasarana baru memiliki 1 foto; diperlukan paling " in why
    assert {"code": "foto_kurang", "params": {"kriteria": "sarana", "jumlah": 1, "minimum": 3}} in saved["check_codes"]
    assert (await d.call("GET", draft_path, "operator"))["laporan"] == saved["laporan"]
    assert (await d.call("GET", d.case_path, "operator"))["stage"] == "pelaporan"  # nothing was sent

    photos = {
        c["code"]: [
            await d.upload("operator", f"{c['code']}{n}.png", sample_photo(f"{year}-{c['code']}-{n}")) for n in range(3)
        ]
        for c in cycle["criteria"]
    }
    complete = {
        "indikator": [
            {"kode": i["code"], "nilai": c["scale"][0], "bukti": photos[c["code"]] if k == 0 else []}
            for c in cycle["criteria"]
            for k, i in enumerate(c["indicators"])
        ]
    }
    ready = await d.call("PUT", draft_path, "operator", complete)
    assert ready["ready"] and ready["checks"] == []
    view = await d.send("kirim_laporan", "operator", ready["laporan"])
    assert view["stage"] == "verifikasi"

    other = await api.get(draft_path, headers=d.officials["kepala"])
    assert other.status_code == 403
