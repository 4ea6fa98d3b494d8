"""Saving a cycle's policy, for `PUT /cycles/{year}` and the administration page alike: the holidays filled from the
`holidays` package when none are given, and a concurrent first save of the same year settled (the later one wins)."""

from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from models.policy import CyclePolicy
from models.tables import CycleRow
from models.workdays import indonesian_holidays


def holidays_for(policy: CyclePolicy) -> list[date]:
    cal = policy.calendar
    return indonesian_holidays(range(cal.applications_close.year, cal.award_valid_until.year + 1))


def save(session: Session, year: int, policy: CyclePolicy) -> None:
    if policy.calendar.holidays is None:  # Indonesian public holidays and cuti bersama of the cycle's years
        policy.calendar.holidays = holidays_for(policy)
    for attempt in range(2):
        row = session.get(CycleRow, year) or CycleRow(year=year, policy={})
        row.policy = policy.model_dump(mode="json")
        session.add(row)
        try:
            session.commit()
            return
        except IntegrityError:  # another admin created the same year at the same moment: the later save wins
            session.rollback()
            if attempt:
                raise
