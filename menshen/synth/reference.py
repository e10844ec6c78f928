"""Reference tables of the world: units, staff, accounts, systems, purposes, persons,
relations, watchlist, calendar, office hours, staff risk register."""

from __future__ import annotations

import datetime as dt

import holidays
import numpy as np
import pyarrow as pa

from menshen.synth.catalog import PURPOSES, ROUND_THE_CLOCK, SYSTEMS
from menshen.synth.world import World

PUBLIC_FIGURES = ("市議員", "立法委員", "里長", "知名藝人", "企業負責人", "新聞人物")
PROTECTED = ("家庭暴力被害人（保護令）", "證人保護對象", "性侵害被害人")


def add_relations_and_watchlist(world: World, rng: np.random.Generator) -> None:
    pop = world.pop
    for idx, s in enumerate(world.org.staff):
        hh = int(pop.household[s.person])
        members = [m for m in range(int(pop.hh_start[hh]), int(pop.hh_start[hh] + pop.hh_size[hh]))]
        first = True
        for m in members:
            if m == s.person or rng.random() > 0.85:
                continue  # not every household member is declared
            rel = (
                "spouse"
                if first and rng.random() < 0.6
                else str(rng.choice(["child", "parent", "household"]))
            )
            first = False
            world.relations.append((idx, m, rel))
        # Relatives living elsewhere, mostly in the same district, sharing the surname.
        for _ in range(int(rng.integers(0, 3))):
            d = int(pop.district[s.person])
            other = int(rng.integers(pop.district_start[d], pop.district_end[d]))
            if other == s.person or pop.household[other] == hh:
                continue
            rel = str(rng.choice(["sibling", "parent", "relative"]))
            if rel != "relative" or rng.random() < 0.5:
                given = pop.name[other].as_py()[1:]
                world.renames[other] = str(pop.surname[s.person]) + given
            world.relations.append((idx, other, rel))
    n = max(8, len(pop) // 25_000)
    taken = set(world.staff_person.tolist())
    picks = [
        int(p) for p in rng.choice(len(pop), size=2 * n + 10, replace=False) if int(p) not in taken
    ]
    for p in picks[:n]:
        world.watchlist.append((p, "public_figure", str(rng.choice(PUBLIC_FIGURES))))
    for p in picks[n : 2 * n]:
        world.watchlist.append((p, "protected", str(rng.choice(PROTECTED))))
    # The confidential staff risk register (列管名冊): a few staff with money trouble.
    for idx in rng.choice(
        len(world.org.staff), size=max(1, len(world.org.staff) // 80), replace=False
    ):
        until = world.start + dt.timedelta(days=int(rng.integers(60, 400)))
        world.staff_risk.append((int(idx), round(float(rng.uniform(1.2, 2.0)), 2), until))


def _dates(values: list[dt.date | None]) -> pa.Array:
    return pa.array(values, pa.date32())


def _times(values: list[dt.datetime | None]) -> pa.Array:
    return pa.array(values, pa.timestamp("s"))


def tables(world: World) -> dict[str, pa.Table]:
    org, pop = world.org, world.pop
    staff_ids = [s.staff_id for s in org.staff]
    persons = pop.table()
    if world.renames:
        names = persons.column("name").to_pylist()
        for index, name in world.renames.items():
            names[index] = name
        persons = persons.set_column(1, "name", pa.array(names, pa.string()))
    staff_names = persons.column("name").take(pa.array(world.staff_person))
    years = sorted({d.year for d in world.calendar.days})
    zh = holidays.country_holidays("TW", years=years, language="zh_TW")
    notes = []
    for day, info in zip(world.calendar.days, world.calendar.info, strict=True):
        if info.note in ("補行上班", "調整放假"):
            notes.append(info.note)
        elif not info.is_workday and day in zh:
            notes.append(str(zh[day]))
        else:
            notes.append("")
    return {
        "units": pa.table({
            "unit_id": [u.unit_id for u in org.units],
            "name": [u.name for u in org.units],
            "parent_unit_id": pa.array([u.parent or None for u in org.units], pa.string()),
        }),
        "staff": pa.table({
            "staff_id": staff_ids,
            "name": staff_names,
            "national_id": pop.person_id.take(pa.array(world.staff_person)),
            "unit_id": [org.units[s.unit].unit_id for s in org.staff],
            "title": [s.title for s in org.staff],
            "employment": [s.employment for s in org.staff],
            "supervisor_id": pa.array([staff_ids[s.supervisor] if s.supervisor >= 0 else None for s in org.staff], pa.string()),
            "active_from": _dates([s.active_from for s in org.staff]),
            "active_to": _dates([s.active_to for s in org.staff]),
        }),
        "accounts": pa.table({
            "system": [a.system for a in org.accounts],
            "account": [a.account for a in org.accounts],
            "staff_id": [staff_ids[a.staff] for a in org.accounts],
            "granted_at": _times([a.granted_at for a in org.accounts]),
            "revoked_at": _times([a.revoked_at for a in org.accounts]),
        }),
        "systems": pa.table({
            "system": list(SYSTEMS),
            "name": [v[0] for v in SYSTEMS.values()],
            "sensitivity": [v[1] for v in SYSTEMS.values()],
        }),
        "purposes": _purposes(world),
        "persons": persons,
        "relations": pa.table({
            "staff_id": pa.array([staff_ids[s] for s, _, _ in world.relations], pa.string()),
            "person_id": pop.person_id.take(pa.array([p for _, p, _ in world.relations], pa.int64())),
            "relation": pa.array([r for _, _, r in world.relations], pa.string()),
        }),
        "watchlist": pa.table({
            "person_id": pop.person_id.take(pa.array([p for p, _, _ in world.watchlist], pa.int64())),
            "category": pa.array([c for _, c, _ in world.watchlist], pa.string()),
            "note": pa.array([n for _, _, n in world.watchlist], pa.string()),
        }),
        "calendar": pa.table({
            "date": _dates(world.calendar.days),
            "is_workday": pa.array([int(i.is_workday) for i in world.calendar.info], pa.int8()),
            "note": pa.array([n or None for n in notes], pa.string()),
        }),
        "office_hours": pa.table({
            "unit_id": [u.unit_id for u in org.units],
            "start": ["00:00" if u.kind in ROUND_THE_CLOCK else "08:00" for u in org.units],
            "end": ["23:59" if u.kind in ROUND_THE_CLOCK else "17:30" for u in org.units],
        }),
        "staff_risk": pa.table({
            "staff_id": pa.array([staff_ids[s] for s, _, _ in world.staff_risk], pa.string()),
            "weight": pa.array([w for _, w, _ in world.staff_risk], pa.float64()),
            "until": _dates([u for _, _, u in world.staff_risk]),
        }),
    }  # fmt: skip


def _purposes(world: World) -> pa.Table:
    kinds_to_units: dict[str, list[str]] = {}
    for u in world.org.units:
        kinds_to_units.setdefault(u.kind, []).append(u.unit_id)
    allowed = []
    for p in PURPOSES:
        units = [uid for kind in p.allowed_kinds for uid in kinds_to_units.get(kind, [])]
        allowed.append(";".join(units) if units else None)
    return pa.table({
        "system": [p.system for p in PURPOSES],
        "purpose_code": [p.code for p in PURPOSES],
        "description": [p.description for p in PURPOSES],
        "evidence_kind": pa.array([p.evidence_kind or None for p in PURPOSES], pa.string()),
        "window_before_days": pa.array([p.before for p in PURPOSES], pa.int64()),
        "window_after_days": pa.array([p.after for p in PURPOSES], pa.int64()),
        "allowed_units": pa.array(allowed, pa.string()),
        "scope": [p.scope for p in PURPOSES],
    })  # fmt: skip
