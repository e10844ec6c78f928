"""watchlist — the person looked up is on the protected / public-figure list.

Police audits check 「異常對象」: politicians, celebrities, people in the news, and people
whose data is protected (e.g. victims whose address must not leak).

Decision: a record-based (strong) explanation silences this rule — the user's own record,
and also a record of the user's unit (a colleague covered), a household record or a
continuation: the case exists in the unit and its supervisor can see it. We tried requiring
the user's own record: on synthetic worlds it flagged colleagues covering each other
(about 0.1 legitimate look-ups per 1,000) and caught no misuse that the record-less rules
did not. A weak explanation (a purpose that needs no record: a walk-in question, a phone
call, a field check) never silences this rule: for a listed person it is exactly the
look-up to confirm.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis

from menshen.detect.rule import Case, Rule
from menshen.detect.testing import lookup, record

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


def query(ctx: RuleContext) -> ir.Table:
    wl = ctx.watchlist.filter(ctx.watchlist.person_id.notnull())
    wl = wl.group_by(w_person=wl.person_id).aggregate(
        w_category=wl.category.min(), w_note=wl.note.max()
    )
    t = ctx.lookups.filter(ctx.lookups.deliberate)
    t = t.join(wl, t.subject_id == wl.w_person)
    t = t.filter(~t.explained_strong)

    category = t.w_category.fill_null("")
    cat_zh = ibis.cases(
        *[(category == code, zh) for code, (zh, _) in CATEGORIES.items()],
        else_=ibis.ifelse(category != "", "其他（" + category + "）", "未分類"),
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

    ref = t.record_ref.fill_null("").strip()
    weak = t.explanation.fill_null("") == "no_record_needed"
    other_subject = t.cited_record_found & (t.cited_record_subject_id != t.subject_id)
    why_zh = ibis.cases(
        (
            weak,
            "查詢事由「"
            + t.purpose_description.fill_null("")
            + "」毋須業務案件（弱說明，不足以查詢名單人員）",
        ),
        (other_subject, "引用之案號 " + ref + " 非該民眾之案件"),
        ((ref != "") & ~t.cited_record_found, "引用之案號 " + ref + " 查無此案"),
        else_="未見業務案件佐證",
    )
    why_en = ibis.cases(
        (
            weak,
            "the stated purpose needs no record (a weak explanation, not enough for a listed"
            " person)",
        ),
        (other_subject, "the cited record " + ref + " is about someone else"),
        ((ref != "") & ~t.cited_record_found, "the cited record " + ref + " does not exist"),
        else_="no business record supports the look-up",
    )
    return t.select(
        "system",
        "event_id",
        evidence_zh=listed_zh + "；" + why_zh,
        evidence_en=listed_en + "; " + why_en,
    )


# --- cases ---------------------------------------------------------------------------------
_CASE_ON_P11 = record("R-CRM-11", "criminal_case", "P11", "S04", "PD01", "2025-02-01 09:00")

CASES: tuple[Case, ...] = (
    Case(
        "a city councillor looked up under a no-record purpose",
        positive=True,
        tables={"access": [lookup("w1", "S03", "P11", "2025-02-11 10:00", "AD01")]},
        expect=("w1",),
    ),
    Case(
        "a case number about someone else is cited for the councillor",
        positive=True,
        tables={
            "access": [lookup("w2", "S04", "P11", "2025-02-11 10:00", "PN01", record_ref="R-CRM-1")]
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
        "the officer who handles the councillor's case, his follow-up, and a covering colleague",
        positive=False,
        tables={
            "access": [
                lookup("k1", "S04", "P11", "2025-02-11 10:00", "PN01"),
                lookup("k2", "S04", "P11", "2025-02-13 15:00", "AD01"),
                lookup("k3", "S03", "P11", "2025-02-12 09:00", "PN01"),
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
        "名單人員本人到櫃檯申辦、同單位同仁代理其案件：有業務案件佐證者不計入。臨櫃諮詢、電話"
        "諮詢、臨檢盤查等免附案件之事由仍會列出，由主管確認確有其事。 / A listed person applies "
        "at the counter, or a colleague of the unit covers their case: look-ups a record "
        "explains are not counted. Walk-in or phone questions and field checks (purposes that "
        "need no record) are still shown, for the supervisor to confirm they happened."
    ),
    review_guide=(
        "請確認承辦人是否經手該民眾的申請或案件、是否受指派代理；名單人員的資料外洩風險高，無明確"
        "公務需要即屬不當。 / Check whether the user handled this person's application or case, "
        "or was assigned to cover it; a listed person's data is at high risk of leaking, and a "
        "look-up without a clear official need is improper."
    ),
    query=query,
    reads=("purposes",),
    cases=CASES,
    silenced_by_weak_explanation=False,
    source_file=__file__,
)
