"""The demo manager opens the dashboards in a real Chromium and sees the charts drawn beside their tables."""

import re

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_group(transactional_db):
    call_command("seed_demo")


def _log_in(page, live_server_url, username="manager@demo.test"):
    page.goto(f"{live_server_url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo-password-1")
    page.click("button[type=submit]")
    page.wait_for_selector("header.topbar")


def test_the_demo_manager_lands_on_the_dashboards_and_sees_the_charts(demo_group, live_server_url, page):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    _log_in(page, live_server_url)
    page.wait_for_url(re.compile(r"/dashboards/"))  # managers land here
    page.wait_for_function("() => document.documentElement.dataset.kpiCharts === 'drawn'")
    canvases = page.locator("canvas[data-chart]")
    assert canvases.count() >= 5
    # Chart.js drew into the funnel canvas (a chart instance is attached to it, with the server's numbers).
    funnel = page.evaluate("""() => {
        const chart = Chart.getChart(document.querySelector('canvas[data-chart="funnel"]'));
        return chart ? chart.data.datasets[0].data : null;
    }""")
    assert funnel and funnel[0] > 0
    first_cell = page.locator("#figure-funnel tbody tr").first.locator("td").first.inner_text()
    assert re.fullmatch(r"[\d,]+", first_cell) and int(first_cell.replace(",", "")) == funnel[0]
    assert page.locator(".kpi-card[data-measure=speed_median] .kpi-value").inner_text().endswith("min")
    assert "appointments shown ÷ appointments due" in page.locator("#section-funnel").inner_text()
    assert not errors
    page.screenshot(path="/tmp/crm-kpi-dashboard.png", full_page=True)


def test_changing_a_filter_redraws_the_charts_without_leaving_the_page(demo_group, live_server_url, page):
    _log_in(page, live_server_url)
    page.goto(f"{live_server_url}/dashboards/?preset=30")
    page.wait_for_function("() => document.documentElement.dataset.kpiCharts === 'drawn'")
    before = page.locator(".kpi-card[data-measure=leads_received] .kpi-value").inner_text()
    page.evaluate("document.documentElement.dataset.kpiCharts = ''")
    page.select_option("select[name=source]", "adf")
    page.wait_for_function("() => document.documentElement.dataset.kpiCharts === 'drawn'")
    after = page.locator(".kpi-card[data-measure=leads_received] .kpi-value").inner_text()
    assert int(after.replace(",", "")) < int(before.replace(",", ""))
    assert "source=adf" in page.url
    # A figure opens to its leads.
    page.locator(".kpi-card[data-measure=leads_received] .kpi-value a").click()
    page.wait_for_selector("h1:has-text('Leads behind')")
    assert page.locator("table.table tbody tr").count() > 0
    assert "Lead provider (ADF)" in page.locator("table.table tbody tr").first.inner_text()


def test_a_salesperson_does_not_get_the_dashboards(demo_group, live_server_url, page):
    _log_in(page, live_server_url, "sales1@demo.test")
    assert page.locator("nav >> text=Dashboards").count() == 0
    response = page.goto(f"{live_server_url}/dashboards/")
    assert response.status == 404
