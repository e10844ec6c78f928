"""The throwaway PostgreSQL cluster of the test runner: starts, serves, and leaves nothing."""

from __future__ import annotations

import tempfile
from pathlib import Path

import psycopg
import pytest

from menshen.testing.pgcluster import ClusterError, PostgresCluster, find_bin_dir

pytestmark = pytest.mark.slow


def _have_postgres() -> bool:
    try:
        find_bin_dir()
    except RuntimeError:
        return False
    return True


@pytest.mark.skipif(not _have_postgres(), reason="PostgreSQL binaries are not installed")
def test_a_cluster_serves_a_database_on_loopback_and_is_removed_afterwards() -> None:
    with PostgresCluster(database="menshen_probe") as cluster:
        root = cluster.root
        assert root is not None and root.is_dir()
        assert cluster.url.startswith("postgresql://postgres@127.0.0.1:")
        with psycopg.connect(cluster.url) as conn:
            (name,) = conn.execute("select current_database()").fetchone()
            conn.execute("create table t (x text)")
            conn.execute("insert into t values ('稽核日報表')")
            (value,) = conn.execute("select x from t").fetchone()
        assert name == "menshen_probe" and value == "稽核日報表"
    assert not Path(root).exists()
    assert cluster.root is None


@pytest.mark.skipif(not _have_postgres(), reason="PostgreSQL binaries are not installed")
def test_a_failed_start_says_why_and_leaves_no_directory(tmp_path: Path) -> None:
    before = set(Path(tempfile.gettempdir()).glob("menshen-pg-*"))
    cluster = PostgresCluster(bin_dir=tmp_path)  # no initdb there: start must fail cleanly
    with pytest.raises(ClusterError, match="initdb"):
        cluster.start()
    assert cluster.root is None
    cluster.stop()  # safe to call again
    assert set(Path(tempfile.gettempdir()).glob("menshen-pg-*")) <= before
