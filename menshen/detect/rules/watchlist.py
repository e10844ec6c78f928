"""watchlist — the person looked up is on the protected / public-figure list.

Police audits check 「異常對象」: politicians, celebrities, people in the news, and people
whose data is protected (e.g. victims whose address must not leak).

Decision: for a person on the list only a business record handled *by the user personally*
explains a look-up — an own record, or a household/continuation explanation whose record
the user handled. A record handled by a colleague of the unit does not: covering a
colleague's case about a protected person is unusual enough for the supervisor to confirm.
A weak explanation (purpose needs no record) never silences this rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis

from menshen.detect.rule import Case, Rule
from menshen.detect.testing import lookup, person

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from menshen.detect.context import RuleContext

CATEGORIES: dict[str, tuple[str, str]] = {
    "public_figure": ("公眾人物", "public figure"),
    "protected": ("受保護對象", "protected person"),
    "vip": ("重要人士", "VIP"),
    "staff": ("機關人員", "agency staff"),
    "minor": ("未成年人", "minor"),
}

WHY: dict[str, tuple[str, str]] = {
    "unit_record": (
        "僅有同單位其他同仁經辦之案件（案號 {r}），非承辦人本人經辦",
        "only a record handled by a colleague of the unit ({r}), not by the user",
    ),
    "household_record": (
        "僅有同戶成員之案件（案號 {r}），非承辦人本人經辦",
        "only a record about a household member ({r}), not handled by the user",
    ),
    "continuation": (
        "延續先前查詢，但其案件（案號 {r}）非承辦人本人經辦",
        "continues an earlier look-up whose record ({r}) the user did not handle",
    ),
}


def _fill(template: str, value: ir.StringValue) -> ir.StringValue:
    before, after = template.split("{r}")
    return before + value + after


def query(ctx: RuleContext) -> ir.Table:
    wl = ctx.watchlist.filter(ctx.watchlist.person_id.notnull())
    wl = wl.group_by(w_person=wl.person_id).aggregate(
        w_category=wl.category.min(), w_note=wl.note.max()
    )
    t = ctx.lookups.filter(ctx.lookups.deliberate)
    t = t.join(wl, t.subject_id == wl.w_person)
    rec = ctx.records.select(k_id=ctx.records.record_id, k_staff=ctx.records.staff_id)
    t = t.left_join(rec, t.explanation_record_id == rec.k_id)
    personal = t.explained_strong & (
        (t.explanation == "own_record") | (t.staff_id.notnull() & (t.k_staff == t.staff_id))
    )
    t = t.filter(~personal)

    category = t.w_category.fill_null("")
    cat_zh = ibis.cases(
        *[(category == code, zh) for code, (zh, _) in CATEGORIES.items()], else_=category
    )
    cat_en = ibis.cases(
        *[(category == code, en) for code, (_, en) in CATEGORIES.items()], else_=category
    )
    note = t.w_note.fill_null("").strip()
    listed_zh = "該民眾列於關注名單（" + cat_zh + ibis.ifelse(note != "", "：" + note, "") + "）"
    listed_en = (
        "the person is on the watch list ("
        + cat_en
        + ibis.ifelse(note != "", ": " + note, "")
        + ")"
    )

    record = t.explanation_record_id.fill_null("")
    expl = t.explanation.fill_null("")
    why_zh = ibis.cases(
        *[(expl == code, _fill(zh, record)) for code, (zh, _) in WHY.items()],
        (
            expl == "no_record_needed",
            "查詢事由「"
            + t.purpose_description.fill_null("")
            + "」毋須業務案件（弱說明，不足以查詢名單人員）",
        ),
        else_="未見承辦人本人經辦之業務案件",
    )
    why_en = ibis.cases(
        *[(expl == code, _fill(en, record)) for code, (_, en) in WHY.items()],
        (
            expl == "no_record_needed",
            "the stated purpose needs no record (a weak explanation, not enough for a listed person)",
        ),
        else_="no business record handled by the user",
    )
    return t.select(
        "system",
        "event_id",
        evidence_zh=listed_zh + "；" + why_zh,
        evidence_en=listed_en + "; " + why_en,
    )


# --- cases ---------------------------------------------------------------------------------
_CASE_ON_P11 = {
    "record_id": "R-CRM-11", "kind": "criminal_case", "subject_id": person("P11"),
    "staff_id": "S04", "unit_id": "PD01", "opened_at": "2025-02-01 09:00",
}  # fmt: skip

CASES: tuple[Case, ...] = (
    Case(
        "a city councillor looked up under a no-record purpose",
        positive=True,
        tables={"access": [lookup("w1", "S03", "P11", "2025-02-11 10:00", "AD01")]},
        expect=("w1",),
    ),
    Case(
        "a colleague's case about the councillor does not explain the station chief's look-up",
        positive=True,
        tables={
            "access": [lookup("w2", "S03", "P11", "2025-02-11 10:00", "PN01")],
            "records": [_CASE_ON_P11],
        },
        expect=("w2",),
    ),
    Case(
        "no purpose and no record",
        positive=True,
        tables={"access": [lookup("w3", "S01", "P11", "2025-02-11 10:00", None, system="HR")]},
        expect=("w3",),
    ),
    Case(
        "the officer who handles the councillor's case, and his follow-up look-up days later",
        positive=False,
        tables={
            "access": [
                lookup("k1", "S04", "P11", "2025-02-11 10:00", "PN01"),
                lookup("k2", "S04", "P11", "2025-02-13 15:00", "AD01", system="AD"),
            ],
            "records": [_CASE_ON_P11],
        },
    ),
    Case(
        "people not on the list, and the councillor shown on a list screen",
        positive=False,
        tables={
            "access": [
                lookup("n1", "S03", "P08", "2025-02-11 10:00", "AD01"),
                lookup("n2", "S03", "P11", "2025-02-11 10:05", "AD01", action="list"),
            ]
        },
    ),
)

RULE = Rule(
    id="watchlist",
    title_zh="查詢關注名單人員",
    title_en="Look-up of a person on the watch list",
    severity="high",
    motivated_by=(
        "警政稽核重點之「異常對象」：政治人物、知名人士、新聞人物；2009 年 68 名員警查詢同一名新聞"
        "人物。 / Police audits check 'abnormal subjects': politicians, celebrities, people in the "
        "news; in 2009, 68 officers looked up one woman in the news."
    ),
    false_positives=(
        "名單人員本人到櫃檯申辦：由承辦人本人經辦之案件佐證者不計入。代理同仁處理名單人員的案件"
        "仍會列出，由主管確認代理事實。 / A listed person applies at the counter: a record the "
        "user handled explains it. Covering a colleague's case about a listed person is still "
        "shown, for the supervisor to confirm the cover."
    ),
    review_guide=(
        "請確認承辦人是否經手該民眾的申請或案件、是否受指派代理；名單人員的資料外洩風險高，無明確"
        "公務需要即屬不當。 / Check whether the user handled this person's application or case, "
        "or was assigned to cover it; a listed person's data is at high risk of leaking, and a "
        "look-up without a clear official need is improper."
    ),
    query=query,
    cases=CASES,
    silenced_by_weak_explanation=False,
    source_file=__file__,
)
