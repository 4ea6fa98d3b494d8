"""Deadlines in working days: weekends and the cycle's holidays skipped, counted in the unit's own time zone."""

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, tzinfo


def add_working_days(start: datetime, days: int, tz: tzinfo, holidays: Iterable[date]) -> datetime:
    """The end (23:59:59 local) of the `days`-th working day after `start`'s local date."""
    off = set(holidays)
    day = start.astimezone(tz).date()
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in off:
            counted += 1
    return datetime.combine(day, time(23, 59, 59), tzinfo=tz)


def indonesian_holidays(years: Iterable[int]) -> list[date]:
    """Public holidays and cuti bersama (the `government` category) of Indonesia, from the `holidays` package.

    Not for workflow code: the API fills the cycle policy with them, so a workflow only reads a list of dates.
    """
    import holidays

    return sorted(holidays.country_holidays("ID", years=sorted(set(years)), categories=("public", "government")))
