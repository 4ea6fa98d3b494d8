"""Scoring and the outcome documents: the weighted total decides at the pass mark, and the document says why."""

import asyncio
import re
from datetime import UTC, datetime, timedelta

import httpx

from models.contracts import Actor, CaseData, UnitInfo
from models.policy import Calendar, CyclePolicy
from models.tables import TransitionRow
from service import documents
from service.demo import Driver, assign, declare, open_case, report
from service.settings import Settings
from tests.stages import roomy_calendar

WAIT = 30.0

# Two assessors each. Default weights (sarana 30, sdm 20, kepatuhan 20, inovasi 15, integritas 15), pass mark 75.
AT_THE_PASS_MARK = {  # weighted totals 74.5 and 75.5: the mean is exactly 75, which passes
    "penilai_a": {"sarana": 70, "sdm": 80, "kepatuhan": 75, "inovasi": 75, "integritas": 75},
    "penilai_b": {"sarana": 80, "sdm": 70, "kepatuhan": 75, "inovasi": 75, "integritas": 75},
}
JUST_BELOW = {  # weighted totals 73.5 and 74.5: the mean is 74, which fails
    "penilai_a": {"sarana": 60, "sdm": 70, "kepatuhan": 80, "inovasi": 80, "integritas": 90},
    "penilai_b": {"sarana": 64, "sdm": 76, "kepatuhan": 82, "inovasi": 70, "integritas": 88},
}


async def to_evaluation(d: Driver, sheets: dict[str, dict[str, float]]) -> None:
    await declare(d, datetime.now(UTC) + timedelta(seconds=2), WAIT)
    await d.wait_until("operator", lambda v: v["stage"] == "pelaporan", "the reporting window", WAIT)
    await assign(d)
    await report(d)
    await d.send("lolos_verifikasi", "verifikator")
    for who, skor in sheets.items():
        await d.send("nilai", who, {"skor": skor})


def weighted_total(sheets: dict[str, dict[str, float]], weights: dict[str, float]) -> float:
    """The test's own arithmetic: the mean over assessors of each sheet's weighted total."""
    totals = [sum(weights[c] * sheet[c] for c in weights) / sum(weights.values()) for sheet in sheets.values()]
    return sum(totals) / len(totals)


def reasons(html: str) -> str:
    found = re.search(r'<ol class="alasan">(.*?)</ol>', html, re.S)
    assert found, "the document lists no reasons"
    return found.group(1)


