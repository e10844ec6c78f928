"""off-hours — a look-up outside the unit's office hours or on a non-workday of the
government calendar (make-up Saturdays are workdays)."""

from __future__ import annotations

import ibis.expr.types as ir

from menshen.detect.context import RuleContext
from menshen.detect.evidence import concat, hits, when_closed
from menshen.detect.rule import Case, Rule
from menshen.detect.testing import lookup


def query(ctx: RuleContext) -> ir.Table:
    t = ctx.lookups
    t = t.filter(t.deliberate & ~t.in_office_hours & ~t.explained_strong)
    when_zh, when_en = when_closed(t)
    zh = concat("查詢時間為", when_zh)
    en = concat("looked up on ", when_en)
    return hits(t, zh, en)


CASES = (
    Case(
        "case 3: a Saturday look-up of the criminal-records system",
        positive=True,
        tables={"access": [lookup("o1", "S02", "P08", "2025-02-15 09:12", "CR01")]},
        expect=("o1",),
    ),
    Case(
        "late evening on a workday, outside the unit's hours (戶政 closes 17:00)",
        positive=True,
        tables={
            "access": [
                lookup("o2", "S02", "P12", "2025-02-11 17:30", "HR02"),
                lookup("o3", "S04", "P12", "2025-02-11 23:10", "AD01"),
            ]
        },
        expect=("o2", "o3"),
    ),
    Case(
        "a public holiday from the imported calendar",
        positive=True,
        tables={"access": [lookup("o4", "S02", "P12", "2025-02-28 10:00", "HR02")]},
        expect=("o4",),
    ),
    Case(
        "make-up Saturday is a workday; office hours; explained overtime; list screen; a unit "
        "open round the clock on a Saturday off",
        positive=False,
        tables={
            "office_hours": [{"unit_id": "PD01", "start": "00:00", "end": "23:59"}],
            "access": [
                lookup("w1", "S02", "P12", "2025-02-08 09:12", "HR02"),
                lookup("w2", "S04", "P12", "2025-02-11 17:30", "AD01"),  # police: 08-18 default
                lookup("w3", "S04", "P06", "2025-02-15 22:00", "PN01"),  # own criminal case
                lookup("w4", "S02", "P12", "2025-02-15 09:00", "HR02", action="list"),
                lookup("w5", "S03", "P12", "2025-02-15 03:00", "PN02"),
            ],
        },
    ),
)

RULE = Rule(
    id="off-hours",
    title_zh="非辦公時間查詢",
    title_en="Look-up outside office hours or on a non-workday",
    severity="low",
    motivated_by=(
        "案例三：戶政人員於星期六使用刑案資料查詢系統查詢姪女男友。警政稽核著重「異常時間」。 / "
        "Case 3: a household-registration clerk's Saturday look-up; police audits target "
        "abnormal times."
    ),
    false_positives=(
        "加班、輪班勤務、補行上班日。補行上班日依政府行政機關辦公日曆表視為上班日；有業務案件依據之"
        "加班查詢不列入。 / Overtime, shift work, make-up workdays (taken from the government "
        "calendar). Overtime look-ups explained by a record are not raised."
    ),
    review_guide=(
        "確認當日是否有加班或值勤紀錄及相關案件。 / Check overtime or duty rosters and the case "
        "behind the look-up."
    ),
    query=query,
    reads=("calendar", "office", "staff"),
    cases=CASES,
)
