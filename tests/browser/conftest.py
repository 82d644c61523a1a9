"""Headless Debian chromium driven by Playwright's Python client: never a downloaded browser."""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = os.environ.get("JIRASYNC_CHROMIUM", "/usr/bin/chromium")
ARTEFACTS = Path(os.environ.get("JIRASYNC_ARTEFACTS_DIR", Path(settings.BASE_DIR) / "var" / "artefacts"))


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        if os.environ.get("JIRASYNC_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium to run the browser tests")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test are still synchronous.
    # Only while the browser runs: subprocesses started later must not inherit it (check --deploy refuses it).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
            )
            yield launched
            launched.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


# Every Content-Security-Policy violation, reported to the console where the test collects it.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI} at ${where}`);
});
"""


@pytest.fixture
def page(browser):
    """A page whose console errors and CSP violations are kept in page.csp_problems."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(60_000)  # a ceiling for each wait on the page: a loaded machine renders slowly
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    opened = context.new_page()
    opened.csp_problems = []

    def on_console(message) -> None:
        text = message.text
        if "CSP violation" in text or "Content Security Policy" in text:
            opened.csp_problems.append(text)

    opened.on("console", on_console)
    yield opened
    context.close()


@pytest.fixture
def screenshots() -> Path:
    folder = ARTEFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
