"""A small real world for end-to-end tests: `menshen demo --no-serve` in a temporary home
(synth → ingest → detect → sync-staff → build-reports → one demo account per role)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from menshen.testing.browser import menshen_command


@dataclass(frozen=True)
class DemoAccount:
    role: str
    username: str
    password: str
    name: str


def parse_demo_accounts(text: str) -> dict[str, DemoAccount]:
    """`demo-accounts.txt`: a header line, then `role username password   label · name`."""
    accounts = {}
    for line in text.splitlines()[1:]:
        parts = line.split(None, 3)
        if len(parts) < 4:
            continue
        role, username, password, label = parts
        name = label.rsplit("·", 1)[-1].strip()
        accounts[role] = DemoAccount(role, username, password, name)
    return accounts


def build_demo_home(
    home: Path, events: int = 3000, days: int = 4, timeout: float = 900.0
) -> dict[str, DemoAccount]:
    """Build the demo world in `home` (a new directory) and return its accounts by role."""
    env = {**os.environ, "MENSHEN_HOME": str(home)}
    env.pop("MENSHEN_DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        menshen_command(
            "demo", "--no-serve", "--home", str(home), "--events", str(events), "--days", str(days)
        ),
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    accounts_file = home / "demo-accounts.txt"
    if result.returncode != 0 or not accounts_file.is_file():
        raise RuntimeError(
            f"menshen demo failed (exit {result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    accounts = parse_demo_accounts(accounts_file.read_text(encoding="utf-8"))
    missing = {"staff", "reviewer", "approver"} - set(accounts)
    if missing:
        raise RuntimeError(
            f"demo-accounts.txt lacks {sorted(missing)}:\n{accounts_file.read_text()}"
        )
    return accounts
