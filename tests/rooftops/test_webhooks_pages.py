"""The manager's webhook pages: add an endpoint (secret shown once), the delivery log, redeliver, turn off and on,
rotate the secret, delete with confirmation; only the store's managers get in."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from rooftops.models import WebhookDelivery, WebhookEndpoint
from rooftops.webhooks import webhook_endpoint_create, webhooks_emit

pytestmark = pytest.mark.django_db

RECEIVER = "http://127.0.0.1:9/hooks"  # loopback is allowed in the test run (WEBHOOK_ALLOW_LOOPBACK)


def _page(world):
    return reverse("webhooks", kwargs={"rooftop_slug": world.rooftop.slug})


def test_a_store_without_endpoints_says_so_and_the_menu_links_the_page(world, client):
    client.force_login(world.manager)
    home = client.get(reverse("webhooks-home"))
    assert home.status_code == 302 and home["Location"] == _page(world)
    page = client.get(_page(world))
    assert page.status_code == 200 and "No endpoints yet" in page.content.decode()
    assert 'href="/integrations/webhooks/"' in client.get(reverse("inventory-feed")).content.decode()


def test_a_manager_adds_an_endpoint_and_sees_its_secret_once(world, client):
    client.force_login(world.manager)
    response = client.post(_page(world), {"url": RECEIVER, "description": "Warehouse",
                                          "events": ["lead.created", "alert.raised"]})
    assert response.status_code == 201
    endpoint = WebhookEndpoint.unscoped.get(rooftop=world.rooftop)
    assert endpoint.events == ["lead.created", "alert.raised"] and endpoint.created_by == world.manager
    html = response.content.decode()
    assert endpoint.secret in html and "shown only this once" in html
    detail = client.get(reverse("webhook-detail", kwargs={"rooftop_slug": world.rooftop.slug,
                                                          "webhook_id": endpoint.id}))
    assert detail.status_code == 200 and endpoint.secret not in detail.content.decode()
    assert "Nothing sent yet" in detail.content.decode()
    assert RECEIVER in client.get(_page(world)).content.decode()


@pytest.mark.parametrize("data, message", [
    ({"url": "http://hooks.example.com/x", "events": ["lead.created"]}, "https://"),
    ({"url": "https://10.1.2.3/x", "events": ["lead.created"]}, "private or local"),
    ({"url": "not a url", "events": ["lead.created"]}, "https://"),
    ({"url": "", "events": ["lead.created"]}, "Give the URL"),
    ({"url": RECEIVER, "events": []}, "at least one event"),
    ({"url": RECEIVER, "events": ["lead.deleted"]}, "Unknown event"),
])
def test_a_bad_endpoint_is_refused_with_the_reason(world, client, data, message):
    client.force_login(world.manager)
    response = client.post(_page(world), data)
    errors = " ".join(re.findall(r'<p class="error"[^>]*>([^<]*)</p>', response.content.decode()))
    assert response.status_code == 422 and message in errors, errors
    assert not WebhookEndpoint.unscoped.exists()


def test_loopback_over_http_is_refused_unless_the_operator_allows_it(world, client, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    client.force_login(world.manager)
    response = client.post(_page(world), {"url": RECEIVER, "events": ["lead.created"]})
    errors = " ".join(re.findall(r'<p class="error"[^>]*>([^<]*)</p>', response.content.decode()))
    assert response.status_code == 422 and "must start with https://" in errors


def test_the_delivery_log_redeliver_off_and_on_rotate_and_delete(world, client):
    endpoint, secret = webhook_endpoint_create(rooftop=world.rooftop, url=RECEIVER, events=["lead.created"],
                                               user=world.manager)
    webhooks_emit(world.rooftop, "lead.created", {"lead": {"id": 5}}, object_key="lead:5")
    delivery = WebhookDelivery.unscoped.get(endpoint=endpoint)
    WebhookDelivery.unscoped.filter(pk=delivery.pk).update(status="failed", attempts=8, last_status_code=502,
                                                           last_error="HTTP 502: Bad gateway")
    client.force_login(world.manager)
    detail_url = reverse("webhook-detail", kwargs={"rooftop_slug": world.rooftop.slug, "webhook_id": endpoint.id})
    html = client.get(detail_url).content.decode()
    assert "HTTP 502: Bad gateway" in html and "lead:5" in html and "502" in html
    redeliver = reverse("webhook-redeliver", kwargs={"rooftop_slug": world.rooftop.slug, "webhook_id": endpoint.id,
                                                     "delivery_id": delivery.id})
    row = client.post(redeliver, HTTP_HX_REQUEST="true")
    copy = WebhookDelivery.unscoped.exclude(pk=delivery.pk).get()
    assert row.status_code == 200 and f'id="delivery-{copy.id}"' in row.content.decode()
    assert (copy.status, copy.payload, copy.redelivery_of_id) == ("pending", {"lead": {"id": 5}}, delivery.id)
    assert client.get(redeliver).status_code == 405

    assert client.post(detail_url, {"action": "disable"}).status_code == 302
    endpoint.refresh_from_db()
    assert not endpoint.active and "Turned off by Morgan Manager" in endpoint.disabled_reason
    assert client.post(detail_url, {"action": "enable"}).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.active

    rotated = client.post(detail_url, {"action": "rotate"})
    endpoint.refresh_from_db()
    assert endpoint.secret != secret and endpoint.secret in rotated.content.decode()
    assert secret not in rotated.content.decode()

    asked = client.post(detail_url, {"action": "delete"})
    assert asked.status_code == 200 and "Delete for good" in asked.content.decode()
    assert WebhookEndpoint.unscoped.filter(pk=endpoint.pk).exists()
    gone = client.post(detail_url, {"action": "delete", "confirm": "yes"})
    assert gone.status_code == 302 and not WebhookEndpoint.unscoped.filter(pk=endpoint.pk).exists()
    assert not WebhookDelivery.unscoped.exists()


def test_the_log_pages(world, client):
    endpoint, _ = webhook_endpoint_create(rooftop=world.rooftop, url=RECEIVER, events=["lead.created"], user=None)
    for n in range(30):
        webhooks_emit(world.rooftop, "lead.created", {}, object_key=f"lead:{n}", now=timezone.now())
    client.force_login(world.manager)
    url = reverse("webhook-detail", kwargs={"rooftop_slug": world.rooftop.slug, "webhook_id": endpoint.id})
    first = client.get(url).content.decode()
    assert "Page 1 of 2" in first and len(re.findall(r'id="delivery-', first)) == 25
    assert len(re.findall(r'id="delivery-', client.get(url, {"page": 2}).content.decode())) == 5
    assert client.get(url, {"page": "x"}).status_code == 400


def test_only_the_stores_managers_reach_the_pages(world, client):
    endpoint, _ = webhook_endpoint_create(rooftop=world.rooftop, url=RECEIVER, events=["lead.created"], user=None)
    webhooks_emit(world.rooftop, "lead.created", {}, object_key="lead:1")
    delivery = WebhookDelivery.unscoped.get()
    kw = {"rooftop_slug": world.rooftop.slug, "webhook_id": endpoint.id}
    urls = [_page(world), reverse("webhook-detail", kwargs=kw),
            reverse("webhook-redeliver", kwargs={**kw, "delivery_id": delivery.id})]
    for url in urls:
        assert client.get(url).status_code == 302  # anonymous: to the login page
    for person in (world.salesperson, world.bdc, world.advisor, world.outsider):
        client.force_login(person)
        for url in urls:
            assert client.post(url, {"action": "delete", "confirm": "yes", "url": RECEIVER,
                                     "events": ["lead.created"]}).status_code == 404, (person, url)
        assert client.get(reverse("webhooks-home")).status_code == 404
    assert WebhookEndpoint.unscoped.count() == 1 and WebhookDelivery.unscoped.count() == 1
