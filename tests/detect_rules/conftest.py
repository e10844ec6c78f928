"""A DuckDB engine for the behaviour rules' evidence tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from menshen.detect.engine import Engine, connect


@pytest.fixture(scope="module")
def duckdb_engine() -> Iterator[Engine]:
    engine = connect("duckdb")
    yield engine
    engine.close()
