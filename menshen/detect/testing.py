"""A small documented world to test rules on, and helpers to write cases tersely.

The world (all synthetic; ids pass the checksum and are fixed by a seed):

Units: ORG 臺北市中正區公所 (top); HH01 中正戶政事務所 (戶政, office hours 08:00-17:00);
PD01 中正第一分局南昌街派出所 (police); ES01 中正就業服務站 (employment service).

Staff (each also a person in `persons`, key = staff id):
| id | name | unit | employment | supervisor | notes |
|---|---|---|---|---|---|
| S01 | 林志明 | HH01 | permanent | — | 戶籍課課長 |
| S02 | 陳美玲 | HH01 | permanent | S01 | clerk; sister P09 (declared sibling) |
| S03 | 王大同 | PD01 | permanent | — | 所長 |
| S04 | 張家豪 | PD01 | permanent | S03 | PN account granted 2019-03-01 (long tenure) |
| S05 | 李小華 | ES01 | temporary | S06 | ex-partner P10 (declared) |
| S06 | 黃淑芬 | ES01 | permanent | — | 站長 |
| S07 | 吳建國 | ES01 | contract | S06 | on the risk register (weight 20) |
| S08 | 趙文傑 | HH01 | permanent | S01 | left 2025-01-31; HR account revoked then |

Systems: HR 戶役政資訊系統 (medium), LI 勞保資料查詢系統 (medium), PN 警政資訊系統 (high),
CR 刑案資料查詢系統 (high), AD 門牌查詢系統 (low). Accounts: the staff id in lower case
(`s02`) on each system the staff member uses: HR s01 s02 s08; CR s02 s04; PN s03 s04;
LI s05 s06 s07; AD s01-s07. Granted 2024-01-01 unless noted.

Purposes (code: system, evidence kind, window before/after days, allowed units, scope):
HR01 HR household_registration 3/3; HR02 HR 臨櫃洽詢 (no record); HR03 HR welfare_review
30/7 household scope; LI01 LI 依民眾授權查詢勞保資料之求職登記表辦理 job_registration 7/3;
LI02 LI 就業諮詢 (no record); PN01 PN criminal_case 30/3 PD01; PN02 PN traffic_case 3/3 PD01;
CR01 CR name_change 7/3 HH01; CR02 CR nationality_change 7/3 HH01; CR03 CR criminal_case
30/3 PD01; AD01 AD (no record).

Persons P01-P12 (households H1-H11; P04 and P05 share household H4; P09 lives in S02's
address area and shares her surname); P11 is on the watchlist (public_figure).

Records: R-JOB-1 job_registration P01 by S05 (ES01) from 2025-02-05, open;
R-HH-1 household_registration P02 by S02 2025-02-10 08:30-16:00;
R-HH-2 household_registration P03 by S01 2025-02-07 to 02-12;
R-WEL-1 welfare_review P04 by S02 from 2025-02-03, open;
R-CRM-1 criminal_case P06 by S04 from 2025-01-20, open;
R-NAME-1 name_change P07 by S02 2025-02-06 to 02-20.

Calendar: week of Monday 2025-02-10; Saturday 2025-02-08 is a make-up workday (補行上班);
Saturday 2025-02-15 is off; 2025-02-28 和平紀念日.

Cases: `Case.tables` rows are added to these tables. `Case.params` overrides Settings;
the extra key `detect_from` (ISO date) sets the start of the detection range — look-ups
before it are history. Default range: the dates of the case's look-ups.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from menshen import ids
from menshen.detect.engine import Engine, EngineName, connect
from menshen.detect.pipeline import World, build_views
from menshen.detect.rule import Case, Rule
from menshen.detect.schema import ACCESS_SCHEMA, REF_SCHEMAS, from_rows
from menshen.detect.settings import Settings

_rng = random.Random(20250208)

_PERSONS = [
    ("P01", "許家瑋", "H1", "6300500-001"),
    ("P02", "周雅婷", "H2", "6300500-002"),
    ("P03", "鄭宇翔", "H3", "6300500-003"),
    ("P04", "謝佩君", "H4", "6300500-004"),
    ("P05", "謝宗翰", "H4", "6300500-004"),
    ("P06", "劉俊傑", "H5", "6300600-001"),
    ("P07", "蘇怡君", "H6", "6300600-002"),
    ("P08", "郭子豪", "H7", "6300600-003"),
    ("P09", "陳美華", "H8", "6300700-010"),
    ("P10", "洪雅琪", "H9", "6300700-011"),
    ("P11", "柯文正", "H10", "6300800-001"),
    ("P12", "楊淑惠", "H11", "6300800-002"),
]
_STAFF = [
    # id, name, unit, employment, supervisor, title, active_to, household, address
    ("S01", "林志明", "HH01", "permanent", None, "課長", None, "HS1", "6300100-001"),
    ("S02", "陳美玲", "HH01", "permanent", "S01", "課員", None, "HS2", "6300700-020"),
    ("S03", "王大同", "PD01", "permanent", None, "所長", None, "HS3", "6300100-003"),
    ("S04", "張家豪", "PD01", "permanent", "S03", "警員", None, "HS4", "6300100-004"),
    ("S05", "李小華", "ES01", "temporary", "S06", "臨時人員", None, "HS5", "6300100-005"),
    ("S06", "黃淑芬", "ES01", "permanent", None, "站長", None, "HS6", "6300100-006"),
    ("S07", "吳建國", "ES01", "contract", "S06", "約聘人員", None, "HS7", "6300100-007"),
    ("S08", "趙文傑", "HH01", "permanent", "S01", "課員", "2025-01-31", "HS8", "6300100-008"),
]

# key (P01… / S01…) -> national id
PEOPLE: dict[str, str] = {}
for _key, *_ in _PERSONS + [(s[0],) for s in _STAFF]:
    PEOPLE[_key] = ids.generate_national_id(_rng)

SYSTEM_OF_PURPOSE = {
    "HR01": "HR", "HR02": "HR", "HR03": "HR", "LI01": "LI", "LI02": "LI", "PN01": "PN",
    "PN02": "PN", "CR01": "CR", "CR02": "CR", "CR03": "CR", "AD01": "AD",
}  # fmt: skip
ACCOUNTS = {
    "HR": ["S01", "S02", "S08"], "CR": ["S02", "S04"], "PN": ["S03", "S04"],
    "LI": ["S05", "S06", "S07"], "AD": ["S01", "S02", "S03", "S04", "S05", "S06", "S07"],
}  # fmt: skip


def base_world() -> dict[str, list[dict[str, Any]]]:
    """The rows of every table of the base world (a fresh copy each call)."""
    staff = [
        {
            "staff_id": s, "name": name, "national_id": PEOPLE[s], "unit_id": unit,
            "title": title, "employment": emp, "supervisor_id": sup,
            "active_from": "2015-01-01", "active_to": to,
        }
        for s, name, unit, emp, sup, title, to, _h, _a in _STAFF
    ]  # fmt: skip
    persons = [
        {"person_id": PEOPLE[k], "name": n, "household_id": h, "address_code": a}
        for k, n, h, a in _PERSONS
    ] + [
        {"person_id": PEOPLE[s], "name": name, "household_id": h, "address_code": a}
        for s, name, _u, _e, _s, _t, _to, h, a in _STAFF
    ]
    accounts = []
    for system, holders in ACCOUNTS.items():
        for s in holders:
            granted = "2019-03-01" if (system, s) == ("PN", "S04") else "2024-01-01"
            revoked = "2025-01-31" if s == "S08" else None
            accounts.append(
                {"system": system, "account": s.lower(), "staff_id": s,
                 "granted_at": granted, "revoked_at": revoked}
            )  # fmt: skip

    def purpose(code: str, desc: str, kind: str | None, before: int = 0, after: int = 0,
                allowed: str | None = None, scope: str = "person") -> dict[str, Any]:  # fmt: skip
        return {
            "system": SYSTEM_OF_PURPOSE[code], "purpose_code": code, "description": desc,
            "evidence_kind": kind, "window_before_days": before, "window_after_days": after,
            "allowed_units": allowed, "scope": scope,
        }  # fmt: skip

    def record(rid: str, kind: str, subject: str, staff: str, unit: str, opened: str,
               closed: str | None = None) -> dict[str, Any]:  # fmt: skip
        return {
            "record_id": rid, "kind": kind, "subject_id": PEOPLE[subject], "staff_id": staff,
            "unit_id": unit, "opened_at": opened, "closed_at": closed,
        }  # fmt: skip

    return {
        "units": [
            {"unit_id": "ORG", "name": "臺北市中正區公所", "parent_unit_id": None},
            {"unit_id": "HH01", "name": "中正戶政事務所", "parent_unit_id": "ORG"},
            {"unit_id": "PD01", "name": "中正第一分局南昌街派出所", "parent_unit_id": "ORG"},
            {"unit_id": "ES01", "name": "中正就業服務站", "parent_unit_id": "ORG"},
        ],
        "staff": staff,
        "accounts": accounts,
        "systems": [
            {"system": "HR", "name": "戶役政資訊系統", "sensitivity": "medium"},
            {"system": "LI", "name": "勞保資料查詢系統", "sensitivity": "medium"},
            {"system": "PN", "name": "警政資訊系統", "sensitivity": "high"},
            {"system": "CR", "name": "刑案資料查詢系統", "sensitivity": "high"},
            {"system": "AD", "name": "門牌查詢系統", "sensitivity": "low"},
        ],
        "purposes": [
            purpose("HR01", "戶籍登記案件辦理", "household_registration", 3, 3),
            purpose("HR02", "臨櫃民眾洽詢", None),
            purpose("HR03", "社會救助家戶審查", "welfare_review", 30, 7, scope="household"),
            purpose("LI01", "依民眾授權查詢勞保資料之求職登記表辦理", "job_registration", 7, 3),
            purpose("LI02", "就業諮詢服務", None),
            purpose("PN01", "刑案偵查", "criminal_case", 30, 3, "PD01"),
            purpose("PN02", "交通事故處理", "traffic_case", 3, 3, "PD01"),
            purpose("CR01", "姓名變更案件查核", "name_change", 7, 3, "HH01"),
            purpose("CR02", "國籍變更案件查核", "nationality_change", 7, 3, "HH01"),
            purpose("CR03", "刑案偵查", "criminal_case", 30, 3, "PD01"),
            purpose("AD01", "門牌資料查詢", None),
        ],
        "records": [
            record("R-JOB-1", "job_registration", "P01", "S05", "ES01", "2025-02-05 09:00"),
            record(
                "R-HH-1",
                "household_registration",
                "P02",
                "S02",
                "HH01",
                "2025-02-10 08:30",
                "2025-02-10 16:00",
            ),
            record(
                "R-HH-2",
                "household_registration",
                "P03",
                "S01",
                "HH01",
                "2025-02-07 10:00",
                "2025-02-12 17:00",
            ),
            record("R-WEL-1", "welfare_review", "P04", "S02", "HH01", "2025-02-03 09:00"),
            record("R-CRM-1", "criminal_case", "P06", "S04", "PD01", "2025-01-20 09:00"),
            record(
                "R-NAME-1",
                "name_change",
                "P07",
                "S02",
                "HH01",
                "2025-02-06 09:00",
                "2025-02-20 17:00",
            ),
        ],
        "persons": persons,
        "relations": [
            {"staff_id": "S02", "person_id": PEOPLE["P09"], "relation": "sibling"},
            {"staff_id": "S05", "person_id": PEOPLE["P10"], "relation": "ex_partner"},
        ],
        "watchlist": [{"person_id": PEOPLE["P11"], "category": "public_figure", "note": "市議員"}],
        "calendar": [
            {"date": "2025-02-08", "is_workday": True, "note": "補行上班"},
            {"date": "2025-02-28", "is_workday": False, "note": "和平紀念日"},
        ],
        "office_hours": [{"unit_id": "HH01", "start": "08:00", "end": "17:00"}],
        "staff_risk": [{"staff_id": "S07", "weight": 20.0, "until": "2025-12-31"}],
    }


def person(key: str) -> str:
    """National id of a base-world person or staff member (`P01`, `S02`), else `key` itself."""
    return PEOPLE.get(key, key)


def record(
    record_id: str,
    kind: str,
    subject: str,
    staff: str | None,
    unit: str,
    opened: str,
    closed: str | None = None,
) -> dict[str, Any]:
    """One business record (records.csv row): `subject` a person key (P01, S02) or a raw id,
    handled by `staff` (None: only the unit is known) of `unit`, open from `opened`."""
    return {
        "record_id": record_id, "kind": kind, "subject_id": person(subject), "staff_id": staff,
        "unit_id": unit, "opened_at": opened, "closed_at": closed,
    }  # fmt: skip


def lookup(
    event_id: str,
    who: str,
    subject: str,
    at: str,
    purpose: str | None = None,
    *,
    system: str | None = None,
    record_ref: str | None = None,
    action: str = "query",
    account: str | None = None,
    result_count: int | None = None,
) -> dict[str, Any]:
    """One access row. `who` is a staff id (account = its lower case) unless `account` is
    given; `subject` a person key (P01, S02) or a raw id; `at` 'YYYY-MM-DD HH:MM'; the system
    follows from the purpose code unless given."""
    system = system or (SYSTEM_OF_PURPOSE.get(purpose or "") if purpose else None)
    if system is None:
        raise ValueError(f"lookup {event_id}: give system= when the purpose is {purpose!r}")
    sid = person(subject)
    return {
        "system": system, "event_id": event_id, "occurred_at": at, "account": account or who.lower(),
        "subject_id": sid, "subject_id_valid": ids.is_valid(sid), "action": action,
        "purpose_code": purpose, "record_ref": record_ref, "result_count": result_count,
    }  # fmt: skip


def make_world(extra: Mapping[str, list[dict[str, Any]]]) -> World:
    rows = base_world()
    unknown = set(extra) - set(rows) - {"access", "staff_risk"}
    if unknown:
        raise ValueError(f"unknown tables in case: {sorted(unknown)}")
    refs: dict[str, pa.Table] = {}
    for name, schema in REF_SCHEMAS.items():
        refs[name] = from_rows(rows.get(name, []) + list(extra.get(name, [])), schema)
    access = from_rows(list(extra.get("access", [])), ACCESS_SCHEMA)
    return World(access=access, refs=refs)


def case_range(case: Case) -> tuple[dt.date, dt.date]:
    dates = [
        dt.datetime.fromisoformat(r["occurred_at"]).date() for r in case.tables.get("access", [])
    ]
    end = max(dates) if dates else dt.date(2025, 2, 10)
    start = min(dates) if dates else end
    if "detect_from" in case.params:
        start = dt.date.fromisoformat(case.params["detect_from"])
    return start, end


def run_rule(rule: Rule, case: Case, engine: Engine | EngineName = "duckdb") -> set[str]:
    """Build the context from the base world plus the case's rows and return the event ids
    the rule flags."""
    own = isinstance(engine, str)
    eng = connect(engine) if isinstance(engine, str) else engine
    try:
        params = {k: v for k, v in case.params.items() if k != "detect_from"}
        settings = Settings().with_overrides(params)
        start, end = case_range(case)
        # As detect() runs it: on the narrowest context the query reads.
        views = build_views(eng, make_world(case.tables), start, end, settings)
        hits = eng.to_arrow(views.query(rule.query, rule.reads))
        missing = {"system", "event_id", "evidence_zh", "evidence_en"} - set(hits.column_names)
        if missing:
            raise AssertionError(f"rule {rule.id}: query lacks columns {sorted(missing)}")
        return set(hits.column("event_id").to_pylist())
    finally:
        if own:
            eng.close()


def check_case(rule: Rule, case: Case, engine: Engine | EngineName = "duckdb") -> None:
    """Assert the case's expectation; the message says what was flagged."""
    flagged = run_rule(rule, case, engine)
    expect = set(case.expect)
    where = f"rule {rule.id}, case {case.name!r}"
    if case.positive:
        assert expect, f"{where}: a positive case must name the events to flag"
        assert expect <= flagged, (
            f"{where}: expected {sorted(expect)} flagged, got {sorted(flagged)}"
        )
        if case.exclusive:
            assert flagged == expect, (
                f"{where}: flagged more than expected: {sorted(flagged - expect)}"
            )
    elif expect:
        assert not (flagged & expect), f"{where}: must not flag {sorted(flagged & expect)}"
    else:
        assert not flagged, f"{where}: must flag nothing, got {sorted(flagged)}"


