"""Fixtures for alert tests; helpers live in shopper_events.py (importable from the tests of this folder)."""

import sys
from pathlib import Path

import pytest

# Appended, not prepended: `from conftest import ...` elsewhere must keep finding tests/conftest.py.
sys.path.append(str(Path(__file__).resolve().parent))

from factories import InventoryVehicleFactory, LeadFactory, add_contact, make_customer  # noqa: E402
from shopper_events import Shopper, identify  # noqa: E402


@pytest.fixture
def shopper(world) -> Shopper:
    """A known customer of world.rooftop with an open lead assigned to world.salesperson, browsing a RAV4."""
    customer = make_customer(world.rooftop, first_name="Jordan", last_name="Rivera")
    add_contact(customer, email="jordan@example.com", phone="+16175550123")
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop)
    lead = LeadFactory(rooftop=world.rooftop, customer=customer, assigned_to=world.salesperson, vehicle=vehicle)
    visitor = identify(world.rooftop, "anon-jordan", customer)
    return Shopper(customer=customer, visitor=visitor, vehicle=vehicle, lead=lead, anonymous_id="anon-jordan")



@pytest.fixture
def alert(world, shopper):
    """The classic alert, raised through the real path: four VDP views stored, then scored."""
    from alerts.models import Alert
    from alerts.services import visitor_score_events
    from shopper_events import send, views

    send(world.rooftop, views(shopper, 4))
    [alert_id] = visitor_score_events(visitor_id=shopper.visitor.id).alert_ids
    return Alert.unscoped.get(pk=alert_id)
