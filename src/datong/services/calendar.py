"""Working days of the Chinese calendar (工作日), in which time limits are promised and counted.

`chinese-calendar` carries the State Council's holiday arrangements, adjusted working weekends
included, for the years it has been published for. For a later year (arrangements are announced
each November for the next) it knows nothing; there the days are Monday to Friday less the fixed
public holidays, and :func:`is_known` says so, so that a deadline that far out is shown as
provisional rather than silently wrong.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar

#: Public holidays whose date does not move (元旦, 劳动节, 国庆节); the lunar ones need the year's arrangement.
FIXED_HOLIDAYS = {(1, 1), (5, 1), (10, 1), (10, 2), (10, 3)}


@lru_cache(maxsize=4096)
def is_workday(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS


@lru_cache(maxsize=64)
def is_known(year: int) -> bool:
    """Whether the year's adjusted holidays are known (otherwise working days are provisional)."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
        return True
    except NotImplementedError:
        return False


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (the day of acceptance is not counted)."""
    day, left = start, max(days, 0)
    while left:
        day += timedelta(days=1)
        left -= is_workday(day)
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end`` is not later)."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += is_workday(day)
    return count
