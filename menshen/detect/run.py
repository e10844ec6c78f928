"""One detection run: context → every rule → findings → the derived tables of
docs/architecture.md §2 (explanations, findings, finding_events)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.parquet as pq

from menshen.detect.engine import Engine
from menshen.detect.explain import EXPLANATION_TEXT
from menshen.detect.findings import EVENT_COLUMNS, build_findings
from menshen.detect.pipeline import World, build_views
from menshen.detect.rule import Rule
from menshen.detect.schema import REFERENCE_TABLES
from menshen.detect.settings import Settings

EXPLANATION_COLUMNS = (
    "system", "event_id", "occurred_at", "occurred_date", "report_date", "account", "staff_id",
    "unit_id", "subject_id", "subject_id_valid", "action", "purpose_code", "record_ref",
    "deliberate", "explanation", "explanation_strength", "explanation_record_id",
)  # fmt: skip
HIT_SCHEMA = pa.schema(
    [
        ("rule_id", pa.string()),
        ("system", pa.string()),
        ("event_id", pa.string()),
        ("evidence_zh", pa.string()),
        ("evidence_en", pa.string()),
        ("group_key", pa.string()),
    ]
)


@dataclass
class DetectionResult:
    tables: dict[str, pa.Table]
    range_start: dt.date
    range_end: dt.date
    hits_per_rule: dict[str, int]

    @property
    def findings(self) -> pa.Table:
        return self.tables["findings"]


def load_store_world(snapshot: object, start: dt.date, end: dt.date, history_days: int) -> World:
    """Look-ups of [start − history_days, end] (their Parquet files, read by the engine) and
    the latest reference tables of a store snapshot (menshen.store.Snapshot)."""
    files: list[Path] = snapshot.access_files_between(start - dt.timedelta(days=history_days), end)  # type: ignore[attr-defined]
    refs: dict[str, pa.Table | None] = {}
    for name in REFERENCE_TABLES:
        path = snapshot.reference(name)  # type: ignore[attr-defined]
        refs[name] = pq.read_table(path) if path else None
    return World(access=files, refs=refs)


def _explanation_text(t: ir.Table) -> ir.Table:
    """explanation_zh / explanation_en: the code's sentence, with the record id when any."""
    for lang, pos in (("zh", 0), ("en", 1)):
        base = ibis.cases(
            *[(t.explanation == code, text[pos]) for code, text in EXPLANATION_TEXT.items()],
            else_=ibis.null("string"),
        )
        open_, close = ("（", "）") if lang == "zh" else (" (", ")")
        rid = t.explanation_record_id
        t = t.mutate(
            **{f"explanation_{lang}": ibis.ifelse(rid.isnull(), base, base + open_ + rid + close)}
        )
    return t


def _finding_keys(findings: pa.Table, events: pa.Table) -> pa.Table:
    """(k_system, k_event, finding_id): each flagged look-up's highest-scoring finding (ties:
    the smallest finding id)."""
    scored = events.select(["finding_id", "system", "event_id"]).join(
        findings.select(["finding_id", "risk_score"]), "finding_id"
    )
    scored = scored.sort_by([("risk_score", "descending"), ("finding_id", "ascending")])
    scored = scored.append_column("_i", pa.array(range(scored.num_rows), pa.int64()))
    firsts = scored.group_by(["system", "event_id"], use_threads=False).aggregate([("_i", "min")])
    best = scored.take(firsts.column("_i_min"))
    return pa.table(
        {
            "k_system": best.column("system"),
            "k_event": best.column("event_id"),
            "finding_id": best.column("finding_id"),
        }
    )


def explanations_table(
    engine: Engine, lookups: ir.Table, findings: pa.Table, events: pa.Table
) -> pa.Table:
    """The explanations table: every look-up of the range, its explanation in zh-TW and
    English, and the finding it is in (if any), ordered by time — built in the engine."""
    t = _explanation_text(lookups.select(*EXPLANATION_COLUMNS))
    if events.num_rows:
        keys = engine.load("finding_keys", _finding_keys(findings, events))
        t = t.left_join(keys, [t.system == keys.k_system, t.event_id == keys.k_event]).drop(
            "k_system", "k_event"
        )
    else:
        t = t.mutate(finding_id=ibis.null("string"))
    t = t.order_by([t.occurred_at, t.system, t.event_id])
    return engine.to_arrow_file(t)


def detect(
    engine: Engine,
    world: World,
    start: dt.date,
    end: dt.date,
    rules: Sequence[Rule],
    settings: Settings | None = None,
    on_step: Callable[[str], None] | None = None,
) -> DetectionResult:
    settings = settings or Settings()
    step = on_step or (lambda _name: None)
    step("explain")
    views = build_views(engine, world, start, end, settings)
    parts: list[pa.Table] = []
    counts: dict[str, int] = {}
    for rule in rules:
        step(rule.id)
        raw = engine.to_arrow(views.query(rule.query))
        n = raw.num_rows
        part = pa.table(
            {
                "rule_id": pa.array([rule.id] * n, pa.string()),
                "system": raw.column("system").cast(pa.string()),
                "event_id": raw.column("event_id").cast(pa.string()),
                "evidence_zh": raw.column("evidence_zh").cast(pa.string()),
                "evidence_en": raw.column("evidence_en").cast(pa.string()),
                "group_key": raw.column("group_key").cast(pa.string())
                if "group_key" in raw.column_names
                else pa.nulls(n, pa.string()),
            },
            schema=HIT_SCHEMA,
        )
        counts[rule.id] = n
        parts.append(part)
    hits = pa.concat_tables(parts) if parts else HIT_SCHEMA.empty_table()
    step("findings")
    keys = hits.select(["system", "event_id"]).group_by(["system", "event_id"]).aggregate([])
    if keys.num_rows:
        loaded = engine.load("hit_keys", keys.rename_columns(["h_system", "h_event"]))
        lk = views.context(frozenset({"staff", "systems", "calendar"})).lookups
        joined = lk.join(loaded, [lk.system == loaded.h_system, lk.event_id == loaded.h_event])
        events = engine.to_arrow(joined.select(*EVENT_COLUMNS))
    else:
        events = pa.table({c: [] for c in EVENT_COLUMNS})
    findings, finding_events = build_findings(
        hits, events, {r.id: r for r in rules}, world.ref("staff_risk"), settings
    )
    step("explanations")
    lookups = views.context(frozenset({"staff", "calendar"})).lookups
    expl = explanations_table(engine, lookups, findings, finding_events)
    return DetectionResult(
        tables={"explanations": expl, "findings": findings, "finding_events": finding_events},
        range_start=start,
        range_end=end,
        hits_per_rule=counts,
    )
