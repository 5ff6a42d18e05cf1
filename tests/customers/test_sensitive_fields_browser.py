"""A salesperson sees a licence masked, reveals it with a click (recorded), and enters a date of birth."""

import pytest

from customers.models import Customer
from factories import make_customer, make_staff
from rooftops.models import AccessRecord, Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(transactional_db):
    from factories import RooftopFactory

    rooftop = RooftopFactory(name="Lakeside Privacy Toyota")
    salesperson = make_staff(rooftop, Role.SALESPERSON, display_name="Sally Private")
    salesperson.set_password("correct-horse-battery")
    salesperson.save()
    customer = make_customer(rooftop, first_name="Lena", last_name="Licensed", drivers_licence_number="S530-4411-5678",
                             drivers_licence_state="MA")
    return salesperson, customer


def test_a_salesperson_reveals_the_licence_and_enters_a_date_of_birth(shop, live_server_url, page):
    salesperson, customer = shop
    page.goto(f"{live_server_url}/customers/{customer.pk}/")
    page.fill("input[name=username]", salesperson.username)
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("button[type=submit]")
    licence = page.locator("#sensitive-drivers_licence_number")
    assert "\u2022\u2022\u2022\u20225678" in licence.inner_text()
    assert "S530-4411-5678" not in page.content()

    licence.get_by_role("button", name="Reveal").click()
    page.wait_for_selector("#sensitive-drivers_licence_number.revealed")
    assert page.locator("#sensitive-drivers_licence_number").inner_text() == "S530-4411-5678"
    assert AccessRecord.unscoped.filter(kind="sensitive_reveal", user_id=salesperson.pk).count() == 1

    page.click("#identity-card summary")
    page.fill("#form-identity input[name=date_of_birth]", "1987-04-12")
    page.click("#form-identity button[type=submit]")
    page.wait_for_selector("#identity-card .action-status.ok")
    assert "\u2022\u2022/\u2022\u2022/1987" in page.locator("#sensitive-date_of_birth").inner_text()
    assert str(Customer.unscoped.get(pk=customer.pk).date_of_birth) == "1987-04-12"
