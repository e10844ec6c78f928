"""A throwaway PostgreSQL cluster for the test suite.

`initdb` + `pg_ctl` under a temporary directory, trust authentication, listening on a
unix-socket directory inside it and on a free loopback port. When running as root the
server runs as the `postgres` OS user (PostgreSQL refuses to run as root). The cluster is
always stopped and its directory removed, also when the caller fails.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from menshen.testing.net import LOOPBACK, free_port

DEFAULT_BIN_DIRS = ("/usr/lib/postgresql/15/bin",)


class ClusterError(RuntimeError):
    """PostgreSQL could not be set up; the message says which step failed and why."""


def find_bin_dir() -> Path:
    """Where initdb/pg_ctl live: $MENSHEN_PG_BIN, Debian's 15, any Debian version, $PATH."""
    candidates: list[Path] = []
    if os.environ.get("MENSHEN_PG_BIN"):
        candidates.append(Path(os.environ["MENSHEN_PG_BIN"]))
    candidates += [Path(p) for p in DEFAULT_BIN_DIRS]
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for directory in candidates:
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    raise ClusterError(
        "找不到 PostgreSQL 的 initdb / pg_ctl；請安裝 postgresql（./dev test 會自動安裝）。\n"
        "PostgreSQL's initdb/pg_ctl not found: install the Debian package `postgresql` "
        "or set MENSHEN_PG_BIN."
    )


@dataclass
class PostgresCluster:
    """Start with `start()` (or use as a context manager); `url` is the database's URL."""

    database: str = "menshen_test"
    bin_dir: Path | None = None
    root: Path | None = None
    port: int = 0
    _run_as: str | None = field(default=None, repr=False)
    _started: bool = field(default=False, repr=False)

    @property
    def data_dir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        assert self.root is not None
        return self.root / "socket"

    @property
    def log_file(self) -> Path:
        assert self.root is not None
        return self.root / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{LOOPBACK}:{self.port}/{self.database}"

    def __enter__(self) -> PostgresCluster:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- life cycle -------------------------------------------------------------------
    def start(self) -> None:
        self.bin_dir = self.bin_dir or find_bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="menshen-pg-"))
        self._run_as = "postgres" if os.geteuid() == 0 else None
        try:
            self.socket_dir.mkdir()
            if self._run_as:
                try:
                    account = pwd.getpwnam(self._run_as)
                except KeyError:
                    raise ClusterError(
                        "以 root 執行時需要作業系統帳號 postgres / running as root needs the "
                        "`postgres` OS user (installed with the postgresql package)"
                    ) from None
                for path in (self.root, self.socket_dir):
                    os.chown(path, account.pw_uid, account.pw_gid)
                os.chmod(self.root, 0o755)
            self.port = free_port()
            self._run(
                "initdb",
                [
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                ],
            )
            options = " ".join(
                [
                    f"-p {self.port}",
                    f"-k {self.socket_dir}",
                    f"-c listen_addresses={LOOPBACK}",
                    # A throwaway cluster: durability costs time and buys nothing.
                    "-c fsync=off",
                    "-c synchronous_commit=off",
                    "-c full_page_writes=off",
                    "-c max_connections=200",
                ]
            )
            start = ["-D", str(self.data_dir), "-l", str(self.log_file), "-o", options]
            self._run("pg_ctl", [*start, "-w", "-t", "60", "start"])
            self._started = True
            self._run(
                "createdb",
                ["-h", str(self.socket_dir), "-p", str(self.port), "-U", "postgres", self.database],
            )
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server (fast) and remove its directory; safe to call twice."""
        if self.root is None:
            return
        try:
            if self._started and (self.data_dir / "postmaster.pid").exists():
                self._run(
                    "pg_ctl",
                    ["-D", str(self.data_dir), "-m", "immediate", "-w", "stop"],
                    check=False,
                )
        finally:
            self._started = False
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    # -- helpers ----------------------------------------------------------------------
    def _run(self, tool: str, args: list[str], check: bool = True) -> None:
        assert self.bin_dir is not None
        command = [str(self.bin_dir / tool), *args]
        if self._run_as:
            command = ["runuser", "-u", self._run_as, "--", *command]
        try:
            result = subprocess.run(command, capture_output=True, text=True, cwd=self.root)
        except OSError as error:
            raise ClusterError(f"PostgreSQL {tool} 無法執行 / cannot run: {error}") from None
        if check and result.returncode != 0:
            log = ""
            if self.root and self.log_file.exists():
                log = "\n" + self.log_file.read_text(errors="replace")[-2000:]
            raise ClusterError(
                f"PostgreSQL {tool} 失敗 / failed (exit {result.returncode}):\n"
                f"{result.stdout}{result.stderr}{log}"
            )
