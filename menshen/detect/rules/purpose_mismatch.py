"""purpose-mismatch — the cited record does not exist, is of the wrong kind or about someone
else; or the purpose needs a record and none was cited (and none explains the look-up)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from menshen.detect.context import RuleContext
from menshen.detect.evidence import concat, hits, kind_zh, masked, text
from menshen.detect.rule import Case, Rule
from menshen.detect.testing import lookup


def query(ctx: RuleContext) -> ir.Table:
    t = ctx.lookups
    t = t.filter(t.deliberate & t.evidence_kind.notnull())
    unexplained = ~t.explained_strong
    # A cited case that does not exist, or is about someone else, is what a false purpose
    # and 夾帶查詢 look like; only a record the user handled personally for the subject
    # outweighs it (a mistyped number is the usual benign cause, and then the user's own
    # record explains the look-up).
    not_own = t.explanation.fill_null("") != "own_record"
    t = t.mutate(
        missing=not_own & t.record_ref.notnull() & ~t.cited_record_found,
        wrong_kind=unexplained & t.cited_record_found & (t.cited_record_kind != t.evidence_kind),
        someone_else=not_own & t.cited_record_found & (t.cited_record_subject_id != t.subject_id),
        not_cited=unexplained & t.record_ref.isnull(),
    )
    t = t.filter(t.missing | t.wrong_kind | t.someone_else | t.not_cited)
    # Someone else of the subject's household is fine for a household purpose: the cited
    # subject's household is looked up on these few rows only (persons is large).
    members = ctx.persons.select(
        c_person=ctx.persons.person_id, c_household=ctx.persons.household_id
    )
    t = t.left_join(members, t.cited_record_subject_id == members.c_person).drop("c_person")
    same_household = (
        (t.purpose_scope == "household")
        & t.c_household.notnull()
        & (t.c_household == t.subject_household_id)
    )
    t = t.mutate(other_person=t.someone_else & ~same_household)
    missing, wrong_kind, other_person = t.missing, t.wrong_kind, t.other_person
    t = t.filter(missing | wrong_kind | other_person | t.not_cited)
    ref = text(t.record_ref)
    purpose_zh = text(t.purpose_description)
    zh = ibis.cases(
        (missing, concat("所引案號「", ref, "」查無此業務案件")),
        (wrong_kind, concat(
            "所引案號「", ref, "」為「", kind_zh(t.cited_record_kind), "」類案件，非查詢事由「",
            purpose_zh, "」所需之「", kind_zh(t.evidence_kind), "」類案件",
        )),
        (other_person, concat(
            "所引案號「", ref, "」之當事人為 ", masked(t.cited_record_subject_id),
            "，非本次查詢對象（疑似夾帶查詢）",
        )),
        else_=concat("查詢事由「", purpose_zh, "」須附案號，但未填案號"),
    )  # fmt: skip
    en = ibis.cases(
        (missing, concat("cited record '", ref, "' does not exist")),
        (wrong_kind, concat(
            "cited record '", ref, "' is a '", text(t.cited_record_kind), "' record; the purpose needs '",
            text(t.evidence_kind), "'",
        )),
        (other_person, concat(
            "cited record '", ref, "' is about ", masked(t.cited_record_subject_id),
            ", not the person looked up (an extra subject slipped into a real case?)",
        )),
        else_=concat("purpose '", text(t.purpose_description), "' needs a case number; none cited"),
    )  # fmt: skip
    return hits(t, zh, en)


CASES = (
    Case(
        "夾帶查詢: a real case of P01 cited to look up P10",
        positive=True,
        tables={
            "access": [
                lookup("m1", "S05", "P01", "2025-02-10 09:00", "LI01", record_ref="R-JOB-1"),
                lookup("m2", "S05", "P10", "2025-02-10 09:02", "LI01", record_ref="R-JOB-1"),
            ]
        },
        expect=("m2",),
    ),
    Case(
        "夾帶查詢 even though a colleague of the unit has a record about the extra subject",
        positive=True,
        tables={
            "access": [
                lookup("m6", "S01", "P02", "2025-02-10 09:02", "HR01", record_ref="R-HH-2"),
            ]
        },
        expect=("m6",),
    ),
    Case(
        "cited record does not exist",
        positive=True,
        tables={
            "access": [lookup("m3", "S05", "P12", "2025-02-10 09:00", "LI01", record_ref="X-1")]
        },
        expect=("m3",),
    ),
    Case(
        "cited record of the wrong kind",
        positive=True,
        tables={
            "access": [
                lookup("m4", "S02", "P07", "2025-02-11 10:00", "HR01", record_ref="R-NAME-1")
            ]
        },
        expect=("m4",),
    ),
    Case(
        "purpose needs a record, none cited, none found",
        positive=True,
        tables={"access": [lookup("m5", "S04", "P12", "2025-02-11 10:00", "PN01")]},
        expect=("m5",),
    ),
    Case(
        "right record cited; household-scope purpose citing a household member's record; "
        "no-record purpose; record found without a cited number; a mistyped number on the "
        "user's own case",
        positive=False,
        tables={
            "access": [
                lookup("k1", "S05", "P01", "2025-02-10 09:00", "LI01", record_ref="R-JOB-1"),
                lookup("k2", "S02", "P05", "2025-02-10 10:00", "HR03", record_ref="R-WEL-1"),
                lookup("k3", "S02", "P12", "2025-02-10 11:00", "HR02", record_ref="公文-114-001"),
                lookup("k4", "S04", "P06", "2025-02-11 10:00", "PN01"),
                lookup("k5", "S02", "P02", "2025-02-10 10:00", "HR01", record_ref="R-HH-2"),
            ]
        },
    ),
)

RULE = Rule(
    id="purpose-mismatch",
    title_zh="查詢事由與所引案件不符",
    title_en="Stated purpose does not match the cited record",
    severity="high",
    motivated_by=(
        "案例一以不實之求職登記事由查詢（公務員登載不實）；夾帶查詢：在真實案件中夾帶其他查詢對象。 / "
        "Case 1's false purpose (false entry in an official record); extra subjects slipped "
        "into a real case (夾帶查詢)."
    ),
    false_positives=(
        "案號打字錯誤、案件尚未建檔。若另有本人或單位案件可說明該查詢即不列入。 / Typos in the case "
        "number, records not yet entered. Not raised when another record explains the look-up."
    ),
    review_guide=(
        "核對所引案號之當事人與案件類別，確認查詢對象是否為該案關係人。 / Check who the cited "
        "record is about and its kind; is the person looked up a party to that case?"
    ),
    query=query,
    reads=("purposes",),
    cases=CASES,
    silenced_by_weak_explanation=True,
)
