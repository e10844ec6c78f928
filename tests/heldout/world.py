"""An independent, held-out labelled world in the interchange format (version 1).

Written from the product documents only (brief, interchange format, anchors), without
reading menshen's own generator or rules, to check that menshen generalises.

The agency: a city's civil-affairs and labour bureau (民政及勞動局) with three district
household-registration offices (each a registration section and an administration section),
employment service stations staffed largely by temporary workers, an occupational-injury
claims desk, social-assistance teams, and bureau divisions. Five systems with their own
codes, purposes and record kinds; unit-specific office hours (one office runs an evening
counter until 20:00); part-time temporary staff; hires and departures inside the window.

Legitimate work is justified in the ways the format allows: the user's own record opened
before or after the look-up, a record of the user's unit, a household-scoped record,
list screens, continuation look-ups, purposes needing no record, claims opened long ago
and still open. Honest noise is labelled as its own legitimate scenarios: look-ups whose
record was never keyed in, overtime just after closing or before opening, and a Saturday
service morning. Misuse follows the brief's catalogue, several incidents per scenario.

Every event is labelled (labels.csv); legitimate scenarios are named so that the false
alarms of each kind of legitimate work can be read separately.

Usage: python -m tests.heldout.world OUT_DIR [--seed N] [--size full|small]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from menshen import ids

# ---------------------------------------------------------------------------------------
# Reference data of the agency
# ---------------------------------------------------------------------------------------

SURNAMES = [
    ("陳", 11.1), ("林", 8.3), ("黃", 6.0), ("張", 5.3), ("李", 5.1), ("王", 4.1),
    ("吳", 4.0), ("劉", 3.2), ("蔡", 2.9), ("楊", 2.6), ("許", 2.3), ("鄭", 1.9),
    ("謝", 1.8), ("郭", 1.7), ("洪", 1.6), ("曾", 1.4), ("邱", 1.4), ("廖", 1.3),
    ("賴", 1.3), ("徐", 1.2), ("周", 1.2), ("葉", 1.2), ("蘇", 1.1), ("莊", 1.0),
    ("呂", 1.0), ("江", 0.9), ("何", 0.9), ("蕭", 0.8), ("羅", 0.8), ("高", 0.8),
    ("潘", 0.6), ("簡", 0.6), ("朱", 0.6), ("鍾", 0.6), ("游", 0.5), ("彭", 0.5),
    ("詹", 0.5), ("施", 0.4), ("沈", 0.4), ("余", 0.4),
]  # fmt: skip
GIVEN_CHARS = (
    "志明俊傑家豪建宏冠廷承恩宇軒柏翰怡君雅婷淑芬美玲佳穎欣詩涵宜蓁子晴品妤文彬惠秀英麗華國耀宗信"
)

# Districts served: code -> (name, villages, neighbourhoods per village). Address codes are
# neighbourhood-level (村里-鄰), opaque to menshen.
DISTRICTS = {"E": ("東區", 15, 18), "N": ("北區", 12, 16), "A": ("安南區", 17, 14)}
ELSEWHERE = ["64K", "63T", "66C", "65N"]  # other cities, for staff and movers

# unit_id, name, parent, office hours
UNITS = [
    ("CA00", "民政及勞動局", "", ("08:30", "17:30")),
    ("CA10", "戶政科", "CA00", ("08:30", "17:30")),
    ("CA20", "勞動科", "CA00", ("08:30", "17:30")),
    ("CA30", "社會救助科", "CA00", ("08:30", "17:30")),
    ("CA90", "政風室", "CA00", ("08:30", "17:30")),
    ("HE01", "東區戶政事務所", "CA10", ("08:00", "17:00")),
    ("HE01-R", "東區戶政事務所登記課", "HE01", ("08:00", "20:00")),  # evening counter
    ("HE01-A", "東區戶政事務所行政課", "HE01", ("08:00", "17:00")),
    ("HN02", "北區戶政事務所", "CA10", ("08:00", "17:00")),
    ("HN02-R", "北區戶政事務所登記課", "HN02", ("08:00", "17:00")),
    ("HN02-A", "北區戶政事務所行政課", "HN02", ("08:00", "17:00")),
    ("HA03", "安南區戶政事務所", "CA10", ("08:00", "17:00")),
    ("HA03-R", "安南區戶政事務所登記課", "HA03", ("07:45", "16:45")),
    ("HA03-A", "安南區戶政事務所行政課", "HA03", ("08:00", "17:00")),
    ("JS-1", "東區就業服務台", "CA20", ("08:30", "17:30")),
    ("JS-2", "安南就業服務台", "CA20", ("09:00", "18:00")),
    ("LI-C", "職災補助股", "CA20", ("08:30", "17:30")),
    ("SW-E", "社會救助東區組", "CA30", ("08:00", "17:30")),
    ("SW-N", "社會救助北區組", "CA30", ("08:00", "17:30")),
]
HRO_REG = ["HE01-R", "HN02-R", "HA03-R"]
HRO_ADM = ["HE01-A", "HN02-A", "HA03-A"]
UNIT_DISTRICT = {"HE01": "E", "HN02": "N", "HA03": "A", "JS-1": "E", "JS-2": "A"}

SYSTEMS = [
    ("HRIS", "戶役政資訊系統", "high"),
    ("LIQ", "勞保資料查詢作業", "high"),
    ("SWIS", "社福資訊整合系統", "medium"),
    ("MOJCR", "法務部刑案資料查詢", "high"),
    ("DOORP", "門牌管理系統", "low"),
]

_ALL_HR_REG = ";".join(HRO_REG)
_SW = "SW-E;SW-N;CA30"
# system, code, description, evidence_kind, before, after, allowed_units, scope
PURPOSES = [
    ("HRIS", "01", "戶籍登記案件", "hh_reg_app", 3, 7, "", "person"),
    ("HRIS", "02", "印鑑登記及證明", "seal_cert", 1, 2, "", "person"),
    ("HRIS", "03", "戶籍謄本申請", "transcript_req", 0, 1, "", "person"),
    ("HRIS", "04", "臨櫃民眾諮詢", "", 0, 0, "", ""),
    ("HRIS", "05", "戶口清查", "hh_survey", 20, 20, "", "household"),
    ("HRIS", "06", "社會救助家戶查核", "income_review", 30, 10, _SW, "household"),
    ("HRIS", "09", "戶政稽核抽查", "", 0, 0, "CA10;CA90", ""),
    ("LIQ", "A1", "依民眾授權查詢勞保資料之求職登記表辦理", "job_reg", 5, 1, "JS-1;JS-2;CA20", "person"),
    ("LIQ", "A2", "職災補助審核", "injury_claim", 90, 14, "LI-C;CA20", "person"),
    ("LIQ", "A3", "低收入戶家戶所得審查", "income_review", 30, 10, _SW, "household"),
    ("SWIS", "S01", "社會救助申請", "income_review", 30, 10, "", "household"),
    ("SWIS", "S02", "急難救助", "emergency_aid", 2, 5, "", "person"),
    ("SWIS", "S03", "個案訪視", "", 0, 0, "", ""),
    ("MOJCR", "N", "姓名變更案件", "name_change", 10, 2, _ALL_HR_REG, "person"),
    ("MOJCR", "C", "國籍變更案件", "nationality_change", 10, 2, _ALL_HR_REG, "person"),
    ("MOJCR", "I", "統一編號變更案件", "id_change", 10, 2, _ALL_HR_REG, "person"),
    ("DOORP", "P1", "門牌整編", "doorplate_case", 15, 15, "", "household"),
    ("DOORP", "P2", "門牌證明", "doorplate_cert", 1, 1, "", "person"),
]  # fmt: skip
PURPOSE = {(p[0], p[1]): p for p in PURPOSES}

# Windows of the government office calendar; the world's calendar.csv is the truth.
WINDOWS = [
    (date(2025, 1, 13), 5, "gov-utf8"),  # Lunar New Year, make-up Saturday 2025-02-08
    (date(2025, 9, 15), 5, "plain"),  # 2025 revised holidays 09-29, 10-06, 10-10, 10-24
    (date(2026, 2, 2), 5, "gov-big5"),  # 2026 Lunar New Year, not in the shipped calendar
]
OFF_2026 = {
    date(2026, 1, 1): "開國紀念日", date(2026, 2, 16): "農曆除夕", date(2026, 2, 17): "春節",
    date(2026, 2, 18): "春節", date(2026, 2, 19): "春節", date(2026, 2, 20): "補假",
    date(2026, 2, 27): "補假", date(2026, 4, 3): "補假", date(2026, 4, 6): "補假",
}  # fmt: skip
GOV_CALENDAR_2025 = Path("/work/shared/data/calendar/114年中華民國政府行政機關辦公日曆表修正版.csv")
OFF_2025 = {
    date(2025, 1, 1): "開國紀念日", date(2025, 1, 27): "小年夜", date(2025, 1, 28): "農曆除夕",
    date(2025, 1, 29): "春節", date(2025, 1, 30): "春節", date(2025, 1, 31): "春節",
    date(2025, 2, 28): "和平紀念日", date(2025, 4, 3): "補假", date(2025, 4, 4): "兒童節及民族掃墓節",
    date(2025, 5, 30): "補假", date(2025, 9, 29): "", date(2025, 10, 6): "中秋節",
    date(2025, 10, 10): "國慶日", date(2025, 10, 24): "", date(2025, 12, 25): "行憲紀念日",
}  # fmt: skip
MAKEUP = {date(2025, 2, 8): "補行上班"}
WEEKDAY_ZH = "一二三四五六日"


@dataclass
class Person:
    pid: str
    name: str
    surname: str
    household: str
    address: str


@dataclass
class Staff:
    sid: str
    person: Person
    unit: str
    role: str
    title: str
    employment: str
    supervisor: str = ""
    active_from: date | None = None
    active_to: date | None = None
    accounts: dict[str, str] = field(default_factory=dict)
    granted: dict[str, date] = field(default_factory=dict)
    revoked: dict[str, date] = field(default_factory=dict)
    terminal: str = ""
    workdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    half_day: bool = False
    load: float = 1.0


@dataclass
class Size:
    persons: int
    staff_factor: float
    weeks: int | None
    cases_factor: float
    incident_factor: float


SIZES = {
    "full": Size(
        persons=26000, staff_factor=1.0, weeks=None, cases_factor=0.75, incident_factor=1.0
    ),
    "small": Size(persons=7000, staff_factor=0.45, weeks=2, cases_factor=0.6, incident_factor=0.5),
}

# Legitimate-noise rates (per case / per staff-day).
NOISE_NO_RECORD = 0.003  # a case whose record was never keyed in
OVERTIME_PER_STAFF_DAY = 0.02  # one case just after closing or before opening


def _fmt_ts(t: datetime, offset: bool = False) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ("+08:00" if offset else "")


def _hm(text: str) -> time:
    h, m = text.split(":")
    return time(int(h), int(m))


class World:
    def __init__(self, seed: int = 1, size: str = "full") -> None:
        self.seed = seed
        self.size = SIZES[size]
        self.rng = random.Random(f"heldout-{seed}")
        start, weeks, self.calendar_style = WINDOWS[seed % len(WINDOWS)]
        self.start = start
        self.days = [start + timedelta(days=i) for i in range(7 * (self.size.weeks or weeks))]
        self.end = self.days[-1]
        self.roc = start.year - 1911
        self.hours = {u[0]: (_hm(u[3][0]), _hm(u[3][1])) for u in UNITS}
        self.persons: list[Person] = []
        self.by_id: dict[str, Person] = {}
        self.households: dict[str, list[Person]] = defaultdict(list)
        self.staff: list[Staff] = []
        self.relations: list[tuple[str, str, str]] = []
        self.watchlist: list[tuple[str, str, str]] = []
        self.records: list[dict[str, str]] = []
        self.access: list[dict[str, Any]] = []
        self.labels: list[dict[str, Any]] = []
        self.counters: Counter[str] = Counter()
        self.busy_subjects: set[str] = set()  # subjects with a record or a legit look-up
        self.busy_households: set[str] = set()
        self.unit_records: dict[str, list[tuple[str, str, str, datetime]]] = defaultdict(list)
        self.incidents: dict[str, dict[str, Any]] = {}
        self.unknown_accounts: list[tuple[str, str]] = []

    # ---- calendar -----------------------------------------------------------------
    def is_workday(self, d: date) -> bool:
        if d in MAKEUP:
            return True
        if d in OFF_2025 or d in OFF_2026:
            return False
        return d.weekday() < 5

    def workdays(self) -> list[date]:
        return [d for d in self.days if self.is_workday(d)]

    # ---- people ---------------------------------------------------------------------
    def new_id(self) -> str:
        rng = self.rng
        while True:
            r = rng.random()
            if r < 0.02:
                pid = ids.generate_resident_id(rng, "new")
            elif r < 0.03:
                pid = ids.generate_resident_id(rng, "old")
            else:
                letter = rng.choices(["D", "R", "E", "A", "S"], [50, 30, 8, 7, 5])[0]
                pid = ids.generate_national_id(rng, letter=letter)
            if pid not in self.by_id:
                assert ids.is_valid(pid)
                return pid

    def surname(self) -> str:
        return self.rng.choices([s for s, _ in SURNAMES], [w for _, w in SURNAMES])[0]

    def add_person(self, surname: str, household: str, address: str) -> Person:
        given = "".join(self.rng.choice(GIVEN_CHARS) for _ in range(self.rng.choice((1, 2, 2, 2))))
        p = Person(self.new_id(), surname + given, surname, household, address)
        self.persons.append(p)
        self.by_id[p.pid] = p
        self.households[household].append(p)
        return p

    def address(self, district: str | None = None) -> str:
        rng = self.rng
        if district is None:
            if rng.random() < 0.08:
                return (
                    f"{rng.choice(ELSEWHERE)}{rng.randrange(1, 40):02d}-{rng.randrange(1, 25):02d}"
                )
            district = rng.choice(list(DISTRICTS))
        _, villages, nbhds = DISTRICTS[district]
        return f"67{district}{rng.randrange(1, villages + 1):02d}-{rng.randrange(1, nbhds + 1):02d}"

    def add_household(
        self,
        district: str | None = None,
        size: int | None = None,
        surname: str | None = None,
        address: str | None = None,
    ) -> list[Person]:
        rng = self.rng
        self.counters["household"] += 1
        hh = f"HH{self.seed:02d}{self.counters['household']:07d}"
        addr = address or self.address(district)
        size = size or rng.choices([1, 2, 3, 4, 5, 6], [22, 26, 20, 18, 9, 5])[0]
        head_surname = surname or self.surname()
        members = [self.add_person(head_surname, hh, addr)]
        if size >= 2:  # spouse keeps their own surname (mostly different)
            members.append(self.add_person(self.surname(), hh, addr))
        for _ in range(size - 2):
            members.append(self.add_person(head_surname, hh, addr))
        return members

    def build_population(self) -> None:
        while len(self.persons) < self.size.persons:
            self.add_household()
        self.residents = list(self.persons)
        self.by_district: dict[str, list[Person]] = defaultdict(list)
        for p in self.residents:
            self.by_district[p.address[2] if p.address.startswith("67") else "X"].append(p)
        figures = self.rng.sample(self.residents, 6)
        for p in figures:
            self.watchlist.append((p.pid, "public_figure", "民意代表或知名人士"))
        protected = self.rng.sample(self.residents, 5)
        for p in protected:
            self.watchlist.append((p.pid, "protected", "家庭暴力被害人，戶籍資料限制閱覽"))
        self.figures = figures
        self.protected = protected
        for p in figures + protected:
            self.busy_households.add(p.household)

    # ---- staff ----------------------------------------------------------------------
    def build_staff(self) -> None:
        rng = self.rng
        f = self.size.staff_factor
        plan = [  # unit, role, count, share temporary/contract
            ("CA00", "head", 1, 0.0), ("CA10", "auditor", 3, 0.0), ("CA20", "head", 2, 0.0),
            ("CA30", "head", 2, 0.0), ("CA90", "ethics", 2, 0.0),
        ]  # fmt: skip
        for u in HRO_REG:
            plan.append((u, "counter", max(3, round(11 * f)), 0.25))
        for u in HRO_ADM:
            plan.append((u, "admin", max(2, round(3 * f)), 0.2))
        plan += [
            ("JS-1", "ess", max(3, round(8 * f)), 0.7), ("JS-2", "ess", max(3, round(7 * f)), 0.7),
            ("LI-C", "claims", max(2, round(6 * f)), 0.2),
            ("SW-E", "social", max(3, round(8 * f)), 0.3), ("SW-N", "social", max(3, round(7 * f)), 0.3),
        ]  # fmt: skip
        heads: dict[str, str] = {}
        n = 0
        for unit, role, count, temp_share in plan:
            for i in range(count):
                n += 1
                district = UNIT_DISTRICT.get(unit.split("-")[0] if unit.startswith("H") else unit)
                home_district = district if rng.random() < 0.55 else None
                family = self.add_household(home_district, size=rng.choice([1, 2, 3, 3, 4, 5]))
                me = family[0] if rng.random() < 0.6 or len(family) == 1 else family[1]
                is_head = i == 0 and role in {"counter", "ess", "social", "claims", "admin"}
                if is_head:
                    employment, title = "permanent", "課長" if unit.startswith("H") else "組長"
                elif rng.random() < temp_share:
                    employment = rng.choice(["temporary", "contract", "temporary"])
                    title = "約聘人員" if employment == "contract" else "臨時人員"
                else:
                    employment, title = "permanent", rng.choice(["科員", "辦事員", "課員", "專員"])
                s = Staff(
                    sid=f"T{self.seed:02d}{n:04d}", person=me, unit=unit, role=role,
                    title=title, employment=employment,
                    active_from=self.start - timedelta(days=rng.randrange(120, 6000)),
                )  # fmt: skip
                if employment == "temporary" and rng.random() < 0.5:
                    s.workdays = tuple(sorted(rng.sample(range(5), 3)))
                    s.half_day = rng.random() < 0.4
                s.load = rng.uniform(0.65, 1.35) * (0.8 if employment == "temporary" else 1.0)
                s.terminal = (
                    f"{unit}-PC{rng.randrange(1, 60):02d}" if rng.random() < 0.7
                    else f"10.{67 + n % 3}.{rng.randrange(1, 250)}.{rng.randrange(2, 250)}"
                )  # fmt: skip
                if is_head or (role in {"head", "auditor", "ethics"} and i == 0):
                    heads[unit] = s.sid
                    if is_head:
                        s.role = "head"
                    else:
                        s.title = "科長" if role != "ethics" else "主任"
                self.staff.append(s)
                # declared relations (conflict-of-interest declarations), partial
                for member in self.households[me.household]:
                    if member is not me and rng.random() < 0.7:
                        rel = (
                            "spouse"
                            if member.surname != me.surname
                            else rng.choice(["child", "parent"])
                        )
                        self.relations.append((s.sid, member.pid, rel))
        parent = {u[0]: u[2] for u in UNITS}
        for s in self.staff:
            u = s.unit
            sup = heads.get(u)
            while (not sup or sup == s.sid) and u:
                u = parent.get(u, "")
                sup = heads.get(u)
            s.supervisor = sup or ""
        self.assign_accounts()
        # one hire and one departure inside the window (legitimate), and the staff whose
        # accounts are misused later (decided now so that their legitimate work respects it)
        late = [s for s in self.staff if s.role in {"counter", "ess"}]
        hire, leaver, revoked_used, dangling, early = rng.sample(late, 5)
        hire.active_from = self.days[rng.randrange(3, 8)]
        for sys_ in hire.accounts:
            hire.granted[sys_] = hire.active_from
        leaver.active_to = self.days[rng.randrange(len(self.days) // 2, len(self.days) - 3)]
        for sys_ in leaver.accounts:
            leaver.revoked[sys_] = leaver.active_to + timedelta(days=1)
        for s in (revoked_used, dangling):
            s.active_to = self.days[rng.randrange(4, len(self.days) // 2)]
        for sys_ in revoked_used.accounts:
            revoked_used.revoked[sys_] = revoked_used.active_to + timedelta(days=1)
        # a new hire whose account was set up days before the grant was approved
        early.active_from = self.days[rng.randrange(3, 8)]
        approved = early.active_from + timedelta(days=rng.choice([4, 5, 6, 7]))
        for sys_ in early.accounts:
            early.granted[sys_] = approved
        self.account_plan = {"revoked": revoked_used, "dangling": dangling, "early": early}

    def assign_accounts(self) -> None:
        rng = self.rng
        systems_of = {
            "counter": ["HRIS", "DOORP"], "admin": ["HRIS", "DOORP"], "ess": ["LIQ"],
            "claims": ["LIQ"], "social": ["SWIS", "LIQ", "HRIS"], "auditor": ["HRIS"],
            "head": [], "ethics": [],
        }  # fmt: skip
        for s in self.staff:
            systems = list(systems_of[s.role])
            if s.role == "head":
                if s.unit.startswith("H"):
                    systems = ["HRIS", "DOORP"]
                elif s.unit in {"JS-1", "JS-2", "LI-C", "CA20"}:
                    systems = ["LIQ"]
                elif s.unit.startswith("SW") or s.unit == "CA30":
                    systems = ["SWIS", "LIQ", "HRIS"]
                else:
                    systems = []
            if s.role == "counter" and s.employment == "permanent" and rng.random() < 0.6:
                systems.append("MOJCR")
            for sys_ in systems:
                num = s.sid[-4:]
                s.accounts[sys_] = {
                    "HRIS": f"{s.unit[:2].lower()}{num}{rng.choice('abcxyz')}",
                    "DOORP": f"dp_{s.unit.lower()}_{num}",
                    "LIQ": f"L{rng.randrange(10**6, 10**7)}",
                    "SWIS": f"sw.{s.sid.lower()}",
                    "MOJCR": f"MOJ{s.unit[:2]}{rng.randrange(1000, 9999)}",
                }[sys_]
                s.granted[sys_] = (s.active_from or self.start) + timedelta(
                    days=rng.randrange(0, 20)
                )

    # ---- primitives ------------------------------------------------------------------
    def works(self, s: Staff, d: date) -> bool:
        if s.active_from and d < s.active_from:
            return False
        if s.active_to and d > s.active_to:
            return False
        if s.granted and d < min(s.granted.values()):
            return False
        if not self.is_workday(d):
            return False
        return d.weekday() not in range(5) or d.weekday() in s.workdays

    def add_record(
        self,
        kind: str,
        subject: Person,
        staff: Staff | None,
        unit: str,
        opened: datetime,
        closed: datetime | None = None,
    ) -> str:
        self.counters[f"rec-{kind}"] += 1
        n = self.counters[f"rec-{kind}"] + self.seed * 7
        zh = {"HE01": "東", "HN02": "北", "HA03": "安"}.get(unit[:4], "局")
        rid = {
            "hh_reg_app": f"{self.roc}{zh}戶登字第{n:06d}號",
            "seal_cert": f"SEAL-{unit[:4]}-{n:05d}",
            "transcript_req": f"T{self.roc}{n:07d}",
            "hh_survey": f"CK{self.roc}-{n:04d}",
            "income_review": f"SA{self.roc}{n:06d}",
            "emergency_aid": f"EA-{n:05d}",
            "job_reg": f"JR{self.roc}{n:07d}",
            "injury_claim": f"OI{n + 5_000_000:08d}",
            "name_change": f"{self.roc}NC{n:05d}",
            "nationality_change": f"{self.roc}NA{n:05d}",
            "id_change": f"{self.roc}IC{n:05d}",
            "doorplate_case": f"DP{self.roc}-{n:05d}",
            "doorplate_cert": f"DC{n:06d}",
        }[kind]
        offset = kind in {"job_reg", "injury_claim", "income_review"}
        self.records.append({
            "record_id": rid, "kind": kind, "subject_id": subject.pid,
            "staff_id": staff.sid if staff else "", "unit_id": unit,
            "opened_at": _fmt_ts(opened, offset), "closed_at": _fmt_ts(closed, offset) if closed else "",
        })  # fmt: skip
        self.busy_subjects.add(subject.pid)
        self.busy_households.add(subject.household)
        self.unit_records[unit].append((rid, kind, subject.pid, opened))
        return rid

    def event_id(self, system: str, t: datetime) -> str:
        self.counters[f"ev-{system}"] += 1
        n = self.counters[f"ev-{system}"]
        if system == "HRIS":
            return f"H{n:09d}"
        if system == "LIQ":
            return str(70_000_000 + n * 3)
        if system == "SWIS":
            return f"SW-{t:%Y%m%d}-{n:06d}"
        if system == "MOJCR":
            return f"{self.rng.getrandbits(60):015x}"
        return f"DP{n}"

    def lookup(
        self,
        s: Staff | None,
        system: str,
        t: datetime,
        subject: str,
        purpose: str,
        scenario: str,
        *,
        action: str = "query",
        ref: str = "",
        text: str = "",
        incident: str = "",
        account: str | None = None,
        result_count: int | None = None,
    ) -> None:
        acct = account if account is not None else (s.accounts[system] if s else "")
        eid = self.event_id(system, t)
        if result_count is None:
            result_count = 1 if subject in self.by_id else 0
        self.access.append({
            "event_id": eid, "occurred_at": _fmt_ts(t), "system": system, "account": acct,
            "subject_id": subject, "action": action, "purpose_code": purpose,
            "purpose_text": text, "record_ref": ref,
            "terminal": s.terminal if s else f"10.66.{self.rng.randrange(1, 250)}.{self.rng.randrange(2, 250)}",
            "result_count": result_count,
        })  # fmt: skip
        misuse = 1 if incident else 0
        self.labels.append(
            {
                "event_id": eid,
                "system": system,
                "misuse": misuse,
                "scenario": scenario,
                "incident_id": incident,
            }
        )
        if incident:
            self.incidents[incident]["events"] += 1
        elif subject in self.by_id:
            self.busy_subjects.add(subject)

    def at(self, d: date, clock: time) -> datetime:
        return datetime.combine(d, clock)

    def office(self, s: Staff) -> tuple[time, time]:
        return self.hours[s.unit]

    def random_office_time(self, s: Staff, d: date) -> datetime:
        start, end = self.office(s)
        a = datetime.combine(d, start) + timedelta(minutes=20)
        b = datetime.combine(d, end) - timedelta(minutes=30)
        return a + timedelta(seconds=self.rng.randrange(int((b - a).total_seconds())))

    def applicant(self, s: Staff) -> Person:
        rng = self.rng
        district = UNIT_DISTRICT.get(s.unit[:4])
        if district and rng.random() < 0.88:
            return rng.choice(self.by_district[district])
        return rng.choice(self.residents)

    def prev_workday(self, d: date, back: int) -> date:
        cur = d
        while back > 0:
            cur -= timedelta(days=1)
            if self.is_workday(cur):
                back -= 1
        return cur

    def later_workday(self, d: date, ahead: int) -> date | None:
        cur = d + timedelta(days=ahead)
        return cur if cur <= self.end and self.is_workday(cur) else None

    # ---- legitimate work -------------------------------------------------------------
    def run_legit(self) -> None:
        for d in self.days:
            for s in self.staff:
                if not self.works(s, d):
                    continue
                start, end = self.office(s)
                t = datetime.combine(d, start) + timedelta(minutes=self.rng.randrange(3, 35))
                stop = datetime.combine(d, end) - timedelta(minutes=self.rng.randrange(5, 40))
                if s.half_day:
                    stop = min(stop, datetime.combine(d, time(12, 30)))
                worker = getattr(self, f"work_{s.role}", None)
                if worker is None:
                    continue
                while t < stop:
                    if time(12, 0) <= t.time() < time(13, 10):
                        t = datetime.combine(d, time(13, 10)) + timedelta(
                            minutes=self.rng.randrange(0, 25)
                        )
                        continue
                    t = worker(s, t, "")
                if self.rng.random() < OVERTIME_PER_STAFF_DAY and s.role in {
                    "counter",
                    "ess",
                    "social",
                    "claims",
                }:
                    if self.rng.random() < 0.7:
                        t0 = datetime.combine(d, end) + timedelta(minutes=self.rng.randrange(3, 50))
                    else:
                        t0 = datetime.combine(d, start) - timedelta(
                            minutes=self.rng.randrange(5, 30)
                        )
                    worker(s, t0, "noise_overtime")

    def _gap(self, s: Staff, lo: int, hi: int) -> timedelta:
        scale = 1 / (s.load * self.size.cases_factor)
        return timedelta(seconds=int(self.rng.uniform(lo, hi) * 60 * scale))

    def _record_plan(
        self, scenario: str, before_days: int, after_days: int, t: datetime
    ) -> tuple[str, datetime]:
        """Pick how the case's record relates in time to the look-up."""
        rng = self.rng
        if scenario:
            return scenario, t - timedelta(minutes=rng.randrange(1, 30))
        r = rng.random()
        jitter = timedelta(minutes=rng.randrange(-60, 60))
        if r < 0.22 and after_days >= 1:
            if after_days >= 2 and rng.random() < 0.5:
                return "legit_record_after", t + timedelta(
                    days=rng.randint(1, after_days - 1)
                ) + jitter
            return "legit_record_after", t + timedelta(minutes=rng.randrange(5, 240))
        if r < 0.5 and before_days >= 2:
            return "legit_own_record", t - timedelta(days=rng.randint(1, before_days - 1)) + jitter
        return "legit_own_record", t - timedelta(minutes=rng.randrange(1, 40))

    def _owner(self, s: Staff, scenario: str) -> tuple[Staff | None, str]:
        """The record's handler: mostly the user, sometimes a colleague or only the unit."""
        if scenario.startswith("noise") or self.rng.random() > 0.12:
            return s, scenario
        mates = [m for m in self.staff if m.unit == s.unit and m is not s]
        if self.rng.random() < 0.5 and mates:
            return self.rng.choice(mates), scenario or "legit_unit_record"
        return None, scenario or "legit_unit_record"

    def case(
        self,
        s: Staff,
        t: datetime,
        scenario: str,
        system: str,
        purpose: str,
        subject: Person,
        actions: list[str],
        *,
        closed_after: int | None = None,
        text: str = "",
    ) -> tuple[str, str]:
        """One case: a record (or none, as honest noise) and the look-ups that it justifies."""
        _, _, _, kind, before, after, _, _ = PURPOSE[(system, purpose)]
        rng = self.rng
        if not scenario and rng.random() < NOISE_NO_RECORD:
            scenario = "noise_no_record"
        rid = ""
        if scenario != "noise_no_record":
            owner, scen = self._owner(s, scenario)
            scen, opened = self._record_plan(scen, before, after, t)
            if owner is not s and scen == "legit_record_after":
                scen = "legit_unit_record"
            closed = max(opened, t) + timedelta(minutes=closed_after) if closed_after else None
            rid = self.add_record(kind, subject, owner, s.unit, opened, closed)
            scenario = scen
        cite = rid if rid and rng.random() < 0.7 else ""
        for i, action in enumerate(actions):
            self.lookup(
                s,
                system,
                t + timedelta(seconds=20 + 45 * i + rng.randrange(30)),
                subject.pid,
                purpose,
                scenario,
                action=action,
                ref=cite,
                text=text,
            )
        return scenario, rid

    def work_counter(self, s: Staff, t: datetime, scenario: str) -> datetime:
        rng = self.rng
        subject = self.applicant(s)
        kind = rng.choices(["reg", "seal", "transcript", "enquiry", "name"], [30, 18, 33, 12, 3])[0]
        if kind == "name" and "MOJCR" not in s.accounts:
            kind = "reg"
        if kind == "reg":
            movers = [subject]
            family = self.households[subject.household]
            if len(family) > 1 and rng.random() < 0.4:
                movers += rng.sample(
                    [m for m in family if m is not subject], rng.randint(1, len(family) - 1)
                )
            _scen, rid = self.case(
                s, t, scenario, "HRIS", "01", subject, ["query", "view"][: rng.randint(1, 2)]
            )
            if rng.random() < 0.35:  # household list screen: people shown incidentally
                for m in family:
                    self.lookup(
                        s,
                        "HRIS",
                        t + timedelta(seconds=150),
                        m.pid,
                        "01",
                        scenario if scenario else "legit_list_screen",
                        action="list",
                        ref=rid if rid and rng.random() < 0.5 else "",
                        result_count=len(family),
                    )
            for m in movers[1:]:
                self.case(s, t + timedelta(minutes=2), scenario, "HRIS", "01", m, ["query"])
            return t + self._gap(s, 8, 20)
        if kind == "seal":
            self.case(s, t, scenario, "HRIS", "02", subject, ["query", "print"])
            return t + self._gap(s, 4, 10)
        if kind == "transcript":
            _scen, rid = self.case(
                s,
                t,
                scenario,
                "HRIS",
                "03",
                subject,
                ["query", "print"],
                closed_after=rng.randrange(8, 40),
            )
            if rid and not scenario and rng.random() < 0.06:  # comes back with a missing document
                d2 = self.later_workday(t.date(), rng.choice([1, 2, 3]))
                if d2 and self.works(s, d2):
                    t2 = self.random_office_time(s, d2)
                    self.lookup(
                        s,
                        "HRIS",
                        t2,
                        subject.pid,
                        "03",
                        "legit_continuation",
                        ref=rid if rng.random() < 0.6 else "",
                        text=rng.choice(["補件", "", "更正"]),
                    )
            return t + self._gap(s, 3, 8)
        if kind == "enquiry":
            self.lookup(
                s,
                "HRIS",
                t,
                subject.pid,
                "04",
                scenario or "legit_no_record_purpose",
                text=rng.choice(["", "電話詢問", "臨櫃諮詢"]),
            )
            return t + self._gap(s, 2, 6)
        # name change: criminal-record check, allowed for registration units only
        self.case(s, t, scenario, "HRIS", "01", subject, ["query"])
        ck = rng.choice(["N", "N", "C", "I"])
        _, _, _, ck_kind, _, _, _, _ = PURPOSE[("MOJCR", ck)]
        rid = self.add_record(
            ck_kind, subject, s, s.unit, t - timedelta(days=rng.randrange(0, 6), minutes=5)
        )
        self.lookup(
            s,
            "MOJCR",
            t + timedelta(minutes=3),
            subject.pid,
            ck,
            scenario or "legit_own_record",
            ref=rid if rng.random() < 0.8 else "",
        )
        return t + self._gap(s, 10, 25)

    def work_admin(self, s: Staff, t: datetime, scenario: str) -> datetime:
        rng = self.rng
        subject = self.applicant(s)
        family = self.households[subject.household]
        r = rng.random()
        if r < 0.35:  # doorplate re-numbering: the householder and a list of residents
            _scen, rid = self.case(s, t, scenario, "DOORP", "P1", subject, ["query"])
            for m in family:
                self.lookup(
                    s,
                    "DOORP",
                    t + timedelta(seconds=90),
                    m.pid,
                    "P1",
                    scenario if scenario else "legit_list_screen",
                    action="list",
                    result_count=len(family),
                )
            if rid and len(family) > 1 and rng.random() < 0.5:
                m = rng.choice(family[1:])
                self.lookup(
                    s,
                    "DOORP",
                    t + timedelta(minutes=3),
                    m.pid,
                    "P1",
                    scenario or "legit_household",
                    ref=rid,
                )
            return t + self._gap(s, 10, 25)
        if r < 0.7:
            self.case(s, t, scenario, "DOORP", "P2", subject, ["query", "print"], closed_after=30)
            return t + self._gap(s, 5, 12)
        # household survey: the head's record explains every member's look-up
        _scen, rid = self.case(s, t, scenario, "HRIS", "05", subject, ["query"])
        for m in family[1:]:
            self.lookup(
                s,
                "HRIS",
                t + timedelta(minutes=rng.randrange(1, 8)),
                m.pid,
                "05",
                scenario or ("legit_household" if rid else "noise_no_record"),
                ref=rid if rng.random() < 0.5 else "",
            )
        return t + self._gap(s, 12, 30)

    def work_ess(self, s: Staff, t: datetime, scenario: str) -> datetime:
        rng = self.rng
        subject = rng.choice(self.residents)
        text = rng.choice(["求職登記", "", "", "就業媒合", "民眾授權"])
        self.case(
            s,
            t,
            scenario,
            "LIQ",
            "A1",
            subject,
            rng.choice([["query"], ["query", "view"], ["query", "print"]]),
            text=text,
        )
        return t + self._gap(s, 12, 35)

    def work_claims(self, s: Staff, t: datetime, scenario: str) -> datetime:
        rng = self.rng
        subject = rng.choice(self.residents)
        if scenario:
            self.case(s, t, scenario, "LIQ", "A2", subject, ["query"])
            return t
        # a claim opened long ago and still open, or a recent one
        if rng.random() < 0.08:
            opened = t - timedelta(days=rng.randrange(95, 220))
            rid = self.add_record(
                "injury_claim", subject, s if rng.random() < 0.8 else None, s.unit, opened
            )
            for i in range(rng.randint(1, 3)):
                self.lookup(
                    s,
                    "LIQ",
                    t + timedelta(minutes=i * 2),
                    subject.pid,
                    "A2",
                    "legit_long_open_record",
                    ref=rid if rng.random() < 0.5 else "",
                )
            return t + self._gap(s, 10, 25)
        self.case(s, t, "", "LIQ", "A2", subject, ["query", "view", "print"][: rng.randint(1, 3)])
        return t + self._gap(s, 10, 25)

    def work_social(self, s: Staff, t: datetime, scenario: str) -> datetime:
        rng = self.rng
        subject = rng.choice(self.residents)
        family = self.households[subject.household]
        r = rng.random()
        if r < 0.55:  # income review of a household: every member in three systems
            scen, rid = self.case(s, t, scenario, "SWIS", "S01", subject, ["query"])
            member_scen = scenario or ("legit_household" if rid else "noise_no_record")
            for m in family if rng.random() < 0.5 else []:
                self.lookup(
                    s,
                    "SWIS",
                    t + timedelta(minutes=1),
                    m.pid,
                    "S01",
                    scenario or "legit_list_screen",
                    action="list",
                    result_count=len(family),
                )
            for m in family:
                sc = member_scen if m is not subject else (scen if rid else "noise_no_record")
                self.lookup(
                    s,
                    "LIQ",
                    t + timedelta(minutes=rng.randrange(2, 9)),
                    m.pid,
                    "A3",
                    sc,
                    ref=rid if rng.random() < 0.4 else "",
                )
                if rng.random() < 0.6:
                    self.lookup(
                        s, "HRIS", t + timedelta(minutes=rng.randrange(9, 15)), m.pid, "06", sc
                    )
            return t + self._gap(s, 25, 50)
        if r < 0.8:
            self.case(
                s, t, scenario, "SWIS", "S02", subject, ["query", "view"][: rng.randint(1, 2)]
            )
            return t + self._gap(s, 10, 25)
        self.lookup(
            s,
            "SWIS",
            t,
            subject.pid,
            "S03",
            scenario or "legit_no_record_purpose",
            text=rng.choice(["", "家訪前確認", "電話關懷"]),
        )
        return t + self._gap(s, 15, 40)

    def work_head(self, s: Staff, t: datetime, scenario: str) -> datetime:
        """Supervisors re-check cases their unit (or, for division heads, their stations) handled."""
        rng = self.rng
        if scenario:
            return t + timedelta(hours=8)
        if s.unit in HRO_REG:
            spec = ("HRIS", "01", "hh_reg_app", [s.unit], "legit_unit_record")
        elif s.unit in HRO_ADM:
            spec = ("DOORP", "P1", "doorplate_case", [s.unit], "legit_unit_record")
        elif s.unit in {"JS-1", "JS-2"}:
            spec = ("LIQ", "A1", "job_reg", [s.unit], "legit_unit_record")
        elif s.unit == "LI-C":
            spec = ("LIQ", "A2", "injury_claim", [s.unit], "legit_unit_record")
        elif s.unit.startswith("SW"):
            spec = ("SWIS", "S01", "income_review", [s.unit], "legit_unit_record")
        elif s.unit == "CA20":
            spec = ("LIQ", "A1", "job_reg", ["JS-1", "JS-2"], "legit_parent_unit_record")
        elif s.unit == "CA30":
            spec = ("SWIS", "S01", "income_review", ["SW-E", "SW-N"], "legit_parent_unit_record")
        else:
            return t + timedelta(hours=8)
        system, purpose, kind, units, scen = spec
        before = PURPOSE[(system, purpose)][4]
        pool = [
            r for u in units for r in self.unit_records[u][-80:]
            if r[1] == kind and timedelta(0) <= t - r[3] <= timedelta(days=max(1, before - 1))
        ]  # fmt: skip
        if pool:
            rid, _, pid, _ = rng.choice(pool)
            self.lookup(s, system, t, pid, purpose, scen, ref=rid if rng.random() < 0.5 else "")
        if scen == "legit_parent_unit_record":  # division heads check a case now and then
            return t + self._gap(s, 200, 400) / self.size.staff_factor
        return t + self._gap(s, 30, 90)

    def work_auditor(self, s: Staff, t: datetime, scenario: str) -> datetime:
        """Monthly cross-check: spot-check look-ups of the registration offices."""
        rng = self.rng
        if scenario or not self.busy_subjects:
            return t + timedelta(hours=8)
        if rng.random() < 0.5:
            pid = rng.choice(self.records[-500:])["subject_id"]
            self.lookup(s, "HRIS", t, pid, "09", "legit_no_record_purpose", text="1%抽查")
        return t + self._gap(s, 20, 60)

    # ---- special legitimate situations -------------------------------------------
    def run_special_legit(self) -> None:
        rng = self.rng
        work = self.workdays()
        # batch income re-check by one social worker on one day (volume with records)
        sw = rng.choice(
            [s for s in self.staff if s.role == "social" and s.employment == "permanent"]
            or [s for s in self.staff if s.role == "social"]
        )
        d = rng.choice(work[2:-2])
        t = datetime.combine(d, time(8, 40))
        for _ in range(rng.randint(14, 22)):
            head = rng.choice(self.residents)
            family = self.households[head.household]
            rid = self.add_record(
                "income_review", head, None, sw.unit, datetime.combine(d, time(8, 5))
            )
            for m in family:
                self.lookup(
                    sw, "LIQ", t, m.pid, "A3", "legit_batch_review", ref=rid if m is head else ""
                )
                t += timedelta(seconds=rng.randrange(25, 90))
            t += timedelta(minutes=rng.randrange(2, 12))
            if time(12, 0) <= t.time() < time(13, 0):
                t = datetime.combine(d, time(13, 5))
        # multi-agency families: one person looked up by three or four units on one day
        for _ in range(rng.randint(4, 6)):
            p = rng.choice(self.residents)
            d = rng.choice(work)
            ess = [s for s in self.staff if s.role == "ess" and self.works(s, d)]
            soc = [s for s in self.staff if s.role == "social" and self.works(s, d)]
            cnt = [s for s in self.staff if s.role == "counter" and self.works(s, d)]
            for group, system, purpose, kind in (
                (ess, "LIQ", "A1", "job_reg"),
                (soc, "SWIS", "S02", "emergency_aid"),
                (cnt, "HRIS", "01", "hh_reg_app"),
                (soc, "SWIS", "S01", "income_review"),
            ):
                if not group:
                    continue
                u = rng.choice(group)
                t = self.random_office_time(u, d)
                rid = self.add_record(
                    kind, p, u, u.unit, t - timedelta(minutes=rng.randrange(5, 120))
                )
                self.lookup(
                    u,
                    system,
                    t,
                    p.pid,
                    purpose,
                    "legit_multi_agency",
                    ref=rid if rng.random() < 0.6 else "",
                )
        # colleagues and watch-listed persons served at the counter, with records
        counters = [s for s in self.staff if s.role == "counter"]
        for target, scen in (
            *((m.person, "legit_served_colleague") for m in rng.sample(self.staff, 3)),
            *(
                (p, "legit_served_watchlisted")
                for p in rng.sample(self.figures + self.protected, 3)
            ),
        ):
            clerk = rng.choice(
                [
                    c
                    for c in counters
                    if c.person is not target and any(self.works(c, x) for x in work)
                ]
            )
            d = rng.choice([x for x in work if self.works(clerk, x)])
            t = self.random_office_time(clerk, d)
            rid = self.add_record(
                "transcript_req",
                target,
                clerk,
                clerk.unit,
                t - timedelta(minutes=4),
                t + timedelta(minutes=20),
            )
            self.lookup(clerk, "HRIS", t, target.pid, "03", scen, ref=rid)
            self.lookup(
                clerk,
                "HRIS",
                t + timedelta(minutes=1),
                target.pid,
                "03",
                scen,
                action="print",
                ref=rid,
            )
        # Saturday service morning at one office (a non-workday)
        saturdays = [x for x in self.days if x.weekday() == 5 and not self.is_workday(x)]
        if saturdays:
            d = rng.choice(saturdays[1:] or saturdays)
            unit = rng.choice(HRO_REG)
            duty = [
                c
                for c in counters
                if c.unit == unit and not c.active_to and c.employment == "permanent"
            ]
            for clerk in rng.sample(duty, min(2, len(duty))):
                t = datetime.combine(d, time(8, 30)) + timedelta(minutes=rng.randrange(0, 20))
                while t.time() < time(11, 30):
                    t = self.work_counter(clerk, t, "noise_weekend_duty")

    # ---- misuse ------------------------------------------------------------------------
    def incident(self, scenario: str, user: Staff | None, note: str) -> str:
        self.counters["incident"] += 1
        iid = f"I{self.seed:02d}-{self.counters['incident']:03d}"
        self.incidents[iid] = {
            "scenario": scenario,
            "user": user.sid if user else "",
            "note": note,
            "events": 0,
        }
        return iid

    def free_person(self, district: str | None = None) -> Person:
        pool = self.by_district[district] if district else self.residents
        while True:
            p = self.rng.choice(pool)
            if p.pid not in self.busy_subjects and p.household not in self.busy_households:
                self.busy_subjects.add(p.pid)
                self.busy_households.add(p.household)
                return p

    def n(self, lo: int, hi: int) -> int:
        k = self.rng.randint(lo, hi)
        return max(1, round(k * self.size.incident_factor))

    def active_users(self, pred: Callable[[Staff], bool], system: str) -> list[Staff]:
        return [
            s
            for s in self.staff
            if pred(s)
            and system in s.accounts
            and not s.active_to
            and (s.active_from or self.start) <= self.start
            and s.granted.get(system, self.start) <= self.start
        ]

    def misuse_day(self, s: Staff) -> date:
        return self.rng.choice([d for d in self.days if self.works(s, d)])

    def weak_or_fake(self, system: str) -> tuple[str, str]:
        """A purpose code for a look-up with no business reason."""
        rng = self.rng
        options = {
            "HRIS": ["04", "", "01", "03"],
            "LIQ": ["A1", "", "A1"],
            "SWIS": ["S03", "", "S02"],
            "DOORP": ["P2", ""],
            "MOJCR": ["N", ""],
        }[system]
        code = rng.choice(options)
        return code, rng.choice(["", "", "查詢", "確認資料"]) if code else ""

    def misuse_lookups(
        self,
        s: Staff,
        iid: str,
        scenario: str,
        system: str,
        subject: str,
        count: int,
        when: datetime,
        spread_days: int = 0,
        purpose: tuple[str, str] | None = None,
        ref: str = "",
        offhours_ok: bool = False,
    ) -> None:
        rng = self.rng
        for i in range(count):
            t = when
            if i and spread_days:
                d2 = when.date() + timedelta(days=rng.randrange(0, spread_days + 1))
                if d2 <= self.end and self.works(s, d2):
                    t = self.random_office_time(s, d2)
            t += timedelta(minutes=i * rng.randrange(1, 4), seconds=rng.randrange(60))
            code, text = purpose or self.weak_or_fake(system)
            self.lookup(
                s,
                system,
                t,
                subject,
                code,
                scenario,
                incident=iid,
                ref=ref,
                text=text,
                action=rng.choice(["query", "query", "view"]),
            )

    def run_misuse(self) -> None:
        rng = self.rng
        hris = self.active_users(lambda s: s.role in {"counter", "admin", "social"}, "HRIS")
        liq = self.active_users(lambda s: s.role in {"ess", "claims", "social"}, "LIQ")
        anyone = list({s.sid: s for s in hris + liq}.values())

        def any_system(s: Staff) -> str:
            return "HRIS" if "HRIS" in s.accounts else "LIQ"

        # 1. celebrity / person in the news: many users within hours (subject burst)
        news = [
            (rng.choice(self.figures), "watchlisted_public_figure"),
            (self.free_person(), "not_watchlisted"),
        ]
        for target, kind in news:
            d = rng.choice(self.workdays()[3:-2])
            present = [u for u in anyone if self.works(u, d)]
            for u in rng.sample(present, min(len(present), self.n(5, 9) + 1)):
                iid = self.incident("celebrity_news", u, f"person in the news ({kind})")
                t = self.random_office_time(u, d)
                if t.hour < 10:
                    t += timedelta(hours=2)
                system = any_system(u)
                self.misuse_lookups(
                    u,
                    iid,
                    "celebrity_news",
                    system,
                    target.pid,
                    rng.randint(1, 3),
                    t,
                    spread_days=1,
                )
        # 2. relatives: declared, same household, undeclared same surname and area
        for i in range(self.n(4, 6)):
            u = rng.choice(hris + liq)
            mode = ["declared", "household", "undeclared_same_surname_area", "declared_cousin"][
                i % 4
            ]
            home = u.person
            if mode == "household":
                mates = [m for m in self.households[home.household] if m is not home]
                if not mates:
                    mode = "declared"
                else:
                    target = rng.choice(mates)
            if mode == "declared":
                target = self.add_household(
                    address=self.address(), surname=home.surname, size=rng.randint(1, 3)
                )[0]
                self.relations.append(
                    (u.sid, target.pid, rng.choice(["sibling", "parent", "relative"]))
                )
            elif mode == "undeclared_same_surname_area":
                target = self.add_household(
                    address=home.address, surname=home.surname, size=rng.randint(1, 4)
                )[0]
            elif mode == "declared_cousin":
                target = self.add_household(address=self.address(), size=rng.randint(1, 4))[0]
                self.relations.append((u.sid, target.pid, "relative"))
            iid = self.incident("relative_lookup", u, mode)
            d = self.misuse_day(u)
            self.misuse_lookups(
                u,
                iid,
                "relative_lookup",
                any_system(u),
                target.pid,
                rng.randint(1, 4),
                self.random_office_time(u, d),
                spread_days=3,
            )
        # 3. case 1: a temporary employment-service worker, ex-partner and friends,
        #    under the job-seeker purpose
        temps = [s for s in liq if s.role == "ess"]
        temps = [s for s in temps if s.employment != "permanent"] or temps
        for i in range(self.n(2, 3)):
            u = rng.choice(temps)
            iid = self.incident("ex_partner_friends", u, "job-seeker purpose without registration")
            ex = self.add_household(address=self.address(), size=rng.randint(1, 2))[0]
            if i == 0:
                self.relations.append((u.sid, ex.pid, "ex_partner"))
            friends = [self.free_person() for _ in range(rng.randint(2, 3))]
            if i == 1:
                self.relations.append((u.sid, friends[0].pid, "friend"))
            d = self.misuse_day(u)
            for k, p in enumerate([ex, *friends]):
                t = self.random_office_time(u, d) + timedelta(
                    days=rng.choice([0, 0, 1, 2]) if k else 0
                )
                if not self.works(u, t.date()):
                    t = self.random_office_time(u, d)
                self.misuse_lookups(
                    u,
                    iid,
                    "ex_partner_friends",
                    "LIQ",
                    p.pid,
                    rng.randint(1, 2),
                    t,
                    purpose=("A1", rng.choice(["求職登記", "", "民眾授權"])),
                )
        # 4. neighbours: same neighbourhood, different surname, no declared relation
        for _ in range(self.n(3, 3)):
            u = rng.choice([s for s in hris + liq if s.person.address.startswith("67")])
            hh = self.add_household(address=u.person.address, size=rng.randint(1, 4))
            target = next((m for m in hh if m.surname != u.person.surname), hh[0])
            if target.surname == u.person.surname:
                continue
            iid = self.incident("neighbour_lookup", u, "same neighbourhood")
            system = any_system(u)
            code = {"HRIS": "01", "LIQ": "A1"}[system] if rng.random() < 0.6 else ""
            self.misuse_lookups(
                u,
                iid,
                "neighbour_lookup",
                system,
                target.pid,
                rng.randint(1, 2),
                self.random_office_time(u, self.misuse_day(u)),
                purpose=(code, ""),
            )
        # 5. colleagues
        for i in range(self.n(3, 4)):
            u = rng.choice(anyone)
            mates = [s for s in self.staff if s is not u and (s.unit == u.unit) == (i % 2 == 0)]
            target = rng.choice(mates).person
            iid = self.incident("colleague_lookup", u, "same unit" if i % 2 == 0 else "other unit")
            self.misuse_lookups(
                u,
                iid,
                "colleague_lookup",
                any_system(u),
                target.pid,
                rng.randint(1, 3),
                self.random_office_time(u, self.misuse_day(u)),
                spread_days=2,
            )
        # 6. enumeration: walking id numbers (near-consecutive), for sale
        for _ in range(self.n(2, 2)):
            u = rng.choice([s for s in hris if s.role in {"counter", "admin"}])
            iid = self.incident("enumeration", u, "id walk")
            letter, sex = rng.choice("DR"), rng.choice("12")
            serial = rng.randrange(10**6, 9 * 10**6)
            t = self.random_office_time(u, self.misuse_day(u))
            purpose = rng.choice([("01", ""), ("03", ""), ("04", "")])
            for _ in range(rng.randint(18, 40)):
                serial += rng.choice([1, 1, 1, 2, 3])
                prefix = f"{letter}{sex}{serial:07d}"
                pid = next(prefix + c for c in "0123456789" if ids.is_valid(prefix + c))
                t += timedelta(seconds=rng.randrange(15, 70))
                self.lookup(u, "HRIS", t, pid, purpose[0], "enumeration", incident=iid)
        # 7. bulk sale (case 2): real people, over days or in one burst, fake purposes
        for i in range(self.n(2, 2)):
            u = rng.choice([s for s in hris + liq if s.role in {"counter", "ess", "social"}])
            iid = self.incident("bulk_sale", u, "burst" if i % 2 else "over days")
            system = any_system(u)
            code = {"HRIS": "01", "LIQ": "A1"}[system]
            own = [r for r in self.records if r["staff_id"] == u.sid]
            targets = [self.free_person() for _ in range(rng.randint(25, 45))]
            days = [d for d in self.days if self.works(u, d)]
            first = rng.randrange(0, max(1, len(days) - 6))
            t = self.random_office_time(u, days[first])
            for k, p in enumerate(targets):
                if i % 2:
                    t += timedelta(seconds=rng.randrange(30, 150))
                else:
                    t = self.random_office_time(
                        u, days[min(len(days) - 1, first + k % rng.randint(3, 6))]
                    )
                ref = rng.choice(own)["record_id"] if own and rng.random() < 0.3 else ""
                self.lookup(u, system, t, p.pid, code, "bulk_sale", incident=iid, ref=ref)
        # 8. off hours: late evening, Sunday, national holiday; weak or no purpose
        offdays = [d for d in self.days if not self.is_workday(d)]
        holiday_days = [d for d in offdays if d.weekday() < 5] or offdays
        for i in range(self.n(3, 3)):
            u = rng.choice([s for s in hris if s.unit != "HE01-R"])
            iid = self.incident("off_hours", u, ["late evening", "sunday", "holiday"][i % 3])
            if i % 3 == 0:
                d = self.misuse_day(u)
                t = datetime.combine(d, time(rng.randint(21, 23), rng.randrange(60)))
            else:
                d = rng.choice(
                    [x for x in offdays if x.weekday() == 6] if i % 3 == 1 else holiday_days
                )
                t = datetime.combine(d, time(rng.randint(10, 20), rng.randrange(60)))
            for _ in range(rng.randint(1, 3)):
                self.lookup(
                    u,
                    "HRIS",
                    t,
                    self.free_person().pid,
                    # a counter enquiry when the counter is closed, none, or either
                    ["04", "", rng.choice(["04", ""])][i % 3],
                    "off_hours",
                    incident=iid,
                )
                t += timedelta(minutes=rng.randrange(1, 9))
        # 9. purpose mismatch: extra subjects slipped into a real case (夾帶查詢)
        counters = [s for s in hris if s.role == "counter"]
        for i in range(self.n(4, 4)):
            u = rng.choice(counters)
            own = [
                r
                for r in self.records
                if r["staff_id"] == u.sid
                and r["kind"] in {"hh_reg_app", "transcript_req"}
                and 9 <= int(r["opened_at"][11:13]) < 16
                and self.is_workday(date.fromisoformat(r["opened_at"][:10]))
            ]
            if not own:
                continue
            variant = ["other_subject", "no_such_record", "wrong_kind", "none_cited"][i % 4]
            iid = self.incident("purpose_mismatch", u, variant)
            base = rng.choice(
                [
                    r
                    for r in own
                    if r["kind"] == ("transcript_req" if variant == "wrong_kind" else r["kind"])
                ]
                or own
            )
            t = datetime.fromisoformat(base["opened_at"][:19]) + timedelta(
                minutes=rng.randrange(2, 10)
            )
            ref = {
                "other_subject": base["record_id"],
                "wrong_kind": base["record_id"],
                "no_such_record": f"{self.roc}東戶登字第9{rng.randrange(10**5):05d}號",
                "none_cited": "",
            }[variant]
            code = (
                "01"
                if variant in {"wrong_kind", "no_such_record"}
                else {"hh_reg_app": "01", "transcript_req": "03"}[base["kind"]]
            )
            for _ in range(rng.randint(1, 3)):
                p = self.free_person()
                t += timedelta(seconds=rng.randrange(30, 200))
                self.lookup(u, "HRIS", t, p.pid, code, "purpose_mismatch", incident=iid, ref=ref)
        # 10. accounts: revoked, departed but not revoked, before the grant, unknown
        for key, note in (
            ("revoked", "revoked account used"),
            ("dangling", "departed, account never revoked"),
        ):
            s = self.account_plan[key]
            system = any_system(s)
            iid = self.incident("account_misuse", s, note)
            later = [
                d for d in self.days if d > s.active_to + timedelta(days=2) and self.is_workday(d)
            ]
            for _ in range(rng.randint(2, 5)):
                d = rng.choice(later)
                self.lookup(
                    s,
                    system,
                    self.random_office_time(s, d),
                    self.free_person().pid,
                    self.weak_or_fake(system)[0],
                    "account_misuse",
                    incident=iid,
                )
        new = self.account_plan["early"]
        system = any_system(new)
        iid = self.incident("account_misuse", new, "used before the grant")
        grant = min(new.granted.values())
        early_days = [x for x in self.days if new.active_from <= x < grant and self.is_workday(x)]
        for _ in range(rng.randint(2, 4)):
            d = rng.choice(early_days or [new.active_from])
            self.lookup(
                new,
                system,
                self.random_office_time(new, d),
                self.free_person().pid,
                self.weak_or_fake(system)[0],
                "account_misuse",
                incident=iid,
            )
        iid = self.incident("account_misuse", None, "unknown shared account")
        ghost = rng.choice(["counter", "guest01", "hr_temp", "test"])
        d = rng.choice(self.workdays())
        t = datetime.combine(d, time(rng.randint(9, 15), rng.randrange(60)))
        for _ in range(rng.randint(2, 6)):
            t += timedelta(minutes=rng.randrange(1, 30))
            self.lookup(
                None,
                "HRIS",
                t,
                self.free_person().pid,
                rng.choice(["01", "04"]),
                "account_misuse",
                incident=iid,
                account=ghost,
            )
        # 11. repeat: a person once served, then looked up again on several later days
        for _ in range(self.n(3, 3)):
            u = rng.choice(counters)
            work = [d for d in self.days if self.works(u, d)]
            d0 = work[rng.randrange(0, max(1, len(work) // 4))]
            p = self.free_person()
            t0 = self.random_office_time(u, d0)
            rid = self.add_record(
                "transcript_req",
                p,
                u,
                u.unit,
                t0 - timedelta(minutes=3),
                t0 + timedelta(minutes=20),
            )
            self.lookup(u, "HRIS", t0, p.pid, "03", "legit_own_record", ref=rid)
            iid = self.incident("repeat_lookup", u, "served once, then curious")
            later = [d for d in work if d >= d0 + timedelta(days=7)]
            for d in sorted(rng.sample(later, min(len(later), rng.randint(3, 5)))):
                code = rng.choice(["04", "", "03"])
                self.lookup(
                    u,
                    "HRIS",
                    self.random_office_time(u, d),
                    p.pid,
                    code,
                    "repeat_lookup",
                    incident=iid,
                    ref=rid if code == "03" and rng.random() < 0.5 else "",
                )
        # 12. self look-ups
        for i in range(self.n(3, 3)):
            u = rng.choice(anyone)
            iid = self.incident("self_lookup", u, "own record")
            system = "LIQ" if "LIQ" in u.accounts and i == 0 else any_system(u)
            self.misuse_lookups(
                u,
                iid,
                "self_lookup",
                system,
                u.person.pid,
                rng.randint(1, 2),
                self.random_office_time(u, self.misuse_day(u)),
            )
        # 13. watch-listed protected persons
        for _ in range(self.n(3, 3)):
            u = rng.choice(hris)
            target = rng.choice(self.protected)
            iid = self.incident("watchlist_protected", u, "protected person")
            self.misuse_lookups(
                u,
                iid,
                "watchlist_protected",
                "HRIS",
                target.pid,
                rng.randint(1, 2),
                self.random_office_time(u, self.misuse_day(u)),
                purpose=(rng.choice(["04", "04", "01"]), ""),
            )
        # 14. sensitive use of the criminal-record system
        soc = rng.choice([s for s in self.staff if s.role == "social"])
        soc.accounts["MOJCR"] = f"MOJSW{rng.randrange(1000, 9999)}"
        soc.granted["MOJCR"] = self.start - timedelta(days=400)
        iid = self.incident("sensitive_use", soc, "social worker on criminal records")
        p = self.free_person()
        self.lookup(
            soc,
            "MOJCR",
            self.random_office_time(soc, self.misuse_day(soc)),
            p.pid,
            "N",
            "sensitive_use",
            incident=iid,
            text="個案評估",
        )
        mojs = [
            s
            for s in self.staff
            if "MOJCR" in s.accounts and s.role == "counter" and not s.active_to
        ]
        u = rng.choice(mojs)
        sats = [x for x in self.days if x.weekday() == 5 and not self.is_workday(x)]
        iid = self.incident("sensitive_use", u, "case 3: niece's boyfriend on a Saturday")
        t = datetime.combine(rng.choice(sats), time(rng.randint(9, 16), rng.randrange(60)))
        bf = self.free_person()
        for _ in range(rng.randint(1, 2)):
            self.lookup(u, "MOJCR", t, bf.pid, "N", "sensitive_use", incident=iid)
            t += timedelta(minutes=rng.randrange(1, 5))
        u = rng.choice(mojs)
        p = self.free_person()
        d = self.misuse_day(u)
        t = self.random_office_time(u, d)
        rid = self.add_record("hh_reg_app", p, u, u.unit, t - timedelta(minutes=10))
        self.lookup(u, "HRIS", t - timedelta(minutes=2), p.pid, "01", "legit_own_record", ref=rid)
        iid = self.incident(
            "sensitive_use", u, "criminal record of a new household member (wrong kind)"
        )
        self.lookup(
            u, "MOJCR", t + timedelta(minutes=3), p.pid, "C", "sensitive_use", incident=iid, ref=rid
        )

    # ---- output ---------------------------------------------------------------------
    def build(self) -> None:
        self.build_population()
        self.build_staff()
        self.run_legit()
        self.run_special_legit()
        self.run_misuse()

    def write(self, out: Path) -> dict[str, Any]:
        out.mkdir(parents=True, exist_ok=True)

        def write_csv(
            name: str, header: list[str], rows: list[Any], encoding: str = "utf-8"
        ) -> None:
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\r\n" if "calendar" in name else "\n")
            w.writerow(header)
            for r in rows:
                w.writerow([r.get(h, "") for h in header] if isinstance(r, dict) else r)
            data = buf.getvalue().encode(encoding)
            if name.endswith(".gz"):
                (out / name).write_bytes(gzip.compress(data, mtime=0))
            else:
                (out / name).write_bytes(data)

        write_csv("units.csv", ["unit_id", "name", "parent_unit_id"], [u[:3] for u in UNITS])
        write_csv("office_hours.csv", ["unit_id", "start", "end"], [(u[0], *u[3]) for u in UNITS])
        write_csv("systems.csv", ["system", "name", "sensitivity"], SYSTEMS)
        write_csv(
            "purposes.csv",
            [
                "system",
                "purpose_code",
                "description",
                "evidence_kind",
                "window_before_days",
                "window_after_days",
                "allowed_units",
                "scope",
            ],
            PURPOSES,
        )
        write_csv(
            "staff.csv",
            [
                "staff_id",
                "name",
                "national_id",
                "unit_id",
                "title",
                "employment",
                "supervisor_id",
                "active_from",
                "active_to",
            ],
            [
                (
                    s.sid,
                    s.person.name,
                    s.person.pid,
                    s.unit,
                    s.title,
                    s.employment,
                    s.supervisor,
                    s.active_from.isoformat() if s.active_from else "",
                    s.active_to.isoformat() if s.active_to else "",
                )
                for s in self.staff
            ],
        )
        accounts = [
            (
                sys_,
                acct,
                s.sid,
                s.granted[sys_].isoformat(),
                s.revoked[sys_].isoformat() if sys_ in s.revoked else "",
            )
            for s in self.staff
            for sys_, acct in s.accounts.items()
        ]
        write_csv(
            "accounts.csv", ["system", "account", "staff_id", "granted_at", "revoked_at"], accounts
        )
        write_csv(
            "records.csv",
            ["record_id", "kind", "subject_id", "staff_id", "unit_id", "opened_at", "closed_at"],
            self.records,
        )
        write_csv(
            "persons.csv",
            ["person_id", "name", "household_id", "address_code"],
            [(p.pid, p.name, p.household, p.address) for p in self.persons],
        )
        write_csv("relations.csv", ["staff_id", "person_id", "relation"], self.relations)
        write_csv("watchlist.csv", ["person_id", "category", "note"], self.watchlist)
        self.write_calendar(write_csv)
        header = [
            "event_id",
            "occurred_at",
            "system",
            "account",
            "subject_id",
            "action",
            "purpose_code",
            "purpose_text",
            "record_ref",
            "terminal",
            "result_count",
        ]
        order = sorted(range(len(self.access)), key=lambda i: self.access[i]["occurred_at"])
        access = [self.access[i] for i in order]
        name = "access.csv.gz" if self.seed % 2 == 0 else "access.csv"
        write_csv(name, header, access)
        write_csv(
            "labels.csv",
            ["event_id", "system", "misuse", "scenario", "incident_id"],
            [self.labels[i] for i in order],
        )
        return self.summary()

    def write_calendar(self, write_csv: Callable[..., None]) -> None:
        years = sorted({d.year for d in self.days})
        days = [
            date(y, 1, 1) + timedelta(days=i)
            for y in years
            for i in range(366)
            if (date(y, 1, 1) + timedelta(days=i)).year == y
        ]
        notes = {**OFF_2025, **OFF_2026, **MAKEUP}
        if self.calendar_style == "plain":
            rows = [(d.isoformat(), int(self.is_workday(d)), notes.get(d, "")) for d in days]
            write_csv("calendar.csv", ["date", "is_workday", "note"], rows)
            return
        rows = [
            (
                d.strftime("%Y%m%d"),
                WEEKDAY_ZH[d.weekday()],
                0 if self.is_workday(d) else 2,
                notes.get(d, ""),
            )
            for d in days
        ]
        encoding = "cp950" if self.calendar_style == "gov-big5" else "utf-8"
        write_csv("calendar.csv", ["西元日期", "星期", "是否放假", "備註"], rows, encoding=encoding)

    def summary(self) -> dict[str, Any]:
        per = Counter(lbl["scenario"] for lbl in self.labels)
        inc = Counter(v["scenario"] for v in self.incidents.values())
        return {
            "seed": self.seed, "window": [self.start.isoformat(), self.end.isoformat()],
            "calendar": self.calendar_style, "events": len(self.access), "staff": len(self.staff),
            "persons": len(self.persons), "records": len(self.records),
            "events_per_scenario": dict(sorted(per.items())), "incidents_per_scenario": dict(sorted(inc.items())),
            "incidents": self.incidents,
        }  # fmt: skip


def build_world(out_dir: str | Path, seed: int = 1, size: str = "full") -> dict[str, Any]:
    """Generate a labelled dataset into out_dir; returns a summary (counts, incidents)."""
    world = World(seed=seed, size=size)
    world.build()
    return world.write(Path(out_dir))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--size", choices=sorted(SIZES), default="full")
    args = ap.parse_args(argv)
    summary = build_world(args.out, args.seed, args.size)
    summary.pop("incidents")
    print(json.dumps(summary, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
