"""Which reminders and escalations a case's stage calls for, and when (pure, no Temporal)."""

from datetime import UTC, datetime, timedelta

from models.contracts import Actor, CaseData, UnitInfo
from models.policy import Calendar, CyclePolicy
from workflows import lifecycle
from workflows.reminders import notices

T0 = datetime(2024, 1, 8, 1, 0, tzinfo=UTC)
DAY = timedelta(days=1)
CAL = Calendar(
    applications_close=T0 + 20 * DAY,
    reporting_opens=T0 + 60 * DAY,
    reporting_closes=T0 + 90 * DAY,
    cycle_ends=T0 + 300 * DAY,
    award_valid_until=T0 + 700 * DAY,
    award_ceremony=T0 + 330 * DAY,
)
UNIT = UnitInfo(
    code="LAPAS-X",
    name="Lapas Kelas I X",
    kind="upt_pemasyarakatan",
    region="KANWIL-JATIM",
    email="lapas-x@example.go.id",
)
DITJEN = Actor(sub="dj", role="ditjen_ham")


def case_in(stage: str, since: datetime, **data) -> CaseData:
    policy = CyclePolicy(regulation="2023", calendar=CAL)
    return CaseData(year=2024, unit=UNIT, policy=policy, stage=stage, stage_since=since, **data)


def summary(case: CaseData) -> list[tuple[str, datetime, list[str]]]:
    return [(n.kind, n.at, [r.role for r in n.recipients]) for n in notices(case)]


def test_h7_h3_h1_before_the_window_closes_and_the_kanwil_told_at_h1():
    case = case_in("pelaporan", CAL.reporting_opens, reporting_deadline=CAL.reporting_closes)
    closes = CAL.reporting_closes
    assert summary(case) == [
        ("batas_pelaporan", closes - 7 * DAY, ["operator_unit", "kepala_unit"]),
        ("batas_pelaporan", closes - 3 * DAY, ["operator_unit", "kepala_unit"]),
        ("batas_pelaporan", closes - DAY, ["operator_unit", "kepala_unit"]),
        ("eskalasi_pelaporan", closes - DAY, ["kanwil"]),
    ]
    assert notices(case)[0].recipients[0].email == "lapas-x@example.go.id"
    assert notices(case)[-1].recipients[0].region == "KANWIL-JATIM"


def test_perpanjang_moves_the_reminders_and_the_old_ones_are_never_due():
    case = case_in("pelaporan", CAL.reporting_opens, reporting_deadline=CAL.reporting_closes)
    old = {n.key for n in notices(case)}
    new_deadline = CAL.reporting_closes + 10 * DAY
    lifecycle.Lifecycle(case).fire(
        "perpanjang",
        DITJEN,
        {"batas_baru": new_deadline.isoformat(), "alasan": "banjir"},
        CAL.reporting_closes - 8 * DAY,
    )
    moved = notices(case)
    assert [n.at for n in moved if n.kind == "batas_pelaporan"] == [new_deadline - d for d in (7 * DAY, 3 * DAY, DAY)]
    assert not old & {n.key for n in moved}


def test_sent_and_stale_reminders_are_not_due_again():
    # Approved two days before the ceremony: H-7 and H-3 are already past when the stage begins.
    jadwal = T0 + 10 * DAY
    case = case_in("pencanangan_terjadwal", jadwal - 2 * DAY, jadwal=jadwal)
    assert [n.at for n in notices(case)] == [jadwal - DAY]
    case.reminded.append(notices(case)[0].key)
    assert notices(case) == []


def test_service_levels_escalate_to_ditjen_ham_and_final_stages_have_no_reminders():
    entered = T0 + 95 * DAY
    assert summary(case_in("verifikasi", entered)) == [("eskalasi_verifikasi", entered + 14 * DAY, ["ditjen_ham"])]
    assert summary(case_in("evaluasi", entered)) == [("eskalasi_evaluasi", entered + 14 * DAY, ["ditjen_ham"])]
    for final in lifecycle.FINAL_STAGES:
        assert notices(case_in(final, entered)) == []


def test_a_new_stage_starts_with_its_own_reminders():
    case = case_in("pelaporan", CAL.reporting_opens, reporting_deadline=CAL.reporting_closes)
    case.reminded = [n.key for n in notices(case)]
    lifecycle.Lifecycle(case).fire("batalkan", Actor(sub="a", role="admin"), {"alasan": "unit dilebur"}, T0 + 70 * DAY)
    assert case.reminded == [] and notices(case) == []


def planned(target: datetime, keadaan: str = "Tidak") -> dict:
    """A sent action plan whose one open action (the disability toilet, sarana.3) is due at `target`."""
    action = {
        "kode": "sarana.3",
        "keadaan": keadaan,
        "kendala": "gedung cagar budaya",
        "alternatif": "warga binaan dipindahkan ke blok B",
        "penanggung_jawab": "Kasubag Umum",
        "target": target.isoformat(),
    }
    return {"rencana": {"indikator": [{"kode": "sarana.1", "keadaan": "Ada"}, action]}, "rencana_status": "diterima"}


