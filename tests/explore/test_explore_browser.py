"""`abm explore` in a real browser: headless Chromium, driven by Selenium through chromedriver.

The server is the command itself (`python -m abm explore --port P --no-browser`) on a
free port, in its own process group, stopped at the end. The browser loads the page, waits for
the network and timeline figures, moves the `us.sanctions_level` slider with the keyboard,
applies it with Reset, steps the model five times, runs N runs, and checks what it sees: the
slider's new value in the DOM and in the model's caption, the day advanced, the figures' images
redrawn, and a screenshot that is a real picture (size, pixel spread, colours) in the network's
and the timeline's places.

Skipped only where no browser can be found: `make test` installs Debian's `chromium` and
`chromium-driver` with apt-get where it can. `ABM_EXPLORE_SCREENSHOT=PATH` also saves the
screenshot there (docs/figures/explore.png is made so).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.runner.support import ROOT, subprocess_env

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
DRIVERS = ("chromedriver", "/usr/lib/chromium/chromedriver")
INSTALL = "apt-get install chromium chromium-driver (`make test` and `make test-all` do it where apt-get can run)"
WINDOW = (1920, 1250)
START_SECONDS, WAIT_SECONDS = 90, 60
LEVER, ARROWS, NEW_VALUE = "us.sanctions_level", 6, "0.5"  # 0.8 in the baseline, 6 steps of 0.05 down
STEPS = 5


def find_browser() -> tuple[str, str] | None:
    """(browser, chromedriver) paths, or None when either is missing."""
    browser = next(filter(None, map(shutil.which, BROWSERS)), None)
    driver = next(filter(None, map(shutil.which, DRIVERS)), None)
    return (browser, driver) if browser and driver else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser_paths() -> tuple[str, str]:
    found = find_browser()
    if found is None:
        pytest.skip(f"no Chromium browser and chromedriver found on PATH; install them with: {INSTALL}")
    return found


@pytest.fixture(scope="module")
def server(browser_paths, tmp_path_factory) -> Iterator[str]:
    """`abm explore` on a free port; its URL once it answers; the process group stopped afterwards."""
    port = free_port()
    log = open(tmp_path_factory.mktemp("explore") / "server.log", "w+b")  # noqa: SIM115
    argv = [sys.executable, "-m", "abm", "explore", "--port", str(port), "--no-browser", "--seed", "1"]
    proc = subprocess.Popen(argv, cwd=ROOT, env=subprocess_env(), stdout=log, stderr=log, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"abm explore exited with {proc.returncode}:\n{log.read().decode(errors='replace')}")
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"abm explore did not answer at {url} within {START_SECONDS} s")
            time.sleep(0.3)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C in a terminal: the command and its server
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


@pytest.fixture(scope="module")
def driver(browser_paths):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, chromedriver = browser_paths
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={WINDOW[0]},{WINDOW[1]}"):  # fmt: skip
        options.add_argument(arg)
    drv = webdriver.Chrome(service=Service(chromedriver), options=options)
    try:
        yield drv
    finally:
        drv.quit()


def wait_for(drv, condition, what: str, seconds: float = WAIT_SECONDS):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(drv, seconds, poll_frequency=0.2).until(lambda d: condition(d))
    except TimeoutException:
        pytest.fail(f"waited {seconds} s for {what}")


def panel_image(drv, panel: str):
    """The figure of a panel (`abm-network`, `abm-timeline`, ...) once it is drawn, else None."""
    from selenium.webdriver.common.by import By

    for img in drv.find_elements(By.CSS_SELECTOR, f".{panel} img"):
        if drv.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img):
            return img
    return None


def caption(drv) -> str:
    from selenium.webdriver.common.by import By

    found = drv.find_elements(By.CSS_SELECTOR, ".abm-levers")
    return found[0].text if found else ""


def button(drv, label: str):
    from selenium.webdriver.common.by import By

    return drv.find_element(By.XPATH, f"//button[normalize-space(.)='{label}']")


def slider(drv, label: str):
    """The thumb (role=slider) of the Vuetify slider labelled `label`."""
    from selenium.webdriver.common.by import By

    return drv.find_element(By.CSS_SELECTOR, f"[role='slider'][aria-label='{label}']")


def press(drv, element, *keys: str) -> None:
    """Keys to a slider's thumb as a user would send them: scrolled into view, focused, then typed."""
    from selenium.webdriver.common.action_chains import ActionChains

    drv.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].focus();", element)
    chain = ActionChains(drv)
    for key in keys:
        chain.send_keys(key).pause(0.05)
    chain.perform()


