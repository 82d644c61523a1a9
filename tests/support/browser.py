"""Admin actions pressed in a Playwright page, as an operator picks and runs them."""

from playwright.sync_api import Page


def run_action(page: Page, label: str) -> None:
    """Pick an action in the change form's action bar and run it."""
    page.select_option('select[name="CHANGE_FORM-action"]', label=label)
    with page.expect_navigation():
        page.click('.actions button[type="submit"]')


def pick_action(page: Page, label: str, rows: str = "#result_list tbody tr input.action-select") -> None:
    """Tick the changelist rows matching the `rows` selector, pick the action by label and run it."""
    page.check(rows)
    page.select_option('select[name="action"]', label=label)
    with page.expect_navigation():
        page.click('button[name="index"]')
