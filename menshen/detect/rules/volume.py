"""volume — a user looks up far more people in a day than they usually do and than their
colleagues do that day.

What is counted: distinct people a user looked up deliberately on a day *without a
record-based explanation* (no explanation, or only the weak "purpose needs no record").
Look-ups that a business record explains are the user's real workload and stay out of both
the day's count and the baselines, so a clerk with a heavy caseload is not flagged; a weak
explanation never silences this rule (the brief), so a user who types a no-record purpose
for 39 people is counted in full.

The day is flagged when its count reaches `volume_min_subjects` and exceeds
`volume_multiplier` x the larger of two baselines:
- own: the user's mean per active day over the previous `volume_baseline_days` days;
- peers: the mean of the other users of the same unit who looked anybody up that day.
A missing baseline (new user, a unit of one) counts as 0, leaving the floor.

All the day's flagged look-ups of the user form one finding (`group_key`).

Multi-day view (`_window_hits`): the user's last `volume_window_days` active days taken
together, against the user's own mean per active day before them and the unit's peers over
the same dates — a spree spread over a few days, each under the per-day floor.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import ibis

from menshen import ids
from menshen.detect.evidence import date_zh
from menshen.detect.rule import Case, Rule
from menshen.detect.testing import lookup, record

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from menshen.detect.context import RuleContext


def _one(x: ir.NumericValue) -> ir.StringValue:
    """A number shown with one decimal, the same on every engine."""
    return x.round(1).cast("string")


def query(ctx: RuleContext) -> ir.Table:
    p = ctx.params
    # One row per user, day and person whom some look-up of that day does not explain by a
    # record (summaries.open_days, of staff members): only those are counted. A user's
    # unit is the same on all rows of a day.
    seen = ctx.summary("open_days")
    seen = seen.filter(seen.staff_id.notnull()).select(
        "staff_id", "occurred_date", "subject_id", "unit_id"
    )
    counts = seen.group_by(c_staff=seen.staff_id, c_date=seen.occurred_date).aggregate(
        c_n=seen.subject_id.count()
    )
    # One row per user and day on which they looked anybody up deliberately.
    daily = ctx.summary("active_days")
    daily = daily.mutate(day=daily.occurred_date.epoch_days())
    daily = daily.left_join(
        counts, [daily.staff_id == counts.c_staff, daily.occurred_date == counts.c_date]
    )
    daily = daily.mutate(n=daily.c_n.fill_null(0)).drop("c_staff", "c_date", "c_n")

    today = daily.filter(
        (daily.occurred_date >= ctx.range_start) & (daily.n >= p.volume_min_subjects)
    )
    past = daily.select(o_staff=daily.staff_id, o_day=daily.day, o_n=daily.n)
    own = today.left_join(
        past,
        [
            today.staff_id == past.o_staff,
            past.o_day < today.day,
            past.o_day >= today.day - p.volume_baseline_days,
        ],
    )
    t = own.group_by(["staff_id", "occurred_date", "unit_id", "n"]).aggregate(
        own_mean=own.o_n.mean(), own_days=own.o_day.count()
    )

    units = daily.filter(daily.unit_id.notnull())
    units = units.group_by(u_unit=units.unit_id, u_date=units.occurred_date).aggregate(
        u_sum=units.n.sum(), u_users=units.staff_id.count()
    )

    t = t.left_join(units, [t.unit_id == units.u_unit, t.occurred_date == units.u_date])
    t = t.mutate(
        peer_mean=ibis.ifelse(
            t.u_users.fill_null(0) > 1,
            (t.u_sum - t.n) / (t.u_users - 1),
            ibis.null("float64"),
        ),
    )
    t = t.mutate(reference=ibis.greatest(t.own_mean.fill_null(0.0), t.peer_mean.fill_null(0.0)))
    t = t.filter(t.n > t.reference * p.volume_multiplier)
    # Everybody the user looked up that day, explained or not, for the evidence: counted on
    # the flagged days only.
    day = ctx.lookups.filter(ctx.lookups.deliberate & ctx.lookups.staff_id.notnull())
    day = day.semi_join(t, [day.staff_id == t.staff_id, day.occurred_date == t.occurred_date])
    day = day.group_by(a_staff=day.staff_id, a_date=day.occurred_date).aggregate(
        n_all=day.subject_id.nunique()
    )
    t = t.join(day, [t.staff_id == day.a_staff, t.occurred_date == day.a_date])

    date = t.occurred_date.cast("string")
    date_zh_ = date_zh(t.occurred_date)
    own_zh = ibis.ifelse(
        t.own_days > 0,
        "本人過去 "
        + str(p.volume_baseline_days)
        + " 日中有查詢之 "
        + t.own_days.cast("string")
        + " 日平均每日 "
        + _one(t.own_mean)
        + " 位",
        "本人過去 " + str(p.volume_baseline_days) + " 日無查詢紀錄可比較",
    )
    own_en = ibis.ifelse(
        t.own_days > 0,
        "the user's own average over the "
        + t.own_days.cast("string")
        + " days with look-ups in the previous "
        + str(p.volume_baseline_days)
        + " is "
        + _one(t.own_mean)
        + " a day",
        "the user has no look-ups in the previous "
        + str(p.volume_baseline_days)
        + " days to compare with",
    )
    peer_zh = ibis.ifelse(
        t.peer_mean.notnull(),
        "同單位其他 "
        + (t.u_users - 1).cast("string")
        + " 位同仁當日平均 "
        + _one(t.peer_mean)
        + " 位",
        "同單位當日無其他同仁查詢可比較",
    )
    peer_en = ibis.ifelse(
        t.peer_mean.notnull(),
        "the "
        + (t.u_users - 1).cast("string")
        + " other users of the unit averaged "
        + _one(t.peer_mean)
        + " that day",
        "no other user of the unit looked anybody up that day",
    )
    times_zh = ibis.ifelse(t.reference > 0, "，為較高基準之 " + _one(t.n / t.reference) + " 倍", "")
    times_en = ibis.ifelse(
        t.reference > 0, "; that is " + _one(t.n / t.reference) + " times the higher baseline", ""
    )
    threshold_zh = (
        "（門檻：基準之 "
        + str(p.volume_multiplier)
        + " 倍且至少 "
        + str(p.volume_min_subjects)
        + " 位）"
    )
    threshold_en = (
        " (threshold: "
        + str(p.volume_multiplier)
        + " times the baseline and at least "
        + str(p.volume_min_subjects)
        + ")"
    )
    t = t.mutate(
        evidence_zh=date_zh_
        + " 查詢 "
        + t.n.cast("string")
        + " 位無業務案件佐證之不同民眾（當日共查詢 "
        + t.n_all.cast("string")
        + " 位）；"
        + own_zh
        + "，"
        + peer_zh
        + times_zh
        + threshold_zh,
        evidence_en="On "
        + date
        + " the user looked up "
        + t.n.cast("string")
        + " different people without a supporting business record ("
        + t.n_all.cast("string")
        + " people in all); "
        + own_en
        + ", "
        + peer_en
        + times_en
        + threshold_en,
        group_key="volume:" + t.staff_id + ":" + date,
    )
    flagged = t.select(
        f_staff=t.staff_id,
        f_date=t.occurred_date,
        evidence_zh=t.evidence_zh,
        evidence_en=t.evidence_en,
        group_key=t.group_key,
    )
    hits = ctx.lookups.filter(
        ctx.lookups.deliberate & ctx.lookups.staff_id.notnull() & ~ctx.lookups.explained_strong
    )
    day_hits = hits.join(
        flagged, [hits.staff_id == flagged.f_staff, hits.occurred_date == flagged.f_date]
    )
    day_hits = day_hits.select("system", "event_id", "evidence_zh", "evidence_en", "group_key")
    # The multi-day view adds the look-ups of days the daily view did not flag.
    rest = hits.anti_join(
        flagged, [hits.staff_id == flagged.f_staff, hits.occurred_date == flagged.f_date]
    )
    return day_hits.union(_window_hits(ctx, seen, daily, rest))


def _window_hits(ctx: RuleContext, seen: ir.Table, daily: ir.Table, hits: ir.Table) -> ir.Table:
    """The multi-day view: the user's last `volume_window_days` active days taken together
    (`seen`: the open user-day-person rows; `daily`: the active user-days).

    A spree spread over a few days stays under the per-day floor; together its days hold
    far more distinct unexplained people than the user's own days before it (own mean per
    active day x the window's days) and than the unit's other users over the same dates.
    Needs `volume_window_min_history_days` own active days before the window: without a
    history, a new user's first busy days are the daily view's business (floor and peers).
    """
    p = ctx.params
    size = p.volume_window_days
    days = daily.mutate(
        k=ibis.row_number().over(ibis.window(group_by=daily.staff_id, order_by=daily.day))
    )
    ends = days.filter(days.occurred_date >= ctx.range_start).select(
        staff_id=days.staff_id, unit_id=days.unit_id, end_k=days.k, end_day=days.day,
        end_date=days.occurred_date,
    )  # fmt: skip
    members = days.select(
        m_staff=days.staff_id, m_k=days.k, m_day=days.day, m_date=days.occurred_date, m_n=days.n
    )
    w = ends.join(
        members,
        [ends.staff_id == members.m_staff, members.m_k <= ends.end_k,
         members.m_k > ends.end_k - size],
    )  # fmt: skip
    w = w.group_by(["staff_id", "unit_id", "end_day", "end_date"]).aggregate(
        start_day=w.m_day.min(),
        start_date=w.m_date.min(),
        win_days=w.m_k.count(),
        upper=w.m_n.sum(),  # the daily distinct counts add up to at least the window's
    )
    w = w.filter((w.win_days == size) & (w.upper >= p.volume_window_min_subjects))

    # Distinct people without a record-based explanation over the window's dates.
    seen = seen.select(
        s_staff=seen.staff_id,
        s_unit=seen.unit_id,
        s_subject=seen.subject_id,
        s_day=seen.occurred_date.epoch_days(),
    )
    mine = w.join(
        seen,
        [w.staff_id == seen.s_staff, seen.s_day >= w.start_day, seen.s_day <= w.end_day],
    )
    w = mine.group_by(
        ["staff_id", "unit_id", "end_day", "end_date", "start_day", "start_date", "win_days"]
    ).aggregate(n=mine.s_subject.nunique())
    w = w.filter(w.n >= p.volume_window_min_subjects)

    # Own baseline: mean per active day over the baseline period before the window.
    past = daily.select(o_staff=daily.staff_id, o_day=daily.day, o_n=daily.n)
    own = w.join(
        past,
        [w.staff_id == past.o_staff, past.o_day < w.start_day,
         past.o_day >= w.start_day - p.volume_baseline_days],
    )  # fmt: skip
    keys = ["staff_id", "unit_id", "end_day", "end_date", "start_day", "start_date", "win_days"]
    w = own.group_by([*keys, "n"]).aggregate(own_mean=own.o_n.mean(), own_days=own.o_day.count())
    w = w.filter(w.own_days >= p.volume_window_min_history_days)

    # Peers: the unit's other users active on the window's dates, their distinct people.
    peers_active = daily.select(a_staff=daily.staff_id, a_unit=daily.unit_id, a_day=daily.day)
    pa = w.join(
        peers_active,
        [w.unit_id == peers_active.a_unit, peers_active.a_staff != w.staff_id,
         peers_active.a_day >= w.start_day, peers_active.a_day <= w.end_day],
    )  # fmt: skip
    pa = pa.group_by(p_staff=pa.staff_id, p_end=pa.end_day).aggregate(
        peer_users=pa.a_staff.nunique()
    )
    ps = w.join(
        seen,
        [w.unit_id == seen.s_unit, seen.s_staff != w.staff_id,
         seen.s_day >= w.start_day, seen.s_day <= w.end_day],
    )  # fmt: skip
    ps = ps.group_by(q_staff=ps.staff_id, q_end=ps.end_day, q_peer=ps.s_staff).aggregate(
        q_n=ps.s_subject.nunique()
    )
    ps = ps.group_by(["q_staff", "q_end"]).aggregate(peer_sum=ps.q_n.sum())
    w = w.left_join(pa, [w.staff_id == pa.p_staff, w.end_day == pa.p_end])
    w = w.left_join(ps, [w.staff_id == ps.q_staff, w.end_day == ps.q_end])
    w = w.mutate(
        expected=w.own_mean * w.win_days,
        peer_mean=ibis.ifelse(
            w.peer_users.fill_null(0) > 0,
            w.peer_sum.fill_null(0) / w.peer_users,
            ibis.null("float64"),
        ),
    )
    w = w.mutate(reference=ibis.greatest(w.expected, w.peer_mean.fill_null(0.0)))
    w = w.filter(w.n > w.reference * p.volume_window_multiplier)

    span_zh = date_zh(w.start_date) + " 至 " + date_zh(w.end_date)
    span_en = w.start_date.cast("string") + " to " + w.end_date.cast("string")
    peer_zh = ibis.ifelse(
        w.peer_mean.notnull(),
        "同單位其他 "
        + w.peer_users.cast("string")
        + " 位同仁同期平均 "
        + _one(w.peer_mean)
        + " 位",
        "同單位同期無其他同仁查詢可比較",
    )
    peer_en = ibis.ifelse(
        w.peer_mean.notnull(),
        "the " + w.peer_users.cast("string") + " other users of the unit averaged "
        + _one(w.peer_mean) + " over the same dates",
        "no other user of the unit looked anybody up on those dates",
    )  # fmt: skip
    times_zh = ibis.ifelse(w.reference > 0, "，為較高基準之 " + _one(w.n / w.reference) + " 倍", "")
    times_en = ibis.ifelse(
        w.reference > 0, "; that is " + _one(w.n / w.reference) + " times the higher baseline", ""
    )
    w = w.mutate(
        evidence_zh=span_zh + " 連續 " + str(size) + " 個查詢日共查詢 " + w.n.cast("string")
        + " 位無業務案件佐證之不同民眾；本人先前 " + w.own_days.cast("string")
        + " 個查詢日平均每日 " + _one(w.own_mean) + " 位（" + str(size) + " 日約 "
        + _one(w.expected) + " 位），" + peer_zh + times_zh + "（門檻：基準之 "
        + str(p.volume_window_multiplier) + " 倍且至少 " + str(p.volume_window_min_subjects)
        + " 位）",
        evidence_en="From " + span_en + " (" + str(size) + " consecutive days with look-ups) "
        "the user looked up " + w.n.cast("string")
        + " different people without a supporting business record; over "
        + w.own_days.cast("string") + " earlier days with look-ups the user averaged "
        + _one(w.own_mean) + " a day (about " + _one(w.expected) + " in " + str(size)
        + " days), " + peer_en + times_en + " (threshold: " + str(p.volume_window_multiplier)
        + " times the baseline and at least " + str(p.volume_window_min_subjects) + ")",
    )  # fmt: skip
    flagged = w.select(
        f_staff=w.staff_id,
        f_start=w.start_day,
        f_end=w.end_day,
        f_end_date=w.end_date,
        evidence_zh=w.evidence_zh,
        evidence_en=w.evidence_en,
    )
    hits = hits.mutate(h_day=hits.occurred_date.epoch_days())
    out = hits.join(
        flagged,
        [hits.staff_id == flagged.f_staff, hits.h_day >= flagged.f_start,
         hits.h_day <= flagged.f_end],
    )  # fmt: skip
    # A look-up inside several flagged windows is described by the earliest.
    first = ibis.window(group_by=[out.system, out.event_id], order_by=out.f_end)
    out = out.mutate(rank=ibis.row_number().over(first))
    out = out.filter(out.rank == 0)
    return out.select(
        "system",
        "event_id",
        "evidence_zh",
        "evidence_en",
        group_key="volume:" + out.staff_id + ":" + out.f_end_date.cast("string"),
    )


# --- cases ---------------------------------------------------------------------------------
_rng = random.Random(39)
_PEOPLE = [ids.generate_national_id(_rng) for _ in range(120)]
_HISTORY_DAYS = [f"2025-01-{d:02d}" for d in (13, 14, 15, 16, 17, 20, 21, 22, 23, 24)] + [
    "2025-02-03",
    "2025-02-04",
    "2025-02-05",
    "2025-02-06",
    "2025-02-07",
]


def _day(prefix: str, who: str, date: str, people: list[str], purpose: str) -> list[dict]:
    """One look-up per person, a few minutes apart from 09:00 (a working day's pace)."""
    rows = []
    for i, pid in enumerate(people):
        minute = 9 * 60 + i * 7
        at = f"{date} {minute // 60:02d}:{minute % 60:02d}"
        rows.append(lookup(f"{prefix}{i}", who, pid, at, purpose))
    return rows


def _usual(who: str, per_day: int, offset: int) -> list[dict]:
    """Walk-in look-ups before the range: `per_day` people a day (the user's baseline)."""
    rows = []
    for n, date in enumerate(_HISTORY_DAYS):
        start = (offset + n * per_day) % 100
        people = (_PEOPLE * 2)[start : start + per_day]
        rows += _day(f"h-{who}-{date}-", who, date, people, "LI02")
    return rows


_SPREE = _day("v", "S05", "2025-02-11", _PEOPLE[:39], "LI02")
_JOB_RECORDS = [
    record(f"R-JOB-V{i}", "job_registration", pid, "S05", "ES01", "2025-02-10 09:00")
    for i, pid in enumerate(_PEOPLE[:40])
]  # fmt: skip

# Case 2 as a seller spreads it: 39 people over two days, 20 and 19, each day under the floor.
_SPREAD = _day("sa", "S05", "2025-02-10", _PEOPLE[:20], "LI02") + _day(
    "sb", "S05", "2025-02-11", _PEOPLE[20:39], "LI02"
)
_PEERS_TWO_DAYS = [
    row
    for date in ("2025-02-10", "2025-02-11")
    for who, start in (("S06", 60), ("S07", 70))
    for row in _day(f"q{who}{date}-", who, date, _PEOPLE[start : start + 4], "LI02")
]

CASES: tuple[Case, ...] = (
    Case(
        "a spree spread over two days (case 2 as sold): 20 and 19 people, usual 3, peers 4",
        positive=True,
        tables={"access": _usual("S05", 3, 0) + _SPREAD + _PEERS_TWO_DAYS},
        expect=tuple(r["event_id"] for r in _SPREAD),
        params={"detect_from": "2025-02-10"},
    ),
    Case(
        "two busy days of a busy user: 17 and 18 people where 15 a day is usual",
        positive=False,
        tables={
            "access": _usual("S05", 15, 0)
            + _day("ba", "S05", "2025-02-10", _PEOPLE[:17], "LI02")
            + _day("bb", "S05", "2025-02-11", _PEOPLE[17:35], "LI02")
            + _PEERS_TWO_DAYS
        },
        params={"detect_from": "2025-02-10"},
    ),
    Case(
        "two days of 20 and 19 people by a user without history: the daily view's floor decides",
        positive=False,
        tables={"access": _SPREAD + _PEERS_TWO_DAYS},
        params={"detect_from": "2025-02-10"},
    ),
    Case(
        "case 2: 39 people in a day under a no-record purpose, usual 3 a day, peers 4",
        positive=True,
        tables={
            "access": _usual("S05", 3, 0)
            + _SPREE
            + _day("p6-", "S06", "2025-02-11", _PEOPLE[40:44], "LI02")
            + _day("p7-", "S07", "2025-02-11", _PEOPLE[50:54], "LI02")
        },
        expect=tuple(r["event_id"] for r in _SPREE),
        params={"detect_from": "2025-02-11"},
    ),
    Case(
        "a new user with no history and no busy peers: the floor alone decides",
        positive=True,
        tables={"access": _day("w", "S07", "2025-02-11", _PEOPLE[:30], "LI02")},
        expect=tuple(f"w{i}" for i in range(30)),
    ),
    Case(
        "the whole unit is busy: 30 people each, so nobody stands out from the peers",
        positive=False,
        tables={
            "access": _usual("S05", 3, 0)
            + _day("b5-", "S05", "2025-02-11", _PEOPLE[:30], "LI02")
            + _day("b6-", "S06", "2025-02-11", _PEOPLE[30:60], "LI02")
            + _day("b7-", "S07", "2025-02-11", _PEOPLE[60:90], "LI02")
        },
        params={"detect_from": "2025-02-11"},
    ),
    Case(
        "a heavy day of real work: 40 job registrations the user handled are not counted",
        positive=False,
        tables={
            "access": _usual("S05", 3, 0) + _day("j", "S05", "2025-02-11", _PEOPLE[:40], "LI01"),
            "records": _JOB_RECORDS,
        },
        params={"detect_from": "2025-02-11"},
    ),
    Case(
        "a user who always sees about 30 walk-ins a day is at their usual level",
        positive=False,
        tables={
            "access": _usual("S05", 30, 0) + _day("u", "S05", "2025-02-11", _PEOPLE[:33], "LI02")
        },
        params={"detect_from": "2025-02-11"},
    ),
    Case(
        "list screens show people incidentally and are not counted",
        positive=False,
        tables={
            "access": [
                {**row, "action": "list"}
                for row in _day("l", "S07", "2025-02-11", _PEOPLE[:40], "LI02")
            ]
        },
    ),
)

RULE = Rule(
    id="volume",
    title_zh="單日查詢人數異常",
    title_en="Unusual number of people looked up in a day",
    severity="high",
    motivated_by=(
        "防貪指引案例二：員警無公務需要查詢 39 位民眾個資，經分局長稽核發現異常，資料流向徵信業者"
        "與非法簽賭集團；警政稽核重點之「異常數量」。 / Case 2 of the guideline: a police officer "
        "looked up 39 citizens with no official need; a station chief's audit noticed the anomaly; "
        "the data went to a private investigator and an illegal lottery. Police audits check "
        "'abnormal volume'."
    ),
    false_positives=(
        "業務量真的暴增（專案、截止日前）：有業務案件佐證之查詢不計入，同單位同仁同樣忙碌時亦不觸發。"
        "新進人員或單人單位無基準，僅以最低人數門檻判斷。 / A genuine surge of work (a campaign, a "
        "deadline): look-ups explained by a record are not counted, and a unit that is busy as a "
        "whole raises the peer baseline. New users and one-person units have no baseline; only "
        "the floor applies."
    ),
    review_guide=(
        "請核對當日清單：這些民眾是否都是承辦人實際受理或經辦的業務？查詢事由是否真實？是否有整批"
        "交辦的書面依據？若無法說明，請承辦人說明。 / Go through the day's list: did the user "
        "actually serve or handle each of these people? Are the stated purposes true? Is there a "
        "written assignment for a bulk task? If not, ask the user to explain."
    ),
    query=query,
    reads=("staff",),
    cases=CASES,
    silenced_by_weak_explanation=False,
    source_file=__file__,
)
