"""`menshen bench ingest`: time an end-to-end ingest of a synthetic dataset."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click


def _dataset(cache: Path, seed: int, events: int, days: int) -> Path:
    folder = cache / f"synth-seed{seed}-events{events}-days{days}"
    marker = folder / ".complete"
    if marker.exists():
        click.echo(f"重用資料集 / reusing dataset {folder}")
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    from menshen.synth import generate

    click.echo(f"產生資料集 / generating dataset ({events:,} events) in {folder} …")
    started = time.perf_counter()
    generate(folder, seed=seed, events=events, days=days)
    marker.write_text("ok")
    click.echo(f"  {time.perf_counter() - started:.1f} s")
    return folder


@click.command("ingest")
@click.option("--events", type=int, default=1_000_000, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--days", type=int, default=28, show_default=True)
@click.option("--cache", type=click.Path(path_type=Path), help="資料集快取目錄 / dataset cache")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 輸出 / print one JSON object")
def bench_ingest(events: int, seed: int, days: int, cache: Path | None, as_json: bool) -> None:
    """匯入效能 / Ingest throughput: events/s and peak memory of `menshen ingest` into a fresh store.

    The dataset comes from `menshen.synth.generate`, cached by seed and size. The ingest runs
    as a child process, so its peak RSS is measured alone (getrusage of children).
    """
    cache = cache or Path(tempfile.gettempdir()) / "menshen-bench"
    cache.mkdir(parents=True, exist_ok=True)
    folder = _dataset(cache, seed, events, days)
    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    with tempfile.TemporaryDirectory(prefix="bench-store-", dir=cache) as home:
        command = [sys.executable, "-m", "menshen.cli", "ingest", str(folder), "--home", home]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_mib = usage.ru_maxrss / 1024
        cpu = usage.ru_utime + usage.ru_stime
        from menshen.store import Store

        rows = Store(home).snapshot().rows
    if done.returncode not in (0, 4):
        click.echo(done.stdout + done.stderr, err=True)
        raise SystemExit(done.returncode)
    access_lines = (
        sum(1 for _ in (folder / "access.csv").open("rb")) - 1
        if (folder / "access.csv").exists()
        else rows
    )
    result = {
        "events": access_lines,
        "rows_stored": rows,
        "seconds": round(elapsed, 2),
        "events_per_second": round(access_lines / elapsed),
        "cpu_seconds": round(cpu, 1),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "peak_rss_mib": round(peak_mib),
        "dataset_mib": round(size / 2**20),
        "exit_code": done.returncode,
    }
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"資料集 / dataset: {folder} ({result['dataset_mib']:,} MiB)")
    click.echo(f"匯入筆數 / events: {result['events']:,} (stored {rows:,})")
    click.echo(f"耗時 / time: {elapsed:.1f} s")
    click.echo(f"吞吐量 / throughput: {result['events_per_second']:,} events/s (target ≥ 300,000)")
    click.echo(f"記憶體峰值 / peak memory (RSS): {result['peak_rss_mib']:,} MiB (target < 2048)")
    click.echo(
        f"CPU 時間 / CPU time: {cpu:.1f} s (user + system; load average "
        f"{result['load_average_1m']} on {os.cpu_count()} cores — on a busy machine the wall "
        "time is longer than the work)"
    )
