"""Outbound webhooks against a real HTTP receiver on loopback: signed, retried, never lost, in order per object,
and an endpoint that fails for a day is turned off with the store's managers told."""

import json
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert
from alerts.selectors import alerts_visible
from rooftops.models import WebhookDelivery, WebhookEndpoint
from rooftops.selectors import staff_access
from rooftops.webhook_rules import signature_verify
from rooftops.webhooks import (
    webhook_deliveries_prune, webhook_deliveries_send_due, webhook_delivery_claim, webhook_delivery_send,
    webhook_endpoint_create, webhook_endpoint_set_active, webhooks_emit, _post,
)
from webhook_receiver import start_receiver

Status = WebhookDelivery.Status


@pytest.fixture
def receiver():
    r = start_receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def _endpoint(world, receiver, events=("lead.created", "lead.status_changed")):
    return webhook_endpoint_create(rooftop=world.rooftop, url=receiver.url, events=list(events),
                                   description="Dealer's data warehouse", user=world.manager)


def _wait_status(delivery_id, status, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = WebhookDelivery.unscoped.get(pk=delivery_id).status
        if current == status:
            return current
        time.sleep(0.05)
    return WebhookDelivery.unscoped.get(pk=delivery_id).status


@pytest.mark.django_db(transaction=True)
def test_an_event_reaches_the_receiver_signed_through_the_worker_after_commit(world, receiver, celery_worker):
    endpoint, secret = _endpoint(world, receiver)
    with transaction.atomic():
        assert webhooks_emit(world.rooftop, "lead.created", {"lead": {"id": 42, "status": "new"}},
                             object_key="lead:42") == 1
        delivery = WebhookDelivery.unscoped.get(endpoint=endpoint)
        assert receiver.requests == []  # nothing leaves before the change commits
    [request] = receiver.wait_for(1)
    assert _wait_status(delivery.pk, Status.DELIVERED) == Status.DELIVERED
    assert request.headers["x-crm-event"] == "lead.created"
    assert request.headers["x-crm-delivery"] == str(delivery.pk)
    assert signature_verify(secret, request.headers["x-crm-signature"], request.body, now=int(time.time()))
    assert not signature_verify("whsec_wrong", request.headers["x-crm-signature"], request.body, now=int(time.time()))
    body = json.loads(request.body)
    assert body == {"id": str(delivery.pk), "event": "lead.created", "created_at": body["created_at"],
                    "rooftop": {"id": world.rooftop.id, "slug": world.rooftop.slug}, "object": "lead:42",
                    "data": {"lead": {"id": 42, "status": "new"}}}
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status_code, delivery.last_error) == (1, 200, "")


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_sends_nothing(world, receiver):
    _endpoint(world, receiver)
    with pytest.raises(RuntimeError), transaction.atomic():
        webhooks_emit(world.rooftop, "lead.created", {"lead": {"id": 1}}, object_key="lead:1")
        raise RuntimeError("the lead's transaction failed")
    assert not WebhookDelivery.objects.across_rooftops().exists()


def test_a_500_is_retried_after_the_backoff_and_then_delivered(world, receiver):
    endpoint, secret = _endpoint(world, receiver)
    receiver.answers = [500]
    now = timezone.now()
    webhooks_emit(world.rooftop, "lead.created", {"lead": {"id": 7}}, object_key="lead:7", now=now)
    delivery = WebhookDelivery.unscoped.get(endpoint=endpoint)
    assert webhook_delivery_send(delivery_id=delivery.pk, now=now) == Status.PENDING
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status_code) == (1, 500)
    assert delivery.last_error == "HTTP 500: receiver is down for maintenance"
    assert delivery.next_attempt_at == now + timedelta(minutes=1)
    endpoint.refresh_from_db()
    assert endpoint.failing_since == now
    assert webhook_deliveries_send_due(now=now + timedelta(seconds=30)) == 0  # not due yet
    assert webhook_deliveries_send_due(now=now + timedelta(minutes=1)) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (Status.DELIVERED, 2, 200)
    first, second = receiver.wait_for(2)
    assert first.headers["x-crm-delivery"] == second.headers["x-crm-delivery"] == str(delivery.pk)
    assert first.body == second.body
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None  # one success clears the failure clock


