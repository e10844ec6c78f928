from __future__ import annotations

import datetime as dt
import functools

from django import template
from django.utils.translation import get_language, gettext_lazy

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


@functools.cache
def _rule_titles() -> dict[str, tuple[str, str]]:
    """rule id -> (zh title, en title), from the detection catalogue when it can be loaded."""
    try:
        from menshen.detect.rules import all_rules

        return {rule.id: (rule.title_zh, rule.title_en) for rule in all_rules()}
    except Exception:  # the catalogue is optional for the web app: fall back to ids
        return {}


@register.filter
def rule_titles(rule_ids: list[str] | None) -> str:
    """'查無業務案件、非辦公時間' for ['unexplained', 'off-hours'] (English when chosen)."""
    english = (get_language() or "").startswith("en")
    titles = _rule_titles()
    names = []
    for rule_id in rule_ids or []:
        pair = titles.get(rule_id)
        names.append((pair[1] if english else pair[0]) if pair else rule_id)
    return (", " if english else "、").join(names)


SEVERITY = {
    "low": gettext_lazy("low"),
    "medium": gettext_lazy("medium"),
    "high": gettext_lazy("high"),
    "critical": gettext_lazy("critical"),
}


@register.filter
def severity(value: str) -> str:
    return str(SEVERITY.get(value, value))


@register.simple_tag(takes_context=True)
def item_card(context, item) -> str:  # type: ignore[no-untyped-def]
    """One item card of the report page, by the page's `cards` renderer
    (menshen.web.reports.fragments.CardRenderer)."""
    return context["cards"].render(item)


@register.simple_tag(takes_context=True)
def lookup_rows(context) -> str:  # type: ignore[no-untyped-def]
    """The rows of the look-up list page (menshen.web.reports.fragments.lookup_rows)."""
    from menshen.web.reports.fragments import lookup_rows as render_rows

    return render_rows(
        context["request"],
        context["report"].pk,
        context["page"].object_list,
        context["names"],
        bool(context.get("can_reveal")),
        bool(context.get("reauth_recent")),
    )
