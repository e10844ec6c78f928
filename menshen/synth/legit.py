"""Legitimate work of one day, vectorised: cases (with the business records they create),
follow-ups on later days, household reviews, walk-ins, list screens and nightly batch jobs."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from menshen.synth.batches import Events, Records, make_events
from menshen.synth.catalog import RECORD_KINDS
from menshen.synth.world import (
    DAY,
    KIND_CODES,
    PURPOSE_AFTER,
    PURPOSE_CODES,
    PURPOSE_KIND,
    PURPOSE_SCOPE_HH,
    PURPOSE_SYSTEM,
    SC,
    TEXT_COUNT,
    TEXT_OFFSET,
    World,
)  # fmt: skip


def _profile(points: list[tuple[int, int, float]]) -> np.ndarray:
    w = np.zeros(1440)
    for lo, hi, weight in points:
        w[lo:hi] = weight
    return w / w.sum()


# Minute-of-day weights: counters open 08:00-17:30 with a lunch lull, a little overtime.
OFFICE = _profile(
    [
        (450, 480, 0.15),
        (480, 510, 2.5),
        (510, 705, 5.0),
        (705, 810, 1.0),
        (810, 1020, 5.0),
        (1020, 1050, 3.0),
        (1050, 1110, 0.25),
        (1110, 1170, 0.08),
    ]
)
SHIFTS = _profile([(0, 360, 1.0), (360, 480, 2.0), (480, 1320, 5.0), (1320, 1440, 2.5)])
DURATION_HOURS = {  # record kind -> (min, max) hours a record stays open
    "household_registration": (1, 72), "id_card_application": (1, 240),
    "transcript_application": (0.1, 0.5), "official_letter": (24, 480),
    "low_income_review": (120, 960), "job_seeker_registration": (720, 2160),
    "unemployment_benefit": (336, 720), "training_application": (120, 720),
    "criminal_case": (720, 4320), "police_report": (24, 1440), "traffic_accident": (48, 720),
    "missing_person": (48, 2160), "name_change": (24, 168), "nationality_change": (72, 720),
    "id_change": (24, 168), "petition": (72, 480), "welfare_batch_review": (24, 240),
}  # fmt: skip
DUR_LO = np.log([DURATION_HOURS[k][0] for k in KIND_CODES])
DUR_HI = np.log([DURATION_HOURS[k][1] for k in KIND_CODES])
KIND_SHORT = [RECORD_KINDS[k][1] for k in KIND_CODES]
PATTERNS = ("legit:own_case", "legit:ref_missing", "legit:ref_typo", "legit:late_record",
            "legit:covering_colleague", "legit:unit_record", "legit:record_missing")  # fmt: skip
PATTERN_P = np.array([0.7788, 0.015, 0.006, 0.07, 0.08, 0.049, 0.0012])
PATTERN_P = PATTERN_P / PATTERN_P.sum()
NO_RECORD_LABEL = {"R04": "legit:walk_in", "P03": "legit:field_check", "X02": "legit:phone_inquiry"}
LIST_RATE = 0.22
OUTSIDER_SHARE = 0.03
TYPO_SUBJECT_RATE = 1 / 12_000


OFFICE_CDF = np.cumsum(OFFICE)
SHIFTS_CDF = np.cumsum(SHIFTS)


def times_of_day(
    rng: np.random.Generator, base: int | np.ndarray, police: np.ndarray
) -> np.ndarray:
    """Look-up times on a day starting at `base`: office profile, or shifts for police."""
    n = len(police)
    u = rng.random(n)
    minute = np.where(
        police,
        np.searchsorted(SHIFTS_CDF, u * SHIFTS_CDF[-1]),
        np.searchsorted(OFFICE_CDF, u * OFFICE_CDF[-1]),
    )
    return base + np.minimum(minute, 1439).astype(np.int64) * 60 + rng.integers(0, 60, n)


def record_ids(world: World, kind: np.ndarray, district: np.ndarray, day: int) -> pa.Array:
    """Case numbers such as `HJ115010000123`: kind, ROC year, district, serial."""
    roc = (
        (world.start.year - 1911)
        if day < 0
        else (world.calendar.days[min(day, world.days - 1)].year - 1911)
    )
    serial = world.next_serials(len(kind))
    prefix = np.char.add(np.array(KIND_SHORT)[kind], f"{roc}")
    dist = pc.utf8_lpad(pa.array(district + 1).cast(pa.string()), 2, "0")
    ser = pc.utf8_lpad(pa.array(serial).cast(pa.string()), 7, "0")
    return pc.binary_join_element_wise(pa.array(prefix), dist, ser, "")


def _durations(rng: np.random.Generator, kind: np.ndarray) -> np.ndarray:
    lo, hi = DUR_LO[kind], DUR_HI[kind]
    return (np.exp(lo + rng.random(len(kind)) * (hi - lo)) * 3600).astype(np.int64)


def purpose_texts(rng: np.random.Generator, purpose: np.ndarray) -> np.ndarray:
    count = TEXT_COUNT[purpose]
    pick = (rng.random(len(purpose)) * np.maximum(count, 1)).astype(np.int64)
    has = (count > 0) & (rng.random(len(purpose)) < 0.3)
    return np.where(has, TEXT_OFFSET[purpose] + pick, -1)


ACTION_CDF = np.cumsum([0.8, 0.13, 0.055, 0.015])


def _actions(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.minimum(np.searchsorted(ACTION_CDF, rng.random(n)), 3)


def expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row index repeated by count, and the position within each repetition."""
    owner = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return owner, np.arange(len(owner)) - starts[owner]


