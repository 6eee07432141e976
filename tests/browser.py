"""A real headless Chromium for the page tests (Debian `chromium` + `chromium-driver`,
driven with selenium). `chromium` is a pytest fixture: import it into a test module.

The browser runs with a fresh profile and no background network; `driver.quit()` stops
chromedriver and Chromium after the test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage", "--window-size=1100,900")


def chromium_flags(profile: Path) -> list[str]:
    """The command-line flags, with `profile` as the fresh user-data directory."""
    return [*FLAGS, f"--user-data-dir={profile}"]


@pytest.fixture
def chromium(tmp_path):
    """A selenium WebDriver on headless Chromium; skipped when Chromium is not installed."""
    if CHROMIUM is None or not Path(CHROMEDRIVER).exists():
        pytest.skip("chromium and chromium-driver are not installed (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in chromium_flags(tmp_path / "chromium-profile"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