def test_a_delivery_whose_worker_died_mid_send_is_sent_again_after_its_lease(world, receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 5  # lease: 2 x 5 + 30 = 40 s
    endpoint, _ = _endpoint(world, receiver)
    now = timezone.now()
    webhooks_emit(world.rooftop, "lead.created", {"lead": {"id": 9}}, object_key="lead:9", now=now)
    delivery = WebhookDelivery.unscoped.get(endpoint=endpoint)
    # A worker claims it and posts, then dies before recording the answer.
    claimed = webhook_delivery_claim(delivery_id=delivery.pk, now=now)
    assert _post(claimed) == (200, "")
    assert WebhookDelivery.unscoped.get(pk=delivery.pk).status == Status.SENDING
    # Another worker does not take it while the lease holds, even when asked directly.
    assert webhook_delivery_send(delivery_id=delivery.pk, now=now + timedelta(seconds=39)) == "skipped"
    assert webhook_deliveries_send_due(now=now + timedelta(seconds=39)) == 0
    assert webhook_deliveries_send_due(now=now + timedelta(seconds=41)) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.DELIVERED, 2)
    requests_seen = receiver.wait_for(2)
    # Delivered at least once; the receiver dedupes on the delivery id, which is the same both times.
    assert [r.headers["x-crm-delivery"] for r in requests_seen] == [str(delivery.pk)] * 2
    assert len({r.headers["x-crm-delivery"] for r in requests_seen}) == 1


def test_deliveries_for_one_object_reach_the_endpoint_in_order(world, receiver):
    endpoint, _ = _endpoint(world, receiver)
    receiver.answers = [503]  # the first delivery for lead:1 fails once
    now = timezone.now()
    webhooks_emit(world.rooftop, "lead.status_changed", {"status": "contacted"}, object_key="lead:1", now=now)
    webhooks_emit(world.rooftop, "lead.status_changed", {"status": "appointment"}, object_key="lead:1", now=now)
    webhooks_emit(world.rooftop, "lead.status_changed", {"status": "sold"}, object_key="lead:2", now=now)
    first, second, other = WebhookDelivery.unscoped.filter(endpoint=endpoint).order_by("id")
    assert webhook_delivery_send(delivery_id=first.pk, now=now) == Status.PENDING
    assert webhook_delivery_send(delivery_id=second.pk, now=now) == "skipped"  # waits for the first
    assert webhook_deliveries_send_due(now=now) == 1  # lead:2 is not held back by lead:1
    assert WebhookDelivery.unscoped.get(pk=other.pk).status == Status.DELIVERED
    assert WebhookDelivery.unscoped.get(pk=second.pk).status == Status.PENDING
    webhook_deliveries_send_due(now=now + timedelta(minutes=1))
    webhook_deliveries_send_due(now=now + timedelta(minutes=1))
    statuses = [json.loads(r.body)["data"]["status"] for r in receiver.wait_for(4)
                if json.loads(r.body)["object"] == "lead:1"]
    assert statuses == ["contacted", "contacted", "appointment"]
    assert set(WebhookDelivery.unscoped.filter(endpoint=endpoint).values_list("status", flat=True)) == {Status.DELIVERED}


def test_a_delivery_that_used_up_its_retries_no_longer_holds_the_next_one_back(world, receiver):
    endpoint, _ = _endpoint(world, receiver)
    now = timezone.now()
    webhooks_emit(world.rooftop, "lead.status_changed", {"status": "contacted"}, object_key="lead:3", now=now)
    webhooks_emit(world.rooftop, "lead.status_changed", {"status": "lost"}, object_key="lead:3", now=now)
    first, second = WebhookDelivery.unscoped.filter(endpoint=endpoint).order_by("id")
    WebhookDelivery.unscoped.filter(pk=first.pk).update(status=Status.FAILED, attempts=8)
    assert webhook_delivery_send(delivery_id=second.pk, now=now) == Status.DELIVERED


