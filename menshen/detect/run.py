"""One detection run: context → every rule → findings → the derived tables of
docs/architecture.md §2 (explanations, findings, finding_events)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.parquet as pq

from menshen.detect import explain as explain_module
from menshen.detect import pipeline as pipeline_module
from menshen.detect import schema as schema_module
from menshen.detect import summaries as summaries_module
from menshen.detect.engine import Engine
from menshen.detect.explain import EXPLANATION_TEXT
from menshen.detect.findings import EVENT_COLUMNS, build_findings
from menshen.detect.pipeline import Reading, Views, World, build_views, widen
from menshen.detect.rule import Rule
from menshen.detect.schema import REFERENCE_TABLES
from menshen.detect.settings import Settings
from menshen.detect.summaries import SUMMARIES

EXPLANATION_COLUMNS = (
    "system", "event_id", "occurred_at", "occurred_date", "report_date", "account", "staff_id",
    "unit_id", "subject_id", "subject_id_valid", "action", "purpose_code", "record_ref",
    "deliberate", "explanation", "explanation_strength", "explanation_record_id",
)  # fmt: skip
# The reference tables read while the pipeline is built (load_store_world).
LARGE_REFS = ("records", "persons")
# Their columns of few distinct values, read dictionary-encoded: a string per row costs the
# read 0.5 s of CPU more at 10M (4.4M records), and memory.
FEW_VALUES = {"records": ["kind", "staff_id", "unit_id"], "persons": ["name", "address_code"]}
# The explanations are sorted in spans of whole days of about this many look-ups each
# (explanations_table).
SORT_SPAN_ROWS = 1_000_000
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
    # History dates whose explanations were read from earlier runs (load_store_world).
    history_reused: list[dt.date] = field(default_factory=list)
    # The range's days of every summary (menshen.detect.summaries), for later runs to read.
    summaries: dict[str, pa.Table] = field(default_factory=dict)

    @property
    def findings(self) -> pa.Table:
        return self.tables["findings"]


def explain_version(settings: Settings) -> str:
    """What a stored explanation and summary depend on besides the data: the code that
    enriches, explains and summarises look-ups, and the settings. A run reads an earlier
    run's explanations and summaries of its history only when this is the same."""
    digest = hashlib.sha256()
    for module in (explain_module, pipeline_module, schema_module, summaries_module):
        digest.update(Path(module.__file__).read_bytes())  # type: ignore[arg-type]
    digest.update(json.dumps(dataclasses.asdict(settings), sort_keys=True).encode())
    return digest.hexdigest()[:16]


def load_store_world(
    snapshot: object,
    start: dt.date,
    end: dt.date,
    history_days: int,
    reuse_version: str | None = None,
) -> World:
    """Look-ups of [start − history_days, end] (their Parquet files, read by the engine) and
    the latest reference tables of a store snapshot (menshen.store.Snapshot).

    With `reuse_version` (explain_version), history dates whose explanations an earlier run
    of that version stored (Snapshot.stored_explanations) are read from them instead: their
    look-ups are not explained again, and the rules read the summaries stored in the same
    batch (Snapshot.summaries_beside). A record that arrives later does not change those dates'
    explanations (nor the baselines that count them) until a run recomputes them (`menshen
    detect --recompute-history`, or any detect run over those dates)."""
    history_from = start - dt.timedelta(days=history_days)
    explained: dict[Path, list[dt.date]] = {}
    if reuse_version and start > history_from:
        explained = snapshot.stored_explanations(  # type: ignore[attr-defined]
            history_from, start - dt.timedelta(days=1), reuse_version
        )
    # A batch without a summary (none is expected): the pipeline summarises its look-ups.
    summaries: dict[str, dict[Path, list[dt.date]]] = {name: {} for name in SUMMARIES}
    for path, dates in explained.items():
        for name, file in snapshot.summaries_beside(path).items():  # type: ignore[attr-defined]
            if name in summaries:
                summaries[name][file] = dates
    reused = {day for dates in explained.values() for day in dates}
    files: list[Path] = snapshot.access_files_between(history_from, end, skip=reused)  # type: ignore[attr-defined]
    paths = {name: snapshot.reference(name) for name in REFERENCE_TABLES}  # type: ignore[attr-defined]
    # The large tables are read on other threads while the pipeline is built (at 10M: 4.4M
    # records and 2M persons took pyarrow 1.1–1.9 s, building the explain queries as long).
    # The small ones first: pyarrow's threads would serve them after the large ones.
    refs: dict[str, pa.Table | Reading | None] = {
        name: pq.ParquetFile(path).read() if path else None
        for name, path in paths.items()
        if name not in LARGE_REFS or not path
    }
    pool = ThreadPoolExecutor(max_workers=len(LARGE_REFS), thread_name_prefix="menshen-refs")
    for name in LARGE_REFS:
        if paths.get(name):
            # The footer, read once: its columns (a store of another version may lack one of
            # FEW_VALUES) and row count.
            meta = pq.read_metadata(paths[name])
            names = meta.schema.to_arrow_schema().names
            few = [c for c in FEW_VALUES.get(name, []) if c in names]
            file = pq.ParquetFile(paths[name], metadata=meta, read_dictionary=few)
            refs[name] = Reading(meta.num_rows, pool.submit(file.read))
    pool.shutdown(wait=False)
    return World(
        access=files, refs=refs, explained=explained, summaries=summaries, keys_unique=True
    )


