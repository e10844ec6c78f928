"""related — the person looked up is the user's family, household, likely kin or neighbour.

Four signs, strongest first:
1. a relation the user declared (relations.csv: spouse, ex-partner, parent, child, …);
2. the same household as the user (persons.csv household_id of the user's national id);
3. the same surname and the same address area (persons.csv address_code, compared whole:
   it is the smallest area the agency records, a village or neighbourhood). Surnames are
   compared only for Chinese names (compound surnames such as 歐陽、張簡 included); names in
   Latin script have no reliable surname position and are left to signs 1, 2 and 4;
4. a neighbour: the same address area with another surname. Neighbours are a case type of
   insider snooping of their own (Protenus: co-workers, family, neighbours…); the catalogue's
   relationship rule is where a reviewer expects them.

Counted: deliberate look-ups not explained by a business record. A weak explanation (a
purpose that needs no record) never silences this rule. A look-up of oneself is the `self`
rule's, not this one's.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import ibis

from menshen import ids
from menshen.detect.rule import Case, Rule
from menshen.detect.testing import lookup, record

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from menshen.detect.context import RuleContext

# Compound surnames in use in Taiwan (複姓), including 張簡 and 范姜 common in Taoyuan/Hsinchu.
COMPOUND_SURNAMES = (
    "張簡", "范姜", "歐陽", "司馬", "諸葛", "上官", "東方", "夏侯", "皇甫", "尉遲", "公孫",
    "長孫", "慕容", "司徒", "令狐", "宇文", "鍾離", "端木", "西門", "軒轅", "單于", "呼延",
    "澹臺", "公羊", "萬俟", "聞人", "南宮", "申屠", "左丘", "濮陽", "太史", "仲孫", "赫連",
)  # fmt: skip

# Declared relations: (order of strength, zh-TW, English).
RELATIONS: dict[str, tuple[int, str, str]] = {
    "spouse": (1, "配偶", "spouse"),
    "ex_partner": (2, "前配偶或前伴侶", "former partner"),
    "parent": (3, "父母", "parent"),
    "child": (4, "子女", "child"),
    "sibling": (5, "兄弟姊妹", "sibling"),
    "household": (6, "同戶家屬", "household member"),
    "relative": (7, "親屬", "relative"),
    "friend": (8, "朋友", "friend"),
    "other": (9, "其他關係", "other relation"),
}


def surname(name: ir.StringValue) -> ir.StringValue:
    """The surname of a Chinese name, or null for names not written in Chinese."""
    clean = name.strip()
    chinese = clean.re_search("^[\u3400-\u9fff]")
    two = clean.substr(0, 2)
    return ibis.cases(
        (chinese & two.isin(COMPOUND_SURNAMES), two),
        (chinese, clean.substr(0, 1)),
        else_=ibis.null("string"),
    )


def _declared(relations: ir.Table) -> ir.Table:
    """One row per (staff, person): the strongest declared relation."""
    rank = ibis.cases(
        *[(relations.relation == code, order) for code, (order, _, _) in RELATIONS.items()],
        else_=len(RELATIONS),
    )
    rel = relations.filter(relations.staff_id.notnull() & relations.person_id.notnull())
    rel = rel.mutate(rank=rank)
    best = rel.group_by(r_staff=rel.staff_id, r_person=rel.person_id).aggregate(
        r_rank=rel.rank.min()
    )
    zh = ibis.cases(
        *[(best.r_rank == order, text) for order, text, _ in RELATIONS.values()],
        else_="其他關係",
    )
    en = ibis.cases(
        *[(best.r_rank == order, text) for order, _, text in RELATIONS.values()],
        else_="other relation",
    )
    return best.mutate(r_zh=zh, r_en=en)


def query(ctx: RuleContext) -> ir.Table:
    t = ctx.lookups
    t = t.filter(t.deliberate & ~t.explained_strong & t.staff_id.notnull())
    # The user's own name, national id, household and area: staff joined with persons is
    # one row per staff member, so the look-ups join a small table rather than the staff
    # join on every look-up plus a persons join built on the look-ups' side.
    staff, people = ctx.staff, ctx.persons
    me = people.select(
        m_id=people.person_id, m_household=people.household_id, m_area=people.address_code
    )
    users = staff.select(u_id=staff.staff_id, u_name=staff.name, u_national_id=staff.national_id)
    users = users.left_join(me, users.u_national_id == me.m_id).drop("m_id")
    t = t.left_join(users, t.staff_id == users.u_id)
    t = t.filter(t.u_national_id.isnull() | (t.u_national_id != t.subject_id))
    declared = _declared(ctx.relations)
    t = t.left_join(declared, [t.staff_id == declared.r_staff, t.subject_id == declared.r_person])
    t = t.mutate(
        staff_surname=surname(t.u_name.fill_null("")),
        subject_surname=surname(t.subject_name.fill_null("")),
    )
    household = (
        t.m_household.notnull() & (t.m_household != "") & (t.m_household == t.subject_household_id)
    )
    same_area = t.m_area.notnull() & (t.m_area != "") & (t.m_area == t.subject_address_code)
    kin = same_area & t.staff_surname.notnull() & (t.staff_surname == t.subject_surname)
    t = t.mutate(
        is_declared=t.r_rank.notnull(),
        is_household=household,
        is_kin=kin & ~household,
        is_neighbour=same_area & ~kin & ~household,
    )
    t = t.filter(t.is_declared | t.is_household | t.is_kin | t.is_neighbour)

    none = ibis.literal("")
    parts_zh = [
        ibis.ifelse(t.is_declared, "該民眾為承辦人申報之" + t.r_zh.fill_null(""), none),
        ibis.ifelse(
            t.is_household, "與承辦人同戶（戶號 " + t.m_household.fill_null("") + "）", none
        ),
        ibis.ifelse(
            t.is_kin,
            "與承辦人同姓「"
            + t.staff_surname.fill_null("")
            + "」且住同一地區（地址代碼 "
            + t.m_area.fill_null("")
            + "）",
            none,
        ),
        ibis.ifelse(
            t.is_neighbour,
            "與承辦人住同一地區（地址代碼 " + t.m_area.fill_null("") + "），為鄰居",
            none,
        ),
    ]
    parts_en = [
        ibis.ifelse(
            t.is_declared, "the person is the user's declared " + t.r_en.fill_null(""), none
        ),
        ibis.ifelse(
            t.is_household,
            "same household as the user (household " + t.m_household.fill_null("") + ")",
            none,
        ),
        ibis.ifelse(
            t.is_kin,
            "same surname as the user ("
            + t.staff_surname.fill_null("")
            + ") and same address area (code "
            + t.m_area.fill_null("")
            + ")",
            none,
        ),
        ibis.ifelse(
            t.is_neighbour,
            "a neighbour: lives in the user's address area (code " + t.m_area.fill_null("") + ")",
            none,
        ),
    ]
    why_zh = ibis.ifelse(
        t.explanation.fill_null("") == "no_record_needed",
        "；查詢事由「" + t.purpose_description.fill_null("") + "」毋須業務案件，無案件可佐證",
        "；未見業務案件佐證",
    )
    why_en = ibis.ifelse(
        t.explanation.fill_null("") == "no_record_needed",
        "; the stated purpose needs no record, so no business record supports the look-up",
        "; no business record supports the look-up",
    )
    return t.select(
        "system",
        "event_id",
        evidence_zh=_join(parts_zh, "；") + why_zh,
        evidence_en=_join(parts_en, "; ") + why_en,
    )


def _join(parts: list[ir.StringValue], sep: str) -> ir.StringValue:
    """Concatenate the non-empty parts with `sep` (each part is '' when it does not apply)."""
    out = parts[0]
    for part in parts[1:]:
        out = out + ibis.ifelse((out != "") & (part != ""), sep, "") + part
    return out


# --- cases ---------------------------------------------------------------------------------
_rng = random.Random(77)
_SON = ids.generate_national_id(_rng, "M")  # lives with S02 (household HS2)
_COUSIN = ids.generate_national_id(_rng, "M")  # 陳, another household at S02's address code
_STRANGER = ids.generate_national_id(_rng, "M")  # 陳, far from S02
_OUYANG = ids.generate_national_id(_rng, "F")  # 歐陽, at S02's address code
_S02_AREA = "6300700-020"

CASES: tuple[Case, ...] = (
    Case(
        "case 1: a temporary employee looks up his declared ex-partner under a walk-in purpose",
        positive=True,
        tables={"access": [lookup("e1", "S05", "P10", "2025-02-10 09:12", "LI02")]},
        expect=("e1",),
    ),
    Case(
        "a clerk looks up her declared sister, a member of her household, and likely kin",
        positive=True,
        tables={
            "access": [
                lookup("r1", "S02", "P09", "2025-02-15 10:00", "HR02"),
                lookup("r2", "S02", _SON, "2025-02-11 11:00", "HR02"),
                lookup("r3", "S02", _COUSIN, "2025-02-11 11:30", None, system="HR"),
            ],
            "persons": [
                {
                    "person_id": _SON,
                    "name": "陳冠宇",
                    "household_id": "HS2",
                    "address_code": _S02_AREA,
                },
                {
                    "person_id": _COUSIN,
                    "name": "陳志強",
                    "household_id": "H90",
                    "address_code": _S02_AREA,
                },
            ],
        },
        expect=("r1", "r2", "r3"),
    ),
    Case(
        "a common surname in another area, another surname in the next neighbourhood: unrelated",
        positive=False,
        tables={
            "access": [
                lookup("n1", "S02", _STRANGER, "2025-02-11 09:00", "HR02"),
                lookup("n2", "S02", _OUYANG, "2025-02-11 09:30", "HR02"),
                lookup("n3", "S02", "P12", "2025-02-11 10:00", "HR02"),
            ],
            "persons": [
                {
                    "person_id": _STRANGER,
                    "name": "陳建宏",
                    "household_id": "H91",
                    "address_code": "6300100-099",
                },
                {
                    "person_id": _OUYANG,
                    "name": "歐陽美華",
                    "household_id": "H92",
                    "address_code": "6300700-021",
                },
            ],
        },
    ),
    Case(
        "a neighbour: another surname, same address area, looked up under a walk-in purpose",
        positive=True,
        tables={
            "access": [lookup("b1", "S02", _OUYANG, "2025-02-11 09:30", "HR02")],
            "persons": [
                {
                    "person_id": _OUYANG,
                    "name": "歐陽美華",
                    "household_id": "H92",
                    "address_code": _S02_AREA,
                },
            ],
        },
        expect=("b1",),
    ),
    Case(
        "the sister's own registration handled by the clerk is explained by the record",
        positive=False,
        tables={
            "access": [lookup("k1", "S02", "P09", "2025-02-11 10:00", "HR01")],
            "records": [
                record(
                    "R-HH-9", "household_registration", "P09", "S02", "HH01", "2025-02-11 09:30"
                ),
            ],
        },
    ),
    Case(
        "a look-up of oneself is the self rule's, not this one's; a list screen is incidental",
        positive=False,
        tables={
            "access": [
                lookup("o1", "S02", "S02", "2025-02-11 10:00", "HR02"),
                lookup("o2", "S05", "P10", "2025-02-11 10:00", "LI02", action="list"),
            ]
        },
    ),
)

RULE = Rule(
    id="related",
    title_zh="查詢親屬、同戶家人、疑似親友或鄰居",
    title_en="Look-up of a relative, household member, likely kin or neighbour",
    severity="high",
    motivated_by=(
        "防貪指引案例一（臨時人員查詢前女友及三名友人之勞保資料）、案例三（戶政人員查詢姪女男友之"
        "刑案資料並告知胞姊）；醫療業內部窺探事件中 77% 為窺探家人。 / Case 1 of the guideline "
        "(a temporary employee looked up his ex-girlfriend's and three friends' labour-insurance "
        "data) and case 3 (a clerk looked up her niece's boyfriend's criminal record and told her "
        "sister); family is 77% of insider snooping in healthcare."
    ),
    false_positives=(
        "親屬本人到櫃檯申辦業務：有業務案件佐證者不計入；承辦人依規定應迴避，宜改由同事辦理。同姓"
        "同地區可能純屬巧合（大姓如陳、林），故僅比對完整地址代碼且需無案件佐證。 / A relative "
        "comes to the counter with a real application: look-ups explained by a record are not "
        "counted (staff should still recuse themselves). Shared surname and area can be chance "
        "for common surnames (陳, 林): the whole address code must match and no record may "
        "support the look-up."
    ),
    review_guide=(
        "請確認該民眾與承辦人的關係，以及是否有申請案件或公務需要；即使民眾本人同意，承辦人查詢"
        "親友資料仍應迴避。 / Confirm the relationship and whether there was an application or "
        "an official need; even with the person's consent, staff should not look up their own "
        "family and friends."
    ),
    query=query,
    reads=("purposes",),
    cases=CASES,
    silenced_by_weak_explanation=False,
    source_file=__file__,
)
