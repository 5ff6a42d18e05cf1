"""Staff API for webhooks: managers only; field errors are 400 with the field's message; another store's endpoint
is the 404 of a missing one; the secret is in the create and rotate answers only."""

import pytest

from rooftops.models import WebhookDelivery, WebhookEndpoint
from rooftops.webhook_rules import signature_header, signature_verify
from rooftops.webhooks import webhook_endpoint_create, webhooks_emit

pytestmark = pytest.mark.django_db

RECEIVER = "http://127.0.0.1:9/hooks"


def _post(client, path, body=None, **headers):
    return client.post(path, body or {}, content_type="application/json", **headers)


def test_a_manager_registers_lists_changes_and_deletes_an_endpoint(world, client):
    client.force_login(world.manager)
    created = _post(client, "/api/webhooks/", {"url": RECEIVER, "events": ["lead.created", "lead.assigned"],
                                               "description": "BI"}, HTTP_IDEMPOTENCY_KEY="hook-1")
    assert created.status_code == 201, created.json()
    body = created.json()
    endpoint = WebhookEndpoint.unscoped.get(pk=body["id"])
    assert body["secret"] == endpoint.secret and body["rooftop"] == world.rooftop.id
    again = _post(client, "/api/webhooks/", {"url": RECEIVER, "events": ["lead.created", "lead.assigned"],
                                             "description": "BI"}, HTTP_IDEMPOTENCY_KEY="hook-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert WebhookEndpoint.unscoped.count() == 1

    listed = client.get("/api/webhooks/").json()
    assert [e["id"] for e in listed["results"]] == [endpoint.id] and "secret" not in listed["results"][0]
    detail = client.get(f"/api/webhooks/{endpoint.id}/").json()
    assert detail["events"] == ["lead.created", "lead.assigned"] and "secret" not in detail

    changed = client.patch(f"/api/webhooks/{endpoint.id}/", {"events": ["alert.raised"], "active": False},
                           content_type="application/json")
    assert changed.status_code == 200 and changed.json()["events"] == ["alert.raised"]
    assert changed.json()["active"] is False and changed.json()["disabled_reason"]

    rotated = _post(client, f"/api/webhooks/{endpoint.id}/rotate-secret/")
    endpoint.refresh_from_db()
    assert rotated.status_code == 200 and rotated.json() == {"secret": endpoint.secret} != {"secret": body["secret"]}

    assert client.delete(f"/api/webhooks/{endpoint.id}/").status_code == 204
    assert not WebhookEndpoint.unscoped.exists()


@pytest.mark.parametrize("body, field, message", [
    ({"url": "http://hooks.example.com/x", "events": ["lead.created"]}, "url", "https://"),
    ({"url": "https://192.168.0.10/x", "events": ["lead.created"]}, "url", "private or local"),
    ({"url": RECEIVER, "events": []}, "events", ""),
    ({"url": RECEIVER, "events": ["lead.deleted"]}, "events", ""),
    ({"url": RECEIVER}, "events", ""),
    ({"events": ["lead.created"]}, "url", ""),
    ({"url": RECEIVER, "events": ["lead.created"], "rooftop": 10**20}, "rooftop", ""),
])
def test_a_bad_endpoint_is_a_400_naming_the_field(world, client, body, field, message):
    client.force_login(world.manager)
    response = _post(client, "/api/webhooks/", body)
    assert response.status_code == 400, response.content
    assert field in response.json() and message in " ".join(map(str, response.json()[field]))
    assert not WebhookEndpoint.unscoped.exists()


def test_a_bad_change_is_a_400_and_changes_nothing(world, client):
    endpoint, _ = webhook_endpoint_create(rooftop=world.rooftop, url=RECEIVER, events=["lead.created"], user=None)
    client.force_login(world.manager)
    response = client.patch(f"/api/webhooks/{endpoint.id}/", {"url": "ftp://x.example/"},
                            content_type="application/json")
    assert response.status_code == 400 and "url" in response.json()
    endpoint.refresh_from_db()
    assert endpoint.url == RECEIVER


def test_the_delivery_log_and_redeliver(world, client):
    endpoint, secret = webhook_endpoint_create(rooftop=world.rooftop, url=RECEIVER, events=["lead.created"],
                                               user=None)
    for n in range(3):
        webhooks_emit(world.rooftop, "lead.created", {"lead": {"id": n}}, object_key=f"lead:{n}")
    client.force_login(world.manager)
    page = client.get(f"/api/webhooks/{endpoint.id}/deliveries/", {"limit": 2}).json()
    assert [d["payload"]["lead"]["id"] for d in page["results"]] == [2, 1] and page["next"]
    rest = client.get(page["next"]).json()
    assert [d["payload"]["lead"]["id"] for d in rest["results"]] == [0]
    first = WebhookDelivery.unscoped.order_by("id").first()
    again = _post(client, f"/api/webhooks/{endpoint.id}/deliveries/{first.id}/redeliver/")
    assert again.status_code == 201 and again.json()["redelivery_of"] == first.id
    assert client.get(f"/api/webhooks/{endpoint.id}/deliveries/", {"cursor": "forged"}).status_code == 400


def test_non_managers_get_403_for_the_list_and_404_for_an_endpoint(world, client):
    endpoint, _ = webhook_endpoint_create(rooftop=world.rooftop, url=RECEIVER, events=["lead.created"], user=None)
    assert client.get("/api/webhooks/").status_code in (401, 403)
    for person in (world.salesperson, world.bdc, world.advisor, world.outsider):
        client.force_login(person)
        assert client.get("/api/webhooks/").status_code == 403
        assert _post(client, "/api/webhooks/", {"url": RECEIVER, "events": ["lead.created"]}).status_code == 403
        assert client.get(f"/api/webhooks/{endpoint.id}/").status_code == 404
        assert client.delete(f"/api/webhooks/{endpoint.id}/").status_code == 404
        assert _post(client, f"/api/webhooks/{endpoint.id}/rotate-secret/").status_code == 404
    assert WebhookEndpoint.unscoped.count() == 1


def test_a_manager_cannot_register_at_a_store_they_do_not_manage(world, client):
    client.force_login(world.manager)
    response = _post(client, "/api/webhooks/", {"url": RECEIVER, "events": ["lead.created"],
                                                "rooftop": world.other_rooftop.id})
    assert response.status_code == 400 and "rooftop" in response.json()


def test_the_readme_receiver_snippet_verifies_what_the_crm_signs():
    """The verification lines a receiver copies from the README, run against our own signature."""
    import hashlib
    import hmac
    import time

    secret, body = "whsec_readme", b'{"id":"1","event":"lead.created"}'
    header = signature_header(secret, int(time.time()), body)

    def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        if abs(time.time() - timestamp) > tolerance:
            return False
        expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, parts["v1"])

    assert verify(secret, header, body) and not verify(secret, header, body + b"x")
    assert signature_verify(secret, header, body, now=int(time.time()))
