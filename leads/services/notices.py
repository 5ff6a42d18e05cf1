"""What staff are told live about their leads, and the lead's lines on the customer timeline."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime

from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse

from crm.handoff import hand_off
from customers.models import TimelineEntry
from leads.models import Lead, LeadNotification


def notify(*, user_ids: Iterable[int | None], lead: Lead, kind: str, text: str, now: datetime) -> None:
    """A notification row per person, pushed live to their `user-<id>` group after commit."""
    rows = [
        LeadNotification(user_id=uid, rooftop_id=lead.rooftop_id, lead=lead, kind=kind, text=text[:500], created_at=now)
        for uid in dict.fromkeys(u for u in user_ids if u)
    ]
    if not rows:
        return
    LeadNotification.unscoped.bulk_create(rows)
    url = reverse("lead-detail", args=[lead.pk])
    payloads = [
        (row.user_id, {"type": "notify", "kind": kind, "lead_id": lead.pk, "rooftop_id": lead.rooftop_id,
                       "notification_id": row.pk, "text": row.text, "url": url, "at": now.isoformat()})
        for row in rows
    ]
    transaction.on_commit(lambda: _push(payloads))


def _push(payloads: list[tuple[int, dict]]) -> None:
    from channels.layers import get_channel_layer

    # Looked up here, not on the hand-off thread: channels builds its layer lazily without a lock, and two
    # threads building it at once would leave two layers (and channels one of them cannot read).
    layer = get_channel_layer()
    if layer is None:
        return
    # On the hand-off thread: the request that stored the lead never waits on the channel layer.
    hand_off(lambda: _group_send(layer, payloads), what=f"{len(payloads)} lead notification(s)")


PUSH_TIMEOUT_SECONDS = 2.0


def _group_send(layer, payloads: list[tuple[int, dict]]) -> None:
    """Push each notice; raises when the channel layer does not answer (the row is saved and shown on the page)."""

    async def send_all() -> None:
        for user_id, payload in payloads:
            await asyncio.wait_for(layer.group_send(f"user-{user_id}", payload), PUSH_TIMEOUT_SECONDS)

    async_to_sync(send_all)()


def timeline(lead: Lead, *, kind: str, summary: str, now: datetime, actor: User | None = None, body: str = "",
              department: str = TimelineEntry.Department.SALES, direction: str = "", detail: dict | None = None) -> None:
    TimelineEntry.unscoped.create(
        customer_id=lead.customer_id, rooftop_id=lead.rooftop_id, lead=lead, department=department, kind=kind,
        occurred_at=now, summary=summary[:500], body=body, direction=direction, detail=detail or {}, actor=actor,
    )


def routing_note(lead: Lead, summary: str, now: datetime, **detail) -> None:
    timeline(lead, kind=TimelineEntry.Kind.ROUTING, summary=summary, now=now,
              department=TimelineEntry.Department.SYSTEM, detail=detail)


def lead_webhook(lead: Lead, event: str, *, now: datetime, **extra) -> None:
    """Tell the store's webhook endpoints about the lead (rooftops.webhooks), in the caller's transaction.

    Small and plain: ids, status, source, names and a link; never contact details or encrypted fields.
    """
    from rooftops.webhooks import site_link, webhooks_emit

    def data() -> dict:
        owner = lead.assigned_to if lead.assigned_to_id else None
        profile = getattr(owner, "staff_profile", None) if owner is not None else None
        vehicle = lead.vehicle if lead.vehicle_id else None
        return {
            "lead": {
                "id": lead.pk, "status": lead.status, "source": lead.source, "created_at": lead.created_at.isoformat(),
                "customer": {"id": lead.customer_id, "name": lead.customer.full_name if lead.customer_id else ""},
                "assigned_to": ({"id": owner.pk, "name": profile.display_name if profile else owner.get_username()}
                                if owner is not None else None),
                "vehicle": ({"id": vehicle.pk, "stock_number": vehicle.stock_number, "vin": vehicle.vin,
                             "title": vehicle.title} if vehicle is not None else
                            ({"description": lead.vehicle_description} if lead.vehicle_description else None)),
                "url": site_link(reverse("lead-detail", args=[lead.pk])),
            },
            **extra,
        }

    webhooks_emit(lead.rooftop_id, event, data, object_key=f"lead:{lead.pk}", now=now)
