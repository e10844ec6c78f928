"""Findings: grouping, report dates, scoring, risk weights, evidence, hashes."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

import ibis
import pytest

from menshen.detect.engine import connect
from menshen.detect.evidence import hits
from menshen.detect.rule import Rule
from menshen.detect.run import DetectionResult, detect
from menshen.detect.settings import Settings
from menshen.detect.testing import lookup, make_world, person


def flagging(rule_id: str, severity: str, events: Sequence[str], group: str | None = None) -> Rule:
    """A rule that flags exactly `events` with a recognisable sentence."""

    def query(ctx):
        t = ctx.lookups.filter(ctx.lookups.event_id.isin(list(events)))
        key = ibis.literal(group) if group else None
        return hits(
            t, "證據 " + rule_id + " " + t.event_id, "evidence " + rule_id + " " + t.event_id, key
        )

    return Rule(
        id=rule_id, title_zh="測試規則", title_en="test rule", severity=severity,  # type: ignore[arg-type]
        motivated_by="test", false_positives="none", review_guide="none", query=query,
        cases=(), source_file=__file__,
    )  # fmt: skip


def run(rows, rules, **settings) -> DetectionResult:
    world = make_world({"access": rows})
    dates = [dt.datetime.fromisoformat(r["occurred_at"]).date() for r in rows]
    eng = connect("duckdb")
    try:
        return detect(eng, world, min(dates), max(dates), rules, Settings(**settings))
    finally:
        eng.close()


ROWS = [
    lookup("a1", "S02", "P12", "2025-02-10 09:00", "HR02"),
    lookup("a2", "S02", "P12", "2025-02-10 15:00", "HR02"),
    lookup("b1", "S02", "P08", "2025-02-10 09:30", "HR02"),
    lookup("c1", "S01", "P12", "2025-02-10 10:00", "HR02"),
    lookup("sat", "S02", "P12", "2025-02-15 09:12", "HR02"),
    lookup("sun", "S02", "P12", "2025-02-16 09:12", "HR02"),
]


def test_hits_of_one_user_about_one_subject_on_one_report_day_form_one_finding() -> None:
    result = run(ROWS, [flagging("r-high", "high", ["a1", "a2", "b1", "c1", "sat", "sun"])])
    found = {
        (f["staff_id"], f["subject_id"], f["report_date"]): f["event_count"]
        for f in result.findings.to_pylist()
    }
    monday, next_monday = dt.date(2025, 2, 10), dt.date(2025, 2, 17)
    assert found == {
        ("S02", person("P12"), monday): 2,
        ("S02", person("P08"), monday): 1,
        ("S01", person("P12"), monday): 1,
        # Saturday and Sunday roll into the next workday's report, together.
        ("S02", person("P12"), next_monday): 2,
    }


def test_a_burst_is_one_finding_over_several_subjects() -> None:
    result = run(ROWS, [flagging("burst", "high", ["a1", "b1"], group="S02-morning")])
    (finding,) = result.findings.to_pylist()
    assert finding["subject_id"] is None
    assert finding["event_count"] == 2
    events = result.tables["finding_events"].to_pylist()
    assert {e["event_id"] for e in events} == {"a1", "b1"}


def test_score_is_the_worst_rule_plus_half_of_the_others_and_decides_must_review() -> None:
    rules = [flagging("r-low", "low", ["a1", "c1"]), flagging("r-med", "medium", ["a1"])]
    result = run(ROWS[:4], rules)
    by_staff = {f["staff_id"]: f for f in result.findings.to_pylist()}
    assert by_staff["S02"]["risk_score"] == pytest.approx(25 + 0.5 * 10)
    assert by_staff["S02"]["severity"] == "medium"
    assert by_staff["S02"]["rules"] == ["r-med", "r-low"]
    assert by_staff["S02"]["must_review"] is False  # 30 < 40
    assert by_staff["S01"]["risk_score"] == pytest.approx(10)
    lowered = run(ROWS[:4], rules, must_review_threshold=30)
    assert {f["staff_id"]: f["must_review"] for f in lowered.findings.to_pylist()} == {
        "S02": True,
        "S01": False,
    }


def test_risk_weights_temporary_staff_on_high_systems_tenure_and_the_register() -> None:
    rows = [
        lookup("t1", "S05", "P12", "2025-02-10 09:00", None, system="PN", account="s05"),
        lookup("p1", "S04", "P12", "2025-02-10 09:00", "PN01"),
        lookup("r1", "S07", "P12", "2025-02-10 09:00", "LI02"),
    ]
    # S05 (temporary) gets a PN account for this test.
    world_extra = {
        "access": rows,
        "accounts": [
            {"system": "PN", "account": "s05", "staff_id": "S05", "granted_at": "2025-01-01"}
        ],
    }
    world = make_world(world_extra)
    eng = connect("duckdb")
    try:
        result = detect(
            eng, world, dt.date(2025, 2, 10), dt.date(2025, 2, 10),
            [flagging("r-low", "low", ["t1", "p1", "r1"])], Settings(),
        )  # fmt: skip
    finally:
        eng.close()
    by_staff = {f["staff_id"]: f for f in result.findings.to_pylist()}
    assert by_staff["S05"]["risk_factors"] == ["temporary_on_high_sensitivity"]
    assert by_staff["S05"]["risk_score"] == pytest.approx(10 + 15)
    assert "承辦人為臨時人員，使用高敏感系統" in by_staff["S05"]["evidence_zh"]
    assert by_staff["S04"]["risk_factors"] == ["long_tenure"]  # PN since 2019-03-01
    assert any("2019-03-01" in s for s in by_staff["S04"]["evidence_zh"])
    assert by_staff["S07"]["risk_factors"] == ["risk_register"]
    assert by_staff["S07"]["risk_score"] == pytest.approx(10 + 20)
    # The register is confidential: no sentence names it.
    assert not any("列管" in s for s in by_staff["S07"]["evidence_zh"])


def test_the_register_weight_ends_at_its_until_date() -> None:
    world = make_world(
        {
            "access": [lookup("r1", "S07", "P12", "2025-02-10 09:00", "LI02")],
            "staff_risk": [{"staff_id": "S06", "weight": 30.0, "until": "2025-01-31"}],
        }
    )
    eng = connect("duckdb")
    try:
        result = detect(eng, world, dt.date(2025, 2, 10), dt.date(2025, 2, 10),
                        [flagging("r", "low", ["r1"])], Settings())  # fmt: skip
    finally:
        eng.close()
    assert result.findings.to_pylist()[0]["risk_factors"] == ["risk_register"]


def test_findings_carry_evidence_sentences_hashes_and_stable_ids() -> None:
    rule = flagging("r-high", "high", ["a1", "a2"])
    first = run(ROWS[:2], [rule])
    again = run(ROWS[:2], [rule])
    (f,) = first.findings.to_pylist()
    assert f["evidence_zh"] == ["證據 r-high a1", "證據 r-high a2"]
    assert f["evidence_en"] == ["evidence r-high a1", "evidence r-high a2"]
    assert json.loads(f["rule_hashes"]) == {"r-high": rule.content_hash()}
    assert f["finding_id"] == again.findings.to_pylist()[0]["finding_id"]
    assert len(f["finding_id"]) == 16


def test_explanations_cover_every_look_up_and_point_to_the_finding() -> None:
    result = run(ROWS, [flagging("r-high", "high", ["b1"])])
    expl = {r["event_id"]: r for r in result.tables["explanations"].to_pylist()}
    assert set(expl) == {r["event_id"] for r in ROWS}
    (f,) = result.findings.to_pylist()
    assert expl["b1"]["finding_id"] == f["finding_id"]
    assert expl["a1"]["finding_id"] is None
    assert expl["a1"]["explanation"] == "no_record_needed"
    assert expl["sat"]["report_date"] == dt.date(2025, 2, 17)


def test_derived_tables_have_the_architecture_columns() -> None:
    result = run(ROWS[:1], [flagging("r", "high", ["a1"])])
    assert result.tables["findings"].column_names == [
        "finding_id", "report_date", "unit_id", "staff_id", "account", "subject_id", "first_at",
        "last_at", "event_count", "rules", "severity", "risk_score", "must_review",
        "evidence_zh", "evidence_en", "rule_hashes", "risk_factors",
    ]  # fmt: skip
    assert result.tables["finding_events"].column_names == [
        "finding_id",
        "system",
        "event_id",
        "rules",
    ]
    assert set(result.tables["explanations"].column_names) >= {
        "system", "event_id", "occurred_at", "occurred_date", "report_date", "account",
        "staff_id", "unit_id", "subject_id", "subject_id_valid", "action", "purpose_code",
        "record_ref", "deliberate", "explanation", "explanation_strength",
        "explanation_record_id", "explanation_zh", "explanation_en", "finding_id",
    }  # fmt: skip