def _explanation_text(t: ir.Table) -> ir.Table:
    """explanation_zh / explanation_en: the code's sentence, with the record id when any.

    One CASE per language, its result concatenated with the bracketed record id or "": a
    null record id leaves the sentence alone, a null or unknown code gives null either way."""
    rid = t.explanation_record_id
    for lang, pos in (("zh", 0), ("en", 1)):
        sentence = ibis.cases(
            *[(t.explanation == code, text[pos]) for code, text in EXPLANATION_TEXT.items()],
            else_=ibis.null("string"),
        )
        open_, close = ("（", "）") if lang == "zh" else (" (", ")")
        t = t.mutate(**{f"explanation_{lang}": sentence + (open_ + rid + close).fill_null("")})
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


def _time_spans(engine: Engine, t: ir.Table, times: ir.Table, max_rows: int) -> list[ir.Table]:
    """`t` cut on occurred_at into consecutive spans of whole days, in time order, each of
    about `max_rows` look-ups at most (a day that alone holds more is a span of its own);
    look-ups without occurred_at come last, where ORDER BY puts them (ASC is NULLS LAST on
    both engines). `times`: the same look-ups' occurred_at, narrow, to count them by day."""
    per_day = engine.to_arrow(
        times.group_by(day=times.occurred_at.date()).aggregate(n=times.count())
    )
    days = sorted(
        (day, n)
        for day, n in zip(per_day["day"].to_pylist(), per_day["n"].to_pylist(), strict=True)
        if day is not None
    )
    undated = len(days) < per_day.num_rows
    cuts: list[dt.datetime] = []  # the first moment of every span but the first
    rows = 0
    for day, n in days:
        if rows and rows + n > max_rows:
            cuts.append(dt.datetime.combine(day, dt.time()))
            rows = 0
        rows += n
    if not cuts and not undated:
        return [t]
    at = t.occurred_at
    spans = []
    for lo, hi in zip([None, *cuts], [*cuts, None], strict=True):
        span = at.notnull()
        if lo is not None:
            span &= at >= lo
        if hi is not None:
            span &= at < hi
        spans.append(t.filter(span))
    if undated:
        spans.append(t.filter(at.isnull()))
    return spans


def explanations_table(
    engine: Engine, views: Views, findings: pa.Table, events: pa.Table
) -> pa.Table:
    """The explanations table: every look-up of the range, its explanation in zh-TW and
    English, and the finding it is in (if any), ordered by (occurred_at, system, event_id) —
    built in the engine.

    Sorted a span of days at a time (SORT_SPAN_ROWS), the spans in time order, so that no
    sort spills: at 10M look-ups (~300 bytes each in the sort) one sort of the whole range
    is larger than DuckDB's memory limit, and took 22 s of the step's 31 s."""
    lookups = views.context(frozenset({"staff", "calendar"})).lookups
    t = _explanation_text(lookups.select(*EXPLANATION_COLUMNS))
    if events.num_rows:
        keys = engine.load("finding_keys", _finding_keys(findings, events))
        t = t.left_join(keys, [t.system == keys.k_system, t.event_id == keys.k_event]).drop(
            "k_system", "k_event"
        )
    else:
        t = t.mutate(finding_id=ibis.null("string"))
    times = views.context(frozenset()).lookups.select("occurred_at")
    parts = [
        engine.to_arrow_file(span.order_by([span.occurred_at, span.system, span.event_id]))
        for span in _time_spans(engine, t, times, SORT_SPAN_ROWS)
    ]
    return pa.concat_tables(parts)


