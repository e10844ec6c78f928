"""`generate()`: build the synthetic world and write the dataset, one day at a time."""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from menshen.synth import reference
from menshen.synth.batches import ACTIONS, Events, Records
from menshen.synth.legit import legit_day
from menshen.synth.misuse import plan_misuse
from menshen.synth.names import unique_ids
from menshen.synth.org import build_org
from menshen.synth.output import FORMATS, TableWriter, write_table
from menshen.synth.population import build_population
from menshen.synth.world import (
    KIND_CODES,
    PURPOSE_CODES,
    SCENARIOS,
    SYSTEM_CODES,
    TEXTS,
    World,
    world_calendar,
)  # fmt: skip

DEFAULT_START = dt.date(2026, 10, 5)
DATASET_FILES = (
    "access", "labels", "records", "staff", "units", "accounts", "systems", "purposes", "persons",
    "relations", "watchlist", "calendar", "office_hours", "staff_risk",
)  # fmt: skip
EVENTS_PER_STAFF_DAY = 45

ACCESS_SCHEMA = pa.schema(
    [("event_id", pa.string()), ("occurred_at", pa.timestamp("s")), ("system", pa.string()),
     ("account", pa.string()), ("subject_id", pa.string()), ("action", pa.string()),
     ("purpose_code", pa.string()), ("purpose_text", pa.string()), ("record_ref", pa.string()),
     ("terminal", pa.string()), ("result_count", pa.int64())]
)  # fmt: skip
LABEL_SCHEMA = pa.schema(
    [("event_id", pa.string()), ("system", pa.string()), ("misuse", pa.int8()),
     ("scenario", pa.string()), ("incident_id", pa.string())]
)  # fmt: skip
RECORD_SCHEMA = pa.schema(
    [("record_id", pa.string()), ("kind", pa.string()), ("subject_id", pa.string()),
     ("staff_id", pa.string()), ("unit_id", pa.string()), ("opened_at", pa.timestamp("s")),
     ("closed_at", pa.timestamp("s"))]
)  # fmt: skip


@dataclass
class SynthSummary:
    out_dir: Path
    seed: int
    start: dt.date
    days: int
    fmt: str
    events: int = 0
    misuse_events: int = 0
    incidents: int = 0
    staff: int = 0
    persons: int = 0
    files: dict[str, int] = field(default_factory=dict)
    incidents_by_scenario: dict[str, int] = field(default_factory=dict)


