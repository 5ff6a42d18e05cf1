"""Equity mining: sales, BDC and managers see customers whose car says they may be ready to trade, best first,
filter them, download them, and make routed leads of them (one per customer and store)."""

from datetime import date

import pytest

from customers.models import OwnedVehicle
from factories import make_customer
from leads.models import Lead
from rooftops.models import AccessRecord
from service.models import VehicleOpportunity

pytestmark = pytest.mark.django_db
PAGE = "/sales/equity-mining/"


def opportunity(rooftop, name: str, *, score: int, kinds: list[str], band: str = "unknown", model: str = "RAV4"):
    customer = make_customer(rooftop, first_name=name, last_name="Tester")
    vehicle = OwnedVehicle.objects.create(customer=customer, year=2021, make="Toyota", model=model)
    reasons = [{"kind": k, "reason": f"{k} reason for {name}"} for k in kinds]
    return VehicleOpportunity.unscoped.create(rooftop=rooftop, customer=customer, vehicle=vehicle, score=score,
                                              trigger_kinds=kinds, reasons=reasons, equity_band=band,
                                              scanned_on=date(2026, 12, 1), value_source="built-in depreciation model")


def test_sales_see_the_best_opportunities_first_with_their_reasons_and_filter_them(world, client):
    opportunity(world.rooftop, "Ana", score=30, kinds=["equity"], band="5k-10k")
    opportunity(world.rooftop, "Ben", score=55, kinds=["equity", "lease_ending"], band="10k+", model="Camry")
    opportunity(world.rooftop, "Cal", score=0, kinds=[])  # nothing to say: not listed
    opportunity(world.other_rooftop, "Dee", score=90, kinds=["equity"])  # another store's
    client.force_login(world.salesperson)
    html = client.get(PAGE).content.decode()
    assert html.index("Ben Tester") < html.index("Ana Tester")
    assert "lease_ending reason for Ben" in html and "Cal Tester" not in html and "Dee Tester" not in html
    assert "Ben Tester" not in client.get(PAGE, {"trigger": "equity", "band": "5k-10k"}).content.decode()
    assert "Ana Tester" not in client.get(PAGE, {"model": "camry"}).content.decode()
    assert AccessRecord.unscoped.filter(kind="equity_mining", user_id=world.salesperson.id).exists()
    csv = client.get(PAGE, {"format": "csv"})
    lines = csv.content.decode().splitlines()
    assert csv["Content-Type"].startswith("text/csv") and len(lines) == 3 and "Ben Tester" in lines[1]


def test_a_filter_that_is_not_one_is_a_400_naming_it_and_others_cannot_open_the_page(world, client):
    client.force_login(world.salesperson)
    response = client.get(PAGE, {"trigger": "bogus", "quiet": "x"})
    assert response.status_code == 400 and "trigger" in response.content.decode()
    client.force_login(world.advisor)
    assert client.get(PAGE).status_code == 404


def test_making_leads_routes_one_per_customer_and_a_second_click_makes_none(world, client):
    ana = opportunity(world.rooftop, "Ana", score=30, kinds=["equity"])
    ben = opportunity(world.rooftop, "Ben", score=55, kinds=["lease_ending"])
    theirs = opportunity(world.other_rooftop, "Dee", score=90, kinds=["equity"])
    client.force_login(world.bdc)
    response = client.post(PAGE, {"opportunity": [ana.id, ben.id, theirs.id]}, follow=True)
    assert "Made 2 leads" in response.content.decode()
    leads = Lead.unscoped.filter(source="equity_mining").order_by("customer__first_name")
    assert [(l.customer_id, l.rooftop_id) for l in leads] == [(ana.customer_id, world.rooftop.id),
                                                             (ben.customer_id, world.rooftop.id)]
    assert "lease_ending reason for Ben" in leads[1].comments
    again = client.post(PAGE, {"one": ana.id}, follow=True).content.decode()
    assert "Made 0 leads" in again and "1 already had an open equity-mining lead" in again
    assert Lead.unscoped.filter(source="equity_mining").count() == 2
    html = client.get(PAGE).content.decode()
    assert f'href="/leads/{leads[0].id}/"' in html  # the list shows it is being worked


def test_a_manager_sets_the_stores_lines_and_others_cannot(world, client):
    from service.models import TradeThresholds

    client.force_login(world.manager)
    page = client.get("/sales/equity-mining/thresholds/").content.decode()
    assert 'value="2000"' in page and "uses the defaults" in page  # $2,000 of equity by default
    bad = client.post("/sales/equity-mining/thresholds/", {"rooftop": world.rooftop.id, "equity_min_dollars": "-5"})
    assert bad.status_code == 400 and "greater than or equal to 0" in bad.content.decode()
    lines = {"equity_min_dollars": 5000, "lease_within_days": 60, "over_pace_percent": 15, "payments_left_at_most": 3,
             "warranty_within_days": 30, "warranty_within_miles": 1000, "repair_bill_min_dollars": 2500}
    assert client.post("/sales/equity-mining/thresholds/", {"rooftop": world.rooftop.id, **lines}).status_code == 302
    saved = TradeThresholds.unscoped.get(rooftop=world.rooftop)
    assert (saved.equity_min_cents, saved.repair_bill_min_cents, saved.lease_within_days) == (500_000, 250_000, 60)
    client.force_login(world.salesperson)
    assert client.get("/sales/equity-mining/thresholds/").status_code == 404


def test_the_customer_page_shows_the_scans_figures_and_how_each_was_worked_out(world, client):
    row = opportunity(world.rooftop, "Ana", score=30, kinds=["equity"])
    row.value_cents, row.payoff_cents, row.mileage = 2_140_000, 980_000, 48_200
    row.value_method, row.payoff_method, row.mileage_method = "model says so", "amortized: 50 of 60 paid", "own pace"
    row.save()
    client.force_login(world.salesperson)
    html = client.get(f"/customers/{row.customer_id}/").content.decode()
    assert "Worth about $21,400 · owes about $9,800 · about 48,200 miles" in html
    assert "amortized: 50 of 60 paid" in html and "equity reason for Ana" in html
    assert "Worth $11,600 more than they owe" in html


def test_the_customer_page_says_how_a_car_from_the_dms_was_bought(world, client):
    from customers.models import VehicleSale

    row = opportunity(world.rooftop, "Lena", score=25, kinds=["lease_ending"])
    VehicleSale.unscoped.create(rooftop=world.rooftop, customer=row.customer, vehicle=row.vehicle, deal_number="L-9",
                                sold_on=date(2024, 1, 15), deal_type="lease", lender="Toyota Financial",
                                maturity_on=date(2027, 1, 15), miles_per_year=12_000)
    client.force_login(world.salesperson)
    html = client.get(f"/customers/{row.customer_id}/").content.decode()
    assert "Leased through Toyota Financial, ends Jan 15, 2027, 12,000 miles a year (deal L-9)" in html
