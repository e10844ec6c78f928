"""`menshen detect`, `menshen findings`, `menshen rules`, `menshen evaluate`."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from menshen import exitcodes

HOME_HELP = "證據庫目錄 / evidence store (default $MENSHEN_HOME or ./menshen-data)"
ENGINE_HELP = "執行引擎 / engine: duckdb (default) or pyspark (local[2])"


def _date(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


# Python's cycle collector during a detection run (see batch_gc): the young generation is
# collected after this many new objects, not 700, and the older ones never.
BATCH_GC_THRESHOLD = (100_000, 50, 1000)


@contextlib.contextmanager
def batch_gc() -> Iterator[None]:
    """Collect cyclic garbage seldom while a detection run lasts; the usual settings after.

    A run builds hundreds of thousands of Ibis objects that live until it ends. With Python's
    default thresholds the collector ran 514 times in a 10M daily run, 4 of them over every
    object (0.6 s in all, mostly on the threads that build the queries);
    with these, 3 times (0.2 s). A run makes little cyclic garbage, and what it makes is
    collected once the usual thresholds are back."""
    before = gc.get_threshold()
    gc.set_threshold(*BATCH_GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def run_store_detection(
    home: Path | None,
    start: dt.date | None,
    end: dt.date | None,
    engine_name: str = "duckdb",
    write: bool = True,
    on_step: Any = None,
    reuse_history: bool = True,
) -> Any:
    """Detect over the store: [start, end] default to the store's whole date range. Returns
    (DetectionResult or None when the store holds no look-ups, store).

    `reuse_history`: read the history's explanations that earlier runs stored, where they
    can be (run.load_store_world), instead of explaining those look-ups again."""
    with batch_gc():
        return _run_store_detection(home, start, end, engine_name, write, on_step, reuse_history)


def _run_store_detection(
    home: Path | None,
    start: dt.date | None,
    end: dt.date | None,
    engine_name: str,
    write: bool,
    on_step: Any,
    reuse_history: bool,
) -> Any:
    from menshen.detect.engine import connect
    from menshen.detect.rules import all_rules
    from menshen.detect.run import detect, explain_version, load_store_world
    from menshen.detect.settings import Settings
    from menshen.store import Store

    store = Store(home)
    snap = store.snapshot()
    span = snap.date_range() if callable(snap.date_range) else snap.date_range
    if span is None:
        return None, store
    start = start or span[0]
    end = end or span[1]
    settings = Settings()
    version = explain_version(settings)
    world = load_store_world(
        snap, start, end, settings.history_days, version if reuse_history else None
    )
    engine = connect(engine_name)  # type: ignore[arg-type]
    try:
        result = detect(engine, world, start, end, all_rules(), settings, on_step=on_step)
    finally:
        engine.close()
    if write:
        # The range and version let a later run read these explanations as its history.
        covered = {"range_start": str(start), "range_end": str(end), "explain_version": version}
        store.write_derived(
            result.tables,
            source=f"menshen detect {start}..{end}",
            meta={"explanations": covered},
            summaries=result.summaries,
        )
    return result, store


@click.command()
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="起始日 / first day")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="結束日 / last day")
@click.option("--home", type=click.Path(path_type=Path), help=HOME_HELP)
@click.option(
    "--engine", type=click.Choice(["duckdb", "pyspark"]), default="duckdb", help=ENGINE_HELP
)
@click.option(
    "--recompute-history",
    is_flag=True,
    help="重新說明基準期查詢，不沿用先前偵測之結果 / explain the history again instead of "
    "reading the explanations earlier runs stored",
)
def detect(start: Any, end: Any, home: Path | None, engine: str, recompute_history: bool) -> None:
    """偵測異常查詢 / Explain every look-up, run the rules, write findings to the store.

    預設偵測證據庫內全部日期；--from 之前的查詢紀錄作為基準（最多 90 日）。基準期內已由先前
    偵測說明之日期，沿用其說明結果（其後新增之業務案件，待重新偵測該期間或加
    --recompute-history 時納入）。
    Default: the store's whole date range; look-ups before --from serve as history. History
    dates that an earlier run explained are read from its results (a record added since
    counts once those dates are detected again, or with --recompute-history).
    """
    from rich.console import Console

    err = Console(stderr=True)
    began = time.perf_counter()
    status = err.status("說明查詢 / explaining look-ups…")

    def on_step(name: str) -> None:
        status.update(f"執行中 / running: {name}  ({time.perf_counter() - began:.1f} s)")

    try:
        with status:
            result, store = run_store_detection(
                home, _date(start), _date(end), engine, True, on_step, not recompute_history
            )
    except Exception as exc:  # a clear message, never a traceback, for bad data
        click.echo(f"錯誤 / error: {exc}", err=True)
        sys.exit(exitcodes.FAILED)
    if result is None:
        click.echo(f"證據庫中沒有查詢紀錄 / no look-ups in the store: {store.home}", err=True)
        sys.exit(exitcodes.INPUT_ERROR)
    _print_summary(result, time.perf_counter() - began)


def _print_summary(result: Any, seconds: float) -> None:
    expl = result.tables["explanations"]
    findings = result.findings
    n = expl.num_rows
    explained = n - expl.column("explanation").null_count
    must = sum(findings.column("must_review").to_pylist()) if findings.num_rows else 0
    click.echo(f"偵測期間 / range: {result.range_start} – {result.range_end}")
    click.echo(f"查詢筆數 / look-ups: {n:,}")
    rate = explained / n * 100 if n else 0.0
    click.echo(f"已自動說明 / explained: {explained:,} ({rate:.2f}%)")
    click.echo(f"異常事項 / findings: {findings.num_rows:,}（須審查 / must review: {must:,}）")
    if result.history_reused:
        days = result.history_reused
        click.echo(
            f"基準期沿用先前偵測之說明 / history read from earlier runs: {len(days)} 日 days "
            f"({days[0]} – {days[-1]})"
        )
    click.echo("各規則命中筆數 / hits per rule:")
    for rule_id, count in sorted(result.hits_per_rule.items()):
        click.echo(f"  {rule_id:<18} {count:>8,}")
    click.echo(f"耗時 / time: {seconds:.1f} s")


@click.command()
@click.option(
    "--date", "day", type=click.DateTime(["%Y-%m-%d"]), required=True, help="報表日 / report date"
)
@click.option("--unit", help="單位代碼 / unit id")
@click.option(
    "--all", "show_all", is_flag=True, help="含非須審查事項 / include findings below the threshold"
)
@click.option("--home", type=click.Path(path_type=Path), help=HOME_HELP)
@click.option("--en", "english", is_flag=True, help="English evidence")
def findings(day: Any, unit: str | None, show_all: bool, home: Path | None, english: bool) -> None:
    """列出某報表日之異常事項 / Show the findings of a report date as evidence to check."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from menshen.detect.report import render_finding
    from menshen.store import Store

    snap = Store(home).snapshot()
    paths = snap.derived("findings")
    if not paths:
        click.echo("尚未執行偵測 / no detection results yet: run `menshen detect`", err=True)
        sys.exit(exitcodes.INPUT_ERROR)
    table = pq.ParquetDataset([str(p) for p in paths]).read()
    table = table.filter(pc.equal(table.column("report_date"), day.date()))
    if unit:
        table = table.filter(pc.equal(table.column("unit_id"), unit))
    if not show_all:
        table = table.filter(table.column("must_review"))
    refs = {name: snap.reference(name) for name in ("staff", "units", "systems")}
    events = snap.derived("finding_events")
    click.echo(f"報表日 / report date {day.date()}: {table.num_rows} 件異常事項 / findings")
    for row in sorted(table.to_pylist(), key=lambda r: -r["risk_score"]):
        click.echo(render_finding(row, refs, events, english))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="JSON output")
