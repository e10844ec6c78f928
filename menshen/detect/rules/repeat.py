"""repeat — the same user looks up the same person on several days, with no business record.

Curiosity rarely stops at one look: 20% of healthcare snoopers snooped again within three
months. Each look-up may pass as a walk-in question (a purpose that needs no record); the
repetition is what a supervisor should see.

Counted: deliberate look-ups of a person by a user that no business record explains (none,
or only the weak "purpose needs no record": a weak explanation never silences this rule).
A look-up in the detection range is flagged when the user looked the person up that way on
at least `repeat_min_days` different days within `repeat_window_days` days of it (history
before the range included). An open case explains the look-ups and stops the count.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis

from menshen.detect.evidence import date_zh, full_date_zh
from menshen.detect.rule import Case, Rule
from menshen.detect.summaries import unexplained
from menshen.detect.testing import lookup

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from menshen.detect.context import RuleContext


def query(ctx: RuleContext) -> ir.Table:
    p = ctx.params
    # One row per user, person and day counted (summaries.open_days), history included.
    days = ctx.summary("open_days")
    days = days.select(
        "user_key", "subject_id", "occurred_date", day=days.occurred_date.epoch_days()
    )
    # Only a user and person seen in the range, and on enough days at all, can repeat: cut
    # the self-join (a daily run's range holds a few of the history's pairs).
    seen = days.filter(days.occurred_date >= ctx.range_start)
    seen = seen.select(s_user=seen.user_key, s_subject=seen.subject_id).distinct()
    days = days.semi_join(seen, [days.user_key == seen.s_user, days.subject_id == seen.s_subject])
    often = days.group_by(f_user=days.user_key, f_subject=days.subject_id).aggregate(
        f_days=days.occurred_date.count()
    )
    often = often.filter(often.f_days >= p.repeat_min_days)
    days = days.semi_join(
        often, [days.user_key == often.f_user, days.subject_id == often.f_subject]
    )
    # Days in the range are the ones a hit can be on; the others only count towards them.
    mine = days.filter(days.occurred_date >= ctx.range_start)
    other = days.select(
        o_user=days.user_key, o_subject=days.subject_id, o_day=days.day, o_date=days.occurred_date
    )
    pairs = mine.join(
        other,
        [
            mine.user_key == other.o_user,
            mine.subject_id == other.o_subject,
            other.o_day >= mine.day - p.repeat_window_days,
            other.o_day <= mine.day + p.repeat_window_days,
        ],
    )
    spread = pairs.group_by(["user_key", "subject_id", "occurred_date"]).aggregate(
        n_days=pairs.o_day.nunique(),
        first=pairs.o_date.min(),
        last=pairs.o_date.max(),
    )
    spread = spread.filter(spread.n_days >= p.repeat_min_days)
    spread = spread.select(
        r_user=spread.user_key,
        r_subject=spread.subject_id,
        r_date=spread.occurred_date,
        n_days=spread.n_days,
        first=spread.first,
        last=spread.last,
    )

    hits = unexplained(ctx.lookups)
    hits = hits.join(
        spread,
        [
            hits.user_key == spread.r_user,
            hits.subject_id == spread.r_subject,
            hits.occurred_date == spread.r_date,
        ],
    )
    n_days = hits.n_days.cast("string")
    # 12月2日 reads as this year's: name the years when the days span two.
    two_years = hits.first.year() != hits.last.year()
    first_zh = ibis.ifelse(two_years, full_date_zh(hits.first), date_zh(hits.first))
    last_zh = ibis.ifelse(two_years, full_date_zh(hits.last), date_zh(hits.last))
    first = hits.first.cast("string")
    last = hits.last.cast("string")
    return hits.select(
        "system",
        "event_id",
        evidence_zh="承辦人於 "
        + first_zh
        + " 至 "
        + last_zh
        + " 間，共 "
        + n_days
        + " 個不同日期查詢同一民眾，均無業務案件佐證（門檻："
        + str(p.repeat_window_days)
        + " 日內 "
        + str(p.repeat_min_days)
        + " 日）",
        evidence_en="The user looked up this same person on "
        + n_days
        + " different days between "
        + first
        + " and "
        + last
        + ", each time without a supporting business record (threshold: "
        + str(p.repeat_min_days)
        + " days within "
        + str(p.repeat_window_days)
        + ")",
    )


# --- cases ---------------------------------------------------------------------------------
CASES: tuple[Case, ...] = (
    Case(
        "curiosity: the same person on three days under a walk-in purpose",
        positive=True,
        tables={
            "access": [
                lookup("r1", "S07", "P12", "2025-02-10 09:10", "LI02"),
                lookup("r2", "S07", "P12", "2025-02-11 16:40", "LI02"),
                lookup("r3", "S07", "P12", "2025-02-13 12:05", "LI02"),
            ]
        },
        expect=("r1", "r2", "r3"),
    ),
    Case(
        "back again after weeks: earlier look-ups before the range count",
        positive=True,
        tables={
            "access": [
                lookup("h1", "S02", "P08", "2024-12-02 10:00", "HR02"),
                lookup("h2", "S02", "P08", "2025-01-06 10:00", None, system="HR"),
                lookup("h3", "S02", "P08", "2025-02-11 15:00", "HR02"),
            ]
        },
        expect=("h3",),
        params={"detect_from": "2025-02-11"},
    ),
    Case(
        "an open case: the user's own job registration explains every look-up",
        positive=False,
        tables={
            "access": [
                lookup("c1", "S05", "P01", "2025-02-10 09:00", "LI01"),
                lookup("c2", "S05", "P01", "2025-02-11 09:00", "LI01"),
                lookup("c3", "S05", "P01", "2025-02-12 09:00", "LI01"),
            ]
        },
    ),
    Case(
        "several look-ups on one day, and different users on different days",
        positive=False,
        tables={
            "access": [
                lookup("d1", "S07", "P12", "2025-02-10 09:00", "LI02"),
                lookup("d2", "S07", "P12", "2025-02-10 09:20", "LI02"),
                lookup("d3", "S07", "P12", "2025-02-10 14:00", "LI02"),
                lookup("d4", "S06", "P12", "2025-02-11 10:00", "LI02"),
                lookup("d5", "S05", "P12", "2025-02-12 10:00", "LI02"),
            ]
        },
    ),
    Case(
        "the first look-up is beyond the window: two days within it are not several",
        positive=False,
        tables={
            "access": [
                lookup("f0", "S02", "P08", "2024-10-01 10:00", "HR02"),
                lookup("f1", "S02", "P08", "2025-01-20 10:00", "HR02"),
                lookup("f2", "S02", "P08", "2025-02-11 15:00", "HR02"),
            ]
        },
        params={"detect_from": "2025-02-11", "repeat_window_days": 90, "history_days": 200},
    ),
)

RULE = Rule(
    id="repeat",
    title_zh="多日重複查詢同一民眾",
    title_en="Same person looked up on several days",
    severity="high",
    motivated_by=(
        "出於好奇的查詢常會再犯：醫療業窺探者有 20% 於三個月內再次窺探；防貪指引案例一之臨時人員"
        "多次查詢前女友及友人資料。 / Curiosity comes back: 20% of healthcare snoopers snooped "
        "again within three months; the temporary employee of case 1 looked up his "
        "ex-girlfriend and friends more than once."
    ),
    false_positives=(
        "民眾多次臨櫃洽詢同一事項而未立案：有業務案件（含延續查詢）佐證者不計入；建議對常態多次"
        "洽詢的業務建立案件紀錄。 / A person who comes back several times about the same matter "
        "without a case being opened: look-ups explained by a record (or continuing an explained "
        "look-up) are not counted; open a record for such recurring matters."
    ),
    review_guide=(
        "請確認各次查詢是否都對應民眾實際到場或來電洽詢（簽收單、叫號紀錄、電話紀錄），或是否有"
        "承辦案件；若無，請承辦人說明。 / Check that each look-up matches a real visit or call by "
        "the person (receipts, queue tickets, call logs) or a case the user handled; if not, ask "
        "the user to explain."
    ),
    query=query,
    reads=(),
    cases=CASES,
    silenced_by_weak_explanation=False,
    source_file=__file__,
)