def test_an_open_action_is_reminded_at_h7_and_h1_and_escalated_to_the_kanwil_when_missed():
    target = T0 + 40 * DAY
    case = case_in("pembangunan", T0 + 10 * DAY, **planned(target))
    plan_notices = [n for n in notices(case) if n.indikator]
    assert [(n.kind, n.at, [r.role for r in n.recipients]) for n in plan_notices] == [
        ("tindakan_rencana", target - 7 * DAY, ["operator_unit"]),
        ("tindakan_rencana", target - DAY, ["operator_unit"]),
        ("eskalasi_rencana", target, ["kanwil"]),
    ]
    assert {(n.indikator, n.tindakan) for n in plan_notices} == {("sarana.3", "warga binaan dipindahkan ke blok B")}
    # Before action plans were followed up (workflow.patched("rencana") false), the stage had none of them.
    assert not [n for n in notices(case, plans=False) if n.indikator]


def test_a_moved_target_date_gives_new_notices_and_a_met_indicator_none():
    case = case_in("pembangunan", T0 + 10 * DAY, **planned(T0 + 40 * DAY))
    old = {n.key for n in notices(case) if n.indikator}
    moved = case_in("pembangunan", T0 + 10 * DAY, **planned(T0 + 50 * DAY))
    new = {n.key for n in notices(moved) if n.indikator}
    assert len(new) == 3 and not old & new
    met = case_in("pembangunan", T0 + 10 * DAY, **planned(T0 + 40 * DAY, keadaan="Ada"))
    assert not [n for n in notices(met) if n.indikator]


def plan_notices(case: CaseData, in_time: bool = True) -> list[tuple[str, datetime]]:
    return [(n.kind, n.at) for n in notices(case, in_time=in_time) if n.indikator]


def test_a_plan_sent_within_a_week_of_a_target_date_is_reminded_at_h1_only():
    target = T0 + 40 * DAY
    case = case_in("pembangunan", T0 + 10 * DAY, rencana_dikirim=target - 3 * DAY, **planned(target))
    assert plan_notices(case) == [("tindakan_rencana", target - DAY), ("eskalasi_rencana", target)]
    # Cases replayed from before workflow.patched("reminders-in-time") sent H-7 at once.
    assert plan_notices(case, in_time=False)[0] == ("tindakan_rencana", target - 7 * DAY)


def test_a_kept_target_date_that_passed_before_the_plan_was_sent_is_escalated_at_once_and_once():
    target = T0 + 40 * DAY
    case = case_in("pembangunan", T0 + 10 * DAY, rencana_dikirim=target + 2 * DAY, **planned(target))
    assert plan_notices(case) == [("eskalasi_rencana", target)]
    case.reminded += [n.key for n in notices(case) if n.indikator]  # sent: the plan sent again does not repeat it
    assert plan_notices(case) == []


def test_a_deadline_moved_within_a_week_is_reminded_only_from_then_on():
    closes = CAL.reporting_closes
    case = case_in("pelaporan", CAL.reporting_opens, reporting_deadline=closes)
    moved_at = closes - DAY - DAY / 2
    new_deadline = closes + DAY
    extend = {"batas_baru": new_deadline.isoformat(), "alasan": "banjir"}
    lifecycle.Lifecycle(case).fire("perpanjang", DITJEN, extend, moved_at)
    # H-7 and H-3 of the new deadline had passed when it was set: H-1 says how little time is left; the Kanwil is told.
    assert [(n.kind, n.at) for n in notices(case)] == [
        ("batas_pelaporan", new_deadline - DAY),
        ("eskalasi_pelaporan", new_deadline - DAY),
    ]

    jadwal = T0 + 10 * DAY
    scheduled = case_in("pencanangan_terjadwal", T0, jadwal=jadwal)
    rescheduled = jadwal + DAY
    payload = {"jadwal": rescheduled.isoformat(), "alasan": "Kakanwil berhalangan"}
    lifecycle.Lifecycle(scheduled).fire("jadwal_ulang", DITJEN, payload, jadwal - DAY)
    assert [n.at for n in notices(scheduled)] == [rescheduled - DAY]
    # The next stage's deadline is known from its beginning again.
    lifecycle.Lifecycle(scheduled).fire("batalkan", Actor(sub="a", role="admin"), {"alasan": "salah unit"}, jadwal)
    assert scheduled.deadline_moved is None


def test_the_plan_is_followed_up_while_its_stage_lasts_in_a_transition_year_until_the_cycle_ends():
    transition = CyclePolicy(regulation="2022", ends_after="pembangunan", calendar=CAL)

    def building(target: datetime, policy: CyclePolicy) -> CaseData:
        case = case_in("pembangunan", T0 + 10 * DAY, rencana_dikirim=T0 + 10 * DAY, **planned(target))
        return case.model_copy(update={"policy": policy})

    # Past the date a regular year's reporting window would open: still followed up, the Kanwil told when missed.
    late = T0 + 200 * DAY
    assert plan_notices(building(late, transition)) == [
        ("tindakan_rencana", late - 7 * DAY),
        ("tindakan_rencana", late - DAY),
        ("eskalasi_rencana", late),
    ]
    # Due as the cycle ends the stage: reminded, but no escalation of a case that closes that moment.
    ends = CAL.cycle_ends
    assert plan_notices(building(ends, transition)) == [
        ("tindakan_rencana", ends - 7 * DAY),
        ("tindakan_rencana", ends - DAY),
    ]
    assert plan_notices(building(ends, transition), in_time=False)[-1] == ("eskalasi_rencana", ends)
    # A regular year's plan is followed up until the reporting window opens, where the report takes over.
    opens = CAL.reporting_opens
    assert plan_notices(building(opens, case_in("pembangunan", T0).policy))[-1] == ("tindakan_rencana", opens - DAY)
