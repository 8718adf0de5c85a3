"""The web page in a real browser: headless Chromium (Debian's chromium + chromium-driver).

Loads the page from a live server, types a note, presses Tag and checks the highlighted spans
in the DOM against the API's answer. Skips where no Chromium or driver is installed
(``.ci/run`` installs both).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("selenium")
pytest.importorskip("httpx")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver")
NOTE = "Paciente con fiebre y tos; se hizo una radiografía. The patient had pneumonia and chest pain."


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None or DRIVER is None:
        pytest.skip("no headless Chromium here (apt-get install chromium chromium-driver; .ci/run does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,900"):
        options.add_argument(arg)
    try:
        driver = webdriver.Chrome(service=Service(DRIVER), options=options)  # no driver download: Debian's
    except Exception as exc:  # a browser that cannot start here is an environment problem, not a failure
        pytest.skip(f"headless Chromium did not start: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    yield driver
    driver.quit()


def test_page_tags_a_note_and_highlights_the_spans(
    browser: Any, tiny_model: Path, live_server: type, tmp_path: Path
) -> None:
    import httpx
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from clinicalner.serve.run import build_app
    from clinicalner.serve.settings import ServeSettings

    app = build_app(tiny_model, ServeSettings(), device="cpu", precision="fp32")
    with live_server(app) as server:
        answer = httpx.post(f"{server.url}/v1/tag", json={"text": NOTE}, timeout=30).json()
        assert answer["spans"], "the tiny model should find something in the note"
        browser.get(server.url + "/")
        wait = WebDriverWait(browser, 30)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#labels input")) == 3)
        browser.find_element(By.ID, "note").send_keys(NOTE)
        browser.find_element(By.ID, "tag").click()
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#highlighted mark.entity")))
        marks = [
            (
                int(m.get_attribute("data-start")),
                int(m.get_attribute("data-end")),
                m.get_attribute("data-label"),
            )
            for m in browser.find_elements(By.CSS_SELECTOR, "#highlighted mark.entity")
        ]
        expected, at = [], 0
        for s in sorted(answer["spans"], key=lambda s: (s["start"], -s["end"])):
            if s["start"] >= at:  # the page highlights non-overlapping spans; the table lists all
                expected.append((s["start"], s["end"], s["label"]))
                at = s["end"]
        assert marks == expected
        highlighted = browser.find_element(By.ID, "highlighted").text
        for start, end, _ in marks:
            assert NOTE[start:end] in highlighted
        rows = browser.find_elements(By.CSS_SELECTOR, "#spans tbody tr")
        assert len(rows) == len(answer["spans"])
        legend = browser.find_element(By.ID, "legend").text
        assert all(label in legend for label in ("DISEASE", "PROCEDURE", "SYMPTOM"))
        assert "entities" in browser.find_element(By.ID, "status").text
        browser.save_screenshot(str(tmp_path / "page.png"))
        # Bad input shows the service's message, not a blank page.
        browser.find_element(By.ID, "note").clear()
        for box in browser.find_elements(By.CSS_SELECTOR, "#labels input"):
            box.click()
        browser.execute_script(
            "document.querySelector('#labels').insertAdjacentHTML('beforeend',"
            " '<label><input type=checkbox checked value=ALLERGY>ALLERGY</label>')"
        )
        browser.find_element(By.ID, "note").send_keys("fiebre")
        browser.find_element(By.ID, "tag").click()
        wait.until(lambda d: "422" in d.find_element(By.ID, "status").text)
        assert "ALLERGY" in browser.find_element(By.ID, "status").text