def rules(as_json: bool) -> None:
    """列出偵測規則 / List the detection rules (id, severity, titles)."""
    from menshen.detect.rules import all_rules

    catalogue = all_rules()
    if as_json:
        out = [
            {"id": r.id, "severity": r.severity, "title_zh": r.title_zh, "title_en": r.title_en,
             "maturity": r.maturity, "hash": r.content_hash()}
            for r in catalogue
        ]  # fmt: skip
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    for r in catalogue:
        click.echo(f"{r.id:<18} {r.severity:<8} {r.title_zh} / {r.title_en}")


@click.command()
@click.argument("dataset_dir", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="以單一 JSON 物件輸出 / one JSON object")
@click.option(
    "--engine", type=click.Choice(["duckdb", "pyspark"]), default="duckdb", help=ENGINE_HELP
)
@click.option("--seed", type=int, default=1, help="1% 抽查基準之亂數種子 / seed of the 1% sample")
def evaluate(dataset_dir: Path, as_json: bool, engine: str, seed: int) -> None:
    """以標註資料集評估偵測 / Ingest a labelled dataset into a temporary store, detect, and
    compare with labels.csv (incident recall, precision, review load, baseline 1% sample)."""
    from menshen.detect.evaluate import evaluate_dataset, format_report

    try:
        report = evaluate_dataset(dataset_dir, engine=engine, seed=seed, progress=not as_json)
    except Exception as exc:
        click.echo(f"錯誤 / error: {exc}", err=True)
        sys.exit(exitcodes.FAILED)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        click.echo(format_report(report))
