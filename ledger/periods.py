"""Accounting periods (YYYY-MM) and the date windows they cover."""

from __future__ import annotations

from datetime import date, timedelta


def periods_between(start: date, end: date) -> list[str]:
    """Every YYYY-MM period touched by the dates [start, end]."""
    periods, day = [], start.replace(day=1)
    while day <= end:
        periods.append(day.strftime("%Y-%m"))
        day = (day + timedelta(days=32)).replace(day=1)
    return periods
