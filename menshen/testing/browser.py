"""Launching Debian's Chromium from Playwright, and serving a menshen home for tests and
benchmarks.

Playwright's Python package ships its own driver (node); we never run `playwright install`
(no browser downloads): Debian's /usr/bin/chromium is launched through `executable_path`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from menshen.testing.net import LOOPBACK, free_port, wait_for_http

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def chromium_path() -> str:
    """$MENSHEN_CHROMIUM, else Debian's /usr/bin/chromium, else `chromium` on $PATH."""
    for candidate in (os.environ.get("MENSHEN_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return candidate
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    raise FileNotFoundError(
        "找不到 Chromium / Chromium not found: install Debian's `chromium` (./dev test does) "
        "or set MENSHEN_CHROMIUM"
    )


def launch_chromium(playwright: Any) -> Any:
    """A headless Debian Chromium driven by Playwright's sync API."""
    return playwright.chromium.launch(
        executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
    )


def menshen_command(*args: str) -> list[str]:
    """`menshen ARGS` run with this interpreter (works inside and outside the venv)."""
    return [sys.executable, "-m", "menshen.cli", *args]


class ServedHome:
    """`menshen serve` on a free loopback port for a home, in a process of its own."""

    def __init__(
        self,
        home: Path,
        log_path: Path,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),  # more `menshen serve` options: ("--workers", "2")
    ) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self._log = log_path.open("wb")
        server_env = {**os.environ, "MENSHEN_HOME": str(home), **(env or {})}
        # The server must use the home's own database, never a test run's PostgreSQL.
        server_env.pop("MENSHEN_DATABASE_URL", None)
        server_env.pop("DJANGO_SETTINGS_MODULE", None)
        self.process = subprocess.Popen(
            menshen_command("serve", "--port", str(self.port), "--home", str(home), *args),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=server_env,
        )
        self.log_path = log_path

    def wait(self, timeout: float = 90.0) -> ServedHome:
        try:
            wait_for_http(
                f"{self.url}/accounts/login/", timeout, lambda: self.process.poll() is None
            )
        except (TimeoutError, RuntimeError) as error:
            self.stop()
            log = self.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"menshen serve did not start: {error}\n{log}") from None
        return self

    def stop(self) -> int:
        """Stop the server (SIGTERM, SIGKILL after 15 s); return its exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode

    def __enter__(self) -> ServedHome:
        return self.wait()

    def __exit__(self, *exc: object) -> None:
        self.stop()
