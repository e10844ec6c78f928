"""One builder per misuse scenario (see docs/synth.md for the table)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pyarrow as pa

from menshen.synth.batches import Records
from menshen.synth.catalog import WORK_MIX
from menshen.synth.legit import record_ids
from menshen.synth.misuse import Planner
from menshen.synth.names import format_ids
from menshen.synth.org import Account
from menshen.synth.world import DAY, PURPOSE_CODES, PURPOSE_KIND, SYSTEM_CODES

COUNTER_KINDS = ("hr_reg", "emp_station", "police_station", "police_inv", "civil", "social")


def _day(p: Planner, lo: float = 0.0, hi: float = 1.0) -> int:
    wd = p.workdays
    part = wd[int(len(wd) * lo) : max(int(len(wd) * hi), int(len(wd) * lo) + 1)]
    return int(p.rng.choice(part if len(part) else wd))


def _randoms(p: Planner, staff: int, n: int) -> list[str]:
    return [p.pid(p.district_person(staff)) for _ in range(n)]


def case1_false_purpose(p: Planner) -> None:
    """A temporary employment-station worker checks the labour insurance of an ex-partner and
    three friends under the job-seeker purpose; none of them registered."""
    d = _day(p)
    staff = p.pick_actor(d, kinds=("emp_station",), employment=("temporary",), system="LIQ")
    if staff is None:
        staff = p.pick_actor(d, kinds=("emp_station",), employment=("contract",), system="LIQ")
    if staff is None:
        return
    ex = p.district_person(staff)
    if p.rng.random() < 0.4:
        p.w.relations.append((staff, ex, "ex_partner"))
    subjects = [p.pid(ex), *_randoms(p, staff, 3)]
    p.episode(staff, d, subjects, "case1_false_purpose", per_subject=2, codes=("L01",),
              spread_days=int(p.rng.integers(1, 4)))  # fmt: skip


def case2_seller(p: Planner) -> None:
    """A police officer looks up 39 citizens with no official need, for a buyer."""
    d = _day(p, 0.1, 0.9)
    staff = p.pick_actor(d, kinds=("police_station",), system="PKN")
    if staff is None:
        return
    if p.rng.random() < 0.5 and staff not in {x for x, _, _ in p.w.staff_risk}:
        p.w.staff_risk.append((staff, 1.8, p.w.start + dt.timedelta(days=365)))
    p.episode(staff, d, _randoms(p, staff, 39), "case2_seller", codes=("P03", "P03", "P02", "P01"),
              spread_days=int(p.rng.integers(2, 5)))  # fmt: skip


def case3_saturday_relative(p: Planner) -> None:
    """A household clerk uses the criminal-records system on a Saturday to check her niece's
    boyfriend, citing a name-change case that does not exist."""
    w = p.w
    saturdays = [
        i for i, day in enumerate(w.calendar.days) if day.weekday() == 5 and not w.workday[i]
    ]
    days = saturdays or [i for i in range(w.days) if not w.workday[i]] or list(range(w.days))
    d = int(p.rng.choice(days))
    staff = p.pick_actor(d, kinds=("hr_reg",), system="CRS")
    if staff is None:
        return
    iid = p.incident_id("case3_saturday_relative")
    purpose, acct = p.purpose_for(staff, ("C01", "C03"))
    t = w.day_base(d) + int(p.rng.integers(9 * 3600, 11 * 3600 + 1800))
    subject = p.pid(p.district_person(staff))
    n = int(p.rng.integers(1, 3))
    p.emit(d, [t + 120 * k for k in range(n)], acct, [subject] * n, [purpose] * n,
           [p.fake_ref(purpose, staff, d)] * n, "case3_saturday_relative", iid)  # fmt: skip


def celebrity_burst(p: Planner) -> None:
    """A person in the news is looked up by many users of many units within hours or days."""
    w = p.w
    public = [x for x, cat, _ in w.watchlist if cat == "public_figure"]
    person = int(p.rng.choice(public)) if public and p.rng.random() < 0.5 else p.district_person(0)
    subject = p.pid(person)
    d = _day(p)
    group = p.incident_id("celebrity_burst")
    users = np.concatenate([p.actors(d, system="PKN"), p.actors(d, system="RIS")])
    users = np.unique(users)
    n = int(min(len(users), max(6, min(40, len(w.org.staff) // 6))))
    if n == 0:
        return
    start = w.day_base(d) + 8 * 3600
    for j, staff in enumerate(p.rng.choice(users, size=n, replace=False).tolist()):
        iid = f"{group}-{j + 1:02d}"
        p.plan.incidents[iid] = "celebrity_burst"
        codes = ("P03", "P01", "R04", "R01", "R03")
        purpose, acct = p.purpose_for(int(staff), codes)
        t = start + int(p.rng.exponential(8 * 3600))
        if not w.staff_police[staff]:
            # Counter staff read the news and look the person up at work, on a workday.
            day = int(w.next_workday[min(int((t - w.base0) // DAY), w.days)])
            t = w.day_base(day) + int(p.rng.integers(8 * 3600, 17 * 3600))
        day = int((t - w.base0) // DAY)
        if day >= w.days:
            continue
        k = int(p.rng.integers(1, 4))
        p.emit(day, [t + 200 * i for i in range(k)], acct, [subject] * k, [purpose] * k,
               [p.fake_ref(purpose, int(staff), day)] * k, "celebrity_burst", iid)  # fmt: skip
    del p.plan.incidents[group]
    # Often the police really do handle a case about the person in the news: those look-ups
    # are legitimate and backed by a record, and must not be swept up with the burst.
    officer = p.pick_actor(d, kinds=("police_inv",), system="PKN")
    if officer is not None and p.rng.random() < 0.6:
        kind = int(PURPOSE_KIND[PURPOSE_CODES.index("P01")])
        ref = record_ids(w, np.array([kind]), np.array([w.staff_district[officer]]), d)
        opened = start - int(p.rng.integers(3600, 4 * 3600))
        p.plan.records.append(Records(ref, np.array([kind], np.int16), pa.array([subject]),
                                      np.array([officer], np.int32),
                                      np.array([w.staff_unit[officer]], np.int32),
                                      np.array([opened]), np.array([-1])))  # fmt: skip
        acct = int(w.user_account[officer, SYSTEM_CODES.index("PKN")])
        times = [opened + 600 + 900 * k for k in range(int(p.rng.integers(1, 4)))]
        p.emit(d, times, acct, [subject] * len(times), [PURPOSE_CODES.index("P01")] * len(times),
               [ref[0].as_py()] * len(times), "legit:own_case", "", misuse=0)  # fmt: skip


def piggyback(p: Planner) -> None:
    """Extra people slipped into a real case: the real case number is cited for them."""
    w = p.w
    d = _day(p)
    case_codes = ("R01", "R02", "R06", "L01", "L02", "L04", "P01", "P02", "P04", "X01")
    for _ in range(20):
        staff = p.pick_actor(
            d, kinds=("hr_reg", "emp_station", "police_station", "police_inv", "civil")
        )
        if staff is None:
            return
        purpose, acct = p.purpose_for(staff, case_codes)
        kind = int(PURPOSE_KIND[purpose])
        if kind >= 0 and PURPOSE_CODES[purpose] in case_codes:
            break
    else:
        return
    t = p.time(d, after_hours=0.0)
    real = p.district_person(staff)
    ref = record_ids(w, np.array([kind]), np.array([w.staff_district[staff]]), d)
    p.plan.records.append(Records(ref, np.array([kind], np.int16), pa.array([p.pid(real)]),
                                  np.array([staff], np.int32), np.array([w.staff_unit[staff]], np.int32),
                                  np.array([t - 600]), np.array([t + 3 * DAY])))  # fmt: skip
    p.emit(d, [t], acct, [p.pid(real)], [purpose], [ref[0].as_py()], "legit:own_case", "", misuse=0)
    iid = p.incident_id("piggyback")
    extra = _randoms(p, staff, int(p.rng.integers(1, 5)))
    times = [t + 60 * (i + 1) + int(p.rng.integers(0, 600)) for i in range(len(extra))]
    p.emit(
        d,
        times,
        acct,
        extra,
        [purpose] * len(extra),
        [ref[0].as_py()] * len(extra),
        "piggyback",
        iid,
    )


def colleague(p: Planner) -> None:
    w = p.w
    d = _day(p)
    staff = p.pick_actor(d, kinds=COUNTER_KINDS)
    if staff is None:
        return
    mates = w.unit_members[int(w.staff_unit[staff])]
    pool = (
        mates[mates != staff]
        if p.rng.random() < 0.6 and len(mates) > 1
        else np.arange(len(w.org.staff))
    )
    target = int(p.rng.choice(pool[pool != staff]))
    subject = p.pid(int(w.staff_person[target]))
    p.episode(staff, d, [subject], "colleague", per_subject=3, no_record=0.4)


def self_lookup(p: Planner) -> None:
    d = _day(p)
    staff = p.pick_actor(d, kinds=COUNTER_KINDS)
    if staff is not None:
        p.episode(
            staff, d, [p.pid(int(p.w.staff_person[staff]))], "self", per_subject=2, no_record=0.4
        )


def family(p: Planner) -> None:
    """A household member, a declared relative, or an undeclared relative who shares the
    surname and the neighbourhood."""
    w, pop = p.w, p.w.pop
    d = _day(p)
    staff = p.pick_actor(d, kinds=COUNTER_KINDS)
    if staff is None:
        return
    me = int(w.staff_person[staff])
    hh = int(pop.household[me])
    members = [
        m for m in range(int(pop.hh_start[hh]), int(pop.hh_start[hh] + pop.hh_size[hh])) if m != me
    ]
    declared = p.declared.get(staff, [])
    roll = p.rng.random()
    if members and roll < 0.45:
        target = int(p.rng.choice(members))
    elif declared and roll < 0.75:
        target = int(p.rng.choice(declared))
    else:
        same = np.flatnonzero(
            pop.neighbourhood[
                pop.district_start[pop.district[me]] : pop.district_end[pop.district[me]]
            ]
            == pop.neighbourhood[me]
        )
        same = same + pop.district_start[pop.district[me]]
        same = same[pop.household[same] != hh]
        if not len(same):
            return
        target = int(p.rng.choice(same))
        w.renames[target] = str(pop.surname[me]) + pop.name[target].as_py()[1:]
    spread = int(p.rng.integers(1, 3))
    p.episode(staff, d, [p.pid(target)], "family", per_subject=3, spread_days=spread, no_record=0.4)


def neighbour(p: Planner) -> None:
    w, pop = p.w, p.w.pop
    d = _day(p)
    staff = p.pick_actor(d, kinds=COUNTER_KINDS)
    if staff is None:
        return
    me = int(w.staff_person[staff])
    lo, hi = int(pop.district_start[pop.district[me]]), int(pop.district_end[pop.district[me]])
    same = np.flatnonzero(pop.neighbourhood[lo:hi] == pop.neighbourhood[me]) + lo
    same = same[pop.household[same] != pop.household[me]]
    if len(same):
        k = min(len(same), int(p.rng.integers(1, 3)))
        subjects = [p.pid(int(x)) for x in p.rng.choice(same, size=k, replace=False)]
        p.episode(staff, d, subjects, "neighbour", per_subject=2, no_record=0.4)


def slow_seller(p: Planner) -> None:
    """A few look-ups a week, spread over weeks, for someone who pays."""
    w = p.w
    d0 = int(p.workdays[0]) if len(p.workdays) else 0
    staff = p.pick_actor(d0, kinds=("police_station", "police_inv", "emp_station", "hr_reg"))
    if staff is None:
        return
    if p.rng.random() < 0.5 and staff not in {x for x, _, _ in w.staff_risk}:
        w.staff_risk.append((staff, 1.6, w.start + dt.timedelta(days=300)))
    iid = p.incident_id("slow_seller")
    weeks = max(1, w.days // 7)
    for week in range(weeks):
        days = [
            x
            for x in p.workdays.tolist()
            if week * 7 <= x < week * 7 + 7 and x <= w.staff_to[staff]
        ]
        for day in (
            p.rng.choice(
                days, size=min(len(days), int(p.rng.integers(2, 5))), replace=False
            ).tolist()
            if days
            else []
        ):
            purpose, acct = p.purpose_for(staff)
            subject = p.pid(p.district_person(staff))
            p.emit(int(day), [p.time(int(day), 0.05)], acct, [subject], [purpose],
                   [p.fake_ref(purpose, staff, int(day))], "slow_seller", iid)  # fmt: skip


def enumeration_burst(p: Planner) -> None:
    """Many people in minutes, typed as near-consecutive ids: harvesting for sale."""
    d = _day(p)
    staff = p.pick_actor(d, kinds=COUNTER_KINDS)
    if staff is None:
        return
    iid = p.incident_id("enumeration_burst")
    n = int(p.rng.integers(20, 61))
    letter = str(p.rng.choice(list("ABDEFHKT")))
    serial = int(p.rng.integers(0, 9_000_000)) + np.cumsum(p.rng.integers(1, 4, n))
    ids = format_ids(np.full(n, letter), p.rng.choice([1, 2], n), serial).to_pylist()
    purpose, acct = p.purpose_for(staff)
    t0 = p.time(d, after_hours=0.3)
    times = (t0 + np.cumsum(p.rng.integers(8, 40, n))).tolist()
    purposes = [purpose if p.rng.random() < 0.7 else -1 for _ in range(n)]
    p.emit(d, times, acct, ids, purposes, [None] * n, "enumeration_burst", iid)


def departed_account(p: Planner) -> None:
    """The login of someone who left (or whose account was revoked) is still used."""
    w = p.w
    cands = [i for i in p.leaver_accounts if i not in p.used_accounts]
    for acct in p.rng.permutation(np.array(cands, dtype=np.int64)).tolist():
        owner = w.org.accounts[acct].staff
        revoked = w.org.accounts[acct].revoked_at
        gone = w.sec(w.org.staff[owner].active_to) + DAY  # the day after the last day of service
        if revoked is not None:
            gone = max(gone, w.sec(revoked) + 60)
        first = max(int((gone - w.base0 + DAY - 1) // DAY), 0)
        days = [x for x in p.workdays.tolist() if x >= first]
        if not days:
            continue
        p.used_accounts.add(acct)
        d = int(p.rng.choice(days))
        subjects = _randoms(p, owner, int(p.rng.integers(2, 6)))
        system = w.org.accounts[acct].system
        codes = tuple(c for sy, c, _ in WORK_MIX.get(w.staff_kind[owner], ()) if sy == system)
        p.episode(owner, d, subjects, "departed_account", account=acct, per_subject=2, codes=codes)
        return


def idle_account(p: Planner) -> None:
    """An account nobody used for months (granted long ago, not used in the whole log)
    suddenly looks people up, late in the period."""
    w = p.w
    # Late in the period; in logs longer than 100 days, after at least 90 silent days.
    late = [x for x in p.workdays.tolist() if x >= 90] if w.days > 100 else []
    d = int(p.rng.choice(late)) if late else _day(p, 0.6, 1.0)
    dormant = [
        i
        for i in p.dormant_accounts
        if i not in p.used_accounts
        and w.staff_from[w.org.accounts[i].staff] <= d <= w.staff_to[w.org.accounts[i].staff]
    ]
    if dormant:
        acct = int(p.rng.choice(dormant))
        staff = w.org.accounts[acct].staff
    else:
        # No dormant account at hand: someone who has served for years gets one granted
        # long ago on a post they no longer hold.
        cands = [
            i for i in p.actors(d, kinds=("civil", "hr_it", "hr_reg")) if w.staff_from[i] < -400
        ]
        if not cands:
            return
        staff = int(p.rng.choice(cands))
        span = -200 - int(w.staff_from[staff])
        granted = dt.datetime.combine(
            w.start + dt.timedelta(days=int(w.staff_from[staff]) + int(p.rng.integers(0, span))),
            dt.time(10),
        )
        acct = p.add_account(Account("LIQ", f"lq9{staff + 1:05d}", staff, granted, None, "dormant"))
    p.used_accounts.add(acct)
    system = SYSTEM_CODES[int(w.acct_system[acct])]
    codes = {"RIS": ("R04", "R01"), "LIQ": ("L01", "L02"), "PET": ("X01", "X02")}.get(system, ())
    code = str(p.rng.choice(codes)) if codes else PURPOSE_CODES[0]
    purpose = PURPOSE_CODES.index(code)
    iid = p.incident_id("idle_account")
    for subject in _randoms(p, staff, int(p.rng.integers(2, 5))):
        t = p.time(d)
        p.emit(
            d, [t], acct, [subject], [purpose], [p.fake_ref(purpose, staff, d)], "idle_account", iid
        )


BUILDERS: dict[str, Callable[[Planner], None]] = {
    "case1_false_purpose": case1_false_purpose, "case2_seller": case2_seller,
    "case3_saturday_relative": case3_saturday_relative, "celebrity_burst": celebrity_burst,
    "piggyback": piggyback, "colleague": colleague, "self": self_lookup, "family": family,
    "neighbour": neighbour, "slow_seller": slow_seller, "enumeration_burst": enumeration_burst,
    "departed_account": departed_account, "idle_account": idle_account,
}  # fmt: skip
