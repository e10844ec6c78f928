"""unexplained — no business record supports the stated purpose within its window; or the
purpose needs no record (a weak explanation) but the look-up was made when the unit was
closed: on a non-workday, or more than `weak_purpose_grace_minutes` outside its office
hours. A walk-in enquiry at 21:00 or on a holiday cannot be taken at its word (case 3: a
Saturday look-up)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from menshen.detect.context import RuleContext
from menshen.detect.evidence import concat, hits, kind_zh, text, when_closed
from menshen.detect.rule import Case, Rule
from menshen.detect.testing import lookup


def query(ctx: RuleContext) -> ir.Table:
    t = ctx.lookups
    grace = ctx.params.weak_purpose_grace_minutes
    outside = ibis.greatest(t.office_start - t.local_minute, t.local_minute - t.office_end)
    closed = ~t.in_office_hours & (~t.is_workday | (outside > grace))
    weak_when_closed = (t.explanation.fill_null("") == "no_record_needed") & closed
    t = t.filter(t.deliberate & (t.explanation.isnull() | weak_when_closed))
    weak_when_closed = t.explanation.notnull()  # what the filter let through with one
    desc = text(t.purpose_description, "")
    # zh-TW names the evidence by the purpose's own description (no English codes).
    desc_or_kind = ibis.ifelse(desc != "", desc, kind_zh(t.evidence_kind))
    window = concat(
        "前 ",
        t.window_before_days.cast("string"),
        " 日至後 ",
        t.window_after_days.cast("string"),
        " 日",
    )
    window_en = concat(
        t.window_before_days.cast("string"), " days before to ", t.window_after_days.cast("string"),
        " days after",
    )  # fmt: skip
    zh = ibis.cases(
        (t.purpose_code.isnull(), "未填查詢事由，亦未見該民眾之相關業務案件"),
        (~t.purpose_known, concat("查詢事由代碼「", t.purpose_code, "」不在事由清單中，亦未見相關業務案件")),
        else_=concat(
            "未見該民眾於查詢時（", window, "）有「", desc_or_kind,
            "」所需之業務案件由承辦人或所屬單位經辦",
        ),
    )  # fmt: skip
    en = ibis.cases(
        (t.purpose_code.isnull(), "no stated purpose and no business record about this person"),
        (~t.purpose_known, concat("purpose code '", t.purpose_code, "' is not in the purpose list")),
        else_=concat(
            "stated purpose '", desc, "' needs a '", text(t.evidence_kind),
            "' record about this person handled by the user or the unit (", window_en,
            "); none found",
        ),
    )  # fmt: skip
    grace_zh = f"{grace // 60} 小時" if grace % 60 == 0 else f"{grace} 分鐘"
    when_zh, when_en = when_closed(t, f"逾 {grace_zh}", f" by more than {grace} minutes")
    zh = ibis.ifelse(
        weak_when_closed,
        concat("查詢事由「", desc, "」毋須業務案件，但查詢時間為", when_zh,
               "，該事由無從佐證"),
        zh,
    )  # fmt: skip
    en = ibis.ifelse(
        weak_when_closed,
        concat("purpose '", desc, "' needs no record, but the look-up was made on ", when_en,
               ", when the unit was closed: the purpose cannot be taken at its word"),
        en,
    )  # fmt: skip
    invalid = ~t.subject_id_valid.fill_null(False)
    zh = ibis.ifelse(invalid, zh + "（查詢之身分證號檢查碼不符）", zh)
    en = ibis.ifelse(invalid, en + " (the id looked up fails the checksum)", en)
    return hits(t, zh, en)


CASES = (
    Case(
        "case 1: job-registration purpose but the person never registered",
        positive=True,
        tables={"access": [lookup("u1", "S05", "P10", "2025-02-10 09:12", "LI01")]},
        expect=("u1",),
    ),
    Case(
        "no purpose stated and no record",
        positive=True,
        tables={"access": [lookup("u2", "S04", "P12", "2025-02-11 10:00", None, system="PN")]},
        expect=("u2",),
    ),
    Case(
        "a record closed long before the window does not explain",
        positive=True,
        tables={
            "access": [lookup("u3", "S02", "P02", "2025-02-14 10:00", "HR01")],
        },
        expect=("u3",),
    ),
    Case(
        "case 3: a walk-in purpose (needs no record) when the unit is closed — 21:30, 4½ hours "
        "after closing, and on a public holiday",
        positive=True,
        tables={
            "access": [
                lookup("u4", "S02", "P12", "2025-02-11 21:30", "HR02"),
                lookup("u5", "S02", "P12", "2025-02-28 10:00", "HR02"),
            ]
        },
        expect=("u4", "u5"),
    ),
    Case(
        "a walk-in purpose 1¾ hours after closing, on a make-up Saturday, and at 03:00 on a "
        "Saturday off in a unit open round the clock",
        positive=False,
        tables={
            "office_hours": [{"unit_id": "PD01", "start": "00:00", "end": "23:59"}],
            "access": [
                lookup("n10", "S02", "P12", "2025-02-11 18:45", "HR02"),
                lookup("n11", "S02", "P12", "2025-02-08 10:00", "HR02"),
                lookup("n12", "S04", "P12", "2025-02-15 03:00", "AD01"),
            ],
        },
    ),
    Case(
        "own record, unit record, household record, continuation and no-record purposes explain",
        positive=False,
        tables={
            "access": [
                lookup("n1", "S05", "P01", "2025-02-10 09:12", "LI01"),  # own record
                lookup("n2", "S06", "P01", "2025-02-10 09:30", "LI01"),  # unit record
                lookup("n3", "S02", "P05", "2025-02-10 10:00", "HR03"),  # household member
                lookup("n4", "S05", "P01", "2025-02-14 16:00", "LI02"),  # no-record purpose
                lookup("n5", "S02", "P12", "2025-02-10 11:00", "HR02"),  # walk-in question
                lookup("n6", "S02", "P12", "2025-02-10 11:05", "HR02", action="list"),
            ]
        },
    ),
    Case(
        "a record opened a few days after the look-up still explains it (within the window)",
        positive=False,
        tables={
            "access": [lookup("n7", "S05", "P01", "2025-02-03 09:00", "LI01")],
        },
    ),
    Case(
        "a later look-up continues an explained one within the continuation days",
        positive=False,
        tables={
            "access": [
                lookup("n8", "S02", "P02", "2025-02-10 09:00", "HR01"),
                lookup("n9", "S02", "P02", "2025-02-13 09:00", "HR01"),
            ],
        },
    ),
)

RULE = Rule(
    id="unexplained",
    title_zh="查無業務依據之查詢",
    title_en="Look-up not explained by any business record",
    severity="high",
    motivated_by=(
        "案例一：就服站臨時人員以「依民眾授權查詢勞保資料之求職登記表辦理」為由查詢前女友及友人，"
        "實無求職登記；案例二：員警無公務需要查詢 39 人。現行每月抽查 1% 比對承辦案件。 / "
        "Case 1 (false job-registration purpose), case 2 (39 people without official need); "
        "today's 1% monthly cross-check against handled applications."
    ),
    false_positives=(
        "案件晚於查詢建檔超過事由之時間窗、案件未登錄於業務系統、代理同仁未設單位；夜間或假日以免附案件"
        "事由查詢者，多為未登錄之加班或值勤（全日服務之單位請於辦公時間設定 00:00–23:59）。"
        "已以單位案件、延續查詢、同戶案件與免附案件事由先行說明。 / Records entered later than "
        "the purpose's window, records kept outside the systems, covering colleagues outside "
        "the unit. Unit records, continuations, household records and no-record purposes "
        "explain most benign cases first. A no-record purpose at night or on a holiday is "
        "mostly unrecorded overtime or duty (give round-the-clock units office hours "
        "00:00–23:59)."
    ),
    review_guide=(
        "請承辦人提出查詢所依據之申請書、案號或公文；無法提出者視為不當查詢。 / Ask the user for "
        "the application, case number or document behind the look-up; none means improper."
    ),
    query=query,
    reads=("calendar", "office", "purposes", "staff"),
    cases=CASES,
    silenced_by_weak_explanation=True,
)
