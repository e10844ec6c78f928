"""Run the whole test suite, as `./dev test` and CI do.

Three passes, each a pytest run of its own:

- ``sqlite``   — every test except the browser tests, on the default SQLite database,
  spread over pytest-xdist workers (each worker gets its own Spark session, if any).
- ``postgres`` — every database-backed test again (tests/web and anything that uses the
  Django database or is marked ``postgres``) against a throwaway PostgreSQL cluster that
  is started here and always stopped and removed afterwards.
- ``browser``  — the Playwright tests in real Chromium, one process (they drive one server).

A pass that collects no test at all (pytest exit code 5) fails: a suite that silently
stopped running is not a green suite. The exit code is non-zero when any pass failed.

    python -m menshen.testing.run_all [--only sqlite,postgres,browser] [--workers N]
                                      [pytest arguments...]
"""

from __future__ import annotations

import argparse
import atexit
import os
import shlex
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory

from menshen.testing.pgcluster import ClusterError, PostgresCluster

REPO = Path(__file__).resolve().parents[2]
PASS_NAMES = ("sqlite", "postgres", "browser")
NO_TESTS_COLLECTED = 5


@dataclass
class PassSpec:
    name: str
    description: str
    args: list[str]
    parallel: bool
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class PassResult:
    name: str
    exit_code: int
    seconds: float
    counts: dict[str, int]
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.counts.get("failed", 0) == 0

    def line(self) -> str:
        status = "OK    " if self.ok else "FAILED"
        parts = [f"{self.counts[k]} {k}" for k in ("passed", "failed", "errors", "skipped")]
        text = f"  {self.name:<9} {status} {', '.join(parts):<44} {self.seconds:7.1f} s"
        return f"{text}  {self.note}" if self.note else text


def pass_specs() -> dict[str, PassSpec]:
    return {
        "sqlite": PassSpec(
            "sqlite",
            "全部測試（瀏覽器測試除外）於 SQLite / whole suite except browser tests, on SQLite",
            ["-m", "not browser", "tests", "menshen"],
            parallel=True,
        ),
        "postgres": PassSpec(
            "postgres",
            "資料庫相關測試於 PostgreSQL / database-backed tests on a throwaway PostgreSQL",
            ["-m", "(database or postgres) and not browser", "tests", "menshen"],
            parallel=True,
            env={"MENSHEN_EXPECT_DB_VENDOR": "postgresql"},
        ),
        "browser": PassSpec(
            "browser",
            "瀏覽器流程測試（Chromium）/ browser flow tests in real Chromium",
            ["-m", "browser", "tests/web/browser"],
            parallel=False,
        ),
    }


def count_results(junit_xml: Path) -> dict[str, int]:
    """passed/failed/errors/skipped from pytest's JUnit XML (zeros when it is missing)."""
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    if not junit_xml.exists():
        return counts
    try:
        root = ET.parse(junit_xml).getroot()
    except ET.ParseError:
        return counts
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    for suite in suites:
        tests = int(suite.get("tests", 0))
        failed = int(suite.get("failures", 0))
        errors = int(suite.get("errors", 0))
        skipped = int(suite.get("skipped", 0))
        counts["failed"] += failed
        counts["errors"] += errors
        counts["skipped"] += skipped
        counts["passed"] += max(tests - failed - errors - skipped, 0)
    return counts


