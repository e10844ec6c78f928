"""Helpers of the store tests. Imported by name (not from `conftest`, which would resolve to
whichever conftest module was imported first when tests/store and tests/synth run together)."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from menshen.cli import main

BROKEN = Path(__file__).parent / "broken"


def broken_case(name: str, target: Path) -> Path:
    """A dataset: the shared reference files plus the case's own files."""
    target.mkdir(parents=True, exist_ok=True)
    for source in (BROKEN / "_reference", BROKEN / name):
        for path in source.iterdir():
            if path.is_file() and path.suffix in {".csv", ".gz", ".parquet"}:
                shutil.copy(path, target / path.name)
    return target


def run(*args: str | Path) -> tuple[int, str]:
    """Run the menshen command in-process; (exit code, stdout + stderr)."""
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output
