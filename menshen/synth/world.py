"""The world's state shared by the legitimate-work and misuse generators: population,
agency, accounts, calendar, and numpy views of them for vectorised generation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from menshen.calendar import DayInfo, GovCalendar
from menshen.synth.batches import Events
from menshen.synth.catalog import PURPOSES, RECORD_KINDS, ROUND_THE_CLOCK, WORK_MIX
from menshen.synth.org import Org
from menshen.synth.population import Population

SYSTEM_CODES = ("RIS", "LIQ", "PKN", "CRS", "PET")
KIND_CODES = tuple(RECORD_KINDS)
PURPOSE_CODES = tuple(p.code for p in PURPOSES)
PURPOSE_SYSTEM = np.array([SYSTEM_CODES.index(p.system) for p in PURPOSES], dtype=np.int8)
PURPOSE_KIND = np.array(
    [KIND_CODES.index(p.evidence_kind) if p.evidence_kind else -1 for p in PURPOSES], dtype=np.int16
)
PURPOSE_SCOPE_HH = np.array([p.scope == "household" for p in PURPOSES])
PURPOSE_AFTER = np.array([p.after for p in PURPOSES], dtype=np.int64)
TEXTS: tuple[str, ...] = tuple(t for p in PURPOSES for t in p.texts)
TEXT_OFFSET = np.cumsum([0] + [len(p.texts) for p in PURPOSES])[:-1]
TEXT_COUNT = np.array([len(p.texts) for p in PURPOSES])

LEGIT_SCENARIOS = (
    "legit:own_case", "legit:ref_missing", "legit:ref_typo", "legit:late_record",
    "legit:covering_colleague", "legit:unit_record", "legit:follow_up", "legit:household_review",
    "legit:walk_in", "legit:field_check", "legit:phone_inquiry", "legit:list_screen",
    "legit:batch_job", "legit:record_missing", "legit:typo_subject_id",
)  # fmt: skip
MISUSE_SCENARIOS = (
    "case1_false_purpose", "case2_seller", "case3_saturday_relative", "celebrity_burst",
    "piggyback", "colleague", "self", "family", "neighbour", "slow_seller",
    "enumeration_burst", "departed_account", "idle_account",
)  # fmt: skip
SCENARIOS = LEGIT_SCENARIOS + MISUSE_SCENARIOS
SC = {name: i for i, name in enumerate(SCENARIOS)}
DAY = 86_400


@dataclass
class Calendar:
    days: list[dt.date]
    info: list[DayInfo]

    @property
    def workday(self) -> np.ndarray:
        return np.array([i.is_workday for i in self.info])


def world_calendar(start: dt.date, days: int) -> Calendar:
    """The government calendar for the period. When the period has no make-up Saturday
    (補行上班) the synthetic world declares one, compensating a bridge day off next to a
    holiday when there is one, so that make-up workdays are always exercised."""
    cal = GovCalendar()
    dates = [start + dt.timedelta(days=i) for i in range(days)]
    info = [cal.day(d) for d in dates]
    makeup = any(d.weekday() == 5 and i.is_workday for d, i in zip(dates, info, strict=True))
    if not makeup and days >= 7:
        saturdays = [i for i, d in enumerate(dates) if d.weekday() == 5 and info[i].note == "週末"]
        pick = saturdays[len(saturdays) // 2] if saturdays else None
        if pick is not None:
            info[pick] = DayInfo(True, "補行上班")
            # A bridge day (a Monday before or a Friday after a holiday) becomes 調整放假.
            for i, d in enumerate(dates):
                if not info[i].is_workday or d.weekday() not in (0, 4):
                    continue
                neighbour = i + 1 if d.weekday() == 0 else i - 1
                if (
                    0 <= neighbour < days
                    and not info[neighbour].is_workday
                    and info[neighbour].note not in ("週末", "")
                ):
                    info[i] = DayInfo(False, "調整放假")
                    break
    return Calendar(dates, info)


@dataclass
class World:
    seed: int
    start: dt.date
    days: int
    pop: Population
    org: Org
    calendar: Calendar
    outsiders: pa.Array  # ids of people served who live elsewhere (not in persons.csv)
    relations: list[tuple[int, int, str]] = field(default_factory=list)  # staff, person, rel
    watchlist: list[tuple[int, str, str]] = field(default_factory=list)  # person, category, note
    staff_risk: list[tuple[int, float, dt.date | None]] = field(default_factory=list)
    pending: dict[int, list[Events]] = field(default_factory=dict)  # follow-ups by day
    record_serial: int = 0
    events_per_case: float = 1.8
    renames: dict[int, str] = field(default_factory=dict)  # person index -> new name
    reserved: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # misuse subjects

    def __post_init__(self) -> None:
        org = self.org
        self.all_ids = pa.concat_arrays([self.pop.person_id, self.outsiders])
        self.base0 = int(np.datetime64(self.start, "s").astype(np.int64))
        self.end_s = self.base0 + self.days * DAY
        n = len(org.staff)
        kinds = [org.units[s.unit].kind for s in org.staff]
        self.staff_kind = kinds
        self.staff_unit = np.array([s.unit for s in org.staff], dtype=np.int32)
        self.staff_district = np.array([max(org.units[s.unit].district, 0) for s in org.staff])
        self.staff_person = np.array([s.person for s in org.staff], dtype=np.int64)
        self.staff_rate = np.array([s.rate for s in org.staff])
        self.staff_police = np.array([k in ROUND_THE_CLOCK for k in kinds])
        self.staff_from = np.array([(s.active_from - self.start).days for s in org.staff])
        self.staff_to = np.array(
            [(s.active_to - self.start).days if s.active_to else 10**6 for s in org.staff]
        )
        acc = org.accounts
        self.acct_system = np.array([SYSTEM_CODES.index(a.system) for a in acc], dtype=np.int8)
        self.acct_staff = np.array([a.staff for a in acc], dtype=np.int32)
        self.acct_granted = np.array([self.sec(a.granted_at) for a in acc], dtype=np.int64)
        self.acct_revoked = np.array(
            [self.sec(a.revoked_at) if a.revoked_at else 2**62 for a in acc], dtype=np.int64
        )
        self.batch_accounts = sum(1 for a in acc if a.kind == "batch")
        self.user_account = np.full((n, len(SYSTEM_CODES)), -1, dtype=np.int32)
        for i, a in enumerate(acc):
            if a.kind == "user":
                self.user_account[a.staff, SYSTEM_CODES.index(a.system)] = i
        # Per staff: cumulative distribution over purposes they use in everyday work.
        weights = np.zeros((n, len(PURPOSES)))
        for i, kind in enumerate(kinds):
            for system, code, w in WORK_MIX.get(kind, ()):
                if self.user_account[i, SYSTEM_CODES.index(system)] >= 0:
                    weights[i, PURPOSE_CODES.index(code)] = w
        total = weights.sum(axis=1)
        self.staff_works = total > 0
        self.staff_main_purpose = weights.argmax(axis=1)
        self.purpose_cum = np.cumsum(weights / np.where(total > 0, total, 1)[:, None], axis=1)
        self.unit_members: dict[int, np.ndarray] = {}
        for u in range(len(org.units)):
            self.unit_members[u] = np.flatnonzero(self.staff_unit == u)
        self.workday = self.calendar.workday
        # next_workday[d]: first workday on or after day d (self.days when none is left)
        nxt = np.full(self.days + 1, self.days)
        for day in range(self.days - 1, -1, -1):
            nxt[day] = day if self.workday[day] else nxt[day + 1]
        self.next_workday = nxt
        self.staff_by_unit = np.argsort(self.staff_unit, kind="stable")
        self.unit_first = np.searchsorted(
            self.staff_unit[self.staff_by_unit], np.arange(len(org.units))
        )
        self.unit_size = np.bincount(self.staff_unit, minlength=len(org.units))

    def random_colleague(self, rng: np.random.Generator, staff: np.ndarray) -> np.ndarray:
        """A random other member of each staff member's unit (themselves if alone)."""
        unit = self.staff_unit[staff]
        size = self.unit_size[unit]
        pick = self.unit_first[unit] + (rng.random(len(staff)) * size).astype(np.int64)
        mate = self.staff_by_unit[pick]
        alt = self.staff_by_unit[self.unit_first[unit] + (pick - self.unit_first[unit] + 1) % size]
        return np.where(mate == staff, alt, mate)

    def sec(self, value: dt.datetime | dt.date) -> int:
        if not isinstance(value, dt.datetime):
            value = dt.datetime.combine(value, dt.time())
        return (
            int((value - dt.datetime.combine(self.start, dt.time())).total_seconds()) + self.base0
        )

    def day_base(self, d: int) -> int:
        return self.base0 + d * DAY

    def next_serials(self, n: int) -> np.ndarray:
        out = np.arange(self.record_serial + 1, self.record_serial + n + 1, dtype=np.int64)
        self.record_serial += n
        return out

    def account_ok(self, account: np.ndarray, t: np.ndarray) -> np.ndarray:
        return (account >= 0) & (self.acct_granted[account] <= t) & (t < self.acct_revoked[account])
