"""The inventory API: search, detail, create, update and price changes (kept as PriceChange rows)."""

import pytest

from factories import InventoryVehicleFactory
from leads.models import InventoryVehicle, PriceChange
from leads.vin import with_check_digit
from rooftops.services import api_token_create

pytestmark = pytest.mark.django_db

NEW_VIN = with_check_digit("JTMW1RFV0RD000001")


@pytest.fixture
def stock(world):
    return [
        InventoryVehicleFactory(rooftop=world.rooftop, make="Toyota", model="RAV4", price_cents=3_000_000),
        InventoryVehicleFactory(rooftop=world.rooftop, make="Toyota", model="Camry", condition="used",
                                price_cents=2_000_000),
        InventoryVehicleFactory(rooftop=world.other_rooftop, make="Honda", model="CR-V"),
    ]


def _ids(client, **params):
    response = client.get("/api/inventory/", params)
    assert response.status_code == 200, response.json()
    return [v["id"] for v in response.json()["results"]]


def test_search_by_each_filter_at_my_rooftops_only(world, stock, client):
    rav4, camry, _ = stock
    client.force_login(world.salesperson)
    assert _ids(client) == [camry.id, rav4.id]
    assert _ids(client, q="camry") == [camry.id]
    assert _ids(client, make="toyota", model="RAV4") == [rav4.id]
    assert _ids(client, condition="used") == [camry.id]
    assert _ids(client, price_min=2_500_000) == [rav4.id]
    assert _ids(client, price_max=2_500_000) == [camry.id]
    assert _ids(client, stock_number=rav4.stock_number) == [rav4.id]
    assert _ids(client, vin=camry.vin[-8:]) == [camry.id]
    assert _ids(client, make="Honda") == []


@pytest.mark.parametrize("params, field", [
    ({"condition": "mint"}, "condition"), ({"price_min": "cheap"}, "price_min"),
    ({"price_min": 5, "price_max": 1}, "price_max"), ({"rooftop": 999999}, "rooftop"),
])
def test_bad_search_values_are_400(world, client, params, field):
    client.force_login(world.salesperson)
    response = client.get("/api/inventory/", params)
    assert response.status_code == 400 and field in response.json()


def test_detail_with_price_history_and_another_stores_vehicle_is_404(world, stock, client):
    client.force_login(world.salesperson)
    body = client.get(f"/api/inventory/{stock[0].id}/").json()
    assert body["title"] == "2024 Toyota RAV4 XLE" and body["price_history"] == []
    assert client.get(f"/api/inventory/{stock[2].id}/").status_code == 404
    client.force_login(world.manager)
    assert client.patch(f"/api/inventory/{stock[2].id}/", {"mileage": 5}, content_type="application/json").status_code == 404
    assert client.post(f"/api/inventory/{stock[2].id}/price/", {"price_cents": 5}, content_type="application/json").status_code == 404


def test_a_manager_adds_a_vehicle_with_a_checked_vin(world, client):
    client.force_login(world.manager)
    body = {"vin": NEW_VIN.lower(), "stock_number": "N100", "year": 2025, "make": "Toyota", "model": "Tacoma",
            "condition": "new", "price_cents": 4_100_000}
    response = client.post("/api/inventory/", body, content_type="application/json")
    assert response.status_code == 201, response.json()
    assert InventoryVehicle.unscoped.get(pk=response.json()["id"]).vin == NEW_VIN
    again = client.post("/api/inventory/", body, content_type="application/json")
    assert again.status_code == 400 and "vin" in again.json()
    bad = client.post("/api/inventory/", {**body, "vin": "1HGCM82633A00435X", "stock_number": "N101"},
                      content_type="application/json")
    assert bad.status_code == 400 and "vin" in bad.json()
    assert client.post("/api/inventory/", {"make": "Toyota"}, content_type="application/json").json().keys() >= {
        "vin", "stock_number", "year", "model", "condition", "price_cents"}


def test_only_managers_change_inventory(world, stock, client):
    client.force_login(world.salesperson)
    assert client.patch(f"/api/inventory/{stock[0].id}/", {"mileage": 12}, content_type="application/json").status_code == 403
    assert client.post(f"/api/inventory/{stock[0].id}/price/", {"price_cents": 100}, content_type="application/json").status_code == 403
    refused = client.post("/api/inventory/", {"vin": NEW_VIN, "stock_number": "N1", "year": 2025, "make": "T",
                                              "model": "M", "condition": "new", "price_cents": 1},
                          content_type="application/json")
    assert refused.status_code == 400 and "rooftop" in refused.json()
    assert not PriceChange.objects.exists()


def test_a_price_change_is_kept_for_the_price_drop_alerts(world, stock, client):
    rav4 = stock[0]
    client.force_login(world.manager)
    response = client.post(f"/api/inventory/{rav4.id}/price/", {"price_cents": 2_850_000}, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["price_cents"] == 2_850_000
    assert response.json()["price_history"][0] | {"changed_at": None} == {
        "old_price_cents": 3_000_000, "new_price_cents": 2_850_000, "changed_at": None}
    change = PriceChange.objects.get(vehicle=rav4)
    assert (change.old_price_cents, change.new_price_cents) == (3_000_000, 2_850_000)
    # A PATCH of the price takes the same path.
    client.patch(f"/api/inventory/{rav4.id}/", {"price_cents": 2_700_000, "mileage": 15}, content_type="application/json")
    assert PriceChange.objects.filter(vehicle=rav4).count() == 2
    rav4.refresh_from_db()
    assert (rav4.price_cents, rav4.mileage) == (2_700_000, 15)
    assert client.post(f"/api/inventory/{rav4.id}/price/", {"price_cents": 0}, content_type="application/json").status_code == 400


def test_a_retried_price_change_is_one_price_change(world, stock, client):
    client.force_login(world.manager)
    for _ in range(2):
        client.post(f"/api/inventory/{stock[0].id}/price/", {"price_cents": 2_900_000}, content_type="application/json",
                    HTTP_IDEMPOTENCY_KEY="price-1")
    client.post(f"/api/inventory/{stock[0].id}/price/", {"price_cents": 2_800_000}, content_type="application/json",
                HTTP_IDEMPOTENCY_KEY="price-1")
    assert PriceChange.objects.filter(vehicle=stock[0]).count() == 1


def test_a_read_only_token_cannot_change_inventory(world, stock, client):
    _, key = api_token_create(user=world.manager, name="feed", scope="read")
    response = client.post(f"/api/inventory/{stock[0].id}/price/", {"price_cents": 1}, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 403 and not PriceChange.objects.exists()
