"""The service-to-sales demo: leases near their end and loans under way, scanned once, so equity mining and the
customer page have opportunities the first time a newcomer runs `make run`; running it again changes nothing."""

import pytest
from django.core.management import call_command

from customers.models import VehicleSale
from service.models import VehicleOpportunity

pytestmark = pytest.mark.django_db


def test_the_demo_has_trade_opportunities_with_reasons_and_is_idempotent():
    call_command("seed_demo")
    found = VehicleOpportunity.unscoped.filter(score__gt=0)
    kinds = {kind for row in found for kind in row.trigger_kinds}
    assert found.count() >= 20 and {"lease_ending", "equity"} <= kinds
    before = (VehicleSale.unscoped.count(), VehicleOpportunity.unscoped.count())
    call_command("seed_demo")
    assert (VehicleSale.unscoped.count(), VehicleOpportunity.unscoped.count()) == before
