"""zh-TW evidence sentences carry no English codes: record kinds are named by the purpose's
own description or a zh label, dates read 2月11日; the English sentences keep the codes."""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa

from menshen.detect.engine import Engine
from menshen.detect.evidence import date_zh, datetime_zh, full_date_zh, kind_zh
from menshen.detect.pipeline import build_context
from menshen.detect.rule import Case
from menshen.detect.rules import load_rule
from menshen.detect.settings import Settings
from menshen.detect.testing import case_range, lookup, make_world

CODE = re.compile(r"[a-z]+_[a-z_]+")  # snake_case codes such as household_registration


def run(name: str, tables: dict[str, list[dict[str, Any]]], engine: Engine) -> list[dict]:
    case = Case("wording", True, tables)
    start, end = case_range(case)
    ctx = build_context(engine, make_world(case.tables), start, end, Settings())
    return engine.to_arrow(load_rule(name).query(ctx)).to_pylist()


def test_unexplained_names_the_purpose_description_not_the_kind(duckdb_engine: Engine) -> None:
    tables = {"access": [lookup("u1", "S05", "P10", "2025-02-10 09:12", "LI01")]}
    (hit,) = run("unexplained", tables, duckdb_engine)
    zh = hit["evidence_zh"]
    assert zh == (
        "未見該民眾於查詢時（前 7 日至後 3 日）有「依民眾授權查詢勞保資料之求職登記表辦理」"
        "所需之業務案件由承辦人或所屬單位經辦"
    )
    assert not CODE.search(zh)
    assert "'job_registration'" in hit["evidence_en"]


def test_purpose_mismatch_names_kinds_in_zh(duckdb_engine: Engine) -> None:
    # R-HH-1 is a household_registration of P02; LI01 needs a job_registration.
    tables = {
        "access": [
            lookup("m1", "S02", "P02", "2025-02-10 09:00", "LI01", system="LI", record_ref="R-HH-1")
        ]
    }
    hits = [h for h in run("purpose_mismatch", tables, duckdb_engine) if h["event_id"] == "m1"]
    assert hits, "a cited record of the wrong kind is flagged"
    zh = hits[0]["evidence_zh"]
    assert "「戶籍登記」類案件" in zh and "「求職登記」類案件" in zh
    assert "依民眾授權查詢勞保資料之求職登記表辦理" in zh
    assert not CODE.search(zh)
    assert "household_registration" in hits[0]["evidence_en"]


def test_zh_labels_and_dates(duckdb_engine: Engine) -> None:
    import ibis

    t = ibis.memtable(
        pa.table(
            {
                "kind": ["household_registration", "transcript_application", "odd_kind", None],
                "at": pa.array(
                    ["2026-11-26 10:01:00", "2025-02-01 09:05:00", "2024-12-31 23:59:00", None],
                    pa.string(),
                ),
            }
        )
    )
    t = t.mutate(at=t.at.cast("timestamp"))
    out = duckdb_engine.to_arrow(
        t.select(k=kind_zh(t.kind), d=date_zh(t.at), f=full_date_zh(t.at), dt=datetime_zh(t.at))
    ).to_pylist()
    assert [r["k"] for r in out] == ["戶籍登記", "戶籍謄本申請", "其他（odd_kind）", "—"]
    assert out[0]["dt"] == "11月26日 10:01" and out[1]["d"] == "2月1日"
    assert out[2]["f"] == "2024年12月31日"