def legit_day(
    world: World, d: int, rng: np.random.Generator, target: float
) -> tuple[Events, Records | None]:
    base = world.day_base(d)
    workday = bool(world.workday[d])
    active = (world.staff_from <= d) & (d <= world.staff_to) & world.staff_works
    factor = np.where(world.staff_police, 1.0 if workday else 0.55, 1.0 if workday else 0.0)
    weight = world.staff_rate * factor * active
    events: list[Events] = []
    for follow_up in world.pending.pop(d, []):
        # Someone who has left (or lost the privilege) since does not follow up.
        staff = world.acct_staff[follow_up.account]
        keep = world.account_ok(follow_up.account, follow_up.t) & (world.staff_to[staff] >= d)
        events.append(follow_up.take(np.flatnonzero(keep)))
    records: list[Records] = []
    if weight.sum() == 0:
        return Events.concat(events), None

    # List screens: each shows several people incidentally.
    # List screens stay about 5% of the day's look-ups, also in tiny worlds.
    list_rate = min(LIST_RATE, 0.05 * target / (9.5 * max(float((factor * active).sum()), 1.0)))
    n_list = rng.poisson(list_rate * factor * active)
    list_staff = np.repeat(np.arange(len(n_list)), n_list)
    sizes = rng.integers(4, 16, len(list_staff))
    owner, _ = expand(sizes)
    ls = list_staff[owner]
    lt = np.repeat(times_of_day(rng, base, world.staff_police[list_staff]), sizes)
    lpurpose = world.staff_main_purpose[ls]
    lacct = world.user_account[ls, PURPOSE_SYSTEM[lpurpose]]
    subj = world.pop.sample_in_districts(rng, world.staff_district[ls])
    keep = world.account_ok(lacct, lt)
    with_purpose = rng.random(len(list_staff)) < 0.5
    events.append(
        make_events(
            lt[keep], PURPOSE_SYSTEM[lpurpose][keep], lacct[keep],
            world.pop.person_id.take(pa.array(subj[keep])),
            np.where(with_purpose[owner], lpurpose, -1)[keep], SC["legit:list_screen"],
            action=4, result=np.repeat(sizes, sizes)[keep],
        )
    )  # fmt: skip
    if workday:
        b_events, b_records = batch_jobs(world, d, rng, max_total=max(1, int(0.02 * target)))
        events.append(b_events)
        records.append(b_records)

    already = sum(len(e) for e in events)
    n_cases = max(0.0, (target - already) / world.events_per_case)
    lam = n_cases * weight / weight.sum()
    case_staff = np.repeat(np.arange(len(lam)), rng.poisson(lam))
    c = len(case_staff)
    u = rng.random(c)
    purpose = (world.purpose_cum[case_staff] < u[:, None]).sum(axis=1)
    purpose = np.minimum(purpose, len(PURPOSE_CODES) - 1)
    system = PURPOSE_SYSTEM[purpose]
    account = world.user_account[case_staff, system]
    t0 = times_of_day(rng, base, world.staff_police[case_staff])
    ok = world.account_ok(account, t0) & (world.purpose_cum[case_staff, -1] > 0)
    case_staff, purpose, system, account, t0 = (
        x[ok] for x in (case_staff, purpose, system, account, t0)
    )
    home = world.staff_district[case_staff]
    district = np.where(
        rng.random(len(home)) < 0.85,
        home,
        rng.integers(0, len(world.pop.district_start), len(home)),
    )
    subject = world.pop.sample_in_districts(rng, district)
    # A clerk never handles a case about themselves (they must recuse), and people in
    # misuse incidents get no case in this world: draw again.
    own = (subject == world.staff_person[case_staff]) | np.isin(subject, world.reserved)
    subject[own] = world.pop.sample_in_districts(rng, district[own])
    subject[own] = np.where(
        subject[own] == world.staff_person[case_staff][own],
        (subject[own] + 1) % len(world.pop),
        subject[own],
    )
    kind = PURPOSE_KIND[purpose]
    no_record = kind < 0
    household = PURPOSE_SCOPE_HH[purpose]
    person = ~no_record & ~household
    # Some people served live elsewhere (moving in, travellers): not in persons.csv.
    outsider = ~household & (rng.random(len(subject)) < OUTSIDER_SHARE)
    n_out = len(world.all_ids) - len(world.pop)
    subject = np.where(outsider, len(world.pop) + rng.integers(0, n_out, len(subject)), subject)

    e, r = _person_cases(world, d, rng, case_staff[person], purpose[person], account[person],
                         t0[person], subject[person], district[person])  # fmt: skip
    events.append(e)
    records.append(r)
    e, r = _household_cases(world, d, rng, case_staff[household], purpose[household],
                            account[household], t0[household], subject[household])  # fmt: skip
    events.append(e)
    records.append(r)
    # Walk-ins, field checks, phone inquiries: purposes that need no record.
    p = purpose[no_record]
    n = 1 + (rng.random(len(p)) < 0.25)
    owner, pos = expand(n)
    labels = np.array(
        [
            SC[NO_RECORD_LABEL.get(PURPOSE_CODES[i], "legit:walk_in")]
            for i in range(len(PURPOSE_CODES))
        ]
    )
    events.append(
        make_events(
            t0[no_record][owner] + pos * rng.integers(20, 300, len(owner)), system[no_record][owner],
            account[no_record][owner], world.all_ids.take(pa.array(subject[no_record][owner])),
            p[owner], labels[p[owner]], action=_actions(rng, len(owner)), text=purpose_texts(rng, p[owner]),
        )
    )  # fmt: skip
    out = Events.concat(events)
    first_workday = d == int(np.argmax(world.workday))
    return _typo_subjects(rng, out, first_workday), Records.concat(records)