def world_sizes(events: int, days: int) -> tuple[int, int, int]:
    """(staff, persons, districts) for a world of `events` look-ups over `days` days."""
    workdays = max(1.0, days * 5 / 7 - days / 28)
    staff = max(40, round(events / (workdays * EVENTS_PER_STAFF_DAY)))
    persons = max(50_000, events // 5)
    districts = int(np.clip(round(staff / 110), 1, 37))
    return staff, persons, districts


def build_world(seed: int, events: int, days: int, start: dt.date) -> World:
    rng = np.random.Generator(np.random.PCG64([seed, 0]))
    n_staff, n_persons, n_districts = world_sizes(events, days)
    pop = build_population(rng, n_persons, n_districts)
    org = build_org(rng, n_staff, n_districts, start, days, pop.district_start, pop.district_end)
    sex = np.where(rng.random(max(1000, n_persons // 10)) < 0.5, "M", "F")
    outsiders = unique_ids(rng, sex)
    outsiders = outsiders.filter(pc.invert(pc.is_in(outsiders, value_set=pop.person_id)))
    world = World(seed, start, days, pop, org, world_calendar(start, days), outsiders)
    reference.add_relations_and_watchlist(world, rng)
    return world


def generate(
    out_dir: Path | str,
    *,
    seed: int = 1,
    events: int = 100_000,
    days: int = 28,
    start: dt.date | None = None,
    fmt: str = "csv",
    progress: bool = False,
) -> SynthSummary:
    """Write a complete interchange-format v1 dataset with labels.csv into `out_dir`.

    Same arguments, same bytes. `events` is the number of look-ups to aim for (the result is
    within a fraction of a percent of it)."""
    if fmt not in FORMATS:
        raise ValueError(
            f"格式須為 {', '.join(FORMATS)} / format must be one of {', '.join(FORMATS)}"
        )
    if events < 1 or days < 1:
        raise ValueError("events 與 days 須為正整數 / events and days must be positive")
    if seed < 0:
        raise ValueError("seed 須為非負整數 / seed must be a non-negative integer")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # A dataset written earlier in another format would leave two versions of each table.
    for name in DATASET_FILES:
        for other in FORMATS:
            if other != fmt and (out / f"{name}.{other}").exists():
                (out / f"{name}.{other}").unlink()
    start = start or DEFAULT_START
    world = build_world(seed, events, days, start)
    plan = plan_misuse(world, np.random.Generator(np.random.PCG64([seed, 1])), events)
    summary = SynthSummary(out, seed, start, days, fmt, staff=len(world.org.staff),
                           persons=len(world.pop))  # fmt: skip
    for name, table in reference.tables(world).items():
        summary.files[name] = write_table(out, name, fmt, table)

    access = TableWriter(out, "access", fmt, ACCESS_SCHEMA)
    labels = TableWriter(out, "labels", fmt, LABEL_SCHEMA)
    records = TableWriter(out, "records", fmt, RECORD_SCHEMA)
    lookups = Lookups(world)
    planned = Records.concat(plan.records)
    if planned is not None:
        records.write(record_table(world, planned, lookups))
    day_weight = np.where(world.workday, 1.0, 0.55 * _police_share(world))
    legit_target = max(0, events - plan.events)
    produced = 0
    # Writing (CSV formatting, compression) runs on a second thread while the next day is
    # generated; one worker keeps the writes in order, two days in flight bound memory.
    pending: deque[Future[None]] = deque()
    with _progress(progress, days) as advance, ThreadPoolExecutor(max_workers=1) as pool:
        for d in range(days):
            remaining_weight = day_weight[d:].sum()
            target = (
                (legit_target - produced) * day_weight[d] / remaining_weight
                if remaining_weight
                else 0
            )
            rng = np.random.Generator(np.random.PCG64([seed, 2, d]))
            ev, rec = legit_day(world, d, rng, target)
            produced += len(ev)
            if target > 0 and len(ev):
                world.events_per_case *= float(np.clip(len(ev) / target, 0.8, 1.25)) ** 0.5
            ev = Events.concat([ev, *plan.events_by_day.get(d, [])])
            rec_table = record_table(world, rec, lookups) if rec is not None else None
            a, lab = access_tables(world, d, ev, lookups)
            while len(pending) >= 2:
                pending.popleft().result()
            pending.append(pool.submit(_write_day, access, labels, records, a, lab, rec_table))
            summary.misuse_events += int(ev.misuse.sum())
            advance()
        while pending:
            pending.popleft().result()
    for w in (access, labels, records):
        w.close()
        summary.files[w.path.name.split(".")[0]] = w.rows
    summary.events = access.rows
    summary.incidents = len(plan.incidents)
    for _incident, scenario in plan.incidents.items():
        summary.incidents_by_scenario[scenario] = summary.incidents_by_scenario.get(scenario, 0) + 1
    return summary


def _write_day(access: TableWriter, labels: TableWriter, records: TableWriter, a: pa.Table,
               lab: pa.Table, rec: pa.Table | None) -> None:  # fmt: skip
    if rec is not None:
        records.write(rec)
    access.write(a)
    labels.write(lab)


def _police_share(world: World) -> float:
    rate = world.staff_rate * world.staff_works
    return float((rate * world.staff_police).sum() / max(rate.sum(), 1e-9))


class _progress:
    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled, self.total = enabled, total

    def __enter__(self) -> Callable[[], None]:
        if not self.enabled:
            return lambda: None
        from rich.progress import Progress

        self._p = Progress()
        self._p.__enter__()
        task = self._p.add_task("產生查詢紀錄 / generating look-ups", total=self.total)
        return lambda: self._p.advance(task)

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._p.__exit__(*exc)


def _ts(seconds: np.ndarray) -> pa.Array:
    mask = seconds < 0
    return pa.array(np.where(mask, 0, seconds).astype("datetime64[s]"), mask=mask)


class Lookups:
    """Arrow dictionaries for turning the integer columns of batches into strings."""

    def __init__(self, world: World) -> None:
        org = world.org
        self.staff_ids = pa.array([s.staff_id for s in org.staff] + [None], pa.string())
        self.unit_ids = pa.array([u.unit_id for u in org.units], pa.string())
        self.kinds = pa.array(KIND_CODES, pa.string())
        self.systems = pa.array(SYSTEM_CODES, pa.string())
        self.actions = pa.array(ACTIONS, pa.string())
        self.scenarios = pa.array(SCENARIOS, pa.string())
        self.purposes = pa.array([*PURPOSE_CODES, None], pa.string())
        self.texts = pa.array([*TEXTS, None], pa.string())
        self.refresh(world)

    def refresh(self, world: World) -> None:
        accounts = world.org.accounts
        self.accounts = pa.array([a.account for a in accounts], pa.string())
        self.terminals = pa.array(
            [
                "batch01.svc" if a.kind == "batch" else world.org.staff[a.staff].terminal
                for a in accounts
            ],
            pa.string(),
        )


def record_table(world: World, r: Records, lk: Lookups) -> pa.Table:
    staff = np.where(r.staff < 0, len(world.org.staff), r.staff)
    return pa.table(
        {
            "record_id": r.record_id,
            "kind": lk.kinds.take(pa.array(r.kind)),
            "subject_id": r.subject,
            "staff_id": lk.staff_ids.take(pa.array(staff)),
            "unit_id": lk.unit_ids.take(pa.array(r.unit)),
            "opened_at": _ts(r.opened),
            "closed_at": _ts(r.closed),
        }
    )


def access_tables(world: World, d: int, ev: Events, lk: Lookups) -> tuple[pa.Table, pa.Table]:
    order = np.lexsort((ev.account, ev.t))
    ev = ev.take(order)
    # Event ids per system: SYSTEM + yyyymmdd + sequence of that system's look-ups that day.
    seq = np.zeros(len(ev), dtype=np.int64)
    for s in range(len(SYSTEM_CODES)):
        mask = ev.system == s
        seq[mask] = np.arange(1, mask.sum() + 1)
    day = world.calendar.days[d].strftime("%Y%m%d")
    sys_names = lk.systems.take(pa.array(ev.system))
    event_id = pc.binary_join_element_wise(
        sys_names, pa.scalar(day), pc.utf8_lpad(pa.array(seq).cast(pa.string()), 7, "0"), ""
    )
    acct = pa.array(ev.account)
    purpose = np.where(ev.purpose < 0, len(PURPOSE_CODES), ev.purpose)
    text = np.where(ev.text < 0, len(TEXTS), ev.text)
    access = pa.table(
        {
            "event_id": event_id,
            "occurred_at": _ts(ev.t),
            "system": sys_names,
            "account": lk.accounts.take(acct),
            "subject_id": ev.subject,
            "action": lk.actions.take(pa.array(ev.action)),
            "purpose_code": lk.purposes.take(pa.array(purpose)),
            "purpose_text": lk.texts.take(pa.array(text)),
            "record_ref": ev.ref,
            "terminal": lk.terminals.take(acct),
            "result_count": pa.array(ev.result.astype(np.int64)),
        }
    )
    labels = pa.table(
        {
            "event_id": event_id,
            "system": sys_names,
            "misuse": pa.array(ev.misuse),
            "scenario": lk.scenarios.take(pa.array(ev.scenario)),
            "incident_id": ev.incident,
        }
    )
    return access, labels
