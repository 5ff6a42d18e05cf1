"""An ADF lead naming several vehicles of interest keeps every one: on the lead, its page and its ADF export."""

from __future__ import annotations

from pathlib import Path

import pytest

from factories import InventoryVehicleFactory
from leads.adf import parse_adf
from leads.models import Lead

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).parent / "adf_samples"

THREE_VEHICLES = """<?xml version="1.0"?>
<?adf version="1.0"?>
<adf><prospect status="new">
  <id sequence="1" source="Autotrader">AT-3V</id>
  <requestdate>2026-11-24T09:15:00-05:00</requestdate>
  <vehicle interest="buy" status="new"><year>2024</year><make>Toyota</make><model>RAV4</model><trim>XLE</trim>
    <stock>{stock}</stock></vehicle>
  <vehicle interest="lease" status="new"><year>2025</year><make>Toyota</make><model>Camry</model><trim>SE</trim>
    <price type="quote" currency="USD">31,250</price><comments>Prefers grey</comments></vehicle>
  <vehicle interest="test-drive" status="used"><year>2021</year><make>Toyota</make><model>Tacoma</model>
    <vin>3TMCZ5AN5MM123456</vin><odometer units="mi">41,000</odometer></vehicle>
  <vehicle interest="trade-in" status="used"><year>2016</year><make>Honda</make><model>Civic</model></vehicle>
  <customer><contact><name part="full">Ana Ruiz</name><email>ana.ruiz@example.com</email></contact></customer>
  <provider><name part="full">Autotrader</name></provider>
</prospect></adf>"""


def _post(client, rooftop, body: bytes):
    response = client.post(f"/intake/adf/{rooftop.lead_intake_token}/", body, content_type="application/xml")
    assert response.status_code == 201, response.content
    return Lead.unscoped.get(pk=response.json()["lead_id"])


def test_a_lead_with_three_vehicles_of_interest_keeps_all_three_in_order(client, world):
    rav4 = InventoryVehicleFactory(rooftop=world.rooftop)
    lead = _post(client, world.rooftop, THREE_VEHICLES.format(stock=rav4.stock_number).encode())
    assert lead.vehicle == rav4  # the first one stays the lead's vehicle for routing and lists
    assert [(v["model"], v["interest"]) for v in lead.vehicles_of_interest] == [
        ("RAV4", "buy"), ("Camry", "lease"), ("Tacoma", "test-drive")]
    assert lead.vehicles_of_interest[0]["inventory_id"] == rav4.pk
    assert lead.vehicles_of_interest[1]["price_cents"] == 3_125_000
    assert lead.trade_in["model"] == "Civic"


def test_the_lead_page_lists_every_vehicle_of_interest(client, world):
    rav4 = InventoryVehicleFactory(rooftop=world.rooftop)
    lead = _post(client, world.rooftop, THREE_VEHICLES.format(stock=rav4.stock_number).encode())
    client.force_login(world.manager)
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Vehicles of interest" in page
    listed = [page.index(text) for text in (f"{rav4.title} (stock {rav4.stock_number})", "2025 Toyota Camry SE",
                                            "2021 Toyota Tacoma")]
    assert listed == sorted(listed)
    assert ">lease<" in page and ">test-drive<" in page
    client.force_login(world.outsider)
    assert client.get(f"/leads/{lead.pk}/").status_code == 404


def test_the_adf_export_writes_every_vehicle_of_interest_and_reads_back(client, world):
    rav4 = InventoryVehicleFactory(rooftop=world.rooftop)
    lead = _post(client, world.rooftop, THREE_VEHICLES.format(stock=rav4.stock_number).encode())
    client.force_login(world.salesperson)
    exported = parse_adf(client.get(f"/leads/{lead.pk}/adf/").content)
    wanted = exported.vehicles_of_interest
    assert [(v.make, v.model, v.interest) for v in wanted] == [
        ("Toyota", "RAV4", "buy"), ("Toyota", "Camry", "lease"), ("Toyota", "Tacoma", "test-drive")]
    assert wanted[0].vin == rav4.vin  # matched to inventory: written from the inventory record
    assert wanted[1].price_cents == 3_125_000 and wanted[1].comments == "Prefers grey"
    assert wanted[2].vin == "3TMCZ5AN5MM123456" and wanted[2].odometer == 41_000
    assert [t.model for t in exported.trade_ins] == ["Civic"]


def test_a_providers_sample_with_two_vehicles_of_interest_round_trips_through_intake_and_export(client, world):
    original = (SAMPLES / "06_trade_in_and_two_vehicles.xml").read_bytes()
    lead = _post(client, world.rooftop, original)
    client.force_login(world.salesperson)
    exported = parse_adf(client.get(f"/api/leads/{lead.pk}/adf/").content)
    sent = parse_adf(original)

    def described(vehicles):
        return [(v.interest, v.status, v.year, v.make, v.model, v.stock, v.vin) for v in vehicles]

    assert described(exported.vehicles_of_interest) == described(sent.vehicles_of_interest)
    assert len(exported.vehicles_of_interest) == 2
