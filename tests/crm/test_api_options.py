"""OPTIONS on every staff API list answers (DRF's field description needed one serializer per view: a 500)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/api/leads/", "/api/inventory/", "/api/appointments/", "/api/repair-orders/",
                                 "/api/customers/", "/api/kpis/", "/api/events/", "/api/alerts/"])
def test_options_answers(world, client, url):
    client.force_login(world.manager)
    response = client.options(url)
    assert response.status_code == 200 and "name" in response.json()