def region(shot: np.ndarray, element, scale: float) -> np.ndarray:
    """The part of the screenshot where `element` is."""
    r = element.rect
    top, left = round(r["y"] * scale), round(r["x"] * scale)
    return shot[top : top + round(r["height"] * scale), left : left + round(r["width"] * scale)]


def is_picture(pixels: np.ndarray, min_side: int) -> bool:
    """Not blank: big enough, pixels spread, more than a handful of colours."""
    colours = len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0))
    return min(pixels.shape[:2]) >= min_side and float(pixels.std()) > 15 and colours > 50


@pytest.mark.slow  # about 30 s: the server's start (~8 s), the page, five steps redrawing three figures each
def test_the_page_loads_moves_a_slider_steps_and_shows_network_and_timeline(server, driver, tmp_path) -> None:
    from selenium.webdriver.common.keys import Keys

    started = time.monotonic()
    driver.get(server)
    wait_for(driver, lambda d: panel_image(d, "abm-network") and panel_image(d, "abm-timeline"), "the two figures")
    assert "day 0" in caption(driver) and "levers changed: none" in caption(driver)
    timeline_before = panel_image(driver, "abm-timeline").get_attribute("src")

    thumb = slider(driver, LEVER)
    assert thumb.get_attribute("aria-valuenow") == "0.8"
    press(driver, thumb, *[Keys.ARROW_LEFT] * ARROWS)
    wait_for(driver, lambda d: slider(d, LEVER).get_attribute("aria-valuenow") == NEW_VALUE, "the slider to move")
    button(driver, "Reset").click()  # SolaraViz builds the model again from the panel
    wait_for(driver, lambda d: f"{LEVER} = {NEW_VALUE}" in caption(d), "the model to take the slider's value")

    for day in range(1, STEPS + 1):
        button(driver, "Step").click()
        wait_for(driver, lambda d, day=day: f"day {day} " in caption(d), f"day {day} after Step")
    redrawn = lambda d: panel_image(d, "abm-timeline").get_attribute("src") != timeline_before  # noqa: E731
    wait_for(driver, redrawn, "the timeline to be redrawn")
    assert slider(driver, LEVER).get_attribute("aria-valuenow") == NEW_VALUE

    shot_path = tmp_path / "explore.png"
    driver.save_screenshot(str(shot_path))
    shot = np.asarray(Image.open(shot_path).convert("RGB"))
    scale = shot.shape[1] / driver.execute_script("return window.innerWidth")
    assert shot.shape[0] >= 800 and shot.shape[1] >= 1200, shot.shape
    assert is_picture(shot, 800)
    network, timeline = panel_image(driver, "abm-network"), panel_image(driver, "abm-timeline")
    assert is_picture(region(shot, network, scale), 300), "the network's place on the screenshot is blank"
    assert is_picture(region(shot, timeline, scale), 200), "the timeline's place on the screenshot is blank"
    if os.environ.get("ABM_EXPLORE_SCREENSHOT"):
        Path(os.environ["ABM_EXPLORE_SCREENSHOT"]).write_bytes(shot_path.read_bytes())

    # The N-runs button: fewest runs, then the curves appear with the outcome shares.
    press(driver, slider(driver, "N runs"), Keys.HOME)
    wait_for(driver, lambda d: d.find_elements("xpath", "//button[normalize-space(.)='Run 20 runs']"), "N = 20")
    button(driver, "Run 20 runs").click()
    wait_for(driver, lambda d: panel_image(d, "abm-runs"), "the outcome curves")
    assert "P(outcome) over the runs" in driver.find_element("css selector", ".abm-runs-done").text
    print(f"browser test: {time.monotonic() - started:.1f} s in the page")
