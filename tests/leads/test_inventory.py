import pytest

from factories import InventoryVehicleFactory, RooftopFactory
from leads.inventory import vehicle_create, vehicle_set_price
from leads.models import PriceChange
from leads.vin import InvalidVin

pytestmark = pytest.mark.django_db


def test_a_price_drop_is_kept_in_the_price_history():
    vehicle = InventoryVehicleFactory(rooftop=RooftopFactory(), price_cents=3_500_000)
    change = vehicle_set_price(vehicle=vehicle, price_cents=3_350_000)
    assert (change.old_price_cents, change.new_price_cents) == (3_500_000, 3_350_000)
    assert vehicle_set_price(vehicle=vehicle, price_cents=3_350_000) is None
    assert PriceChange.objects.filter(vehicle=vehicle).count() == 1


def test_a_vehicle_with_a_wrong_check_digit_is_refused():
    with pytest.raises(InvalidVin, match="check digit"):
        vehicle_create(rooftop=RooftopFactory(), vin="JTMB1RFV1RD012345", stock_number="X1", year=2024,
                       make="Toyota", model="RAV4", condition="new", price_cents=1)
