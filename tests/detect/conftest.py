"""Engines for detection tests: every rule case runs on DuckDB and on PySpark (local[2],
one Spark session for the whole test session; marked `spark`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from menshen.detect.engine import Engine, connect


@pytest.fixture(scope="session")
def spark_engine() -> Iterator[Engine]:
    pytest.importorskip("pyspark")
    engine = connect("pyspark", cache=False, partitions=1)
    yield engine
    engine.close()


@pytest.fixture(params=["duckdb", pytest.param("pyspark", marks=pytest.mark.spark)])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    if request.param == "pyspark":
        yield request.getfixturevalue("spark_engine")
        return
    eng = connect("duckdb")
    yield eng
    eng.close()
