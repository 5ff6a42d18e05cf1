import json

import pytest
from django.core.management import call_command

from customers.models import Customer
from leads.models import InventoryVehicle, Lead
from leads.vin import normalize_vin
from rooftops.models import Rooftop, StaffRole

pytestmark = pytest.mark.django_db


def _seed_json(capsys) -> dict:
    call_command("seed_demo", "--json")
    return json.loads(capsys.readouterr().out)


def test_seed_demo_builds_the_group_and_running_it_again_changes_nothing(capsys):
    first = _seed_json(capsys)
    counts = (Customer.unscoped.count(), Lead.unscoped.count(), InventoryVehicle.unscoped.count())
    second = _seed_json(capsys)
    assert first == second
    assert (Customer.unscoped.count(), Lead.unscoped.count(), InventoryVehicle.unscoped.count()) == counts
    assert counts[0] >= 2000 and counts[2] >= 300
    zones = set(Rooftop.objects.values_list("time_zone", flat=True))
    assert len(zones) == 2
    assert 10 <= StaffRole.objects.values("user").distinct().count() <= 14
    for login in first["logins"]:
        assert login["api_token"]
    for keys in first["rooftops"].values():
        assert keys["tracking_write_key"] and keys["lead_intake_token"]


def test_demo_inventory_has_valid_vins():
    call_command("seed_demo")
    for vin in InventoryVehicle.unscoped.values_list("vin", flat=True):
        assert normalize_vin(vin) == vin
