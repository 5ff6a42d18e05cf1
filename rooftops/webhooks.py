"""Outbound webhooks: a store's manager registers HTTPS endpoints; events reach them signed, in order per object,
at least once, retried for about a day.

`webhooks_emit` is the one way to emit: it writes one `WebhookDelivery` per subscribed endpoint in the caller's
transaction and hands them to Celery after commit. Delivery is the shared outbox (`crm.outbox`): claim under a
lease, POST outside any transaction, only the claimant records the result, the beat sweep re-sends what a dead
worker left. A receiver dedupes on `X-CRM-Delivery`. The pure rules (signature, ordering, which URLs) are
`rooftops.webhook_rules`; the backoff schedule is `crm.backoff.WEBHOOK_SCHEDULE`.

An endpoint whose deliveries have all failed for 24 hours is disabled and the store's managers get an alert in
their live feed (team "managers"); its deliveries wait until a manager enables it again.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from crm.backoff import WEBHOOK_SCHEDULE, backoff_delay
from crm.hosts import HostNotFound, host_addresses, is_loopback, is_public
from crm.outbox import Outbox
from rooftops.models import Rooftop, WebhookDelivery, WebhookEndpoint, WebhookEvent
from rooftops.webhook_rules import (
    DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, QueuedDelivery, secret_new, signature_header, url_refusal,
    waits_for_earlier,
)

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status
UNFINISHED = (Status.PENDING, Status.SENDING)
DISABLE_AFTER = timedelta(hours=24)
MAX_ERROR = 300
MAX_RESPONSE_READ = 2048


def _lease_seconds() -> float:
    return settings.WEBHOOK_TIMEOUT_SECONDS * 2 + 30


OUTBOX = Outbox(
    model=WebhookDelivery, due_statuses=(Status.PENDING,), sending_status=Status.SENDING,
    due_at_field="next_attempt_at", lease_seconds=_lease_seconds, task="rooftops.tasks.deliver_webhook",
)


class WebhookRefused(Exception):
    """A manager's request that cannot be done, with the reason in words (a field name when it is one field's)."""

    def __init__(self, reason: str, field: str = ""):
        super().__init__(reason)
        self.reason, self.field = reason, field


# --------------------------------------------------------------------------- emitting


def webhooks_emit(rooftop: Rooftop | int, event: str, data: dict | Callable[[], dict], *, object_key: str,
                  now: datetime | None = None) -> int:
    """Queue `event` for every active endpoint of the store subscribed to it, in the caller's transaction.

    `data` is small and plain (ids, status, names, links), never an encrypted or sensitive field; pass a
    function returning it when building it needs queries, so a store without endpoints pays only the one
    indexed query this makes. Returns how many deliveries were written.
    """
    if event not in WebhookEvent.values:
        raise ValueError(f"unknown webhook event {event!r}")
    rooftop_id = rooftop if isinstance(rooftop, int) else rooftop.pk
    endpoint_ids = list(WebhookEndpoint.objects.for_rooftops([rooftop_id])
                        .filter(active=True, events__contains=[event]).values_list("id", flat=True))
    if not endpoint_ids:
        return 0
    now = now or timezone.now()
    if callable(data):
        data = data()
    rows = WebhookDelivery.unscoped.bulk_create([
        WebhookDelivery(endpoint_id=endpoint_id, event=event, object_key=object_key[:80], payload=data,
                        next_attempt_at=now, created_at=now)
        for endpoint_id in endpoint_ids
    ])
    for row in rows:
        OUTBOX.hand_over_on_commit(row.pk)
    return len(rows)


def site_link(path: str) -> str:
    """An absolute link into the CRM for a payload (receivers show it to staff)."""
    return settings.SITE_URL.rstrip("/") + path


# --------------------------------------------------------------------------- delivering


def _earlier_unfinished() -> Exists:
    return Exists(WebhookDelivery.unscoped.filter(
        endpoint_id=OuterRef("endpoint_id"), object_key=OuterRef("object_key"), id__lt=OuterRef("id"),
        status__in=UNFINISHED))


def _sendable() -> Q:
    return Q(endpoint__active=True) & ~Q(_earlier_unfinished())


def webhook_delivery_claim(*, delivery_id: int, now: datetime) -> WebhookDelivery | None:
    """Take a due delivery for sending; None when it is not due, not ours, its endpoint is disabled, or an earlier
    delivery for the same object still has to go first."""

    def in_order(delivery: WebhookDelivery) -> bool:
        earlier = [QueuedDelivery(d.id, d.endpoint_id, d.object_key, d.status in UNFINISHED)
                   for d in WebhookDelivery.unscoped.filter(endpoint_id=delivery.endpoint_id,
                                                             object_key=delivery.object_key, id__lt=delivery.id,
                                                             status__in=UNFINISHED)[:1]]
        return not waits_for_earlier(QueuedDelivery(delivery.id, delivery.endpoint_id, delivery.object_key, True),
                                     earlier)

    return OUTBOX.claim(row_id=delivery_id, now=now, only=Q(endpoint__active=True),
                        select_related=("endpoint", "endpoint__rooftop"), settle=in_order)


def delivery_body(delivery: WebhookDelivery) -> bytes:
    """The JSON body, the same bytes on every attempt (the signature's timestamp is what changes)."""
    envelope = {
        "id": str(delivery.pk),
        "event": delivery.event,
        "created_at": delivery.created_at.isoformat(),
        "rooftop": {"id": delivery.endpoint.rooftop_id, "slug": delivery.endpoint.rooftop.slug},
        "object": delivery.object_key,
        "data": delivery.payload,
    }
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    """POST once; (status code or None, a short error ('' on a 2xx))."""
    endpoint = delivery.endpoint
    refusal = endpoint_url_refusal(endpoint.url)  # checked again now: a host name may resolve elsewhere today
    if refusal:
        return None, refusal
    body = delivery_body(delivery)
    headers = {
        "Content-Type": "application/json", "User-Agent": "dealership-crm-webhooks/1",
        SIGNATURE_HEADER: signature_header(endpoint.secret, int(time.time()), body),
        EVENT_HEADER: delivery.event, DELIVERY_HEADER: str(delivery.pk),
    }
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    try:
        with requests.post(endpoint.url, data=body, headers=headers, timeout=timeout, allow_redirects=False,
                           stream=True) as response:
            if 200 <= response.status_code < 300:
                return response.status_code, ""
            excerpt = response.raw.read(MAX_RESPONSE_READ, decode_content=True) or b""
            text = " ".join(excerpt.decode("utf-8", "replace").split())
            return response.status_code, f"HTTP {response.status_code}" + (f": {text}" if text else "")
    except requests.Timeout:
        return None, f"No answer within {timeout:g} seconds."
    except requests.RequestException as exc:
        return None, f"Could not reach the endpoint ({type(exc).__name__})."


def webhook_delivery_send(*, delivery_id: int, now: datetime | None = None) -> str:
    """Claim and send one delivery; returns its status, or 'skipped' when it was not ours to send now."""
    clock_given = now is not None  # tests and the sweep pass their own clock; a worker uses the real one
    now = now or timezone.now()
    delivery = webhook_delivery_claim(delivery_id=delivery_id, now=now)
    if delivery is None:
        return "skipped"
    code, error = _post(delivery)
    finished = now if clock_given else timezone.now()
    if not error:
        if not OUTBOX.record(delivery, status=Status.DELIVERED, delivered_at=finished, last_status_code=code,
                             last_error=""):
            return "skipped"  # our lease ran out and another worker finished it
        WebhookEndpoint.unscoped.filter(pk=delivery.endpoint_id, failing_since__isnull=False).update(failing_since=None)
        _hand_over_next(delivery)
        return Status.DELIVERED
    wait = backoff_delay(delivery.attempts, WEBHOOK_SCHEDULE)
    fields = {"status": Status.PENDING if wait is not None else Status.FAILED, "last_status_code": code,
              "last_error": error[:MAX_ERROR]}
    if wait is not None:
        fields["next_attempt_at"] = finished + wait
    if not OUTBOX.record(delivery, **fields):
        return "skipped"
    _endpoint_failed(delivery.endpoint, now=finished)
    if wait is None:
        _hand_over_next(delivery)
    return fields["status"]


def _hand_over_next(delivery: WebhookDelivery) -> None:
    """The next delivery for the same object was held back by this one: send it now, not at the next sweep."""
    following = (WebhookDelivery.unscoped.filter(endpoint_id=delivery.endpoint_id, object_key=delivery.object_key,
                                                 id__gt=delivery.id, status=Status.PENDING)
                 .order_by("id").values_list("id", flat=True).first())
    if following is not None:
        OUTBOX.hand_over_on_commit(following)


def _endpoint_failed(endpoint: WebhookEndpoint, *, now: datetime) -> None:
    """Remember since when the endpoint fails; a day of nothing but failures disables it and tells the managers."""
    WebhookEndpoint.unscoped.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
    with transaction.atomic():
        current = WebhookEndpoint.unscoped.select_for_update().select_related("rooftop").filter(pk=endpoint.pk).first()
        if current is None or not current.active or current.failing_since is None or now - current.failing_since < DISABLE_AFTER:
            return
        reason = (f"Every delivery failed for 24 hours (since {current.failing_since:%Y-%m-%d %H:%M} UTC); "
                  f"the last said: {_last_error(current)}")[:300]
        current.active, current.disabled_at, current.disabled_reason = False, now, reason
        current.save(update_fields=["active", "disabled_at", "disabled_reason"])
        _managers_told(current, now=now)


def _last_error(endpoint: WebhookEndpoint) -> str:
    last = (WebhookDelivery.unscoped.filter(endpoint=endpoint).exclude(last_error="")
            .order_by("-id").values_list("last_error", flat=True).first())
    return last or "no answer"


def _managers_told(endpoint: WebhookEndpoint, *, now: datetime) -> None:
    """An alert in the store's live feed for its managers (team "managers"), pushed after commit."""
    from alerts import audience
    from alerts.models import Alert
    from alerts.services import alert_push
    from django.urls import reverse

    alert = Alert.unscoped.create(
        rooftop=endpoint.rooftop, kind="webhook_disabled", priority=Alert.Priority.HIGH,
        for_team=Alert.Team.MANAGERS, last_signal_at=now, created_at=now,
        reasons=[f"The webhook to {endpoint.url} was turned off: {endpoint.disabled_reason}"],
        suggested_next_step=("Fix the receiving system, then enable the endpoint again on "
                             + reverse("webhooks", kwargs={"rooftop_slug": endpoint.rooftop.slug})),
    )
    groups = audience.groups_for_alert(rooftop_id=endpoint.rooftop_id, team=Alert.Team.MANAGERS, for_user_id=None)
    transaction.on_commit(lambda: alert_push(alert_id=alert.pk, groups=groups))


def webhook_deliveries_send_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """Beat: send deliveries that are due (retries, lost hand-overs, ones a dead worker left); how many went."""
    now = now or timezone.now()
    ids = OUTBOX.due_ids(now=now, limit=limit, only=_sendable())
    return sum(webhook_delivery_send(delivery_id=pk, now=now) == Status.DELIVERED for pk in ids)


def webhook_deliveries_prune(*, now: datetime | None = None) -> int:
    """Beat, daily: delivered rows older than WEBHOOK_LOG_RETENTION_DAYS leave the delivery log."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.WEBHOOK_LOG_RETENTION_DAYS)
    deleted, _ = WebhookDelivery.objects.across_rooftops().filter(
        status=Status.DELIVERED, delivered_at__lt=cutoff).delete()
    return deleted


# --------------------------------------------------------------------------- what managers do


def endpoint_url_refusal(url: str) -> str | None:
    """Why a URL may not receive webhooks (https only, public hosts only), or None."""
    addresses: list[str] | None = None
    try:
        parts = urlsplit(url)
        if parts.hostname and parts.scheme in ("http", "https"):
            addresses = host_addresses(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except (HostNotFound, ValueError):
        addresses = None  # url_refusal says why (not a web address, or not found)
    return url_refusal(url, addresses=addresses, allow_loopback=settings.WEBHOOK_ALLOW_LOOPBACK,
                       is_public=is_public, is_loopback=is_loopback)


def _checked(url: str, events: list[str], description: str) -> tuple[str, list[str], str]:
    url = (url or "").strip()
    if not url:
        raise WebhookRefused("Give the URL that receives the events.", "url")
    refusal = endpoint_url_refusal(url)
    if refusal:
        raise WebhookRefused(refusal, "url")
    unknown = [e for e in events if e not in WebhookEvent.values]
    if unknown:
        raise WebhookRefused(f"Unknown event: {', '.join(sorted(unknown))[:100]}.", "events")
    if not events:
        raise WebhookRefused("Choose at least one event.", "events")
    description = (description or "").strip()
    if len(description) > 200:
        raise WebhookRefused("The description is longer than 200 characters.", "description")
    return url, sorted(set(events), key=WebhookEvent.values.index), description


def webhook_endpoint_create(*, rooftop: Rooftop, url: str, events: list[str], description: str = "",
                            user: User | None, now: datetime | None = None) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (returned once here; stored encrypted, never shown again)."""
    url, events, description = _checked(url, events, description)
    secret = secret_new()
    endpoint = WebhookEndpoint.unscoped.create(rooftop=rooftop, url=url, events=events, description=description,
                                               secret=secret, created_by=user, created_at=now or timezone.now())
    return endpoint, secret


def webhook_endpoint_update(*, endpoint: WebhookEndpoint, url: str | None = None, events: list[str] | None = None,
                            description: str | None = None) -> WebhookEndpoint:
    url, events, description = _checked(endpoint.url if url is None else url,
                                        endpoint.events if events is None else events,
                                        endpoint.description if description is None else description)
    endpoint.url, endpoint.events, endpoint.description = url, events, description
    endpoint.save(update_fields=["url", "events", "description"])
    return endpoint


def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint, now: datetime | None = None) -> str:
    """A new secret at once; the old one signs nothing more (deliveries are signed when sent)."""
    secret = secret_new()
    endpoint.secret, endpoint.secret_rotated_at = secret, now or timezone.now()
    endpoint.save(update_fields=["secret", "secret_rotated_at"])
    return secret


