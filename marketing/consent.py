"""Writes for the customer's own word about marketing: the unsubscribe link (and an email service's unsubscribe
event), the preferences page, and what an email service says about an address (bounced, complained).

Everything is per address across the dealer group: the customer records of several stores sharing one email
address or number are one person, so an unsubscribe at one store is honoured by all of them at once (the outbox
judges marketing consent per address across the group too: customers.messaging `_blocked_reason`).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from customers.messaging import DUE_STATUSES
from customers.models import ConsentRecord, Customer, CustomerEmail, CustomerPhone, OutboundMessage, TimelineEntry
from customers.suppression import address_suppress, channel_of
from marketing import preferences
from marketing.models import CampaignRecipient

PURPOSE_WORDS = {ConsentRecord.Purpose.MARKETING: "marketing", ConsentRecord.Purpose.SERVICE_REMINDERS: "service reminder"}
CHANNEL_WORDS = {"email": "email", "sms": "texts"}


def customers_with_address(*, dealer_group_id: int, channel: str, address: str) -> list[Customer]:
    """Every live customer record of the group holding this email address or number."""
    if not address:
        return []
    rows = Customer.unscoped.filter(dealer_group_id=dealer_group_id, merged_into__isnull=True)
    if channel == "email":
        rows = rows.filter(emails__email__iexact=address.strip())
    else:
        rows = rows.filter(phones__e164=address)
    return list(rows.distinct().order_by("id"))


def newest_consent(*, dealer_group_id: int, channel: str, address: str, purpose: str) -> bool | None:
    """The newest consent for this address in the group and purpose (None: never asked)."""
    if not address:
        return None
    rows = ConsentRecord.objects.filter(dealer_group_id=dealer_group_id, channel=channel, purpose=purpose)
    rows = rows.filter(customer__emails__email__iexact=address.strip()) if channel == "email" \
        else rows.filter(customer__phones__e164=address)
    return rows.order_by("-recorded_at", "-id").values_list("granted", flat=True).first()


def recipient_address(recipient: CampaignRecipient, channel: str) -> str:
    """The address a recipient's links speak for on a channel: the one the message went to, else the customer's
    primary one (the preferences page also shows the other channel)."""
    message = recipient.message
    if message is not None and message.channel == channel:
        return message.to_address
    if channel == "email":
        return (CustomerEmail.objects.filter(customer_id=recipient.customer_id)
                .order_by("-is_primary", "id").values_list("email", flat=True).first() or "")
    return (CustomerPhone.objects.filter(customer_id=recipient.customer_id)
            .order_by("-is_primary", "id").values_list("e164", flat=True).first() or "")


def consent_record(*, dealer_group_id: int, channel: str, address: str, purpose: str, granted: bool, now: datetime,
                   source: str, text_shown: str, summary: str) -> int:
    """Record one consent for every customer of the group with the address, each with a timeline line; when the
    address is refused, withdraw its messages of that purpose still waiting in the outbox. Returns how many
    customers it reached."""
    customers = customers_with_address(dealer_group_id=dealer_group_id, channel=channel, address=address)
    ConsentRecord.objects.bulk_create([
        ConsentRecord(customer=customer, dealer_group_id=dealer_group_id, channel=channel, purpose=purpose,
                      granted=granted, text_shown=text_shown, source=source, recorded_at=now)
        for customer in customers
    ])
    TimelineEntry.unscoped.bulk_create([
        TimelineEntry(customer=customer, rooftop=None, department=TimelineEntry.Department.SYSTEM,
                      kind=TimelineEntry.Kind.CONSENT, direction="in", occurred_at=now, summary=summary,
                      detail={"channel": channel, "purpose": purpose, "granted": granted, "source": source})
        for customer in customers
    ])
    if not granted:
        waiting = OutboundMessage.unscoped.filter(
            customer__dealer_group_id=dealer_group_id, channel=channel, purpose=purpose, status__in=DUE_STATUSES)
        waiting = waiting.filter(to_address__iexact=address.strip()) if channel == "email" \
            else waiting.filter(to_address=address)
        # They would be stopped when claimed anyway; saying so now shows staff why they never went.
        waiting.update(status=OutboundMessage.Status.SUPPRESSED, error=f"Unsubscribed ({source})"[:500])
    return len(customers)


def address_unsubscribe(*, dealer_group_id: int, channel: str, address: str, now: datetime, source: str,
                        text_shown: str) -> int:
    """Refuse marketing on this channel for the address across the group; nothing is written when the newest
    word for the address is already a refusal (a second click, a provider's repeated event)."""
    purpose = ConsentRecord.Purpose.MARKETING
    if newest_consent(dealer_group_id=dealer_group_id, channel=channel, address=address, purpose=purpose) is False:
        return 0
    return consent_record(
        dealer_group_id=dealer_group_id, channel=channel, address=address, purpose=purpose, granted=False, now=now,
        source=source, text_shown=text_shown,
        summary=f"Unsubscribed from marketing {CHANNEL_WORDS[channel]} for the whole dealer group ({source})",
    )


def recipient_unsubscribe(*, recipient: CampaignRecipient, now: datetime, source: str = "unsubscribe link",
                          text_shown: str = "") -> str:
    """The unsubscribe link (or an email service's unsubscribe event) of one message; returns the address."""
    address = recipient_address(recipient, recipient.channel)
    with transaction.atomic():
        address_unsubscribe(dealer_group_id=recipient.campaign.dealer_group_id, channel=recipient.channel,
                            address=address, now=now, source=source, text_shown=text_shown)
        CampaignRecipient.objects.filter(pk=recipient.pk, unsubscribed_at__isnull=True).update(unsubscribed_at=now)
    return address


def preferences_current(*, dealer_group_id: int, addresses: dict[str, str]) -> dict[tuple[str, str], bool]:
    """The switches for the channels that have an address."""
    return {
        (channel, purpose): preferences.is_on(channel, newest_consent(
            dealer_group_id=dealer_group_id, channel=channel, address=addresses[channel], purpose=purpose))
        for channel, purpose in preferences.SWITCHES if addresses.get(channel)
    }


def preferences_save(*, dealer_group_id: int, addresses: dict[str, str], changes: list[preferences.Change],
                     now: datetime, words: dict[tuple[str, str], str]) -> None:
    """Record what the preferences page changed, each switch with the words the page showed beside it."""
    with transaction.atomic():
        for change in changes:
            key = (change.channel, change.purpose)
            consent_record(
                dealer_group_id=dealer_group_id, channel=change.channel, address=addresses[change.channel],
                purpose=change.purpose, granted=change.granted, now=now, source="preferences page",
                text_shown=words[key],
                summary=(f"{'Turned on' if change.granted else 'Turned off'} {PURPOSE_WORDS[change.purpose]} "
                         f"{CHANNEL_WORDS[change.channel]} on the preferences page"),
            )


def address_listed(*, dealer_group_id: int, channel: str, address: str, reason: str) -> bool:
    """Put an email address or number on the group's do-not-contact list (a bounce, a spam complaint)."""
    return address_suppress(dealer_group_id=dealer_group_id, channel=channel_of(channel), address=address,
                            reason=reason)
