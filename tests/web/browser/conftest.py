"""Fixtures for the browser tests: a real world built by `menshen demo --no-serve`, served
by `menshen serve` in its own process on a loopback port, and Debian's Chromium.

Screenshots go to a temporary directory; set MENSHEN_SHOTS_DIR to keep them elsewhere
(e.g. /tmp/menshen-shots)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from menshen.testing.browser import ServedHome, launch_chromium
from menshen.testing.world import DemoAccount, build_demo_home


@pytest.fixture(scope="session")
def demo_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, DemoAccount]]:
    home = tmp_path_factory.mktemp("browser") / "home"
    return home, build_demo_home(home, events=3000, days=4)


@pytest.fixture(scope="session")
def served(
    demo_world: tuple[Path, dict[str, DemoAccount]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedHome]:
    home, _ = demo_world
    log = tmp_path_factory.mktemp("server") / "serve.log"
    with ServedHome(home, log) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def shots_dir(tmp_path: Path) -> Path:
    target = Path(os.environ.get("MENSHEN_SHOTS_DIR") or tmp_path / "shots")
    target.mkdir(parents=True, exist_ok=True)
    return target
