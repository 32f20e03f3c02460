"""The report in headless Chromium: what a reader sees at a desktop and at a phone width.

Every check runs in the real browser (layout is the browser's, not ours to guess): no
console error, no sideways page scroll, every headline table inside the window, every
figure decoded, nothing fetched, a full-page screenshot kept under ``test-artifacts/``.
"""
from __future__ import annotations

from pathlib import Path

from harness.util.paths import project_root

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WIDTHS = (1280, 390)              # a laptop window and a phone (iPhone 12-15 CSS width)
SCREENSHOT_HEIGHT_LIMIT = 16000


def browser(width: int):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    # Resized after start: a --window-size flag is raised to Chromium's minimum of 500.
    driver.set_window_size(width, 900)
    return driver


HEADLINE_GEOMETRY = """
const width = document.documentElement.clientWidth;
return [...document.querySelectorAll('table.headline')].map(table => {
  const box = table.getBoundingClientRect();
  const cells = [...table.querySelectorAll('th, td')].filter(c => c.offsetParent !== null);
  const clipped = cells.filter(c => {
    const r = c.getBoundingClientRect();
    return r.left < -0.5 || r.right > width + 0.5 || c.scrollWidth > c.clientWidth + 1;
  }).map(c => c.textContent.trim().slice(0, 40));
  const heads = [...table.querySelectorAll('thead th')].filter(c => c.offsetParent !== null)
    .map(c => c.textContent.trim());
  return {left: box.left, right: box.right, width: width, clipped: clipped, heads: heads,
          overflow: table.scrollWidth - table.clientWidth};
});
"""
PAGE_WIDTH = ("return [document.documentElement.scrollWidth, "
              "document.documentElement.clientWidth, document.body.scrollWidth]")


def _no_sideways_scroll(driver) -> None:
    scroll, client, body = driver.execute_script(PAGE_WIDTH)
    assert scroll <= client and body <= client, f"page scrolls sideways: {scroll} > {client}"


def check(html: Path, name: str) -> dict[int, list[dict]]:
    """Open ``html`` at every width in ``WIDTHS``; returns the headline geometry per width."""
    from selenium.webdriver.common.by import By
    folder = project_root() / "test-artifacts"
    folder.mkdir(exist_ok=True)
    found = {}
    for width in WIDTHS:
        driver = browser(width)
        try:
            driver.get(html.as_uri())
            assert driver.execute_script("return window.innerWidth") == width
            errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
            assert errors == [], errors
            _no_sideways_scroll(driver)
            geometry = driver.execute_script(HEADLINE_GEOMETRY)
            assert geometry, "no headline table"
            for table in geometry:
                assert table["left"] >= -0.5 and table["right"] <= table["width"] + 0.5, table
                assert table["overflow"] <= 1 and table["clipped"] == [], table
            found[width] = geometry
            assert driver.find_elements(By.TAG_NAME, "script") == []
            external = driver.execute_script(
                "return [...document.querySelectorAll('[src], link[href]')]"
                ".map(e => e.getAttribute('src') || e.getAttribute('href'))"
                ".filter(u => !u.startsWith('data:'))")
            assert external == [], external
            # Opened, the details must still keep the page within the window, and every
            # figure in them must decode.
            driver.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
            _no_sideways_scroll(driver)
            images = driver.find_elements(By.TAG_NAME, "img")
            for image in images:
                assert driver.execute_script("return arguments[0].complete && "
                                             "arguments[0].naturalWidth", image) > 0
                assert driver.execute_script(
                    "return arguments[0].getBoundingClientRect().right", image
                ) <= driver.execute_script("return document.documentElement.clientWidth") + 0.5
            errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
            assert errors == [], errors
            driver.execute_script("document.querySelectorAll('details').forEach(d => d.open = false)")
            height = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(width, min(height, SCREENSHOT_HEIGHT_LIMIT))
            driver.execute_script("window.scrollTo(0, 0)")
            assert driver.save_screenshot(str(folder / f"{name}-{width}.png"))
        finally:
            driver.quit()
    return found
