"""The six behaviour rules (volume, subject-burst, related, watchlist, repeat, enumeration):
evidence sentences a reviewer can check, and thresholds that are settings. Every rule's own
cases run on DuckDB and PySpark in tests/detect/test_rule_cases.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from menshen import ids
from menshen.detect.engine import Engine
from menshen.detect.pipeline import build_context
from menshen.detect.rule import Case, Rule
from menshen.detect.rules import enumeration, load_rule
from menshen.detect.settings import Settings
from menshen.detect.testing import case_range, lookup, make_world

MODULES = ("volume", "subject_burst", "related", "watchlist", "repeat", "enumeration")
RULES = {name: load_rule(name) for name in MODULES}


def hits_of(rule: Rule, case: Case, engine: Engine) -> list[dict[str, Any]]:
    params = {k: v for k, v in case.params.items() if k != "detect_from"}
    start, end = case_range(case)
    ctx = build_context(
        engine, make_world(case.tables), start, end, Settings().with_overrides(params)
    )
    return engine.to_arrow(rule.query(ctx)).to_pylist()


def case_named(rule: Rule, prefix: str) -> Case:
    return next(c for c in rule.cases if c.name.startswith(prefix))


@pytest.mark.parametrize("name", MODULES)
def test_each_rule_has_complete_metadata_and_both_kinds_of_case(name: str) -> None:
    rule = RULES[name]
    assert rule.id.replace("-", "_") == name
    assert rule.title_zh and rule.title_en and rule.motivated_by and rule.false_positives
    assert " / " in rule.review_guide, "review guide: zh-TW, then English"
    assert any(c.positive for c in rule.cases) and any(not c.positive for c in rule.cases)
    assert not rule.silenced_by_weak_explanation


def test_volume_evidence_names_the_count_and_both_baselines(duckdb_engine: Engine) -> None:
    rule = RULES["volume"]
    hits = hits_of(rule, case_named(rule, "case 2"), duckdb_engine)
    assert len(hits) == 39
    zh = hits[0]["evidence_zh"]
    assert "2月11日 查詢 39 位" in zh
    assert "本人過去 28 日中有查詢之 14 日平均每日 3.0 位" in zh
    assert "同單位其他 2 位同仁當日平均 4.0 位" in zh
    assert "9.8 倍" in zh
    assert "39 different people" in hits[0]["evidence_en"]
    assert {h["group_key"] for h in hits} == {"volume:S05:2025-02-11"}


def test_volume_threshold_is_a_setting(duckdb_engine: Engine) -> None:
    rule = RULES["volume"]
    case = case_named(rule, "case 2")
    floors = {"volume_min_subjects": 40, "volume_window_min_subjects": 45}
    stricter = Case(case.name, True, case.tables, params={**case.params, **floors})
    assert hits_of(rule, stricter, duckdb_engine) == []


def test_subject_burst_evidence_counts_users_units_and_look_ups(duckdb_engine: Engine) -> None:
    rule = RULES["subject_burst"]
    hits = hits_of(rule, case_named(rule, "2009"), duckdb_engine)
    zh = hits[0]["evidence_zh"]
    assert "2月11日 09:05 至 2月11日 14:50" in zh
    assert "共 5 位同仁（分屬 3 個單位）" in zh and "6 次" in zh
    assert "5 users in 3 units" in hits[0]["evidence_en"]
    assert "group_key" not in hits[0], "each user's look-ups stay in their own unit's finding"


def test_related_evidence_says_which_relation(duckdb_engine: Engine) -> None:
    rule = RULES["related"]
    hits = {h["event_id"]: h for h in hits_of(rule, case_named(rule, "a clerk"), duckdb_engine)}
    assert hits["r1"]["evidence_zh"].startswith("該民眾為承辦人申報之兄弟姊妹")
    assert "臨櫃民眾洽詢" in hits["r1"]["evidence_zh"]
    assert hits["r2"]["evidence_zh"].startswith("與承辦人同戶（戶號 HS2）")
    assert "同姓「陳」" in hits["r3"]["evidence_zh"] and "6300700-020" in hits["r3"]["evidence_zh"]
    assert "declared sibling" in hits["r1"]["evidence_en"]


def test_related_recognises_compound_surnames(duckdb_engine: Engine) -> None:
    rule = RULES["related"]
    case = case_named(rule, "a neighbour")
    ouyang = case.tables["persons"][0]["person_id"]
    tables = {
        "access": [lookup("x1", "S09", ouyang, "2025-02-11 09:30", "HR02", system="HR")],
        "persons": list(case.tables["persons"]),
        "staff": [{"staff_id": "S09", "name": "歐陽志偉", "unit_id": "HH01",
                   "national_id": "A123456789", "active_from": "2020-01-01"}],
        "accounts": [{"system": "HR", "account": "s09", "staff_id": "S09",
                      "granted_at": "2024-01-01"}],
    }  # fmt: skip
    tables["persons"].append(
        {"person_id": "A123456789", "name": "歐陽志偉", "household_id": "H93",
         "address_code": "6300700-020"}
    )  # fmt: skip
    hits = hits_of(rule, Case("歐陽", True, tables), duckdb_engine)
    assert [h["event_id"] for h in hits] == ["x1"]
    assert "同姓「歐陽」" in hits[0]["evidence_zh"]
    assert "鄰居" not in hits[0]["evidence_zh"]


def test_related_says_neighbour_when_only_the_area_is_shared(duckdb_engine: Engine) -> None:
    rule = RULES["related"]
    hits = hits_of(rule, case_named(rule, "a neighbour"), duckdb_engine)
    assert hits[0]["evidence_zh"].startswith("與承辦人住同一地區（地址代碼 6300700-020），為鄰居")


def test_watchlist_evidence_names_category_and_why_not_explained(duckdb_engine: Engine) -> None:
    rule = RULES["watchlist"]
    hits = hits_of(rule, case_named(rule, "a case number about someone else"), duckdb_engine)
    assert hits[0]["evidence_zh"] == (
        "該民眾列於關注名單（公眾人物：市議員）；引用之案號 R-CRM-1 非該民眾之案件"
    )
    weak = hits_of(rule, case_named(rule, "a city councillor"), duckdb_engine)
    assert "查詢事由「門牌資料查詢」毋須業務案件" in weak[0]["evidence_zh"]


def test_repeat_evidence_gives_the_days(duckdb_engine: Engine) -> None:
    rule = RULES["repeat"]
    hits = hits_of(rule, case_named(rule, "back again"), duckdb_engine)
    zh = hits[0]["evidence_zh"]
    assert "2024年12月2日 至 2025年2月11日 間，共 3 個不同日期" in zh
    assert "（門檻：90 日內 3 日）" in zh
    assert "3 different days" in hits[0]["evidence_en"]


def test_repeat_counts_two_days_when_the_agency_sets_it(duckdb_engine: Engine) -> None:
    rule = RULES["repeat"]
    case = case_named(rule, "the first look-up is beyond")
    assert hits_of(rule, case, duckdb_engine) == []
    two = Case(case.name, True, case.tables, params={**case.params, "repeat_min_days": 2})
    assert [h["event_id"] for h in hits_of(rule, two, duckdb_engine)] == ["f2"]


def test_enumeration_evidence_and_one_finding_per_day(duckdb_engine: Engine) -> None:
    rule = RULES["enumeration"]
    speed = hits_of(rule, case_named(rule, "harvesting"), duckdb_engine)
    assert "10:00–10:08 間密集查詢 25 位不同民眾" in speed[0]["evidence_zh"]
    assert {h["group_key"] for h in speed} == {"enumeration:S06:2025-02-11"}
    seq = hits_of(rule, case_named(rule, "ids tried"), duckdb_engine)
    zh = seq[0]["evidence_zh"]
    assert "共 6 個號碼" in zh and "F10****" in zh
    series = enumeration._SERIES
    assert not any(full in h["evidence_zh"] + h["evidence_en"] for h in seq for full in series)


def test_enumeration_ignores_ids_far_apart(duckdb_engine: Engine) -> None:
    rule = RULES["enumeration"]
    case = case_named(rule, "ids tried")
    far = Case(case.name, True, case.tables, params={"enumeration_id_step": 1})
    # steps of 2 and 3 in the series break it into runs shorter than 5
    assert hits_of(rule, far, duckdb_engine) == []


def test_rules_do_not_fail_on_an_empty_range(duckdb_engine: Engine) -> None:
    empty = Case("nothing", False, {"access": []})
    for rule in RULES.values():
        assert hits_of(rule, empty, duckdb_engine) == []


def test_a_detection_range_later_than_the_data_sees_only_history(duckdb_engine: Engine) -> None:
    rule = RULES["repeat"]
    case = case_named(rule, "curiosity")
    later = Case(case.name, False, case.tables, params={"detect_from": "2025-02-14"})
    start, _ = case_range(later)
    assert start == dt.date(2025, 2, 14)
    assert hits_of(rule, later, duckdb_engine) == []


def test_enumeration_reads_old_resident_numbers_in_sequence(duckdb_engine: Engine) -> None:
    rule = RULES["enumeration"]
    series = [
        next(f"FA{serial:07d}{d}" for d in "0123456789" if ids.is_valid(f"FA{serial:07d}{d}"))
        for serial in (1200, 1201, 1203, 1204, 1206)
    ]
    rows = [
        lookup(f"o{i}", "S07", pid, f"2025-02-11 {9 + i:02d}:00", "LI02")
        for i, pid in enumerate(series)
    ]
    hits = hits_of(rule, Case("old form", True, {"access": rows}), duckdb_engine)
    assert sorted(h["event_id"] for h in hits) == ["o0", "o1", "o2", "o3", "o4"]
    assert "共 5 個號碼" in hits[0]["evidence_zh"]


def test_volume_multi_day_view_names_the_dates_and_both_baselines(duckdb_engine: Engine) -> None:
    rule = RULES["volume"]
    case = case_named(rule, "a spree spread over two days")
    hits = hits_of(rule, case, duckdb_engine)
    assert len(hits) == 39
    zh = hits[0]["evidence_zh"]
    assert zh.startswith("2月10日 至 2月11日 連續 2 個查詢日共查詢 39 位無業務案件佐證之不同民眾")
    assert "本人先前 15 個查詢日平均每日 3.0 位（2 日約 6.0 位）" in zh
    assert "同單位其他 2 位同仁同期平均 4.0 位" in zh and "6.5 倍" in zh
    assert "（門檻：基準之 2.0 倍且至少 30 位）" in zh
    assert "From 2025-02-10 to 2025-02-11" in hits[0]["evidence_en"]
    # Each day alone stays under the per-day floor: only the multi-day view sees it.
    assert hits_of(rule, Case(case.name, True, case.tables, params={
        **case.params, "volume_window_min_subjects": 40}), duckdb_engine) == []  # fmt: skip


def test_volume_multi_day_multiplier_is_a_setting(duckdb_engine: Engine) -> None:
    rule = RULES["volume"]
    case = case_named(rule, "a spree spread over two days")
    looser = {**case.params, "volume_window_multiplier": 7.0}
    assert hits_of(rule, Case(case.name, True, case.tables, params=looser), duckdb_engine) == []
