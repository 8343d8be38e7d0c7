"""The dashboard in a real headless browser: Debian's ``chromium`` driven by Playwright
(never a browser Playwright downloads). A refund held for approval appears in the queue,
is approved by clicking, and runs once; an admin stops and resumes an agent through the
confirmation dialog; the audit tab shows the chain verified. The first test writes the
screenshot the README shows when ``AGENTGUARD_SCREENSHOTS`` names a folder.

Needs ``/usr/bin/chromium`` (``make test`` installs it where it can); without it the tests
are skipped, unless ``AGENTGUARD_REQUIRE_BROWSER=1`` (CI) makes that a failure."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import Dashboard

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--disable-features=Translate,OptimizationHints,MediaRouter",
]  # fmt: skip
CARD = "4111 1111 1111 1111"

if not Path(CHROMIUM).exists():
    if os.environ.get("AGENTGUARD_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"{CHROMIUM} is missing: install Debian's chromium (make test does)")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)",
                allow_module_level=True)  # fmt: skip

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, dash: Dashboard) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=dash.url)
    # the page may reach this gateway only: anything else would leave loopback
    context.route(
        "**/*",
        lambda route: (
            route.continue_() if route.request.url.startswith(dash.url + "/") else route.abort()
        ),
    )
    opened = context.new_page()
    opened.set_default_timeout(60_000)  # a loaded CI machine is slow; waits end on events
    yield opened
    context.close()


def sign_in(page: Any, key: str) -> None:
    page.goto("/ui/")
    page.fill("#key", key)
    page.click("#signin-form button[type=submit]")


def test_a_held_refund_appears_is_approved_by_clicking_and_runs_once(
    dash: Dashboard, page: Any
) -> None:
    outcome = dash.hold_refund("A-1", 800, CARD)
    sign_in(page, dash.admin_key)
    card = page.locator("article.request[data-tool=process_refund]")
    card.wait_for()
    assert "finance_bot" in card.inner_text()
    shown = card.locator("pre.args").inner_text()
    assert "800" in shown and "A-1" in shown
    assert "4111" not in shown  # the card number is redacted on screen
    assert "left" in card.locator(".countdown").inner_text()  # the deadline counts down
    assert dash.refunds == []  # nothing ran before a person said yes
    folder = os.environ.get("AGENTGUARD_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / "dashboard.png"))
    card.locator("input[name=comment]").fill("checked with the customer")
    card.locator("button.approve").click()
    page.locator(".flash", has_text="approved").wait_for()
    assert outcome.result(timeout=30) == {"refunded": 800, "order_id": "A-1"}
    assert [r["amount"] for r in dash.refunds] == [800]
    page.locator("tr.decided", has_text="process_refund").wait_for()
    assert "approved" in page.locator("tr.decided").first.inner_text()
    # the live feed shows it ran
    page.click("button[data-tab]:has-text('Activity')")
    page.locator("#feed tr.executed", has_text="process_refund").wait_for()
    assert "4111" not in page.content()


def test_a_rejected_refund_never_runs(dash: Dashboard, page: Any) -> None:
    outcome = dash.hold_refund("A-2", 900, CARD)
    sign_in(page, dash.approver_key)
    card = page.locator("article.request[data-tool=process_refund]")
    card.wait_for()
    page.on("dialog", lambda dialog: dialog.accept())  # "Reject …? It will not run."
    card.locator("input[name=comment]").fill("duplicate of A-0")
    card.locator("button.reject").click()
    page.locator(".flash", has_text="rejected").wait_for()
    with pytest.raises(Exception, match="rejected"):
        outcome.result(timeout=30)
    assert dash.refunds == []


def test_an_admin_stops_and_resumes_an_agent_after_confirming(dash: Dashboard, page: Any) -> None:
    dash.guard.agent("finance_bot").call("lookup_order", order_id="A-1")
    sign_in(page, dash.admin_key)
    page.click("button[data-tab]:has-text('Agents')")
    bot = page.locator("article.agent[data-agent=finance_bot]")
    bot.wait_for()
    assert "1 actions this hour" in bot.inner_text()
    assert bot.locator("svg.gauge").count() == 1  # $5.00 per hour: spend against it
    asked: list[str] = []
    accept = [False]

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept[0] else dialog.dismiss()

    page.on("dialog", answer)
    bot.locator("input[name=reason]").fill("refund spree")
    bot.locator("button.danger").click()  # dismissed: nothing is stopped
    assert asked and "Stop finance_bot?" in asked[0]
    assert dash.get("/v1/status", dash.admin_key).json()["kills"] == []
    accept[0] = True
    bot.locator("button.danger").click()
    page.locator(".flash", has_text="stopped agent finance_bot").wait_for()
    kills = dash.get("/v1/status", dash.admin_key).json()["kills"]
    assert [(k["target"], k["reason"]) for k in kills] == [("finance_bot", "refund spree")]
    with pytest.raises(Exception, match="kill"):
        dash.guard.agent("finance_bot").call("lookup_order", order_id="A-2")
    page.locator("article.agent[data-agent=finance_bot] button", has_text="Resume").click()
    page.locator(".flash", has_text="resumed agent finance_bot").wait_for()
    assert (
        dash.guard.agent("finance_bot").call("lookup_order", order_id="A-3")["state"] == "delivered"
    )


def test_audit_search_shows_the_chain_status(dash: Dashboard, page: Any) -> None:
    dash.guard.agent("finance_bot").call("lookup_order", order_id="A-9")
    sign_in(page, dash.admin_key)
    page.click("button[data-tab]:has-text('Audit')")
    page.locator(".chain.ok").wait_for()
    assert "verified" in page.locator(".chain").inner_text()
    page.fill("form.search input[name=tool]", "lookup_order")
    page.click("form.search button[type=submit]")
    page.locator("tbody tr", has_text="lookup_order").first.wait_for()
    assert page.locator("tbody tr", has_text="process_refund").count() == 0


def test_a_tab_clicked_before_the_first_one_loads_is_the_one_shown(
    dash: Dashboard, page: Any
) -> None:
    """The first tab's load is held back until after a click on another tab: the stale
    load must be cancelled, not land on top of the tab the person asked for (CI once saw
    the approvals queue replace the audit tab this way)."""
    held: list[Any] = []
    page.route("**/ui/f/approvals", lambda route: held.append(route))
    with page.expect_request(lambda r: r.url.endswith("/ui/f/approvals")):
        sign_in(page, dash.admin_key)
    with page.expect_event(
        "requestfailed", predicate=lambda r: r.url.endswith("/ui/f/approvals"), timeout=15_000
    ):
        page.click("button[data-tab]:has-text('Audit')")
    page.locator(".chain.ok").wait_for()
    assert page.locator("#main h2").inner_text() == "Audit log"
    assert len(held) == 1


def test_wrong_keys_are_refused_and_approvers_see_only_the_queue(
    dash: Dashboard, page: Any
) -> None:
    sign_in(page, dash.agent_key)  # an agent's key is not a person's
    page.locator("#toast", has_text="approver key").wait_for()
    assert page.locator("#signin").is_visible()
    sign_in(page, dash.approver_key)
    page.locator(".me", has_text="pat").wait_for()
    assert page.locator("button[data-tab]").all_inner_texts() == ["Approvals"]
    page.click("#signout")
    assert page.locator("#signin").is_visible()
    stored = page.evaluate(
        "JSON.stringify([Object.entries(sessionStorage), Object.entries(localStorage)])"
    )
    assert dash.approver_key not in stored and "agentguard.key" not in stored
    assert page.evaluate("document.cookie") == ""  # no cookie ever carries a key
