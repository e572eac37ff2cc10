"""Real-browser tests: Debian's chromium driven by Playwright against pytest-django's live server.

Playwright's sync API runs an event loop in the main thread, which makes Django refuse database
access from "async" code; the tests only drive the browser from there, so that check is switched off.
The live server makes every test transactional: personas and the district are created per test.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    # Only while the browser runs: the rest of the suite keeps Django's async-safety check.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, request):
    # bypass_csp: axe-core is injected into the page, which a strict policy would otherwise refuse.
    context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900}, bypass_csp=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


BLOCKING_IMPACTS = ("serious", "critical")


@pytest.fixture
def assert_accessible():
    """Run axe-core on the current page and fail on any serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()

    def check(page, what: str) -> None:
        violations = [v for v in axe.run(page).response["violations"] if v.get("impact") in BLOCKING_IMPACTS]
        details = "\n".join(
            f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']]}" for v in violations
        )
        assert not violations, f"axe on {what}:\n{details}"

    return check


@pytest.fixture
def login(live_server):
    """Log in through the login form as one of the personas (password from tests/conftest.py), and
    through the second factor with a backup code issued for this login (the persona is given an
    authenticator app if they have none; tests/browser/test_second_factor.py sets one up for real)."""
    from django.contrib.auth import get_user_model

    from tests.factories import second_factor_code

    def do_login(page, username: str) -> None:
        code = second_factor_code(get_user_model().objects.get(username=username))
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", "Test-Passwort-123")
        page.click("form.login-form button[type=submit]")
        page.wait_for_url("**/accounts/second-factor/**")
        page.fill("#id_code", code)
        page.click("form.login-form button[type=submit]")
        page.wait_for_load_state()

    return do_login


@pytest.fixture
def logout():
    def do_logout(page) -> None:
        page.click(".site-header__logout button")
        page.wait_for_url("**/accounts/login/**")

    return do_logout
