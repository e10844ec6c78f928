"""The agency: units in a hierarchy, staff (drawn from the population), accounts.

Layout (per district 區, up to 37 districts of Tainan):
臺南市政府 ─ 民政局 ─ xx區戶政事務所 ─ 戶籍課, 資訊課
           ─ 勞工局 ─ 就業服務中心 ─ xx就業服務站
           ─ 警察局 ─ xx分局 ─ 偵查隊, 派出所 × k
           ─ xx區公所 ─ 民政課, 社會課
           ─ 政風處
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from menshen.synth.catalog import UNIT_SYSTEMS

DISTRICTS = [
    "東區",
    "南區",
    "北區",
    "安南區",
    "安平區",
    "中西區",
    "永康區",
    "歸仁區",
    "新化區",
    "左鎮區",
    "玉井區",
    "楠西區",
    "南化區",
    "仁德區",
    "關廟區",
    "龍崎區",
    "官田區",
    "麻豆區",
    "佳里區",
    "西港區",
    "七股區",
    "將軍區",
    "學甲區",
    "北門區",
    "新營區",
    "後壁區",
    "白河區",
    "東山區",
    "六甲區",
    "下營區",
    "柳營區",
    "鹽水區",
    "善化區",
    "大內區",
    "山上區",
    "新市區",
    "安定區",
]
STATION_NAMES = [
    "中正",
    "中山",
    "民權",
    "建國",
    "復興",
    "文化",
    "光復",
    "和平",
    "成功",
    "大同",
    "長榮",
    "信義",
    "勝利",
    "忠孝",
]

# leaf unit kind -> (share of district staff, minimum size, employment shares p/c/t)
LEAF_SHARES: dict[str, tuple[float, int, tuple[float, float, float]]] = {
    "hr_reg": (0.27, 3, (0.72, 0.13, 0.15)),
    "hr_it": (0.03, 1, (0.8, 0.2, 0.0)),
    "emp_station": (0.14, 3, (0.4, 0.42, 0.18)),
    "police_inv": (0.08, 2, (1.0, 0.0, 0.0)),
    "police_station": (0.31, 3, (1.0, 0.0, 0.0)),
    "civil": (0.07, 2, (0.8, 0.15, 0.05)),
    "social": (0.10, 2, (0.5, 0.35, 0.15)),
}
TITLES: dict[str, tuple[str, tuple[str, ...]]] = {  # kind -> (head title, member titles)
    "hr_reg": ("課長", ("課員", "辦事員", "書記")),
    "hr_it": ("課長", ("管理師", "設計師")),
    "emp_station": ("站長", ("就業服務員", "業務輔導員")),
    "police_inv": ("隊長", ("小隊長", "偵查佐")),
    "police_station": ("所長", ("巡佐", "警員", "警員", "副所長")),
    "civil": ("課長", ("課員", "辦事員")),
    "social": ("課長", ("課員", "社工員")),
    "hr_office": ("主任", ()),
    "police_branch": ("分局長", ()),
    "district_office": ("區長", ()),
    "bureau": ("局長", ()),
    "esc": ("主任", ()),
    "city": ("秘書長", ()),
    "ethics": ("處長", ("政風人員",)),
}
EMPLOYMENT = ("permanent", "contract", "temporary")
LEAVERS_BEFORE = 0.02  # share of staff who left before the period (accounts may linger)
LEAVERS_DURING = 0.015
JOINERS_DURING = 0.02


@dataclass
class Unit:
    unit_id: str
    name: str
    parent: str
    kind: str
    district: int  # -1 for city-level units
    head: int = -1  # staff index


@dataclass
class Staff:
    staff_id: str
    person: int  # population index
    unit: int
    title: str
    employment: str
    supervisor: int  # staff index or -1
    active_from: dt.date
    active_to: dt.date | None
    terminal: str
    rate: float  # relative daily workload
    is_head: bool = False


@dataclass
class Account:
    system: str
    account: str
    staff: int
    granted_at: dt.datetime
    revoked_at: dt.datetime | None
    kind: str = "user"  # user | batch | dormant


@dataclass
class Org:
    units: list[Unit] = field(default_factory=list)
    staff: list[Staff] = field(default_factory=list)
    accounts: list[Account] = field(default_factory=list)

    def add_unit(self, unit_id: str, name: str, parent: str, kind: str, district: int) -> int:
        self.units.append(Unit(unit_id, name, parent, kind, district))
        return len(self.units) - 1


def _pick_people(rng: np.random.Generator, taken: set[int], lo: int, hi: int, n: int) -> list[int]:
    out: list[int] = []
    while len(out) < n:
        p = int(rng.integers(lo, hi))
        if p not in taken:
            taken.add(p)
            out.append(p)
    return out


def build_org(
    rng: np.random.Generator,
    n_staff: int,
    districts: int,
    start: dt.date,
    days: int,
    district_start: np.ndarray,
    district_end: np.ndarray,
) -> Org:
    org = Org()
    city = org.add_unit("TN", "臺南市政府", "", "city", -1)
    ca = org.add_unit("TN-CA", "臺南市政府民政局", "TN", "bureau", -1)
    lb = org.add_unit("TN-LB", "臺南市政府勞工局", "TN", "bureau", -1)
    esc = org.add_unit("TN-LB-ESC", "臺南市政府勞工局就業服務中心", "TN-LB", "esc", -1)
    pd = org.add_unit("TN-PD", "臺南市政府警察局", "TN", "bureau", -1)
    eth = org.add_unit("TN-ETH", "臺南市政府政風處", "TN", "ethics", -1)
    leaf_sizes: dict[int, int] = {}
    per_district = n_staff / districts
    for d in range(districts):
        name = DISTRICTS[d]
        short = name[:-1] if len(name) > 2 else name
        code = f"TN-D{d + 1:02d}"
        hr = org.add_unit(f"{code}-HR", f"臺南市{name}戶政事務所", "TN-CA", "hr_office", d)
        es_id = f"{code}-ES"
        po = org.add_unit(f"{code}-PB", f"臺南市政府警察局{short}分局", "TN-PD", "police_branch", d)
        do = org.add_unit(f"{code}-DO", f"臺南市{name}公所", "TN", "district_office", d)
        sizes = {
            kind: max(minimum, round(per_district * share))
            for kind, (share, minimum, _) in LEAF_SHARES.items()
        }
        leaf_sizes[org.add_unit(f"{code}-HR-REG", "戶籍課", org.units[hr].unit_id, "hr_reg", d)] = (
            sizes["hr_reg"]
        )
        leaf_sizes[org.add_unit(f"{code}-HR-IT", "資訊課", org.units[hr].unit_id, "hr_it", d)] = (
            sizes["hr_it"]
        )
        leaf_sizes[org.add_unit(es_id, f"{short}就業服務站", "TN-LB-ESC", "emp_station", d)] = (
            sizes["emp_station"]
        )
        leaf_sizes[
            org.add_unit(f"{code}-PB-INV", "偵查隊", org.units[po].unit_id, "police_inv", d)
        ] = sizes["police_inv"]
        n_stations = max(1, round(sizes["police_station"] / 14))
        for k in range(n_stations):
            size = max(3, round(sizes["police_station"] / n_stations))
            sname = STATION_NAMES[k % len(STATION_NAMES)] + (
                "" if k < len(STATION_NAMES) else str(k)
            )
            uid = org.add_unit(
                f"{code}-PB-S{k + 1:02d}",
                f"{sname}派出所",
                org.units[po].unit_id,
                "police_station",
                d,
            )
            leaf_sizes[uid] = size
        leaf_sizes[org.add_unit(f"{code}-DO-CIV", "民政課", org.units[do].unit_id, "civil", d)] = (
            sizes["civil"]
        )
        leaf_sizes[org.add_unit(f"{code}-DO-SOC", "社會課", org.units[do].unit_id, "social", d)] = (
            sizes["social"]
        )
    del city, ca, lb, esc, pd

    taken: set[int] = set()
    end = start + dt.timedelta(days=days - 1)
    unit_index = {u.unit_id: i for i, u in enumerate(org.units)}

    def district_of(u: Unit) -> int:
        return u.district if u.district >= 0 else int(rng.integers(0, districts))

    unit_counts: dict[int, int] = {}

    def new_staff(u_idx: int, title: str, employment: str, is_head: bool) -> int:
        unit = org.units[u_idx]
        d = district_of(unit)
        # Most staff live in the district they serve; some commute.
        if rng.random() > 0.8:
            d = int(rng.integers(0, districts))
        (person,) = _pick_people(rng, taken, int(district_start[d]), int(district_end[d]), 1)
        years = {"permanent": 14.0, "contract": 4.0, "temporary": 0.8}[employment]
        tenure = int(rng.exponential(years * 365)) + 30
        staff_idx = len(org.staff)
        unit_counts[u_idx] = unit_counts.get(u_idx, 0) + 1
        host = unit_counts[u_idx] + 10
        org.staff.append(
            Staff(
                staff_id=f"S{staff_idx + 1:06d}",
                person=person,
                unit=u_idx,
                title=title
                if employment == "permanent" or is_head
                else {"contract": "約用人員", "temporary": "臨時人員"}[employment],
                employment=employment,
                supervisor=-1,
                active_from=start - dt.timedelta(days=min(tenure, 12000)),
                active_to=None,
                terminal=f"10.{max(unit.district, 0) + 1}.{u_idx % 250 + 1}.{host}",
                rate=float(rng.lognormal(0.0, 0.35)) * (0.15 if is_head else 1.0),
                is_head=is_head,
            )
        )
        return staff_idx

    for u_idx, unit in enumerate(org.units):
        head_title, member_titles = TITLES[unit.kind]
        unit.head = new_staff(u_idx, head_title, "permanent", True)
        if unit.kind == "ethics":
            for _ in range(2):
                new_staff(u_idx, "政風人員", "permanent", False)
        size = leaf_sizes.get(u_idx, 0)
        if size:
            shares = LEAF_SHARES[unit.kind][2]
            kinds = rng.choice(3, size=size - 1, p=shares)
            if unit.kind in {"emp_station", "hr_reg"} and 2 not in kinds:
                kinds[-1] = 2  # every counter unit has at least one temporary worker
            for k in kinds:
                new_staff(u_idx, str(rng.choice(member_titles)), EMPLOYMENT[int(k)], False)
    del eth

    # Supervisors: the unit head; a head reports to the head of the parent unit.
    for s in org.staff:
        unit = org.units[s.unit]
        if s.is_head:
            s.supervisor = org.units[unit_index[unit.parent]].head if unit.parent else -1
        else:
            s.supervisor = unit.head

    # Departures and arrivals (never a head, to keep the hierarchy whole).
    members = [i for i, s in enumerate(org.staff) if not s.is_head]
    order = rng.permutation(members)
    n_before = max(2, round(len(members) * LEAVERS_BEFORE))
    n_during = max(2, round(len(members) * LEAVERS_DURING))
    n_join = max(1, round(len(members) * JOINERS_DURING))
    for i in order[:n_before]:
        org.staff[int(i)].active_to = start - dt.timedelta(days=int(rng.integers(5, 200)))
    for i in order[n_before : n_before + n_during]:
        org.staff[int(i)].active_to = start + dt.timedelta(
            days=int(rng.integers(1, max(2, days - 2)))
        )
    for i in order[n_before + n_during : n_before + n_during + n_join]:
        org.staff[int(i)].active_from = start + dt.timedelta(
            days=int(rng.integers(1, max(2, days - 2)))
        )
    for s in org.staff:
        if s.active_to is not None and s.active_to <= s.active_from:
            s.active_from = s.active_to - dt.timedelta(days=400)
    _build_accounts(rng, org, start, end)
    return org


def _at(day: dt.date, hour: int, minute: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute))


def _build_accounts(rng: np.random.Generator, org: Org, start: dt.date, end: dt.date) -> None:
    prefix = {"RIS": "ris", "LIQ": "lq", "PKN": "pk", "CRS": "crs", "PET": "pet"}
    for idx, s in enumerate(org.staff):
        unit = org.units[s.unit]
        systems = UNIT_SYSTEMS.get(unit.kind, ())
        for system in systems:
            if system == "CRS" and unit.kind == "hr_reg" and not (s.is_head or rng.random() < 0.3):
                continue  # criminal records only for designated household clerks
            if system == "LIQ" and unit.kind == "social" and rng.random() < 0.4:
                continue
            if system == "PET" and rng.random() < 0.3:
                continue
            granted = s.active_from + dt.timedelta(days=int(rng.integers(0, 5)))
            if s.active_from < start and rng.random() < 0.03:
                # a privilege granted during the period to someone already serving
                granted = start + dt.timedelta(
                    days=int(rng.integers(1, max(2, (end - start).days)))
                )
            revoked = None
            # Most accounts are revoked on departure; some linger (a finding in itself).
            if s.active_to is not None and rng.random() < 0.75:
                revoked = _at(s.active_to + dt.timedelta(days=int(rng.integers(0, 3))), 17, 0)
            org.accounts.append(
                Account(
                    system,
                    f"{prefix[system]}{idx + 1:05d}",
                    idx,
                    _at(granted, 9, int(rng.integers(0, 59))),
                    revoked,
                )
            )
        # A few staff still hold an account of a post they left years ago: never used.
        span = (start - dt.timedelta(days=200) - s.active_from).days
        if not s.is_head and span > 200 and rng.random() < 0.03:
            system = str(rng.choice(["RIS", "LIQ", "PET"]))
            if system not in systems:
                granted = s.active_from + dt.timedelta(days=int(rng.integers(0, span)))
                org.accounts.append(
                    Account(
                        system,
                        f"{prefix[system]}{idx + 1:05d}",
                        idx,
                        _at(granted, 10, 0),
                        None,
                        "dormant",
                    )
                )
    # Nightly batch (service) accounts of the social-affairs sections, held by their head.
    for unit in org.units:
        if unit.kind == "social":
            head = org.staff[unit.head]
            org.accounts.append(
                Account(
                    "LIQ",
                    f"svc_batch_{unit.unit_id.lower().replace('-', '_')}",
                    unit.head,
                    _at(head.active_from, 10, 0),
                    None,
                    "batch",
                )
            )
