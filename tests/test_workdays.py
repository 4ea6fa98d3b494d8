"""Working-day deadlines on the real 2024 Indonesian calendar (public holidays and cuti bersama)."""

from datetime import UTC, date, datetime

from models.contracts import UnitInfo
from models.workdays import add_working_days, indonesian_holidays

HOLIDAYS_2024 = indonesian_holidays([2024])


def unit(zone: str) -> UnitInfo:
    return UnitInfo(code="U", name="U", kind="opd", region="R", zona_waktu=zone)


def test_the_2024_idul_fitri_leave_is_known():
    # Idul Fitri 10-11 April 2024, cuti bersama 8, 9, 12 and 15 April (SKB 3 Menteri).
    assert {date(2024, 4, d) for d in (8, 9, 10, 11, 12, 15)} <= set(HOLIDAYS_2024)
    assert date(2024, 4, 16) not in HOLIDAYS_2024


def test_five_working_days_across_idul_fitri():
    # Returned on Friday 5 April: the leave and two weekends pass before the first working day, Tuesday 16 April.
    returned = datetime(2024, 4, 5, 10, 0, tzinfo=unit("WIB").tz)
    deadline = add_working_days(returned, 5, unit("WIB").tz, HOLIDAYS_2024)
    assert deadline == datetime(2024, 4, 22, 23, 59, 59, tzinfo=unit("WIB").tz)
    assert add_working_days(returned, 5, unit("WIB").tz, []) == datetime(2024, 4, 12, 23, 59, 59, tzinfo=unit("WIB").tz)


def test_the_unit_time_zone_decides_which_day_it_is():
    # 23:30 WIB on Thursday is already Friday 00:30 in WITA and 01:30 in WIT: their count starts a day later.
    moment = datetime(2024, 5, 2, 16, 30, tzinfo=UTC)
    wib = add_working_days(moment, 1, unit("WIB").tz, HOLIDAYS_2024)
    wit = add_working_days(moment, 1, unit("WIT").tz, HOLIDAYS_2024)
    assert wib.date() == date(2024, 5, 3)  # Friday
    assert wit.date() == date(2024, 5, 6)  # Monday
    assert wit.utcoffset() is not None and wit.utcoffset().total_seconds() == 9 * 3600


def test_a_revision_deadline_in_working_days_is_counted_in_the_unit_zone():
    from models.contracts import Actor, CaseData, Penugasan
    from models.policy import Calendar, CyclePolicy
    from workflows.lifecycle import Lifecycle

    cal = Calendar(
        applications_close=datetime(2024, 2, 1, tzinfo=UTC),
        reporting_opens=datetime(2024, 3, 1, tzinfo=UTC),
        reporting_closes=datetime(2024, 3, 31, tzinfo=UTC),
        cycle_ends=datetime(2024, 11, 30, tzinfo=UTC),
        award_valid_until=datetime(2025, 12, 10, tzinfo=UTC),
        revision_working_days=5,
        holidays=HOLIDAYS_2024,
    )
    team = Penugasan(verifikator=["v"], penilai=["p1", "p2"], ketua_penilai="k")  # `v` is assigned to verify
    case = CaseData(
        year=2024,
        unit=unit("WITA"),
        policy=CyclePolicy(regulation="2023", calendar=cal),
        stage="verifikasi",
        penugasan=team,
    )
    verifier = Actor(sub="v", role="verifikator", unit="DITJEN")
    Lifecycle(case).fire("kembalikan", verifier, {"catatan": "foto ramp buram"}, datetime(2024, 4, 5, 2, 0, tzinfo=UTC))
    assert case.revision_deadline == datetime(2024, 4, 22, 23, 59, 59, tzinfo=unit("WITA").tz)
