"""Under the Content-Security-Policy (no inline script, no eval) the pages still work in a real Chromium: the live
alert feed's websocket connects, the dashboards draw their Chart.js charts, htmx forms post and reset, and the
browser reports no policy violation and no console error anywhere on the way."""

from datetime import timedelta

import pytest
from django.utils import timezone

from factories import LeadFactory, make_customer
from kpis.services import rollups_rebuild

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"  # tests/factories.py UserFactory

# Every violation is also written to the console, so one listener sees them across page loads.
REPORT_VIOLATIONS = """
document.addEventListener('securitypolicyviolation', function (e) {
  console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') +
                ' at ' + e.sourceFile + ':' + e.lineNumber);
});
"""


@pytest.fixture
def watched_page(page):
    problems: list[str] = []
    page.add_init_script(REPORT_VIOLATIONS)
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("response", lambda response: response.status >= 400 and problems.append(
        f"{response.status} {response.url}"))
    page.problems = problems
    return page


def log_in(page, live_server_url, user):
    page.goto(f"{live_server_url}/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("header.topbar")


def test_the_feed_dashboards_and_htmx_pages_work_under_the_policy_with_no_violation(world, live_server_url, watched_page):
    page = watched_page
    customer = make_customer(world.rooftop, first_name="Jordan", last_name="Rivera")
    # Something for the dashboards to chart: leads of the last days, rolled up as the beat task does.
    now = timezone.now()
    for days_ago in (1, 2, 3):
        LeadFactory(rooftop=world.rooftop, customer=customer, created_at=now - timedelta(days=days_ago),
                    first_attempt_at=now - timedelta(days=days_ago) + timedelta(minutes=4))
    rollups_rebuild(rooftop=world.rooftop, start=(now - timedelta(days=40)).date(), end=now.date(), now=now)
    log_in(page, live_server_url, world.manager)

    response = page.goto(f"{live_server_url}/alerts/")
    policy = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())  # in no fixed order
    assert directives["script-src"] == "'self'" and "unsafe-inline" not in policy
    page.wait_for_selector("#feed-status[data-state=live]")  # the websocket connected under connect-src

    page.goto(f"{live_server_url}/dashboards/")
    page.wait_for_function("() => document.documentElement.dataset.kpiCharts === 'drawn'")
    charts = page.evaluate("""() => [...document.querySelectorAll('canvas[data-chart]')]
        .filter((canvas) => Chart.getChart(canvas)).length""")
    assert charts >= 1

    page.goto(f"{live_server_url}/customers/{customer.pk}/")
    page.click("#form-note >> xpath=ancestor::details/summary")
    page.fill("#form-note textarea, #form-note input[name=text]", "Called about the RAV4")
    page.click("#form-note button[type=submit]")
    page.wait_for_selector("#status-note:not(:empty)")
    # htmx posted without eval, and app.js (not an inline hx-on handler) cleared the form on success.
    page.wait_for_function("document.querySelector('#form-note [name=text]').value === ''")
    assert "Called about the RAV4" in page.locator("#timeline-entries").inner_text()

    page.goto(f"{live_server_url}/tracking/setup/")
    page.click("#debugger-pause")
    assert page.locator("#debugger-pause").inner_text() == "Resume"

    page.goto(f"{live_server_url}/account/second-factor/")
    assert page.locator("#totp-qr svg").count() == 1

    assert page.problems == []


def test_a_blocked_inline_script_would_be_reported(world, live_server_url, watched_page):
    """The listener above really hears violations: an injected inline script is refused and reported."""
    page = watched_page
    log_in(page, live_server_url, world.bdc)
    page.evaluate("""() => {
        const s = document.createElement('script');
        s.textContent = 'window.__inlineRan = true';
        document.body.appendChild(s);
    }""")
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.__inlineRan") is None
    assert any("CSP violation: script-src" in p for p in page.problems), page.problems
