"""`menshen ingest`, `menshen verify`, `menshen status`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from menshen import exitcodes

HOME_HELP = "證據庫目錄 / evidence store (default $MENSHEN_HOME or ./menshen-data)"


@click.command()
@click.argument("dataset_dir", type=click.Path(path_type=Path))
@click.option("--home", type=click.Path(path_type=Path), help=HOME_HELP)
@click.option(
    "--encoding",
    help="所有 CSV 檔的編碼（如 utf-8、cp950）；預設自動偵測 / encoding of the CSV files "
    "(e.g. utf-8, cp950); detected when omitted",
)
@click.option(
    "--no-wait",
    is_flag=True,
    help="證據庫忙碌時不等待，結束碼 5 / exit 5 instead of waiting when the store is busy",
)
def ingest(dataset_dir: Path, home: Path | None, encoding: str | None, no_wait: bool) -> None:
    """匯入資料集至證據庫 / Ingest a dataset (interchange format v1) into the evidence store.

    驗證每一列；無法使用的列移入隔離檔並說明原因。Exit codes: 0 ok, 3 dataset unusable
    (nothing written), 4 rows quarantined, 5 store busy (--no-wait).
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from menshen.dataset.errors import DatasetError
    from menshen.store.store import Store, StoreBusy
    from menshen.store.summary import summary_lines

    err = Console(stderr=True)
    store = Store(home)

    def waiting() -> None:
        err.print(
            f"證據庫正由另一程序寫入，等待中… / the store is busy (another ingest), waiting: {store.home}"
        )

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} 行 lines"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    tasks: dict[str, int] = {}

    def on_progress(name: str, done: int, total: int) -> None:
        if name not in tasks:
            tasks[name] = progress.add_task(name, total=max(total, 1))
        progress.update(tasks[name], completed=done, total=max(total, 1))

    try:
        with progress:
            report = store.ingest(
                dataset_dir,
                encoding=encoding,
                wait=not no_wait,
                on_wait=waiting,
                progress=on_progress,
            )
    except DatasetError as exc:
        click.echo(f"錯誤 / error: {exc}", err=True)
        click.echo("未寫入任何資料 / nothing was written", err=True)
        sys.exit(exitcodes.INPUT_ERROR)
    except StoreBusy:
        click.echo(
            f"證據庫忙碌中（另一個匯入正在進行）/ the store is busy (another ingest is running): "
            f"{store.home}",
            err=True,
        )
        sys.exit(exitcodes.BUSY)
    for line in summary_lines(report):
        click.echo(line)
    sys.exit(report.exit_code)


@click.command()
@click.option("--home", type=click.Path(path_type=Path), help=HOME_HELP)
def verify(home: Path | None) -> None:
    """驗證證據庫完整性 / Verify the evidence store: every file's SHA-256 and the hash chain.

    Reports each altered, missing, extra or reordered batch by batch id and file; exit 1 on
    any problem.
    """
    from menshen.store.store import Store
    from menshen.store.verify import verify_store

    store = Store(home)
    result = verify_store(store.home)
    for line in result.lines():
        click.echo(line)
    sys.exit(exitcodes.OK if result.ok else exitcodes.FAILED)


@click.command()
@click.option("--home", type=click.Path(path_type=Path), help=HOME_HELP)
def status(home: Path | None) -> None:
    """證據庫概況 / Show the store's batches, rows and date range."""
    from menshen.store.manifest import ManifestError
    from menshen.store.store import Store

    store = Store(home)
    try:
        snap = store.snapshot()
    except ManifestError as exc:
        click.echo(f"錯誤 / error: {exc}", err=True)
        sys.exit(exitcodes.FAILED)
    click.echo(f"證據庫 / store: {store.home}")
    if not snap.batches:
        click.echo("尚無批次 / no batches yet")
        return
    for batch in snap.batches:
        kinds = sorted(
            {e["path"].split("/")[2] for e in batch.get("files", []) if e["path"].count("/") >= 3}
        )
        click.echo(
            f"  {batch['batch_id']}  {batch.get('created_at', '')}  "
            f"列數 rows {batch.get('rows', 0):,}  {' '.join(kinds)}"
        )
    click.echo(f"批次 / batches: {len(snap.batches)}")
    click.echo(f"查詢紀錄 / look-ups: {snap.rows:,}")
    dates = snap.date_range()
    if dates:
        click.echo(f"日期範圍 / date range: {dates[0]} – {dates[1]}")
    tables = [
        t
        for t in ("staff", "units", "accounts", "systems", "purposes", "records")
        if snap.reference(t)
    ]
    click.echo(f"參考表 / reference tables: {', '.join(tables) or '-'}")
    click.echo(f"鏈雜湊 / chain hash: {snap.chain_hash}")