async def test_weighted_total_decides_at_the_pass_mark_and_both_documents_say_why(
    api: httpx.AsyncClient, settings: Settings, year: int, token
):
    calendar = roomy_calendar(timedelta(seconds=4))  # reporting opens within seconds, for two cases
    passing = await open_case(api, settings, year, "KANIM-LULUS", calendar, say=print)
    failing = await open_case(api, settings, year, "KANIM-GAGAL", calendar, say=print)
    await asyncio.gather(to_evaluation(passing, AT_THE_PASS_MARK), to_evaluation(failing, JUST_BELOW))

    cycle = await passing.call("GET", f"/cycles/{year}?kind=kantor_imigrasi", "ketua")
    weights, pass_mark = cycle["weights"], cycle["pass_mark"]
    criterion = {c["code"]: c["name"] for c in cycle["criteria"]}
    assert weighted_total(AT_THE_PASS_MARK, weights) == pass_mark == 75
    assert weighted_total(JUST_BELOW, weights) == 74

    # Before the result is fixed there is no document, and the answer says when there will be one.
    early = await api.get(f"{passing.case_path}/documents/hasil-evaluasi", headers=token("auditor"))
    assert (early.status_code, early.json()["error"]) == (404, "no_evaluation_result")
    assert early.json()["why_codes"] == [{"code": "hasil_evaluasi_belum_ditetapkan", "params": {"stage": "evaluasi"}}]
    assert early.json()["why"] == [
        "Kasus ini berada pada tahap Evaluasi; dokumen tersedia setelah ketua tim penilai menetapkan hasil evaluasi."
    ]

    assert (await passing.send("tetapkan_hasil_evaluasi", "ketua"))["stage"] == "lolos_evaluasi"
    assert (await failing.send("tetapkan_hasil_evaluasi", "ketua"))["stage"] == "tidak_lolos"

    # Any role may download them: the unit's own operator, and an auditor.
    lulus = await api.get(f"{passing.case_path}/documents/hasil-evaluasi", headers=passing.officials["ditjen"])
    gagal = await api.get(f"{failing.case_path}/documents/hasil-evaluasi", headers=token("auditor"))
    assert (lulus.status_code, gagal.status_code) == (200, 200)
    assert lulus.headers["content-type"].startswith("text/html")
    assert f'filename="berita-acara-hasil-evaluasi-{year}-KANIM-LULUS.html"' in lulus.headers["content-disposition"]
    assert "surat-keterangan-hasil-evaluasi" in gagal.headers["content-disposition"]

    ba = lulus.text
    assert "BERITA ACARA HASIL EVALUASI" in ba and "SURAT KETERANGAN" not in ba
    assert "Kantor Imigrasi KANIM-LULUS" in ba
    assert "Penilai A" in ba and "Penilai B" in ba and "Ketua Tim Penilai" in ba
    assert "74,50" in ba and "75,50" in ba  # each assessor's weighted total
    assert "Nilai akhir unit kerja:\n<strong>75,00</strong>" in ba
    assert "dinyatakan LOLOS" in ba
    assert str(datetime.now(UTC).year) in ba
    assert lulus.headers["content-language"] == "id"
    # The same document in English on request, with its numbers written the English way.
    english = await api.get(
        f"{passing.case_path}/documents/hasil-evaluasi",
        headers={**passing.officials["operator"], "Accept-Language": "en"},
    )
    assert (english.status_code, english.headers["content-language"]) == (200, "en")
    assert (
        "has PASSED the P2HAM evaluation" in english.text
        and "Final score of the work unit:\n<strong>75.00</strong>" in english.text
    )
    assert "dinyatakan" not in english.text

    sk = gagal.text
    assert "SURAT KETERANGAN HASIL EVALUASI" in sk and "dinyatakan TIDAK LOLOS" in sk
    assert "Kantor Imigrasi KANIM-GAGAL" in sk
    assert "73,50" in sk and "74,50" in sk and "<strong>74,00</strong>" in sk
    for score in ("60,00", "64,00", "70,00", "76,00", "88,00", "90,00"):  # the sheets, criterion by criterion
        assert f'<td class="angka">{score}</td>' in sk
    why = reasons(sk)
    # sarana (mean 62) and sdm (mean 73) are below 75; inovasi's mean is exactly 75, so it is not a reason.
    assert criterion["sarana"] in why and "62,00" in why and "bobot 30 dari 100" in why
    assert criterion["sdm"] in why and "73,00" in why and "bobot 20 dari 100" in why
    assert criterion["inovasi"] not in why and criterion["kepatuhan"] not in why and criterion["integritas"] not in why


def decided(now: datetime, zone: str = "WIB", name: str = "Lapas <Kelas I> & Rutan", ketua: str = "Ketua"):
    """A 2018 case whose result `ketua` fixed at `now`, in a unit of the given time zone; and its history."""
    policy = CyclePolicy(
        regulation="2018",
        calendar=Calendar(
            applications_close=now,
            reporting_opens=now,
            reporting_closes=now + timedelta(days=1),
            cycle_ends=now + timedelta(days=1),
            award_valid_until=now + timedelta(days=2),
        ),
    )
    unit = UnitInfo(code="LAPAS-X", name=name, kind="upt_pemasyarakatan", region="KANWIL-X", zona_waktu=zone)
    case = CaseData(year=2026, unit=unit, policy=policy, stage="lolos_evaluasi")
    case.score_sheets = {
        "p1": {"sarana": 90, "sdm": 80, "kepatuhan": 85},
        "p2": {"sarana": 80, "sdm": 80, "kepatuhan": 85},
    }
    case.score = policy.weighted_score(case.score_sheets)

    def entry(seq: int, event: str, target: str, sub: str, name: str) -> TransitionRow:
        return TransitionRow(
            year=2026,
            unit=unit.code,
            seq=seq,
            at=now.replace(tzinfo=None),
            event=event,
            source="evaluasi",
            target=target,
            actor_sub=sub,
            actor_name=name,
            actor_role="penilai",
            payload={},
            evidence=[],
            policy_version="",
            prev_hash="",
            hash="cafe",
        )

    history = [
        entry(1, "nilai", "evaluasi", "p1", "Dr. <b>Satu</b>"),
        entry(2, "nilai", "evaluasi", "p2", "Dua"),
        entry(3, "tetapkan_hasil_evaluasi", "lolos_evaluasi", "k1", ketua),
    ]
    return case, history


