"""A salesperson's day in a real Chromium: the countdown ticks and one click stops the clock."""

import re

import pytest

from factories import RooftopFactory, make_staff
from leads.models import LeadClock
from leads.services.new_leads import lead_create
from rooftops.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ALWAYS_OPEN = {d: [["00:00", "23:59"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def _log_in(page, live_server_url, username):
    page.goto(f"{live_server_url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("button[type=submit]")
    page.wait_for_selector("header.topbar")


def test_my_day_counts_down_and_a_call_stops_the_clock(live_server_url, page):
    rooftop = RooftopFactory(name="Browser Toyota", business_hours=ALWAYS_OPEN)
    sam = make_staff(rooftop, Role.SALESPERSON, display_name="Sam Sales")
    lead = lead_create(rooftop=rooftop, source="web_form", first_name="Pat", last_name="Shopper",
                       email="pat@example.com").lead
    assert lead.assigned_to == sam
    _log_in(page, live_server_url, sam.username)
    page.goto(f"{live_server_url}/my-day/")
    countdown = page.locator(f"#lead-row-{lead.pk} .countdown")
    first = countdown.inner_text()
    assert re.fullmatch(r"1[45]:\d\d left", first), first
    page.wait_for_function(
        "([el, before]) => el.textContent !== before", arg=[countdown.element_handle(), first], timeout=5000)
    page.screenshot(path="/tmp/crm-my-day.png", full_page=True)
    page.click(f"#lead-row-{lead.pk} button:has-text('Called, reached')")
    page.wait_for_selector(f"#lead-row-{lead.pk} >> text=Clock stopped")
    assert page.locator(f"#lead-row-{lead.pk} [role=status]").inner_text() == "Call logged."
    assert LeadClock.unscoped.get(lead=lead).stop_reason == "human_action"


def test_a_refused_status_change_shows_the_reason_in_the_row(live_server_url, page):
    rooftop = RooftopFactory(name="Browser Honda", business_hours=ALWAYS_OPEN)
    sam = make_staff(rooftop, Role.SALESPERSON, display_name="Sam Sales")
    lead = lead_create(rooftop=rooftop, source="chat", first_name="Lee", email="lee@example.com").lead
    _log_in(page, live_server_url, sam.username)
    page.goto(f"{live_server_url}/my-day/")
    page.select_option(f"#lead-row-{lead.pk} select[name=status]", "lost")
    page.click(f"#lead-row-{lead.pk} button:has-text('Set status')")
    alert = page.locator(f"#lead-row-{lead.pk} [role=alert]")
    alert.wait_for()
    assert "Say why the lead was lost" in alert.inner_text()
