"""A real headless Chromium (Debian's package) driven by Playwright, for the UI tests.

Playwright's own browser download is never used: the launch points at the system Chromium, with the
flags that keep it off the network it cannot reach anyway.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from shared.config import PROJECT_ROOT

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    """The system Chromium (`CHROMIUM` overrides); the tests fail loudly when it is missing."""
    path = (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if not path:
        raise RuntimeError("Chromium is not installed: `apt-get install chromium` (see .ci/run)")
    return path


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium per test session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS
        )
        yield instance
        instance.close()


@pytest.fixture
def new_page(browser):
    """Factory for fresh pages, each in its own context (own cookies); all closed after the test."""
    contexts = []

    def make(**context_options):
        context = browser.new_context(viewport={"width": 1280, "height": 860}, **context_options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def save_screenshot(page, name: str) -> Path:
    """Write a full-page PNG under SCREENSHOT_DIR (default `.data/screenshots` in the checkout)."""
    directory = Path(os.environ.get("SCREENSHOT_DIR") or PROJECT_ROOT / ".data" / "screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
