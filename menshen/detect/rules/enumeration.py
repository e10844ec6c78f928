"""enumeration — a user walks through people: many in minutes, or ids in sequence.

Data harvested for sale (case 2's 39 people went to a private investigator) is collected
fast and often by trying ids one after another. Two signs, on deliberate look-ups that no
business record explains (a weak no-record purpose does not silence this rule: it is what a
harvester types):

1. speed: at least `enumeration_min_subjects` different people within
   `enumeration_window_minutes` minutes — faster than anyone can serve people in person;
2. sequence: at least `enumeration_consecutive_ids` ids of the same prefix on one day whose
   serial numbers (the digits before the check digit) are each within
   `enumeration_id_step` of the previous one. Ids are issued in sequence, but the people a
   clerk serves are not: real workloads almost never contain such runs.

Decided: a list screen shows people incidentally and is not counted (it is not a look-up of
each person). A batch account's bulk job is legitimate when its look-ups are explained by
the records of the list it works through (e.g. a welfare batch cross-check file, one record
per person); a bulk job that no record explains is shown, once, as one finding.
All the hits of a user on a day form one finding (`group_key`).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import ibis

from menshen import ids
from menshen.detect.evidence import date_zh, masked
from menshen.detect.rule import Case, Rule
from menshen.detect.summaries import unexplained
from menshen.detect.testing import lookup, record

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from menshen.detect.context import RuleContext


def _speed(ctx: RuleContext, counted: ir.Table) -> ir.Table:
    p = ctx.params
    window = p.enumeration_window_minutes * 60
    touches = counted.group_by(["user_key", "subject_id", "occurred_date"]).aggregate(
        ts=counted.ts.min()
    )
    # Cut the window to the few busy stretches: with time cut in slots of `window`
    # seconds, the window ending at a touch in slot b lies in slots b - 1 and b, so it can
    # reach the threshold only when those two slots hold enough touches together ("hot").
    # Touches of hot slots and of the slots before them see their whole window; the
    # others could not reach the threshold anyway.
    touches = touches.mutate(slot=touches.ts // window)
    slots = touches.group_by(s_user=touches.user_key, s_slot=touches.slot).aggregate(
        s_n=touches.ts.count()
    )
    before = slots.select(b_user=slots.s_user, b_slot=slots.s_slot + 1, b_n=slots.s_n)
    hot = slots.left_join(before, [slots.s_user == before.b_user, slots.s_slot == before.b_slot])
    hot = hot.filter(hot.s_n + hot.b_n.fill_null(0) >= p.enumeration_min_subjects)
    hot = hot.select(h_user=hot.s_user, h_slot=hot.s_slot)
    near = hot.union(hot.select(h_user=hot.h_user, h_slot=hot.h_slot - 1)).distinct()
    touches = touches.semi_join(
        near, [touches.user_key == near.h_user, touches.slot == near.h_slot]
    )
    w = ibis.window(group_by=touches.user_key, order_by=touches.ts, range=(-window, 0))
    touches = touches.mutate(n=touches.ts.count().over(w), w_start=touches.ts.min().over(w))
    ends = touches.filter(touches.n >= p.enumeration_min_subjects)
    ends = ends.select(e_user=ends.user_key, e_start=ends.w_start, e_end=ends.ts, e_n=ends.n)
    hits = counted.join(
        ends,
        [counted.user_key == ends.e_user, counted.ts >= ends.e_start, counted.ts <= ends.e_end],
    )
    hits = hits.group_by(
        ["system", "event_id", "user_key", "occurred_date", "subject_id", "occurred_at"]
    ).aggregate(peak=hits.e_n.max())
    # Describe the user's whole day of bursts: span, people, peak.
    summary = hits.group_by(g_user=hits.user_key, g_date=hits.occurred_date).aggregate(
        g_people=hits.subject_id.nunique(),
        g_first=hits.occurred_at.min(),
        g_last=hits.occurred_at.max(),
        d_peak=hits.peak.max(),
    )
    out = hits.join(
        summary, [hits.user_key == summary.g_user, hits.occurred_date == summary.g_date]
    )
    first = out.g_first.strftime("%H:%M")
    last = out.g_last.strftime("%H:%M")
    minutes = str(p.enumeration_window_minutes)
    return out.select(
        "system",
        "event_id",
        "user_key",
        "occurred_date",
        ev_zh=date_zh(out.occurred_date)
        + " "
        + first
        + "–"
        + last
        + " 間密集查詢 "
        + out.g_people.cast("string")
        + " 位不同民眾，最密集時 "
        + minutes
        + " 分鐘內 "
        + out.d_peak.cast("string")
        + " 位，均無業務案件佐證（門檻："
        + minutes
        + " 分鐘內 "
        + str(p.enumeration_min_subjects)
        + " 位）",
        ev_en="On "
        + out.occurred_date.cast("string")
        + " between "
        + first
        + " and "
        + last
        + " the user looked up "
        + out.g_people.cast("string")
        + " different people in quick succession, up to "
        + out.d_peak.cast("string")
        + " within "
        + minutes
        + " minutes, none supported by a business record (threshold: "
        + str(p.enumeration_min_subjects)
        + " within "
        + minutes
        + " minutes)",
    )


def _sequence(ctx: RuleContext, counted: ir.Table) -> ir.Table:
    p = ctx.params
    sid = counted.subject_id
    # National ids and new resident numbers: letter + 9 digits; old resident numbers: two
    # letters + 8 digits. The serial is what follows the prefix, check digit dropped;
    # try_cast leaves anything that is not all digits null.
    ten = sid.length() == 10
    second = sid.substr(1, 1)
    new_form = ten & second.isin(list("0123456789"))
    old_form = ten & second.isin(list("ABCD"))
    counted = counted.mutate(
        id_prefix=ibis.cases(
            (new_form, sid.substr(0, 1)), (old_form, sid.substr(0, 2)), else_=ibis.null("string")
        ),
        serial=ibis.cases(
            (new_form, sid.substr(1, 8).try_cast("int64")),
            (old_form, sid.substr(2, 7).try_cast("int64")),
            else_=ibis.null("int64"),
        ),
    )
    ids_ = counted.filter(counted.serial.notnull())
    # A run needs that many ids of one prefix on the user's day: cut the windows to those.
    busy = ids_.group_by(
        k_user=ids_.user_key, k_date=ids_.occurred_date, k_prefix=ids_.id_prefix
    ).aggregate(k_n=ids_.serial.nunique())
    busy = busy.filter(busy.k_n >= p.enumeration_consecutive_ids)
    ids_ = ids_.semi_join(
        busy,
        [
            ids_.user_key == busy.k_user,
            ids_.occurred_date == busy.k_date,
            ids_.id_prefix == busy.k_prefix,
        ],
    )
    ids_ = ids_.group_by(["user_key", "occurred_date", "id_prefix", "serial"]).aggregate(
        subject_id=ids_.subject_id.min()
    )
    order = ibis.window(
        group_by=[ids_.user_key, ids_.occurred_date, ids_.id_prefix], order_by=ids_.serial
    )
    ids_ = ids_.mutate(gap=ids_.serial - ids_.serial.lag().over(order))
    ids_ = ids_.mutate(
        new_run=ibis.ifelse(ids_.gap.isnull() | (ids_.gap > p.enumeration_id_step), 1, 0)
    )
    running = ibis.window(
        group_by=[ids_.user_key, ids_.occurred_date, ids_.id_prefix],
        order_by=ids_.serial,
        rows=(None, 0),
    )
    ids_ = ids_.mutate(run=ids_.new_run.sum().over(running))
    runs = ids_.group_by(
        r_user=ids_.user_key, r_date=ids_.occurred_date, r_prefix=ids_.id_prefix, r_run=ids_.run
    ).aggregate(
        r_size=ids_.serial.count(),
        r_low=ids_.subject_id.min(),
        r_high=ids_.subject_id.max(),
    )
    runs = runs.filter(runs.r_size >= p.enumeration_consecutive_ids)
    members = ids_.join(
        runs,
        [
            ids_.user_key == runs.r_user,
            ids_.occurred_date == runs.r_date,
            ids_.id_prefix == runs.r_prefix,
            ids_.run == runs.r_run,
        ],
    ).select("user_key", "occurred_date", "subject_id", "r_size", "r_low", "r_high")
    members = members.rename(m_user="user_key", m_date="occurred_date", m_subject="subject_id")
    out = counted.join(
        members,
        [
            counted.user_key == members.m_user,
            counted.occurred_date == members.m_date,
            counted.subject_id == members.m_subject,
        ],
    )
    step = str(p.enumeration_id_step)
    return out.select(
        "system",
        "event_id",
        "user_key",
        "occurred_date",
        ev_zh="查詢之身分證號連號或近連號："
        + masked(out.r_low)
        + " 至 "
        + masked(out.r_high)
        + " 共 "
        + out.r_size.cast("string")
        + " 個號碼，相鄰號碼差距不超過 "
        + step
        + "，非一般臨櫃業務所能出現",
        ev_en="ids looked up in sequence: "
        + out.r_size.cast("string")
        + " ids from "
        + masked(out.r_low)
        + " to "
        + masked(out.r_high)
        + ", each within "
        + step
        + " of the previous one, which ordinary counter work does not produce",
    )


def query(ctx: RuleContext) -> ir.Table:
    counted = unexplained(ctx.lookups)
    speed = _speed(ctx, counted)
    seq = _sequence(ctx, counted)
    keys = (
        speed.select("system", "event_id", "user_key", "occurred_date")
        .union(seq.select("system", "event_id", "user_key", "occurred_date"))
        .distinct()
    )
    a = speed.select(a_system="system", a_event="event_id", a_zh="ev_zh", a_en="ev_en")
    b = seq.select(b_system="system", b_event="event_id", b_zh="ev_zh", b_en="ev_en")
    t = keys.left_join(a, [keys.system == a.a_system, keys.event_id == a.a_event])
    t = t.left_join(b, [t.system == b.b_system, t.event_id == b.b_event])
    both = t.a_zh.notnull() & t.b_zh.notnull()
    return t.select(
        "system",
        "event_id",
        evidence_zh=t.a_zh.fill_null("") + ibis.ifelse(both, "；", "") + t.b_zh.fill_null(""),
        evidence_en=t.a_en.fill_null("") + ibis.ifelse(both, "; ", "") + t.b_en.fill_null(""),
        group_key="enumeration:" + t.user_key + ":" + t.occurred_date.cast("string"),
    )


# --- cases ---------------------------------------------------------------------------------
_rng = random.Random(4500)
_PEOPLE = [ids.generate_national_id(_rng) for _ in range(60)]


def _with_check_digit(prefix: str) -> str:
    """The valid id that starts with the nine characters `prefix`."""
    return next(prefix + d for d in "0123456789" if ids.is_valid(prefix + d))


# A harvester walking through serial numbers, skipping a few (near-consecutive).
_SERIES = [_with_check_digit(f"F1{serial:07d}") for serial in (3051, 3052, 3053, 3055, 3056, 3059)]


def _paced(
    prefix: str,
    who: str,
    people: list[str],
    start: str,
    seconds: int,
    purpose: str = "LI02",
    action: str = "query",
    account: str | None = None,
) -> list[dict]:
    """One look-up per person from `start` (YYYY-MM-DD HH:MM), `seconds` apart."""
    day, clock = start.split(" ")
    hour, minute = (int(x) for x in clock.split(":"))
    rows = []
    for i, pid in enumerate(people):
        total = hour * 3600 + minute * 60 + i * seconds
        at = f"{day} {total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"
        rows.append(lookup(f"{prefix}{i}", who, pid, at, purpose, action=action, account=account))
    return rows


_BATCH_RECORDS = [
    record(f"R-JOB-B{i}", "job_registration", pid, "S06", "ES01", "2025-02-10 08:00")
    for i, pid in enumerate(_PEOPLE[:30])
]  # fmt: skip

CASES: tuple[Case, ...] = (
    Case(
        "harvesting: 25 different people in 8 minutes under a walk-in purpose",
        positive=True,
        tables={"access": _paced("q", "S06", _PEOPLE[:25], "2025-02-11 10:00", 20)},
        expect=tuple(f"q{i}" for i in range(25)),
    ),
    Case(
        "the same harvest starting at 10:05: the window straddles two of the query's time slots",
        positive=True,
        tables={"access": _paced("h", "S06", _PEOPLE[:25], "2025-02-11 10:05", 20)},
        expect=tuple(f"h{i}" for i in range(25)),
    ),
    Case(
        "ids tried in sequence through the day",
        positive=True,
        tables={"access": _paced("s", "S07", _SERIES, "2025-02-11 09:00", 3600)},
        expect=tuple(f"s{i}" for i in range(len(_SERIES))),
    ),
    Case(
        "steady counter work: 25 people, one every 15 minutes, ids in no order",
        positive=False,
        tables={"access": _paced("c", "S06", _PEOPLE[:25], "2025-02-11 08:30", 900)},
    ),
    Case(
        "a list screen shows 40 people in a few minutes: incidental, not a look-up each",
        positive=False,
        tables={"access": _paced("l", "S06", _PEOPLE[:40], "2025-02-11 10:00", 5, action="list")},
    ),
    Case(
        "a batch account works through a job-registration list whose records explain it",
        positive=False,
        tables={
            "access": _paced(
                "b",
                "S06",
                _PEOPLE[:30],
                "2025-02-11 02:00",
                2,
                purpose="LI01",
                account="svc_batch_es01",
            ),
            "accounts": [
                {
                    "system": "LI",
                    "account": "svc_batch_es01",
                    "staff_id": "S06",
                    "granted_at": "2024-01-01",
                }
            ],
            "records": _BATCH_RECORDS,
        },
    ),
)

RULE = Rule(
    id="enumeration",
    title_zh="大量或連號查詢（疑似蒐集個資）",
    title_en="Rapid or sequential look-ups (possible data harvesting)",
    severity="critical",
    motivated_by=(
        "販售個資以紓解經濟困境為防貪指引列舉之動機；案例二員警查詢之 39 筆個資流向徵信業者及非法"
        "簽賭集團。 / Selling data to ease money trouble is a motive the guideline names; in case "
        "2 the 39 people's data went to a private investigator and an illegal lottery."
    ),
    false_positives=(
        "批次作業帳號依清冊整批查詢：清冊內每人皆有業務紀錄者不計入；清單畫面僅附帶顯示，不計入。"
        "臨櫃業務不可能數分鐘內服務數十人，亦不會遇到連號身分證。 / A batch account working "
        "through a list: look-ups explained by the list's records are not counted; list screens "
        "are incidental and not counted. Counter work cannot serve dozens of people in minutes, "
        "and does not meet ids in sequence."
    ),
    review_guide=(
        "請調閱該時段查詢清單，確認是否有交辦的批次工作及其書面依據；若無，應立即暫停查詢權限並"
        "通報政風室，查明資料是否外流。 / Pull the list of the period's look-ups and check for an "
        "assigned bulk task with written authority; if there is none, suspend the user's "
        "privileges at once and report to the ethics unit to find out whether data left."
    ),
    query=query,
    reads=(),
    cases=CASES,
    silenced_by_weak_explanation=False,
    source_file=__file__,
)