def rule_cases(half: int = 0, of: int = 1) -> list[tuple[str, int | str, str]]:
    """(rule module, case index, test id) for every case of every `of`-th rule module from
    `half`; a module that fails to import gives (module, the error, id) so that it fails its
    own test instead of the collection."""
    from menshen.detect.rules import load_rule, rule_modules

    cases: list[tuple[str, int | str, str]] = []
    for module in rule_modules()[half::of]:
        try:
            rule = load_rule(module)
        except Exception as exc:
            cases.append((module, repr(exc), f"{module}-import"))
            continue
        for i, case in enumerate(rule.cases):
            cases.append((module, i, f"{rule.id}-{i}-{'pos' if case.positive else 'neg'}"))
    return cases


def detected_store(
    base: Path, *, seed: int, events: int, days: int, start: dt.date, left: int
) -> tuple[Path, dt.date]:
    """A synthetic store under `base` whose days but the last `left` were detected and
    written in one run (the nights before), and its last day (tests of daily runs)."""
    # Imported here: rule modules import this one, and a detection run needs none of these.
    from menshen.detect.cli import run_store_detection
    from menshen.store import Store
    from menshen.synth import generate

    generate(base / "dataset", seed=seed, events=events, days=days, start=start)
    store = Store(base / "store")
    store.ingest(base / "dataset")
    first, last = store.snapshot().date_range()
    run_store_detection(store.home, first, last - dt.timedelta(days=left), write=True)
    return store.home, last