def test_an_endpoint_failing_for_a_day_is_disabled_and_the_managers_are_alerted(world, receiver, client):
    endpoint, _ = _endpoint(world, receiver)
    receiver.answers = [500] * 10
    start = timezone.now()
    webhooks_emit(world.rooftop, "lead.created", {"lead": {"id": 1}}, object_key="lead:1", now=start)
    assert webhook_deliveries_send_due(now=start) == 0
    later = start + timedelta(hours=23, minutes=59)
    webhooks_emit(world.rooftop, "lead.created", {"lead": {"id": 2}}, object_key="lead:2", now=later)
    webhook_deliveries_send_due(now=later)
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.failing_since == start  # not yet a day
    day = start + timedelta(hours=24, minutes=1)
    webhooks_emit(world.rooftop, "lead.created", {"lead": {"id": 3}}, object_key="lead:3", now=day)
    webhook_deliveries_send_due(now=day)
    endpoint.refresh_from_db()
    assert not endpoint.active and endpoint.disabled_at == day
    assert "failed for 24 hours" in endpoint.disabled_reason and "HTTP 500" in endpoint.disabled_reason
    alert = Alert.unscoped.get(rooftop=world.rooftop, kind="webhook_disabled")
    assert alert.for_team == "managers" and receiver.url in alert.reasons[0]
    assert alerts_visible(staff_access(world.manager)).filter(pk=alert.pk).exists()
    for not_a_manager in (world.bdc, world.salesperson, world.outsider):
        assert not alerts_visible(staff_access(not_a_manager)).filter(pk=alert.pk).exists()
    client.force_login(world.manager)
    row = client.get(reverse("alert-row", kwargs={"alert_id": alert.id}), HTTP_HX_REQUEST="true")
    assert row.status_code == 200 and "Webhook turned off" in row.content.decode()
    # Disabled: nothing new is written, and what waits is not sent until a manager enables it again.
    seen = len(receiver.requests)
    assert webhooks_emit(world.rooftop, "lead.created", {"lead": {"id": 4}}, object_key="lead:4", now=day) == 0
    assert webhook_deliveries_send_due(now=day + timedelta(days=1)) == 0
    assert len(receiver.requests) == seen
    receiver.answers = []
    webhook_endpoint_set_active(endpoint=endpoint, active=True, user=world.manager, now=day + timedelta(days=1))
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.failing_since is None and endpoint.disabled_reason == ""
    assert webhook_deliveries_send_due(now=day + timedelta(days=1)) == 3


def test_emitting_for_a_store_without_endpoints_is_one_query_and_writes_nothing(world, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert webhooks_emit(world.rooftop, "lead.created", {"lead": {"id": 1}}, object_key="lead:1") == 0


def test_only_subscribed_active_endpoints_of_the_store_get_the_event(world, receiver):
    mine, _ = _endpoint(world, receiver, events=["lead.created"])
    other_event, _ = _endpoint(world, receiver, events=["alert.raised"])
    other_store, _ = webhook_endpoint_create(rooftop=world.other_rooftop, url=receiver.url, events=["lead.created"],
                                             user=None)
    assert webhooks_emit(world.rooftop, "lead.created", {}, object_key="lead:1") == 1
    assert list(WebhookDelivery.objects.across_rooftops().values_list("endpoint_id", flat=True)) == [mine.pk]
    with pytest.raises(ValueError):
        webhooks_emit(world.rooftop, "lead.deleted", {}, object_key="lead:1")


def test_the_secret_is_encrypted_at_rest(world, receiver):
    endpoint, secret = _endpoint(world, receiver)
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM rooftops_webhookendpoint WHERE id = %s", [endpoint.pk])
        stored = cursor.fetchone()[0]
    assert secret.startswith("whsec_") and secret not in stored
    assert WebhookEndpoint.unscoped.get(pk=endpoint.pk).secret == secret


def test_a_url_pointing_inside_the_deployment_is_not_posted_to(world, receiver, settings):
    endpoint, _ = _endpoint(world, receiver)
    settings.WEBHOOK_ALLOW_LOOPBACK = False  # e.g. DNS now answers 127.0.0.1 for a host that was public
    now = timezone.now()
    webhooks_emit(world.rooftop, "lead.created", {}, object_key="lead:1", now=now)
    delivery = WebhookDelivery.unscoped.get(endpoint=endpoint)
    assert webhook_delivery_send(delivery_id=delivery.pk, now=now) == Status.PENDING
    delivery.refresh_from_db()
    assert "https://" in delivery.last_error and delivery.last_status_code is None
    assert receiver.requests == []


def test_delivered_rows_past_the_retention_are_pruned(world, receiver, settings):
    settings.WEBHOOK_LOG_RETENTION_DAYS = 30
    endpoint, _ = _endpoint(world, receiver)
    now = timezone.now()
    for key in ("lead:1", "lead:2", "lead:3"):
        webhooks_emit(world.rooftop, "lead.created", {}, object_key=key, now=now)
    old, recent, failed = WebhookDelivery.unscoped.filter(endpoint=endpoint).order_by("id")
    WebhookDelivery.unscoped.filter(pk=old.pk).update(status=Status.DELIVERED, delivered_at=now - timedelta(days=31))
    WebhookDelivery.unscoped.filter(pk=recent.pk).update(status=Status.DELIVERED, delivered_at=now - timedelta(days=29))
    WebhookDelivery.unscoped.filter(pk=failed.pk).update(status=Status.FAILED)
    assert webhook_deliveries_prune(now=now) == 1
    assert set(WebhookDelivery.unscoped.values_list("pk", flat=True)) == {recent.pk, failed.pk}
