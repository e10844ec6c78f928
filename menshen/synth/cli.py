"""`menshen synth`: write a labelled synthetic dataset."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import click

from menshen import exitcodes


@click.command()
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="亂數種子 / random seed (same seed, same bytes)",
)
@click.option(
    "--events",
    type=click.IntRange(min=1),
    default=100_000,
    show_default=True,
    help="查詢筆數 / number of look-ups",
)
@click.option(
    "--days",
    type=click.IntRange(min=1, max=3660),
    default=28,
    show_default=True,
    help="期間天數 / days in the period",
)
@click.option(
    "--start",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="起始日 / first day (YYYY-MM-DD, default 2026-10-05)",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "csv.gz", "parquet"]),
    default="csv",
    show_default=True,
    help="檔案格式 / file format",
)
@click.option("--quiet", is_flag=True, help="不顯示進度 / no progress bar")
def synth(
    out_dir: Path,
    seed: int,
    events: int,
    days: int,
    start: dt.datetime | None,
    fmt: str,
    quiet: bool,
) -> None:
    """產生含標記的模擬資料集 / Write a synthetic, labelled interchange-format dataset.

    模擬一個機關（戶政、就業服務、警察、區公所）的查詢紀錄、業務案件與參考資料，並注入
    已標記的不當查詢事件（labels.csv）。相同種子產生相同位元組。

    Models an agency's look-ups, business records and reference data, with labelled misuse
    incidents in labels.csv. Same seed, same bytes.
    """
    from menshen.synth import generate

    if out_dir.exists() and any(out_dir.iterdir()):
        existing = {p.name.split(".")[0] for p in out_dir.iterdir()}
        if not existing & {"access", "labels", "staff"}:
            raise click.UsageError(
                f"{out_dir} 不是空目錄，也不是模擬資料集 / is not empty and not a synthetic dataset"
            )
    began = time.perf_counter()
    try:
        summary = generate(out_dir, seed=seed, events=events, days=days,
                           start=start.date() if start else None, fmt=fmt, progress=not quiet)  # fmt: skip
    except OSError as exc:
        click.echo(f"無法寫入 / cannot write {out_dir}: {exc}", err=True)
        raise SystemExit(exitcodes.INPUT_ERROR) from None
    elapsed = time.perf_counter() - began
    click.echo(f"資料集 / dataset: {summary.out_dir}")
    click.echo(
        f"查詢 / look-ups: {summary.events:,}  不當 / misuse: {summary.misuse_events:,}  "
        f"事件 / incidents: {summary.incidents:,}  人員 / staff: {summary.staff:,}  "
        f"民眾 / persons: {summary.persons:,}"
    )
    scenarios = ", ".join(f"{k} {v}" for k, v in sorted(summary.incidents_by_scenario.items()))
    click.echo(f"情境事件數 / incidents per scenario: {scenarios}")
    for name, rows in sorted(summary.files.items()):
        click.echo(f"  {name}.{fmt}: {rows:,}")
    click.echo(f"耗時 / elapsed: {elapsed:.1f} s")
