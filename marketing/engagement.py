"""Writes for what a recipient did with a message: a tracked click, an open by the pixel, and the stamps an email
service's webhooks set (delivered, bounced, complained). First time wins for every stamp; clicks also count."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce

from marketing import signals
from marketing.models import CampaignRecipient

STAMPS = frozenset({"delivered_at", "opened_at", "clicked_at", "bounced_at", "complained_at", "unsubscribed_at"})


def recipient_stamp(*, recipient_id: int, field: str, at: datetime) -> bool:
    """Set one result time if it is not set yet; True when this call set it."""
    if field not in STAMPS:
        raise ValueError(f"{field} is not a result of a campaign recipient")
    return bool(CampaignRecipient.objects.filter(pk=recipient_id, **{f"{field}__isnull": True}).update(**{field: at}))


def recipient_clicked(*, recipient_id: int, url: str, at: datetime, anonymous_id: str = "") -> bool:
    """Count a click on a tracked link and tell the apps that act on it; False when the recipient is gone."""
    with transaction.atomic():
        updated = CampaignRecipient.objects.filter(pk=recipient_id).update(
            clicks=F("clicks") + 1, clicked_at=Coalesce(F("clicked_at"), at))
        if not updated:
            return False
        recipient = CampaignRecipient.objects.select_related("campaign").get(pk=recipient_id)
        # Inside the transaction: a receiver's write (the shopper's price_drop_alert_clicked event) commits
        # with the click or not at all.
        signals.link_clicked.send(sender=CampaignRecipient, recipient=recipient, url=url, at=at,
                                  anonymous_id=anonymous_id)
    return True