def _typo_subjects(rng: np.random.Generator, ev: Events, at_least_one: bool = False) -> Events:
    """Now and then a clerk mistypes an id (fails the checksum, finds nobody). Every world
    has at least one (`at_least_one` is set on its first workday)."""
    eligible = (ev.misuse == 0) & (ev.action != 4)
    hit = np.flatnonzero((rng.random(len(ev)) < TYPO_SUBJECT_RATE) & eligible)
    if not len(hit) and at_least_one and eligible.any():
        hit = np.flatnonzero(eligible)[:1]
    if not len(hit):
        return ev
    old = ev.subject.take(pa.array(hit)).to_pylist()
    new = [x[:-1] + str((int(x[-1]) + 1 + int(rng.integers(0, 8))) % 10) for x in old]
    mask = np.zeros(len(ev), dtype=bool)
    mask[hit] = True
    ev.subject = pc.replace_with_mask(ev.subject, pa.array(mask), pa.array(new, pa.string()))
    ev.scenario[hit] = SC["legit:typo_subject_id"]
    ev.result[hit] = 0
    return ev


def _person_cases(world: World, d: int, rng: np.random.Generator, staff: np.ndarray,
                  purpose: np.ndarray, account: np.ndarray, t0: np.ndarray, subject: np.ndarray,
                  district: np.ndarray) -> tuple[Events, Records]:  # fmt: skip
    c = len(staff)
    pattern = rng.choice(len(PATTERNS), size=c, p=PATTERN_P)
    kind = PURPOSE_KIND[purpose]
    n0 = 1 + np.minimum(rng.poisson(0.5, c), 3)
    owner, _ = expand(n0)
    gaps = rng.exponential(240, len(owner)).astype(np.int64) + 20
    cs = np.cumsum(gaps)
    starts = np.cumsum(n0) - n0
    ends = starts + n0 - 1
    t = t0[owner] + cs - np.repeat(cs[starts], n0)
    last = t0 + cs[ends] - cs[starts] if c else t0
    ids = record_ids(world, kind, district, d)
    refs = ids
    serial_typo = pc.binary_join_element_wise(ids, pa.array(rng.integers(0, 10, c).astype(str)), "")
    refs = pc.if_else(pa.array(pattern == 2), serial_typo, refs)
    refs = pc.if_else(pa.array((pattern == 1) | (pattern == 6)), pa.nulls(c, pa.string()), refs)
    labels = np.array([SC[p] for p in PATTERNS])[pattern]
    subj = world.all_ids.take(pa.array(subject))
    events = [
        make_events(t, PURPOSE_SYSTEM[purpose][owner], account[owner], subj.take(pa.array(owner)),
                    purpose[owner], labels[owner], ref=refs.take(pa.array(owner)),
                    action=_actions(rng, len(owner)), text=purpose_texts(rng, purpose[owner]))
    ]  # fmt: skip
    # Records: opened before the look-up, or entered afterwards within the purpose's window.
    opened = t0 - rng.integers(60, 1800, c)
    late = pattern == 3
    opened = np.where(
        late,
        last
        + rng.integers(600, 3600, c)
        + (rng.random(c) * np.maximum(PURPOSE_AFTER[purpose] - 1, 0) * 0.8 * DAY).astype(np.int64),
        opened,
    )
    cover = pattern == 4
    opened = np.where(cover, t0 - rng.integers(600, 3 * DAY, c), opened)
    closed = opened + _durations(rng, kind)
    rec_staff = np.where(cover, world.random_colleague(rng, staff), staff)
    rec_staff = np.where(pattern == 5, -1, rec_staff)
    # Follow-ups: the same clerk looks the same person up again on later days.
    follow = (
        rng.random(c) < np.where(KIND_CODES.index("transcript_application") == kind, 0.03, 0.2)
    ) & (pattern != 6)
    last_follow = np.zeros(c, dtype=np.int64)
    police = world.staff_police[staff]
    f_idx, f_day = [], []
    for k in range(1, 3):
        f = follow & ((k == 1) | (rng.random(c) < 0.35))
        idx = np.flatnonzero(f)
        day = d + rng.integers(1, 6, len(idx)) + 2 * (k - 1)
        day = np.where(police[idx], day, world.next_workday[np.minimum(day, world.days)])
        ok = day < world.days
        f_idx.append(idx[ok])
        f_day.append(day[ok])
    fi, fd = np.concatenate(f_idx), np.concatenate(f_day)
    if len(fi):
        ft = times_of_day(rng, world.base0 + fd * DAY, police[fi])
        np.maximum.at(last_follow, fi, ft)
        fe = make_events(ft, PURPOSE_SYSTEM[purpose[fi]], account[fi], subj.take(pa.array(fi)),
                         purpose[fi], SC["legit:follow_up"], ref=refs.take(pa.array(fi)),
                         action=_actions(rng, len(fi)))  # fmt: skip
        order = np.argsort(fd, kind="stable")
        fd_sorted = fd[order]
        bounds = np.flatnonzero(np.diff(fd_sorted)) + 1
        for chunk in np.split(order, bounds):
            world.pending.setdefault(int(fd[chunk[0]]), []).append(fe.take(chunk))
    keep_open = (last_follow > 0) & (rng.random(c) < 0.85)
    closed = np.where(
        keep_open, np.maximum(closed, last_follow + rng.integers(600, 2 * DAY, c)), closed
    )
    closed = np.where(closed >= world.end_s, -1, closed)
    has_record = pattern != 6
    records = Records(
        record_id=ids.filter(pa.array(has_record)), kind=kind[has_record],
        subject=subj.filter(pa.array(has_record)), staff=rec_staff[has_record].astype(np.int32),
        unit=world.staff_unit[staff][has_record], opened=opened[has_record], closed=closed[has_record],
    )  # fmt: skip
    return Events.concat(events), records