def _hit_events(engine: Engine, views: Views, keys: pa.Table) -> ir.Table:
    """The look-ups of the range whose (system, event_id) is in `keys`, with the descriptive
    columns findings need. The kept table is cut down to them first and widened after: the
    other way round the engine joins every look-up to the staff, systems and calendar tables
    before it drops all but these few (at 1M the query took 2.4 times as long)."""
    loaded = engine.load("hit_keys", keys.rename_columns(["h_system", "h_event"]))
    kept = views.kept.filter(views.kept.occurred_date >= views.full.range_start)
    hit = kept.semi_join(loaded, [kept.system == loaded.h_system, kept.event_id == loaded.h_event])
    return widen(hit, views.tables, views.full.params, frozenset({"staff", "systems", "calendar"}))


def _prepare(engine: Engine, views: Views, rule: Rule) -> object:
    return engine.prepare(views.query(rule.query, rule.reads))


def _hits(rule: Rule, raw: pa.Table) -> pa.Table:
    """A rule's result as HIT_SCHEMA rows."""
    n = raw.num_rows
    group_key = raw.column("group_key") if "group_key" in raw.column_names else None
    return pa.table(
        {
            "rule_id": pa.array([rule.id] * n, pa.string()),
            "system": raw.column("system").cast(pa.string()),
            "event_id": raw.column("event_id").cast(pa.string()),
            "evidence_zh": raw.column("evidence_zh").cast(pa.string()),
            "evidence_en": raw.column("evidence_en").cast(pa.string()),
            "group_key": pa.nulls(n, pa.string())
            if group_key is None
            else group_key.cast(pa.string()),
        },
        schema=HIT_SCHEMA,
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
    views = build_views(engine, world, start, end, settings, compute=False)
    kinds = [frozenset(rule.reads) for rule in rules if rule.reads is not None]
    parts: list[pa.Table] = []
    counts: dict[str, int] = {}
    # One thread builds the contexts' views and then builds and compiles the rules' queries,
    # one after the other, while the engine computes the kept tables and then runs the
    # queries before (13 queries took ~4 s of Python at 10M; the views ~1 s).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="menshen-rules") as pool:
        shared = pool.submit(views.share, engine, kinds)
        jobs = [pool.submit(_prepare, engine, views, rule) for rule in rules]
        engine.compute_deferred()
        shared.result()
        for rule, job in zip(rules, jobs, strict=True):
            step(rule.id)
            raw = engine.run(job.result())
            parts.append(_hits(rule, raw))
            counts[rule.id] = raw.num_rows
    hits = pa.concat_tables(parts) if parts else HIT_SCHEMA.empty_table()
    step("findings")
    keys = hits.select(["system", "event_id"]).group_by(["system", "event_id"]).aggregate([])
    if keys.num_rows:
        events = engine.to_arrow(_hit_events(engine, views, keys).select(*EVENT_COLUMNS))
    else:
        events = pa.table({c: [] for c in EVENT_COLUMNS})
    findings, finding_events = build_findings(
        hits, events, {r.id: r for r in rules}, world.ref("staff_risk"), settings
    )
    step("explanations")
    expl = explanations_table(engine, views, findings, finding_events)
    summaries = {}
    for name, table in views.full.summaries.items():
        day = table.occurred_date
        summaries[name] = engine.to_arrow(table.filter((day >= start) & (day <= end)))
    return DetectionResult(
        tables={"explanations": expl, "findings": findings, "finding_events": finding_events},
        range_start=start,
        range_end=end,
        hits_per_rule=counts,
        history_reused=sorted(day for dates in world.explained.values() for day in dates),
        summaries=summaries,
    )
