"""Headless Debian chromium driven by Playwright for Python, for the explorer's page tests.

Playwright's own browser download is not used (nor reachable here): the tests drive the system's
chromium by its path, and skip with the reason when it or Playwright is missing. Screenshots go
to build/test-artefacts/explorer/.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ARTEFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artefacts" / "explorer"
CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def chromium_path() -> str | None:
    for path in CANDIDATES:
        if Path(path).exists():
            return path
    return shutil.which("chromium")


def launch(playwright):  # noqa: ANN001, ANN201 - Playwright's own types
    path = chromium_path()
    if path is None:
        pytest.skip("chromium not installed (Debian: apt-get install chromium fonts-wqy-microhei)")
    return playwright.chromium.launch(executable_path=path, headless=True,
                                      args=["--no-sandbox", "--disable-gpu"])


def screenshot(page, name: str, full_page: bool = False) -> Path:  # noqa: ANN001
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
