"""Shared pytest configuration for every area's tests.

- Markers (slow, spark, postgres, browser) are registered in pyproject.toml; `database` is
  added here to every test that touches the Django database, so that the PostgreSQL pass
  of `menshen.testing.run_all` can select exactly those (`-m database`).
- Tests never touch a real evidence store: MENSHEN_HOME points at a per-session temporary
  directory; use the `tmp_home` fixture for a fresh, empty home of a test's own. The SQL
  that detection runs keep (MENSHEN_SQL_CACHE) goes into another per-session directory.
- Python's garbage collector runs with a detection run's thresholds (fewer collections: the
  suite builds Ibis expressions by the hundred thousand, as a run does).
- Tests marked `postgres` are skipped unless MENSHEN_DATABASE_URL names a PostgreSQL
  database. When MENSHEN_EXPECT_DB_VENDOR is set (the PostgreSQL pass sets it), the
  run fails loudly if Django is not actually configured for that database.
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Fixtures of pytest-django that open the Django test database.
_DB_FIXTURES = frozenset(
    {
        "db",
        "transactional_db",
        "django_db_reset_sequences",
        "django_db_serialized_rollback",
        "live_server",
        "admin_user",
        "admin_client",
        "django_user_model",
    }
)
_SESSION_HOME: tempfile.TemporaryDirectory[str] | None = None
_SESSION_SQL: tempfile.TemporaryDirectory[str] | None = None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "database: uses the Django database (added automatically; run again on PostgreSQL)",
    )
    # The suite builds Ibis expressions by the hundred thousand, as a detection run does:
    # Python's collector set as for a run (menshen.detect.cli.batch_gc) took the rule cases
    # on DuckDB from 132–139 s to 117–120 s.
    from menshen.detect.cli import BATCH_GC_THRESHOLD

    gc.set_threshold(*BATCH_GC_THRESHOLD)
    global _SESSION_HOME, _SESSION_SQL
    if _SESSION_HOME is None:
        _SESSION_HOME = tempfile.TemporaryDirectory(prefix="menshen-test-home-")
        os.environ["MENSHEN_HOME"] = _SESSION_HOME.name
        # Compiled SQL kept across detection runs (menshen.detect.sqlcache): the session's
        # own, not the user's cache.
        _SESSION_SQL = tempfile.TemporaryDirectory(prefix="menshen-test-sql-")
        os.environ["MENSHEN_SQL_CACHE"] = _SESSION_SQL.name


def pytest_unconfigure(config: pytest.Config) -> None:
    global _SESSION_HOME, _SESSION_SQL
    if _SESSION_HOME is not None:
        _SESSION_HOME.cleanup()
        _SESSION_HOME = None
    if _SESSION_SQL is not None:
        _SESSION_SQL.cleanup()
        _SESSION_SQL = None


def _uses_database(item: pytest.Item) -> bool:
    if item.get_closest_marker("django_db") is not None:
        return True
    if _DB_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        return True
    # Django's own TestCase classes (imported only if a test module already imported them).
    django_test = sys.modules.get("django.test")
    cls = getattr(item, "cls", None)
    return bool(django_test and cls and issubclass(cls, django_test.TransactionTestCase))


def _postgres_configured() -> bool:
    return os.environ.get("MENSHEN_DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_postgres = pytest.mark.skip(
        reason="needs PostgreSQL: set MENSHEN_DATABASE_URL=postgresql://… (run_all does)"
    )
    for item in items:
        if _uses_database(item):
            item.add_marker("database")
        if item.get_closest_marker("postgres") is not None and not _postgres_configured():
            item.add_marker(skip_postgres)


@pytest.fixture(scope="session", autouse=True)
def _check_expected_database_vendor() -> None:
    """Fail the PostgreSQL pass loudly if Django silently fell back to SQLite."""
    expected = os.environ.get("MENSHEN_EXPECT_DB_VENDOR")
    if not expected or not os.environ.get("DJANGO_SETTINGS_MODULE"):
        return
    from django.conf import settings

    engine = settings.DATABASES.get("default", {}).get("ENGINE", "")
    if expected not in engine:
        pytest.fail(
            f"expected a {expected} database (MENSHEN_DATABASE_URL="
            f"{os.environ.get('MENSHEN_DATABASE_URL')!r}) but Django uses {engine!r}",
            pytrace=False,
        )


@pytest.fixture
def tmp_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh, empty menshen home (MENSHEN_HOME) for one test."""
    home = tmp_path / "menshen-home"
    home.mkdir()
    monkeypatch.setenv("MENSHEN_HOME", str(home))
    yield home
