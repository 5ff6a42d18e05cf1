"""Each owned vehicle's worth, payoff, mileage and trade triggers, worked out from its deal and repair orders
and kept as a VehicleOpportunity (service.opportunities) against the real database."""

from datetime import date, datetime, timezone as tz

import pytest

from crm.encrypted_fields import readable
from customers.models import OwnedVehicle, VehicleSale
from factories import InventoryVehicleFactory, make_customer
from service.models import RepairOrder, TradeThresholds, VehicleOpportunity
from service.opportunities import opportunities_refresh, opportunities_scan
from service.valuation import Valuation

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 1)


class FixedBook:
    """A valuation provider that says what it is told, and counts its calls (a feed charges per call)."""

    def __init__(self, cents: int):
        self.cents, self.calls = cents, 0

    def value(self, vehicle, on):
        self.calls += 1
        return Valuation(self.cents, "Test Book", on, f"test value at {vehicle.mileage} miles")


def financed_rav4(world, **sale):
    customer = make_customer(world.rooftop, first_name="Lena", last_name="Ortiz")
    vehicle = OwnedVehicle.objects.create(customer=customer, vin="2T3P1RFV0RC000301", year=2022, make="Toyota",
                                          model="RAV4")
    terms = {"deal_type": "finance", "amount_financed_cents": 3_000_000, "apr": "4.900", "term_months": 60,
             "first_payment_on": date(2022, 1, 15), "payment_cents": 56_477, **sale}
    VehicleSale.unscoped.create(rooftop=world.rooftop, customer=customer, vehicle=vehicle, deal_number="D-77",
                                sold_on=date(2021, 12, 15), vin=vehicle.vin, year=2022, make="Toyota", model="RAV4",
                                mileage=12, price_cents=3_450_000, **terms)
    return customer, vehicle


def test_a_financed_car_gets_its_amortized_payoff_value_equity_and_reasons_each_saying_how(world):
    customer, vehicle = financed_rav4(world)
    assert opportunities_refresh(vehicle_ids=[vehicle.id], today=TODAY, valuer=FixedBook(2_600_000)) == 1
    found = VehicleOpportunity.unscoped.get(vehicle=vehicle)
    assert (found.rooftop_id, found.customer_id, found.scanned_on) == (world.rooftop.id, customer.id, TODAY)
    payoff = readable(found.payoff_cents)
    assert 0 < payoff < 3_000_000 and found.payoff_method.startswith("amortized")
    assert found.payments_left == 1  # 59 of 60 payments due by Dec 1, 2026
    assert (found.value_cents, found.value_source, found.valued_on) == (2_600_000, "Test Book", TODAY)
    assert readable(found.equity_cents) == 2_600_000 - payoff and found.equity_band == "10k+"
    assert found.trigger_kinds[:2] == ["equity", "payments_left"] and found.score >= 45
    assert found.reasons[0]["reason"].startswith("Worth $") and "RAV4" in found.reasons[0]["reason"]
    assert "unknown" in found.mileage_method or found.mileage is not None


def test_a_lease_ending_soon_and_driven_past_its_allowance_says_so(world):
    customer = make_customer(world.rooftop)
    vehicle = OwnedVehicle.objects.create(customer=customer, vin="1HGCV1F30LA000302", year=2024, make="Honda",
                                          model="Accord")
    VehicleSale.unscoped.create(rooftop=world.rooftop, customer=customer, vehicle=vehicle, deal_number="L-1",
                                sold_on=date(2024, 1, 15), year=2024, make="Honda", model="Accord", mileage=10,
                                deal_type="lease", residual_cents=1_800_000, maturity_on=date(2027, 1, 15),
                                payment_cents=32_900, term_months=36, miles_per_year=10_000)
    for opened, miles in ((date(2025, 1, 10), 15_000), (date(2026, 6, 1), 37_000)):
        RepairOrder.unscoped.create(rooftop=world.rooftop, customer=customer, vehicle=vehicle, ro_number=f"R{miles}",
                                    opened_at=datetime(opened.year, opened.month, opened.day, 15, tzinfo=tz.utc),
                                    mileage_in=miles, status="closed")
    opportunities_refresh(vehicle_ids=[vehicle.id], today=TODAY, valuer=FixedBook(1_500_000))
    found = VehicleOpportunity.unscoped.get(vehicle=vehicle)
    assert {"lease_ending", "over_pace"} <= set(found.trigger_kinds)
    assert any(r["reason"].startswith("Lease ends in 45 days") for r in found.reasons)
    assert found.mileage > 37_000 and found.mileage_method.startswith("own pace")
    assert found.payoff_method.startswith("lease") and found.equity_band == "negative"


