"""One detection run: context → every rule → findings → the derived tables of
docs/architecture.md §2 (explanations, findings, finding_events)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from menshen.detect.engine import Engine
from menshen.detect.explain import EXPLANATION_TEXT
from menshen.detect.findings import EVENT_COLUMNS, build_findings
from menshen.detect.pipeline import World, build_context
from menshen.detect.rule import Rule
from menshen.detect.schema import ACCESS_SCHEMA, REFERENCE_TABLES
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
    """Look-ups of [start − history_days, end] and the latest reference tables of a store
    snapshot (menshen.store.Snapshot)."""
    files: list[Path] = snapshot.access_files_between(start - dt.timedelta(days=history_days), end)  # type: ignore[attr-defined]
    columns = [f.name for f in ACCESS_SCHEMA]
    if files:
        dataset = pads.dataset([str(p) for p in files], format="parquet")
        present = [c for c in columns if c in dataset.schema.names]
        access = dataset.to_table(columns=present)
    else:
        access = ACCESS_SCHEMA.empty_table()
    refs: dict[str, pa.Table | None] = {}
    for name in REFERENCE_TABLES:
        path = snapshot.reference(name)  # type: ignore[attr-defined]
        refs[name] = pq.read_table(path) if path else None
    return World(access=access, refs=refs)


def _explanation_text(expl: pa.Table) -> pa.Table:
    codes = list(EXPLANATION_TEXT)
    idx = pc.index_in(expl.column("explanation"), value_set=pa.array(codes))
    rid = expl.column("explanation_record_id")
    for lang, pos in (("zh", 0), ("en", 1)):
        base = pa.array([EXPLANATION_TEXT[c][pos] for c in codes]).take(idx)
        open_, close = ("（", "）") if lang == "zh" else (" (", ")")
        with_id = pc.binary_join_element_wise(base, open_, rid, close, "")
        expl = expl.append_column(f"explanation_{lang}", pc.if_else(pc.is_null(rid), base, with_id))
    return expl


def _attach_finding_ids(expl: pa.Table, findings: pa.Table, events: pa.Table) -> pa.Table:
    if events.num_rows == 0:
        return expl.append_column("finding_id", pa.nulls(expl.num_rows, pa.string()))
    scored = events.select(["finding_id", "system", "event_id"]).join(
        findings.select(["finding_id", "risk_score"]), "finding_id"
    )
    scored = scored.sort_by([("risk_score", "descending"), ("finding_id", "ascending")])
    best: dict[tuple[str, str], str] = {}
    for system, event_id, fid in zip(
        scored.column("system").to_pylist(),
        scored.column("event_id").to_pylist(),
        scored.column("finding_id").to_pylist(),
        strict=True,
    ):
        best.setdefault((system, event_id), fid)
    keys = pa.table(
        {
            "system": [k[0] for k in best],
            "event_id": [k[1] for k in best],
            "finding_id": list(best.values()),
        }
    )
    joined = expl.join(keys, ["system", "event_id"], join_type="left outer")
    return joined.sort_by(
        [("occurred_at", "ascending"), ("system", "ascending"), ("event_id", "ascending")]
    )


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
    ctx = build_context(engine, world, start, end, settings)
    parts: list[pa.Table] = []
    counts: dict[str, int] = {}
    for rule in rules:
        step(rule.id)
        raw = engine.to_arrow(rule.query(ctx))
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
        lk = ctx.lookups
        joined = lk.join(loaded, [lk.system == loaded.h_system, lk.event_id == loaded.h_event])
        events = engine.to_arrow(joined.select(*EVENT_COLUMNS))
    else:
        events = pa.table({c: [] for c in EVENT_COLUMNS})
    findings, finding_events = build_findings(
        hits, events, {r.id: r for r in rules}, world.ref("staff_risk"), settings
    )
    step("explanations")
    expl = engine.to_arrow(ctx.lookups.select(*EXPLANATION_COLUMNS))
    expl = _explanation_text(expl)
    expl = _attach_finding_ids(expl, findings, finding_events)
    return DetectionResult(
        tables={"explanations": expl, "findings": findings, "finding_events": finding_events},
        range_start=start,
        range_end=end,
        hits_per_rule=counts,
    )
