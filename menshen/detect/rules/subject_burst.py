"""subject-burst — many different users look up the same person within a short window.

The pattern of the 2009 case (68 officers in 16 units looked up one woman in the news more
than 70 times): each look-up on its own looks harmless; together they are a crowd.

Counted: deliberate look-ups without a record the user handles: none, only the weak
"purpose needs no record" (in 2009 everybody had a plausible purpose and no case), or only a
record handled by someone else in the user's unit. The officer who handles the person's case
is explained by the record and is not counted. The unit explanation ("colleagues cover for
each other") is a presumption that a crowd around one person overrides: when the person in
the news has a case in a unit, the colleagues who look them up along with the crowd are
exactly the curious ones, and their supervisor confirms a real cover in a minute.

A window [t, t + burst_window_minutes] starting at any counted look-up is a burst when it
holds counted look-ups by at least `burst_min_users` different users from at least
`burst_min_units` different units (colleagues of one unit who cover for each other at one
counter are the unit's own work, and its supervisor sees them anyway; an agency of a single
unit sets `burst_min_units = 1`). Every counted look-up inside a burst is flagged; each
user's look-ups form their own finding in their own unit's report, so every supervisor
reviews their own staff (as each of the 68 officers was).

The person stays in the news after the burst: a counted look-up within `burst_tail_days`
after a burst's window (the officer on the next day's shift, the counter clerk on Monday
after a Friday in the news) is flagged as part of that burst's tail.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import ibis

from menshen.detect.evidence import datetime_zh
from menshen.detect.rule import Case, Rule
from menshen.detect.summaries import user_key
from menshen.detect.testing import lookup, record

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from menshen.detect.context import RuleContext


def _counted(t: ir.Table) -> ir.Table:
    handled_by_unit = t.explanation.fill_null("") == "unit_record"
    t = t.filter(t.deliberate & (~t.explained_strong | handled_by_unit))
    return t.mutate(user_key=user_key(t))


def query(ctx: RuleContext) -> ir.Table:
    p = ctx.params
    window = p.burst_window_minutes * 60
    tail = p.burst_tail_days * 86400
    min_units = p.burst_min_units
    counted = _counted(ctx.all_lookups)
    since = _epoch_seconds(ctx) - window - tail
    # The same bound on occurred_at, which the engine can apply while it reads the stored
    # history (it skips the earlier days' row groups): ts is occurred_at's whole seconds.
    since_at = dt.datetime.fromtimestamp(since, dt.UTC).replace(tzinfo=None)
    counted = counted.filter(counted.occurred_at >= since_at, counted.ts >= since)
    # Only people looked up by enough users at all can be in a burst: cut the self-join.
    crowd = counted.group_by(c_subject=counted.subject_id).aggregate(
        c_users=counted.user_key.nunique()
    )
    crowd = crowd.filter(crowd.c_users >= p.burst_min_users)
    counted = counted.join(crowd, counted.subject_id == crowd.c_subject).select(
        "system", "event_id", "subject_id", "ts", "user_key", "unit_id", "occurred_at"
    )

    a = counted.select(a_subject=counted.subject_id, a_ts=counted.ts, a_at=counted.occurred_at)
    a = a.distinct()
    b = counted.select(
        b_subject=counted.subject_id, b_ts=counted.ts, b_user=counted.user_key,
        b_unit=counted.unit_id, b_event=counted.event_id, b_at=counted.occurred_at,
    )  # fmt: skip
    pairs = a.join(b, [a.a_subject == b.b_subject, b.b_ts >= a.a_ts, b.b_ts <= a.a_ts + window])
    bursts = pairs.group_by(["a_subject", "a_ts", "a_at"]).aggregate(
        n_users=pairs.b_user.nunique(),
        n_units=pairs.b_unit.nunique(),
        n_events=pairs.b_event.count(),
        last_at=pairs.b_at.max(),
    )
    bursts = bursts.filter((bursts.n_users >= p.burst_min_users) & (bursts.n_units >= min_units))

    hits = _counted(ctx.lookups)
    hits = hits.join(
        bursts,
        [
            hits.subject_id == bursts.a_subject,
            hits.ts >= bursts.a_ts,
            hits.ts <= bursts.a_ts + window + tail,
        ],
    )
    hits = hits.mutate(in_tail=hits.ts > hits.a_ts + window)
    # A look-up inside several overlapping bursts: describe the one it is inside rather than
    # a tail, then the largest, then the earliest.
    order = ibis.window(
        group_by=[hits.system, hits.event_id],
        order_by=[hits.in_tail, ibis.desc(hits.n_users), ibis.desc(hits.n_units), hits.a_ts],
    )
    hits = hits.mutate(rank=ibis.row_number().over(order))
    hits = hits.filter(hits.rank == 0)

    start = hits.a_at.strftime("%Y-%m-%d %H:%M")
    end = hits.last_at.strftime("%Y-%m-%d %H:%M")
    start_zh = datetime_zh(hits.a_at)
    end_zh = datetime_zh(hits.last_at)
    span_zh = _span_zh(p.burst_window_minutes)
    span_en = _span_en(p.burst_window_minutes)
    users = hits.n_users.cast("string")
    units = hits.n_units.cast("string")
    events = hits.n_events.cast("string")
    tail_zh = ibis.ifelse(
        hits.in_tail,
        "；本次查詢在該密集查詢之後 " + str(p.burst_tail_days) + " 日內，該民眾仍屬新聞焦點",
        "",
    )
    tail_en = ibis.ifelse(
        hits.in_tail,
        "; this look-up came within " + str(p.burst_tail_days) + " days after that burst, "
        "while the person was still in the news",
        "",
    )
    return hits.select(
        "system",
        "event_id",
        evidence_zh=start_zh
        + " 至 "
        + end_zh
        + " 間（"
        + span_zh
        + "內），共 "
        + users
        + " 位同仁（分屬 "
        + units
        + " 個單位）在無本人承辦之業務案件佐證下查詢同一民眾 "
        + events
        + " 次（門檻："
        + str(p.burst_min_users)
        + " 位、"
        + str(min_units)
        + " 個單位）"
        + tail_zh,
        evidence_en="Between "
        + start
        + " and "
        + end
        + " (within "
        + span_en
        + "), "
        + users
        + " users in "
        + units
        + " units looked up this same person "
        + events
        + " times without a business record of their own (threshold: "
        + str(p.burst_min_users)
        + " users, "
        + str(min_units)
        + " units)"
        + tail_en,
    )


def _epoch_seconds(ctx: RuleContext) -> int:
    """First second of the range, in the `ts` scale (wall clock as if UTC)."""
    start = dt.datetime.combine(ctx.range_start, dt.time(), tzinfo=dt.UTC)
    return int(start.timestamp())


def _span_zh(minutes: int) -> str:
    if minutes % 60 == 0:
        return f"{minutes // 60} 小時"
    return f"{minutes} 分鐘"


def _span_en(minutes: int) -> str:
    if minutes % 60 == 0:
        return f"{minutes // 60} hours"
    return f"{minutes} minutes"


# --- cases ---------------------------------------------------------------------------------
_CROWD = (
    # who, purpose, time: 5 users of 3 units, none with a case about P08, within 6 hours.
    ("S01", "HR02", "2025-02-11 09:05"),
    ("S02", "HR02", "2025-02-11 09:40"),
    ("S03", "AD01", "2025-02-11 10:15"),
    ("S04", None, "2025-02-11 11:30"),
    ("S04", None, "2025-02-11 11:32"),
    ("S06", "LI02", "2025-02-11 14:50"),
)

# Four users of one unit (ES01, with a fourth clerk S09 added) look up the same person: the
# same world is a burst or not depending on how many units a burst must span.
ONE_UNIT_SERVING_ONE_PERSON = {
    "access": [
        lookup(f"u{i}", who, "P12", f"2025-02-11 {9 + i:02d}:00", "AD01")
        for i, who in enumerate(("S05", "S06", "S07", "S09"))
    ],
    "staff": [
        {
            "staff_id": "S09",
            "name": "蔡宜蓁",
            "unit_id": "ES01",
            "employment": "permanent",
            "supervisor_id": "S06",
            "active_from": "2020-01-01",
        }
    ],
    "accounts": [{"system": "AD", "account": "s09", "staff_id": "S09", "granted_at": "2024-01-01"}],
}

CASES: tuple[Case, ...] = (
    Case(
        "2009: a person in the news looked up by 5 users of 3 units in one morning",
        positive=True,
        tables={
            "access": [
                lookup(f"c{i}", who, "P08", at, purpose, system=None if purpose else "PN")
                for i, (who, purpose, at) in enumerate(_CROWD)
            ]
        },
        expect=tuple(f"c{i}" for i in range(len(_CROWD))),
    ),
    Case(
        "the person stays in the news: a look-up two days after the burst is its tail, one "
        "two weeks later is not",
        positive=True,
        tables={
            "access": [
                *(
                    lookup(f"c{i}", who, "P08", at, purpose, system=None if purpose else "PN")
                    for i, (who, purpose, at) in enumerate(_CROWD)
                ),
                lookup("late", "S07", "P08", "2025-02-13 10:00", "LI02"),
                lookup("later", "S05", "P08", "2025-02-25 10:00", "LI02"),
            ]
        },
        expect=(*(f"c{i}" for i in range(len(_CROWD))), "late"),
    ),
    Case(
        "a burst that started the day before the range is still seen (history counts)",
        positive=True,
        tables={
            "access": [
                lookup("d0", "S01", "P08", "2025-02-10 16:00", "HR02"),
                lookup("d1", "S03", "P08", "2025-02-10 16:30", "AD01"),
                lookup("d2", "S06", "P08", "2025-02-10 17:00", "LI02"),
                lookup("d3", "S07", "P08", "2025-02-11 08:30", "LI02"),
            ]
        },
        expect=("d3",),
        params={"detect_from": "2025-02-11"},
    ),
    Case(
        "a person in the news has a case in PD01: its handler is explained, a PD01 colleague "
        "who looks them up along with the crowd is not",
        positive=True,
        tables={
            "access": [
                lookup("x0", "S01", "P08", "2025-02-11 09:05", "HR02"),
                lookup("x1", "S06", "P08", "2025-02-11 10:00", "LI02"),
                lookup("x2", "S04", "P08", "2025-02-11 10:30", "PN01"),
                lookup("x3", "S03", "P08", "2025-02-11 11:00", "PN01"),
                lookup("x4", "S07", "P08", "2025-02-11 11:30", "LI02"),
            ],
            "records": [
                record("R-CRM-8", "criminal_case", "P08", "S04", "PD01", "2025-02-11 08:00")
            ],
        },
        expect=("x0", "x1", "x3", "x4"),
    ),
    Case(
        "one person's real cases in three units: the handlers are explained, and their three "
        "colleagues of three units stay under the four-user threshold",
        positive=False,
        tables={
            "access": [
                lookup("t0", "S01", "P02", "2025-02-10 09:00", "HR01"),
                lookup("t1", "S02", "P02", "2025-02-10 09:10", "HR01"),
                lookup("t2", "S03", "P02", "2025-02-10 10:00", "PN02"),
                lookup("t3", "S04", "P02", "2025-02-10 10:20", "PN02"),
                lookup("t4", "S05", "P02", "2025-02-10 11:00", "LI01"),
                lookup("t5", "S06", "P02", "2025-02-10 11:30", "LI01"),
            ],
            "records": [
                record("R-TRF-1", "traffic_case", "P02", "S04", "PD01", "2025-02-10 08:00"),
                record("R-JOB-2", "job_registration", "P02", "S06", "ES01", "2025-02-10 08:00"),
            ],
        },
    ),
    Case(
        "five users of three units, but a day or more apart: no burst",
        positive=False,
        tables={
            "access": [
                lookup("s0", "S01", "P08", "2025-02-10 09:00", "HR02"),
                lookup("s1", "S03", "P08", "2025-02-11 10:00", "AD01"),
                lookup("s2", "S06", "P08", "2025-02-12 11:00", "LI02"),
                lookup("s3", "S02", "P08", "2025-02-13 12:00", "HR02"),
                lookup("s4", "S07", "P08", "2025-02-14 13:00", "LI02"),
            ]
        },
    ),
    Case(
        "four users of one unit serving one person: the unit's own work",
        positive=False,
        tables=ONE_UNIT_SERVING_ONE_PERSON,
        params={"burst_min_units": 2, "burst_min_users": 4},
    ),
    Case(
        "an agency of one unit sets burst_min_units = 1: four of its users form a burst",
        positive=True,
        tables=ONE_UNIT_SERVING_ONE_PERSON,
        expect=("u0", "u1", "u2", "u3"),
        params={"burst_min_units": 1, "burst_min_users": 4},
    ),
)

RULE = Rule(
    id="subject-burst",
    title_zh="多人短時間查詢同一民眾",
    title_en="Many users look up the same person in a short time",
    severity="high",
    motivated_by=(
        "2009 年一名新聞人物遭 16 個單位 68 名員警查詢 70 餘次，涉案員警均受懲處；警政稽核重點之"
        "「異常對象」。 / In 2009, 68 police officers in 16 units looked up one woman in the news "
        "more than 70 times; each was reprimanded. Police audits check 'abnormal subjects'."
    ),
    false_positives=(
        "跨單位共同處理的案件（如重大案件專案小組）：承辦人有業務案件佐證者不計入；協辦同仁僅有"
        "單位案件佐證者仍計入，主管確認受指派即可；若案件未登錄於業務系統，將被誤判，應補登案件。同一單位多人輪流服務同一民眾，不達跨單位門檻。 / Cross-unit "
        "work on one case (a task force): handlers explained by their own records are not "
        "counted; helpers explained only by a record of their unit are, and their supervisor "
        "confirms the assignment; if the case is not in the records it will be flagged and the "
        "record should be added. Several "
        "clerks of one unit serving one person stay under the cross-unit threshold."
    ),
    review_guide=(
        "請確認承辦人是否參與該民眾的案件、是否受指派；若只是因新聞或好奇而查詢，即屬不當。其他單位"
        "的同仁由各該單位主管審核。 / Check whether the user worked on this person's case or was "
        "assigned to it; looking someone up because they are in the news, or out of curiosity, "
        "is improper. Users of other units are reviewed by their own supervisors."
    ),
    query=query,
    reads=("staff",),
    cases=CASES,
    silenced_by_weak_explanation=False,
    source_file=__file__,
)