def test_a_payoff_on_file_with_its_date_wins_and_a_cash_deal_owes_nothing(world):
    _, financed = financed_rav4(world)
    financed.payoff_cents, financed.payoff_on = 1_000_000, date(2026, 11, 20)
    financed.save()
    cash_customer = make_customer(world.rooftop)
    cash = OwnedVehicle.objects.create(customer=cash_customer, year=2020, make="Honda", model="Civic")
    VehicleSale.unscoped.create(rooftop=world.rooftop, customer=cash_customer, vehicle=cash, deal_number="C-1",
                                sold_on=date(2020, 5, 1), deal_type="cash", price_cents=2_200_000)
    opportunities_refresh(vehicle_ids=[financed.id, cash.id], today=TODAY, valuer=FixedBook(1_700_000))
    on_file = VehicleOpportunity.unscoped.get(vehicle=financed)
    assert readable(on_file.payoff_cents) == 1_000_000 and on_file.payoff_method.startswith("known")
    paid = VehicleOpportunity.unscoped.get(vehicle=cash)
    assert readable(paid.payoff_cents) == 0 and "cash" in paid.payoff_method
    assert readable(paid.equity_cents) == 1_700_000


def test_the_stores_thresholds_decide_and_a_newer_model_year_on_the_lot_is_a_reason(world):
    _, vehicle = financed_rav4(world)
    InventoryVehicleFactory(rooftop=world.rooftop, make="Toyota", model="RAV4", year=2026, status="in_stock")
    TradeThresholds.unscoped.create(rooftop=world.rooftop, equity_min_cents=5_000_000, payments_left_at_most=0)
    opportunities_refresh(vehicle_ids=[vehicle.id], today=TODAY, valuer=FixedBook(2_600_000))
    found = VehicleOpportunity.unscoped.get(vehicle=vehicle)
    assert "equity" not in found.trigger_kinds and "payments_left" not in found.trigger_kinds
    assert "newer_in_stock" in found.trigger_kinds


def test_a_value_is_kept_for_a_month_unless_the_mileage_moved(world):
    customer, vehicle = financed_rav4(world)
    book = FixedBook(2_600_000)
    opportunities_refresh(vehicle_ids=[vehicle.id], today=TODAY, valuer=book)
    opportunities_refresh(vehicle_ids=[vehicle.id], today=date(2026, 12, 10), valuer=book)
    assert book.calls == 1
    RepairOrder.unscoped.create(rooftop=world.rooftop, customer=customer, vehicle=vehicle, ro_number="R-9",
                                opened_at=datetime(2026, 12, 9, 15, tzinfo=tz.utc), mileage_in=60_000)
    opportunities_refresh(vehicle_ids=[vehicle.id], today=date(2026, 12, 10), valuer=book)
    assert book.calls == 2
    assert VehicleOpportunity.unscoped.get(vehicle=vehicle).valued_mileage >= 60_000
    opportunities_refresh(vehicle_ids=[vehicle.id], today=date(2027, 1, 15), valuer=book)
    assert book.calls == 3  # a month on


def test_the_scan_walks_every_car_in_batches_and_skips_one_no_store_sold_or_serviced(world, settings):
    settings.VALUATION_PROVIDER = ""
    cars = [financed_rav4(world)[1]]
    other = make_customer(world.rooftop)
    OwnedVehicle.objects.create(customer=other, make="Ford", model="F-150", year=2018)  # typed in, no deal, no RO
    for n in range(3):
        customer = make_customer(world.rooftop)
        car = OwnedVehicle.objects.create(customer=customer, year=2019, make="Honda", model="CR-V")
        RepairOrder.unscoped.create(rooftop=world.rooftop, customer=customer, vehicle=car, ro_number=f"S{n}",
                                    opened_at=datetime(2026, 10, 1, 15, tzinfo=tz.utc), mileage_in=60_000 + n)
        cars.append(car)
    assert opportunities_scan(today=TODAY, batch=2) == 4
    assert set(VehicleOpportunity.unscoped.values_list("vehicle_id", flat=True)) == {c.id for c in cars}
    assert all(o.value_source == "built-in depreciation model" for o in VehicleOpportunity.unscoped.all())
