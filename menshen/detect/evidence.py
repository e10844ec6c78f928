"""Helpers for rule queries: evidence sentences as Ibis string expressions, and the hit
table every rule returns. Engine-agnostic (string concat, lpad, cases only)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

WEEKDAY_ZH = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")
WEEKDAY_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def text(value: ir.Value | str | None, default: str = "—") -> ir.StringValue:
    """A string expression with nulls shown as `default`."""
    if value is None:
        return ibis.literal(default)
    if isinstance(value, str):
        return ibis.literal(value)
    return value.cast("string").fill_null(default)


def concat(*parts: ir.Value | str) -> ir.StringValue:
    out: ir.StringValue = text(parts[0], "")
    for part in parts[1:]:
        out = out + text(part, "")
    return out


def clock(t: ir.Table) -> ir.StringValue:
    """'09:12' from local_hour / local_minute."""
    return (
        t.local_hour.cast("string").lpad(2, "0")
        + ":"
        + (t.local_minute % 60).cast("string").lpad(2, "0")
    )


def weekday_zh(t: ir.Table) -> ir.StringValue:
    return ibis.cases(*[(t.weekday == i, name) for i, name in enumerate(WEEKDAY_ZH)], else_="")


def weekday_en(t: ir.Table) -> ir.StringValue:
    return ibis.cases(*[(t.weekday == i, name) for i, name in enumerate(WEEKDAY_EN)], else_="")


def masked(value: ir.StringValue) -> ir.StringValue:
    """A12****789 — ids are never shown in full in evidence."""
    v = value.fill_null("")
    return ibis.ifelse(v.length() >= 7, v.substr(0, 3) + "****" + v.substr(v.length() - 3), v)


def minutes_text(value: ir.IntegerValue) -> ir.StringValue:
    """Minutes of the day as HH:MM."""
    return (
        (value // 60).cast("string").lpad(2, "0") + ":" + (value % 60).cast("string").lpad(2, "0")
    )


def hits(
    t: ir.Table,
    evidence_zh: ir.StringValue,
    evidence_en: ir.StringValue,
    group_key: ir.StringValue | None = None,
) -> ir.Table:
    """The table a rule returns: system, event_id, evidence_zh, evidence_en[, group_key]."""
    cols: dict[str, ir.Value] = {
        "system": t.system,
        "event_id": t.event_id,
        "evidence_zh": evidence_zh,
        "evidence_en": evidence_en,
    }
    if group_key is not None:
        cols["group_key"] = group_key
    return t.select(**cols)
