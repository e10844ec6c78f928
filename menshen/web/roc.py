"""Dates in the ROC era (民國 = year − 1911), as official documents print them."""

from __future__ import annotations

import datetime as dt


def roc_date(day: dt.date | dt.datetime | None) -> str:
    """115年11月29日 for 2026-11-29 (an aware datetime: its date in the current time zone)."""
    if day is None:
        return ""
    if isinstance(day, dt.datetime):
        from django.utils import timezone

        if timezone.is_aware(day):
            day = timezone.localtime(day)
    return f"{day.year - 1911}年{day.month}月{day.day}日"


def roc_datetime(moment: dt.datetime | None) -> str:
    """115年11月29日 14:05 (in the current time zone when aware)."""
    if moment is None:
        return ""
    from django.utils import timezone

    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return f"{roc_date(moment.date())} {moment:%H:%M}"