def _household_cases(world: World, d: int, rng: np.random.Generator, staff: np.ndarray,
                     purpose: np.ndarray, account: np.ndarray, t0: np.ndarray,
                     subject: np.ndarray) -> tuple[Events, Records]:  # fmt: skip
    """A household review (e.g. 低收入戶) checks every member of the applicant's household."""
    pop = world.pop
    c = len(staff)
    hh = pop.household[subject]
    size = pop.hh_size[hh]
    owner, pos = expand(size)
    members = pop.hh_start[hh][owner] + pos
    t = t0[owner] + pos * rng.integers(30, 150, len(owner))
    kind = PURPOSE_KIND[purpose]
    ids = record_ids(world, kind, pop.district[subject], d)
    unit_only = rng.random(c) < 0.08
    events = make_events(
        t,
        PURPOSE_SYSTEM[purpose][owner],
        account[owner],
        pop.person_id.take(pa.array(members)),
        purpose[owner],
        SC["legit:household_review"],
        ref=ids.take(pa.array(owner)),
        action=_actions(rng, len(owner)),
        text=purpose_texts(rng, purpose[owner]),
    )
    opened = t0 - rng.integers(DAY, 10 * DAY, c)
    closed = opened + _durations(rng, kind)
    records = Records(
        record_id=ids, kind=kind, subject=pop.person_id.take(pa.array(subject)),
        staff=np.where(unit_only, -1, staff).astype(np.int32), unit=world.staff_unit[staff],
        opened=opened, closed=np.where(closed >= world.end_s, -1, closed),
    )  # fmt: skip
    return events, records


