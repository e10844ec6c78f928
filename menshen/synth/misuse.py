"""Misuse incidents injected into the world, each labelled with scenario and incident id.

An incident is one person's one episode. The snooper usually works in office hours from
their own terminal, states a plausible purpose of their unit and sometimes types a made-up
case number — misuse looks like work, as it does in real logs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from menshen.synth.batches import Events, Records
from menshen.synth.catalog import PURPOSE_BY_CODE, WORK_MIX
from menshen.synth.legit import KIND_SHORT, OFFICE_CDF, purpose_texts
from menshen.synth.org import Account
from menshen.synth.world import PURPOSE_CODES, PURPOSE_KIND, SC, SYSTEM_CODES, World

# scenario -> (incidents per 8,000 events, rough look-ups per incident)
RATES: dict[str, tuple[float, int]] = {
    "case1_false_purpose": (0.5, 5), "case2_seller": (0.15, 39), "case3_saturday_relative": (0.5, 2),
    "celebrity_burst": (0.1, 40), "piggyback": (1.0, 3), "colleague": (1.0, 2), "self": (0.6, 2),
    "family": (1.0, 3), "neighbour": (0.8, 2), "slow_seller": (0.3, 12),
    "enumeration_burst": (0.2, 35), "departed_account": (0.5, 5), "idle_account": (0.4, 4),
}  # fmt: skip
NO_RECORD_CODES = ("R04", "P03", "X02")
MISUSE_ACTION_CDF = np.cumsum([0.8, 0.15, 0.05])
MISUSE_BUDGET = 0.006  # misuse look-ups stay under 0.6% of all look-ups (beyond one per scenario)


@dataclass
class MisusePlan:
    events_by_day: dict[int, list[Events]] = field(default_factory=dict)
    records: list[Records] = field(default_factory=list)
    incidents: dict[str, str] = field(default_factory=dict)  # incident_id -> scenario
    events: int = 0
    # Rows collected while planning: (t, system, account, subject, purpose, ref, scenario,
    # incident, misuse), turned into one Events batch per day by finish().
    rows: dict[int, list[tuple]] = field(default_factory=dict)

    def add_rows(self, d: int, rows: list[tuple]) -> None:
        self.rows.setdefault(d, []).extend(rows)
        self.events += len(rows)

    def finish(self, rng: np.random.Generator) -> None:
        for d in sorted(self.rows):
            t, system, account, subject, purpose, ref, scenario, incident, misuse = zip(
                *self.rows[d], strict=True
            )
            n = len(t)
            purposes = np.array(purpose, dtype=np.int64)
            texts = np.where(purposes < 0, -1, purpose_texts(rng, purposes.clip(0)))
            action = np.minimum(np.searchsorted(MISUSE_ACTION_CDF, rng.random(n)), 2)
            ev = Events(
                t=np.array(t, np.int64), system=np.array(system, np.int8),
                account=np.array(account, np.int32), subject=pa.array(subject, pa.string()),
                action=action.astype(np.int8), purpose=purposes.astype(np.int16),
                text=texts.astype(np.int16), ref=pa.array(ref, pa.string()),
                result=np.ones(n, np.int32), misuse=np.array(misuse, np.int8),
                scenario=np.array(scenario, np.int16), incident=pa.array(incident, pa.string()),
            )  # fmt: skip
            self.events_by_day[d] = [ev]
        self.rows = {}


class Planner:
    def __init__(self, world: World, rng: np.random.Generator, events: int = 100_000) -> None:
        self.w = world
        self.serial_space = max(1000, int(events * 0.45))  # about the number of records
        self.rng = rng
        self.plan = MisusePlan()
        self.workdays = np.flatnonzero(world.workday)
        self.counter: dict[str, int] = {}
        self.used_accounts: set[int] = set()
        self.subjects: set[str] = set()  # people looked up improperly
        self.kind_array = np.array(world.staff_kind)
        self._masks: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}
        self.dormant_accounts = [i for i, a in enumerate(world.org.accounts) if a.kind == "dormant"]
        self.employment_array = np.array([s.employment for s in world.org.staff])
        self.declared: dict[int, list[int]] = {}
        for staff, person, _ in world.relations:
            self.declared.setdefault(staff, []).append(person)
        # Accounts whose holder has left before the last day of the period.
        end = world.days - 1
        self.leaver_accounts = [
            i
            for i, a in enumerate(world.org.accounts)
            if a.kind == "user" and world.staff_to[a.staff] < end - 1
        ]

    # --- helpers -------------------------------------------------------------------------
    def incident_id(self, scenario: str, suffix: str = "") -> str:
        self.counter[scenario] = self.counter.get(scenario, 0) + 1
        short = "".join(part[0] for part in scenario.split("_")).upper()
        iid = f"{short}{self.counter[scenario]:04d}{suffix}"
        self.plan.incidents[iid] = scenario
        return iid

    def time(self, d: int, after_hours: float = 0.12) -> int:
        base = self.w.day_base(d)
        if self.rng.random() < after_hours:
            return base + int(self.rng.integers(17 * 3600 + 1800, 20 * 3600))
        minute = min(int(np.searchsorted(OFFICE_CDF, self.rng.random() * OFFICE_CDF[-1])), 1439)
        return base + minute * 60 + int(self.rng.integers(0, 60))

    def actors(self, d: int, kinds: tuple[str, ...] | None = None, employment: tuple[str, ...] | None = None,
               system: str | None = None) -> np.ndarray:  # fmt: skip
        w = self.w
        ok = (w.staff_from <= d) & (d <= w.staff_to) & w.staff_works
        if kinds:
            ok &= self._mask("kind", kinds)
        if employment:
            ok &= self._mask("employment", employment)
        if system:
            acct = w.user_account[:, SYSTEM_CODES.index(system)]
            ok &= w.account_ok(acct, np.full(len(acct), w.day_base(d) + 12 * 3600))
        return np.flatnonzero(ok)

    def _mask(self, column: str, values: tuple[str, ...]) -> np.ndarray:
        key = (column, values)
        if key not in self._masks:
            array = self.kind_array if column == "kind" else self.employment_array
            self._masks[key] = np.isin(array, values)
        return self._masks[key]

    def pick_actor(self, d: int, **kw: object) -> int | None:
        cand = self.actors(d, **kw)  # type: ignore[arg-type]
        return int(self.rng.choice(cand)) if len(cand) else None

    def purpose_for(self, staff: int, codes: tuple[str, ...] | None = None) -> tuple[int, int]:
        """(purpose index, account index) of a plausible purpose for this staff member."""
        w = self.w
        options = [(c, wt) for s, c, wt in WORK_MIX.get(w.staff_kind[staff], ())
                   if w.user_account[staff, SYSTEM_CODES.index(s)] >= 0 and (codes is None or c in codes)]  # fmt: skip
        if not options:
            options = [(c, wt) for s, c, wt in WORK_MIX.get(w.staff_kind[staff], ())
                       if w.user_account[staff, SYSTEM_CODES.index(s)] >= 0]  # fmt: skip
        p = np.array([wt for _, wt in options], dtype=float)
        code = options[int(self.rng.choice(len(options), p=p / p.sum()))][0]
        system = SYSTEM_CODES.index(PURPOSE_BY_CODE[code].system)
        return PURPOSE_CODES.index(code), int(w.user_account[staff, system])

    def fake_ref(self, purpose: int, staff: int, d: int) -> str | None:
        """A made-up case number in the usual format, or nothing (about half the time)."""
        kind = int(PURPOSE_KIND[purpose])
        if kind < 0 or self.rng.random() < 0.45:
            return None
        roc = self.w.calendar.days[min(d, self.w.days - 1)].year - 1911
        # Any plausible serial: a made-up number is not recognisable by its value.
        serial = int(self.rng.integers(1, self.serial_space))
        return f"{KIND_SHORT[kind]}{roc}{int(self.w.staff_district[staff]) + 1:02d}{serial:07d}"

    def emit(self, d: int, times: list[int], account: int, subjects: list[str], purposes: list[int],
             refs: list[str | None], scenario: str, incident: str, misuse: int = 1) -> None:  # fmt: skip
        system = int(self.w.acct_system[account])
        label = SC[scenario]
        iid = incident if misuse else None
        self.plan.add_rows(d, [
            (t, system, account, subject, purpose, ref, label, iid, misuse)
            for t, subject, purpose, ref in zip(times, subjects, purposes, refs, strict=True)
        ])  # fmt: skip
        if misuse:
            self.subjects.update(subjects)

    def pid(self, person: int) -> str:
        return self.w.pop.person_id[person].as_py()

    def district_person(self, staff: int) -> int:
        return int(
            self.w.pop.sample_in_districts(self.rng, np.array([self.w.staff_district[staff]]))[0]
        )

    def episode(self, staff: int, d: int, subjects: list[str], scenario: str, *, per_subject: int = 1,
                codes: tuple[str, ...] | None = None, account: int | None = None, spread_days: int = 1,
                incident: str | None = None, no_record: float = 0.0) -> None:  # fmt: skip
        """The common shape: one actor looks up a few people over a day or a few days.
        With probability `no_record` the snooper hides behind a purpose that needs no record
        (a walk-in, a field check, a phone inquiry) when their systems have one."""
        iid = incident or self.incident_id(scenario)
        if codes is None and self.rng.random() < no_record:
            codes = NO_RECORD_CODES
        purpose, acct = self.purpose_for(staff, codes)
        if account is not None:
            acct = account
            system = SYSTEM_CODES[int(self.w.acct_system[acct])]
            if PURPOSE_BY_CODE[PURPOSE_CODES[purpose]].system != system:
                same = [
                    i for i, c in enumerate(PURPOSE_CODES) if PURPOSE_BY_CODE[c].system == system
                ]
                purpose = int(self.rng.choice(same))
        days = [d]
        for _ in range(spread_days - 1):
            later = self.workdays[self.workdays > days[-1]]
            if len(later):
                days.append(int(later[0]))
        for i, subject in enumerate(subjects):
            day = days[i % len(days)]
            t = self.time(day)
            ref = self.fake_ref(purpose, staff, day)
            n = 1 + int(self.rng.integers(0, per_subject))
            times = [t + k * int(self.rng.integers(30, 900)) for k in range(n)]
            self.emit(day, times, acct, [subject] * n, [purpose] * n, [ref] * n, scenario, iid)

    def add_account(self, acc: Account) -> int:
        w = self.w
        w.org.accounts.append(acc)
        w.acct_system = np.append(w.acct_system, np.int8(SYSTEM_CODES.index(acc.system)))
        w.acct_staff = np.append(w.acct_staff, np.int32(acc.staff))
        w.acct_granted = np.append(w.acct_granted, np.int64(w.sec(acc.granted_at)))
        w.acct_revoked = np.append(w.acct_revoked, np.int64(2**62))
        return len(w.org.accounts) - 1


def incident_counts(events: int) -> dict[str, int]:
    counts = {s: max(1, round(events / 8000 * rate)) for s, (rate, _) in RATES.items()}
    size = sum(counts[s] * RATES[s][1] for s in counts)
    if size > MISUSE_BUDGET * events:
        scale = MISUSE_BUDGET * events / size
        counts = {s: max(1, int(c * scale)) for s, c in counts.items()}
    return counts


def plan_misuse(world: World, rng: np.random.Generator, events: int) -> MisusePlan:
    from menshen.synth import scenarios

    planner = Planner(world, rng, events)
    counts = incident_counts(events)
    builders: dict[str, Callable[[Planner], None]] = scenarios.BUILDERS
    for scenario, n in counts.items():
        for _ in range(n):
            builders[scenario](planner)
    planner.plan.finish(rng)
    # Legitimate case work keeps clear of the people in incidents, so that ground truth
    # stays true: no real application of theirs happens to explain the snooping.
    ids = pa.array(sorted(planner.subjects), pa.string())
    index = pc.index_in(ids, value_set=world.pop.person_id).drop_null().to_numpy()
    world.reserved = np.unique(index.astype(np.int64))
    return planner.plan


__all__ = ["MisusePlan", "Planner", "plan_misuse"]
