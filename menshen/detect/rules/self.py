"""self — the user looks up their own record."""

from __future__ import annotations

import ibis.expr.types as ir

from menshen.detect.context import RuleContext
from menshen.detect.evidence import hits, text
from menshen.detect.rule import Case, Rule
from menshen.detect.testing import lookup, record


def query(ctx: RuleContext) -> ir.Table:
    t = ctx.lookups
    t = t.filter(
        t.deliberate & t.staff_national_id.notnull() & (t.staff_national_id == t.subject_id)
    )
    return hits(
        t,
        "承辦人 " + text(t.staff_name) + " 查詢本人之個人資料",
        "the user " + text(t.staff_id) + " looked up their own record",
    )


CASES = (
    Case(
        "a clerk looks up herself",
        positive=True,
        tables={"access": [lookup("f1", "S02", "S02", "2025-02-11 10:00", "HR02")]},
        expect=("f1",),
    ),
    Case(
        "even with a record of her own (a staff member may not handle her own case)",
        positive=True,
        tables={
            "records": [
                record("R-SELF", "household_registration", "S02", "S02", "HH01", "2025-02-11 09:00")
            ],
            "access": [lookup("f2", "S02", "S02", "2025-02-11 10:00", "HR01")],
        },
        expect=("f2",),
    ),
    Case(
        "a colleague looks her up; staff without a national id; a list screen",
        positive=False,
        tables={
            "staff": [
                {"staff_id": "S09", "name": "無證號", "unit_id": "HH01", "national_id": None}
            ],
            "accounts": [
                {"system": "HR", "account": "s09", "staff_id": "S09", "granted_at": "2024-01-01"}
            ],
            "access": [
                lookup("x1", "S01", "S02", "2025-02-11 10:00", "HR02"),
                lookup("x2", "S09", "P12", "2025-02-11 10:00", "HR02"),
                lookup("x3", "S02", "S02", "2025-02-11 10:00", "HR02", action="list"),
            ],
        },
    ),
)

RULE = Rule(
    id="self",
    title_zh="查詢本人資料",
    title_en="User looked up their own record",
    severity="high",
    motivated_by=(
        "醫療隱私監測之「查詢本人」類型；公務資料不得用於私人目的。 / The 'self' type of "
        "healthcare privacy monitoring; official data must not serve private ends."
    ),
    false_positives=("測試用帳號以本人資料測試系統。 / Testing a system with one's own data."),
    review_guide=(
        "本人資料應循民眾申請管道取得；確認是否為系統測試並留存說明。 / Own data should be obtained "
        "as any citizen would; check whether it was a documented system test."
    ),
    query=query,
    reads=("staff",),
    cases=CASES,
)