def batch_jobs(
    world: World, d: int, rng: np.random.Generator, max_total: int = 10**9
) -> tuple[Events, Records]:
    """Nightly welfare cross-checks run by the social-affairs sections' service accounts,
    against a list the section head filed the afternoon before."""
    parts: list[Events] = []
    recs: list[Records] = []
    l05 = PURPOSE_CODES.index("L05")
    for a_idx, acc in enumerate(world.org.accounts):
        if acc.kind != "batch":
            continue
        start = world.day_base(d) + 3600 + int(rng.integers(0, 1800))
        if not world.account_ok(np.array([a_idx]), np.array([start]))[0]:
            continue
        head = acc.staff
        unit = int(world.staff_unit[head])
        m = int(rng.integers(8, 12 + 3 * len(world.unit_members[unit])))
        m = max(1, min(m, max_total // max(1, world.batch_accounts)))
        subj = world.pop.sample_in_districts(rng, np.full(m, world.staff_district[head]))
        kind = np.full(m, KIND_CODES.index("welfare_batch_review"))
        ids = record_ids(world, kind, world.pop.district[subj], d)
        filed = world.day_base(d) - 7 * 3600 - int(rng.integers(0, 3600))
        persons = world.pop.person_id.take(pa.array(subj))
        parts.append(make_events(start + np.arange(m) * 2, 1, a_idx, persons, l05,
                                 SC["legit:batch_job"], ref=ids))  # fmt: skip
        recs.append(Records(ids, kind, persons, np.full(m, head, np.int32), np.full(m, unit, np.int32),
                            np.full(m, filed, np.int64), np.full(m, filed + 3 * DAY, np.int64)))  # fmt: skip
    return Events.concat(parts), Records.concat(recs) or _no_records()


def _no_records() -> Records:
    z = np.zeros(0, np.int64)
    return Records(pa.array([], pa.string()), z.astype(np.int16), pa.array([], pa.string()),
                   z.astype(np.int32), z.astype(np.int32), z, z)  # fmt: skip