def run_pass(
    spec: PassSpec, workers: int, extra: list[str], work_dir: Path, env_extra: dict[str, str]
) -> PassResult:
    junit = work_dir / f"{spec.name}.xml"
    command = [
        sys.executable,
        "-m",
        "pytest",
        *spec.args,
        f"--junitxml={junit}",
        "-p",
        "no:cacheprovider",
    ]
    if spec.parallel and workers > 1:
        # loadfile keeps a module's tests (and its module-scoped fixtures) on one worker.
        command += ["-n", str(workers), "--dist", "loadfile"]
    command += extra
    env = {**os.environ, **spec.env, **env_extra}
    banner(f"{spec.name}: {spec.description}")
    print("$ " + shlex.join(command), flush=True)
    started = time.monotonic()
    exit_code = subprocess.call(command, cwd=REPO, env=env)
    seconds = time.monotonic() - started
    counts = count_results(junit)
    note = ""
    if exit_code == NO_TESTS_COLLECTED:
        note = "沒有收集到任何測試 / no tests were collected — this pass must run tests"
    elif exit_code != 0 and not any(counts[k] for k in ("failed", "errors")):
        note = f"pytest 結束碼 / exit code {exit_code}"
    return PassResult(spec.name, exit_code, seconds, counts, note)


def banner(text: str) -> None:
    print(f"\n{'=' * 30} {text} {'=' * 30}", flush=True)


def _raise_on_sigterm() -> None:
    """Turn SIGTERM/SIGHUP into SystemExit so `finally` blocks stop the cluster."""

    def handler(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        prog="python -m menshen.testing.run_all",
        description="執行全部測試 / run the whole test suite (SQLite, PostgreSQL, browser)",
    )
    parser.add_argument(
        "--only",
        default=",".join(PASS_NAMES),
        help="comma-separated passes to run: sqlite, postgres, browser (default: all)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("MENSHEN_TEST_WORKERS", "2")),
        help="pytest-xdist workers for the parallel passes (default 2, or $MENSHEN_TEST_WORKERS)",
    )
    options, extra = parser.parse_known_args(argv)
    return options, extra


def main(argv: list[str]) -> int:
    options, extra = parse_args(argv)
    selected = [name.strip() for name in options.only.split(",") if name.strip()]
    unknown = [name for name in selected if name not in PASS_NAMES]
    if unknown or not selected:
        print(
            f"未知的測試階段 / unknown pass: {', '.join(unknown) or '(none)'}; "
            f"choose from {', '.join(PASS_NAMES)}",
            file=sys.stderr,
        )
        return 2
    _raise_on_sigterm()
    specs = pass_specs()
    results: list[PassResult] = []
    started = time.monotonic()
    with TemporaryDirectory(prefix="menshen-test-run-") as tmp:
        work_dir = Path(tmp)
        for name in PASS_NAMES:
            if name not in selected:
                continue
            spec = specs[name]
            if name != "postgres":
                results.append(run_pass(spec, options.workers, extra, work_dir, {}))
                continue
            cluster = PostgresCluster()
            atexit.register(cluster.stop)
            try:
                banner("postgres: 啟動暫時的 PostgreSQL 叢集 / starting a throwaway cluster")
                cluster.start()
                print(f"PostgreSQL at {cluster.url} (data in {cluster.root})", flush=True)
                env = {"MENSHEN_DATABASE_URL": cluster.url}
                results.append(run_pass(spec, options.workers, extra, work_dir, env))
            except ClusterError as error:
                print(error, file=sys.stderr)
                counts = count_results(work_dir / "none.xml")
                results.append(
                    PassResult(name, 1, 0.0, counts, "PostgreSQL 無法啟動 / cluster failed")
                )
            finally:
                cluster.stop()
    total = time.monotonic() - started
    banner("menshen 測試總結 / test summary")
    for result in results:
        print(result.line())
    failed = [r.name for r in results if not r.ok]
    verdict = f"失敗 / FAILED: {', '.join(failed)}" if failed else "全部通過 / all passes OK"
    print(f"  {verdict} — {total:.0f} s in total", flush=True)
    # The plain closing line CI reads: totals over every pass.
    passed = sum(r.counts.get("passed", 0) for r in results)
    not_ok = sum(r.counts.get("failed", 0) + r.counts.get("errors", 0) for r in results)
    skipped = sum(r.counts.get("skipped", 0) for r in results)
    print(f"total: {passed} passed, {not_ok} failed, {skipped} skipped", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
