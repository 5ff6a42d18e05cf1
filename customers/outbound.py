"""A text or email a staff member sends from the customer page: consent and quiet hours are checked here.

FOR THE LEAD ENGINEER: this records the outbound message on the timeline and then hands it to
`_deliver` after commit. Delivery itself (SMS provider, SMTP, retries, the quiet-hours queue) belongs to the
routing engineer's messaging (`customers/messaging.py`); connect it in `_deliver`. Until then the page
says plainly that the message was recorded but not delivered.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from customers.models import ConsentRecord, Customer, TimelineEntry
from customers.quiet_hours import may_send_at, next_send_time
from customers.services import ActionRefused, _department_of, _display_name, _stamp_lead_contact
from rooftops.models import Rooftop

logger = logging.getLogger(__name__)

CHANNELS = {"text": ConsentRecord.Channel.SMS, "email": ConsentRecord.Channel.EMAIL}


@dataclass(frozen=True)
class ConsentState:
    channel: str
    purpose: str
    granted: bool | None  # None: never asked
    recorded_at: datetime | None
    source: str


def consent_latest(*, customer: Customer, channel: str, purpose: str) -> ConsentState:
    record = (ConsentRecord.objects.filter(customer=customer, channel=channel, purpose=purpose)
              .order_by("-recorded_at", "-id").first())
    if record is None:
        return ConsentState(channel, purpose, None, None, "")
    return ConsentState(channel, purpose, record.granted, record.recorded_at, record.source)


def send_refusal(*, customer: Customer, rooftop: Rooftop, kind: str, now: datetime) -> str | None:
    """Why this message may not go out now, in words for staff; None when it may."""
    channel = CHANNELS[kind]
    if _address_suppressed(customer, kind):
        return "This address is on the do-not-contact list (its owner's personal data was erased on request)."
    consent = consent_latest(customer=customer, channel=channel, purpose=ConsentRecord.Purpose.TRANSACTIONAL)
    if consent.granted is False:
        return f"The customer revoked {channel.label.lower()} consent on {consent.recorded_at:%b %-d, %Y}; do not {kind} them."
    if kind == "text":
        # Texting needs prior express consent (TCPA); email about their inquiry does not, unless they revoked it.
        if consent.granted is None:
            return "The customer has not agreed to receive texts; call or email instead, or record their consent first."
        zone = customer.time_zone or rooftop.time_zone
        if not may_send_at(now, zone):
            opens = timezone.localtime(next_send_time(now, zone), _zone(zone))
            return (f"Quiet hours: it is {timezone.localtime(now, _zone(zone)):%-I:%M %p} for the customer; "
                    f"texts may go out from {opens:%-I:%M %p} ({zone}).")
    return None


def _address_suppressed(customer: Customer, kind: str) -> bool:
    from customers.suppression import address_is_suppressed, channel_of

    if kind == "text":
        addresses = customer.phones.order_by("-is_primary", "id").values_list("e164", flat=True)[:1]
    else:
        addresses = customer.emails.order_by("-is_primary", "id").values_list("email", flat=True)[:1]
    return any(address_is_suppressed(dealer_group_id=customer.dealer_group_id,
                                     channel=channel_of("sms" if kind == "text" else "email"), address=a)
               for a in addresses)


def _zone(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def message_send_from_staff(*, customer: Customer, rooftop: Rooftop, user: User, kind: str, body: str,
                            subject: str = "", lead=None, now: datetime | None = None) -> TimelineEntry:
    """Check consent and quiet hours, then record the outbound message; delivery is queued after commit."""
    if kind not in CHANNELS:
        raise ActionRefused("Send a text or an email.")
    body = body.strip()
    if not body:
        raise ActionRefused("Write the message first.")
    if kind == "text" and len(body) > 1600:
        raise ActionRefused("A text can be at most 1,600 characters.")
    to = (customer.phones if kind == "text" else customer.emails).order_by("-is_primary", "id").first()
    if to is None:
        raise ActionRefused(f"The customer has no {'phone number' if kind == 'text' else 'email address'} on file.")
    now = now or timezone.now()
    refusal = send_refusal(customer=customer, rooftop=rooftop, kind=kind, now=now)
    if refusal:
        raise ActionRefused(refusal)
    address = to.e164 if kind == "text" else to.email
    with transaction.atomic():
        entry = TimelineEntry.unscoped.create(
            customer=customer, rooftop=rooftop, department=_department_of(user, rooftop),
            kind=TimelineEntry.Kind.TEXT if kind == "text" else TimelineEntry.Kind.EMAIL, direction="out",
            occurred_at=now, actor=user, lead=lead,
            summary=(f"Text to {address} by {_display_name(user)}" if kind == "text"
                     else f"Email to {address} by {_display_name(user)}: {subject.strip()[:150] or '(no subject)'}"),
            body=body, detail={"to": address, "subject": subject.strip()[:200], "delivery": "recorded"},
        )
        if lead is not None:
            _stamp_lead_contact(lead=lead, at=now, reached=False)
        transaction.on_commit(lambda: _deliver(entry.pk))
    return entry


def delivery_connected() -> bool:
    """Whether a messaging backend is installed to actually send what staff write here."""
    try:
        from customers import messaging  # noqa: F401  (routing engineer's module)
    except ImportError:
        return False
    return hasattr(messaging, "timeline_message_deliver")


def _deliver(entry_id: int) -> None:
    # Connection point for the messaging backend: it loads the entry by id and sends it.
    if not delivery_connected():
        logger.info("outbound timeline entry %s recorded; no messaging backend connected", entry_id)
        return
    from customers import messaging

    messaging.timeline_message_deliver(entry_id=entry_id)
