"""Engines for the six behaviour rules' tests: DuckDB always, PySpark when marked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from menshen.detect.engine import Engine, connect


@pytest.fixture(scope="module")
def duckdb_engine() -> Iterator[Engine]:
    engine = connect("duckdb")
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def spark_engine() -> Iterator[Engine]:
    pytest.importorskip("pyspark")
    engine = connect("pyspark")
    yield engine
    engine.close()