def test_documents_escape_names_and_date_the_decision_in_the_units_time():
    now = datetime(2026, 12, 9, 20, 30, tzinfo=UTC)  # already 10 December in Jakarta
    case, history = decided(now)
    assert documents.hasil_evaluasi(case, history[:1]) is None
    document = documents.hasil_evaluasi(case, history)
    assert document is not None
    assert "Lapas &lt;Kelas I&gt; &amp; Rutan" in document.html and "<Kelas I>" not in document.html
    assert "Dr. &lt;b&gt;Satu&lt;/b&gt;" in document.html
    assert "Pada hari Kamis, 10 Desember 2026, Ketua Tim Penilai P2HAM telah menetapkan hasil evaluasi" in document.html
    assert "Jakarta, Kamis, 10 Desember 2026" in document.html
    assert "Inovasi" not in document.html  # the 2018 regulation has three criteria
    assert "Aksesibilitas dan ketersediaan sarana prasarana" in document.html  # criteria by their display names
    assert "<td>: UPT Pemasyarakatan</td>" in document.html  # the unit kind by its display name, not upt_pemasyarakatan


def test_the_date_is_the_units_own_a_wita_unit_is_a_day_ahead_of_jakarta_at_midnight():
    now = datetime(2026, 12, 9, 16, 30, tzinfo=UTC)  # 23.30 WIB on 9 December, 00.30 WITA on 10 December
    wib = documents.hasil_evaluasi(*decided(now, "WIB"))
    wita = documents.hasil_evaluasi(*decided(now, "WITA"))
    assert wib is not None and wita is not None
    assert "Pada hari Rabu, 9 Desember 2026," in wib.html and "10 Desember" not in wib.html
    assert "Pada hari Kamis, 10 Desember 2026," in wita.html and "9 Desember" not in wita.html


def test_a_document_in_english_on_request_with_the_same_numbers():
    case, history = decided(datetime(2026, 12, 9, 20, 30, tzinfo=UTC), name="Lapas Kelas I", ketua="Dr. Ketua")
    indonesian, english = documents.hasil_evaluasi(case, history), documents.hasil_evaluasi(case, history, locale="en")
    assert indonesian is not None and english is not None
    assert '<html lang="id">' in indonesian.html and '<html lang="en">' in english.html
    assert "BERITA ACARA HASIL EVALUASI" in indonesian.html
    assert "OFFICIAL RECORD OF THE EVALUATION RESULT (BERITA ACARA HASIL EVALUASI)" in english.html
    assert "On Thursday, December 10, 2026, the head of the P2HAM assessment team fixed" in english.html
    assert "Lapas Kelas I has PASSED the P2HAM evaluation of 2026" in english.html
    assert "Accessibility" in english.html or "accessibility" in english.html  # the criterion's English name
    # Numbers as each language writes them: 85,00 in Bahasa Indonesia, 85.00 in English.
    assert '<td class="angka">85,00</td>' in indonesian.html and '<td class="angka">85.00</td>' in english.html
    for word in ("dinyatakan", "Kriteria", "Bobot", "Rata-rata", "Pada hari", "Desember", "Kamis"):
        assert word not in english.html, word
    assert english.filename == indonesian.filename


def test_the_units_officials_read_the_result_without_the_pass_mark_and_the_weights():
    """The unit roles see each criterion's scores, the final score and the reasons, not the formula (pass mark,
    weights) nor who gave which sheet; Ditjen HAM reads the whole record."""
    case, history = decided(datetime(2026, 12, 9, 20, 30, tzinfo=UTC))
    policy = case.policy.model_copy(
        update={"pass_mark": 84.25, "weights": {"sarana": 37.5, "sdm": 22.5, "kepatuhan": 40}}
    )
    case = case.model_copy(update={"policy": policy, "score": policy.weighted_score(case.score_sheets)})  # 83,88
    history[-1].target = "tidak_lolos"  # sdm's mean (80) is under the pass mark
    for role in ("operator_unit", "kepala_unit"):
        document = documents.hasil_evaluasi(case, history, Actor(sub=f"{role}-1", role=role, unit="LAPAS-X"))
        assert document is not None
        html = document.html
        for secret in ("84,25", "37,50", "22,50", "Bobot", "bobot", "Batas kelulusan:", "Satu"):
            assert secret not in html, (role, secret)
        assert "dinyatakan TIDAK LOLOS" in html and "<strong>83,88</strong>" in html
        assert '<td class="angka">90,00</td>' in html  # each criterion's scores
        why = reasons(html)
        assert "80,00 di bawah batas kelulusan." in why and "85,00" not in why
    english = documents.hasil_evaluasi(case, history, Actor(sub="op", role="operator_unit", unit="LAPAS-X"), "en")
    assert english is not None and "84.25" not in english.html and "<th>Weight</th>" not in english.html
    assert "is below the pass mark." in reasons(english.html)
    full = documents.hasil_evaluasi(case, history, Actor(sub="dj", role="ditjen_ham"))
    assert full is not None
    assert "84,25" in full.html and "bobot 22,50 dari 100" in reasons(full.html) and "Satu" in full.html