def webhook_endpoint_set_active(*, endpoint: WebhookEndpoint, active: bool, user: User | None = None,
                                now: datetime | None = None) -> WebhookEndpoint:
    """Disable by hand (deliveries wait), or enable: the failure clock restarts and waiting deliveries go now."""
    now = now or timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.unscoped.select_for_update().get(pk=endpoint.pk)
        if active and not endpoint.active:
            endpoint.active, endpoint.disabled_at, endpoint.disabled_reason, endpoint.failing_since = True, None, "", None
            waiting = WebhookDelivery.unscoped.filter(endpoint=endpoint, status=Status.PENDING)
            waiting.update(next_attempt_at=now)
            first_ids = list(waiting.order_by("id").values_list("id", flat=True)[:50])
            for pk in first_ids:
                OUTBOX.hand_over_on_commit(pk)  # the rest go with the sweep
        elif not active and endpoint.active:
            name = (user.staff_profile.display_name if user is not None and hasattr(user, "staff_profile")
                    else "a manager")
            endpoint.active, endpoint.disabled_at = False, now
            endpoint.disabled_reason = f"Turned off by {name}."[:300]
        endpoint.save(update_fields=["active", "disabled_at", "disabled_reason", "failing_since"])
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    endpoint.delete()  # its deliveries go with it (the log is the endpoint's)


def webhook_delivery_redeliver(*, delivery: WebhookDelivery, now: datetime | None = None) -> WebhookDelivery:
    """Send the same event again as a new delivery (a new X-CRM-Delivery id: the manager asked for it again)."""
    now = now or timezone.now()
    copy = WebhookDelivery.unscoped.create(endpoint_id=delivery.endpoint_id, event=delivery.event,
                                           object_key=delivery.object_key, payload=delivery.payload,
                                           next_attempt_at=now, created_at=now, redelivery_of=delivery)
    OUTBOX.hand_over_on_commit(copy.pk)
    return copy

