from __future__ import annotations

import datetime as dt

from django import template

from menshen import ids
from menshen.web.roc import roc_date, roc_datetime

register = template.Library()


@register.filter
def roc(value: dt.date | None) -> str:
    """115年11月29日"""
    return roc_date(value)


@register.filter
def roc_time(value: dt.datetime | None) -> str:
    """115年11月29日 14:05"""
    return roc_datetime(value)


@register.filter
def masked(value: object) -> str:
    return ids.mask(value) if value else ""


@register.filter
def percent(part: int | float, whole: int | float) -> str:
    if not whole:
        return "—"
    return f"{100.0 * float(part) / float(whole):.1f}%"


@register.filter
def get(mapping: dict, key: object) -> object:
    """mapping[key] in a template, or ''."""
    return mapping.get(key, "") if mapping else ""
