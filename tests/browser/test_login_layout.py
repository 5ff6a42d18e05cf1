import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_group(transactional_db):
    call_command("seed_demo")


def test_the_demo_manager_logs_in_and_sees_the_manager_layout(demo_group, live_server_url, page):
    page.goto(f"{live_server_url}/")
    assert "/login/" in page.url
    page.fill("input[name=username]", "manager@demo.test")
    page.fill("input[name=password]", "demo-password-1")
    page.click("button[type=submit]")
    page.wait_for_selector("header.topbar")
    assert page.locator(".who").inner_text() == "Dana Whitfield"
    assert page.locator("header .brand").inner_text() == "Dealership CRM"
    page.screenshot(path="/tmp/crm-manager-layout.png")


def test_a_wrong_password_shows_a_clear_message(demo_group, live_server_url, page):
    page.goto(f"{live_server_url}/login/")
    page.fill("input[name=username]", "manager@demo.test")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    assert "did not match" in page.locator("[role=alert]").inner_text()
