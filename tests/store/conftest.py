from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

from datasets import make_dataset

from menshen.cli import main

BROKEN = Path(__file__).parent / "broken"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "dataset", events=300)


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
