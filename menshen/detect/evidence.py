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


def when_closed(
    t: ir.Table, beyond_zh: str = "", beyond_en: str = ""
) -> tuple[ir.StringValue, ir.StringValue]:
    """When a look-up was made, for a rule about the unit being closed: 「星期六 09:12
    （和平紀念日），非辦公日」 / 'Saturday 09:12, not a workday', or 「星期二 17:30，在辦公時間
    08:00–17:00 以外{beyond_zh}」 / 'Tuesday 17:30, outside office hours 08:00–17:00{beyond_en}'.
    Reads weekday, local_hour, local_minute, is_workday, day_note, office_start, office_end."""
    note = t.day_note.fill_null("")
    note_zh = ibis.ifelse((note != "") & (note != "週末"), concat("（", note, "）"), "")
    hours = concat(minutes_text(t.office_start), "–", minutes_text(t.office_end))
    zh = ibis.ifelse(
        ~t.is_workday,
        concat(weekday_zh(t), " ", clock(t), note_zh, "，非辦公日"),
        concat(weekday_zh(t), " ", clock(t), "，在辦公時間 ", hours, " 以外", beyond_zh),
    )
    en = ibis.ifelse(
        ~t.is_workday,
        concat(weekday_en(t), " ", clock(t), ", not a workday"),
        concat(weekday_en(t), " ", clock(t), ", outside office hours ", hours, beyond_en),
    )
    return zh, en


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


# zh-TW labels of common record kinds, for evidence sentences. A kind not listed here is
# shown by its code in parentheses (the last resort; the purpose's own description is
# preferred wherever a sentence can use it).
KIND_ZH: dict[str, str] = {
    "household_registration": "戶籍登記",
    "id_card_application": "國民身分證申請",
    "transcript_application": "戶籍謄本申請",
    "official_letter": "機關來函",
    "low_income_review": "低收入戶資格審核",
    "welfare_review": "社會福利審核",
    "job_registration": "求職登記",
    "job_seeker_registration": "求職登記",
    "unemployment_benefit": "失業給付申請",
    "training_application": "職業訓練報名",
    "criminal_case": "刑案偵查",
    "police_report": "受理報案",
    "traffic_case": "交通案件",
    "traffic_accident": "交通事故",
    "missing_person": "失蹤人口協尋",
    "name_change": "更名登記",
    "nationality_change": "國籍變更",
    "id_change": "統一編號變更",
    "petition": "陳情",
    "tax_case": "稅務案件",
    "health_insurance": "健保業務",
}


def kind_zh(kind: ir.StringValue) -> ir.StringValue:
    """A record kind in zh-TW: its label, else '其他（code）', else '—' when null."""
    code = kind.fill_null("")
    label = ibis.cases(*[(code == k, v) for k, v in KIND_ZH.items()], else_="")
    return ibis.cases(
        (code == "", ibis.literal("—")),
        (label != "", label),
        else_="其他（" + code + "）",
    )


def date_zh(value: ir.Value) -> ir.StringValue:
    """'2月11日' from a date or timestamp (the year is the report's own)."""
    return value.month().cast("string") + "月" + value.day().cast("string") + "日"


def full_date_zh(value: ir.Value) -> ir.StringValue:
    """'2024年3月1日' from a date or timestamp (dates that may lie in another year)."""
    return value.year().cast("string") + "年" + date_zh(value)


def datetime_zh(value: ir.Value) -> ir.StringValue:
    """'2月11日 09:05' from a timestamp."""
    return (
        date_zh(value)
        + " "
        + value.hour().cast("string").lpad(2, "0")
        + ":"
        + value.minute().cast("string").lpad(2, "0")
    )
