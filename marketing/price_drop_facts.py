"""What the suppression rules need to know about a price drop's recipients, read in bulk (a few queries per drop,
whatever the number of recipients).

Interim: the campaigns work gathers the same facts for every campaign (`marketing.selectors.recipient_facts`);
once that is merged, price drops should read their facts there and this module goes away.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Max

from customers.models import (
    ConsentRecord, Customer, CustomerEmail, CustomerPhone, OutboundMessage, OwnedVehicle, SuppressionEntry,
    SuppressionKey, VehicleSale,
)
from customers.suppression import address_digest, channel_of
from leads.models import Lead
from marketing.eligibility import EMAIL, SMS, Recipient

MARKETING = ConsentRecord.Purpose.MARKETING
# Messages that never went out (no consent, refused by the provider) do not count toward the weekly cap.
_NOT_COUNTED = (OutboundMessage.Status.SUPPRESSED, OutboundMessage.Status.FAILED)


def recipient_facts(*, dealer_group_id: int, customer_ids: Iterable[int], now: datetime
                    ) -> tuple[dict[tuple[int, str], Recipient], dict[int, str]]:
    """(customer id, channel) → Recipient for email and text, and customer id → first name."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}, {}
    customers = {c["id"]: c for c in Customer.objects.across_rooftops().filter(id__in=ids)
                 .values("id", "first_name", "erased_at", "merged_into_id")}
    emails: dict[int, str] = {}
    for customer_id, email in (CustomerEmail.objects.filter(customer_id__in=ids)
                               .order_by("customer_id", "-is_primary", "id").values_list("customer_id", "email")):
        emails.setdefault(customer_id, email)
    phones: dict[int, str] = {}
    for customer_id, e164 in (CustomerPhone.objects.filter(customer_id__in=ids)
                              .order_by("customer_id", "-is_primary", "id").values_list("customer_id", "e164")):
        phones.setdefault(customer_id, e164)

    email_consent: dict[int, bool] = {}
    for customer_id, granted in (ConsentRecord.objects.filter(customer_id__in=ids, channel=EMAIL, purpose=MARKETING)
                                 .order_by("customer_id", "-recorded_at", "-id").values_list("customer_id", "granted")):
        email_consent.setdefault(customer_id, granted)
    # Text consent belongs to the number across the group, as the outbox judges it: a STOP from a shared number
    # reaches every record holding it.
    sms_consent: dict[str, bool] = {}
    for e164, granted in (ConsentRecord.objects.filter(dealer_group_id=dealer_group_id, channel=SMS, purpose=MARKETING,
                                                       customer__phones__e164__in=set(phones.values()))
                          .order_by("-recorded_at", "-id").values_list("customer__phones__e164", "granted")):
        sms_consent.setdefault(e164, granted)

    listed = _listed(dealer_group_id, emails=emails, phones=phones)
    bought: dict[int, set[str]] = {}
    for customer_id, vin in [*VehicleSale.objects.across_rooftops().filter(customer_id__in=ids).exclude(vin="")
                             .values_list("customer_id", "vin"),
                             *OwnedVehicle.objects.filter(customer_id__in=ids).exclude(vin="")
                             .values_list("customer_id", "vin")]:
        bought.setdefault(customer_id, set()).add(vin.upper())
    last_purchase = dict(VehicleSale.objects.across_rooftops().filter(customer_id__in=ids).values("customer_id")
                         .annotate(last=Max("sold_on")).values_list("customer_id", "last"))
    worked_by: dict[int, str] = {}
    for customer_id, name, username in (Lead.objects.across_rooftops()
                                        .filter(customer_id__in=ids, status__in=Lead.OPEN_STATUSES,
                                                assigned_to__isnull=False)
                                        .order_by("customer_id", "-created_at")
                                        .values_list("customer_id", "assigned_to__staff_profile__display_name",
                                                     "assigned_to__username")):
        worked_by.setdefault(customer_id, name or username)
    recent = Counter(OutboundMessage.objects.across_rooftops()
                     .filter(customer_id__in=ids, purpose=MARKETING, created_at__gte=now - timedelta(days=7))
                     .exclude(status__in=_NOT_COUNTED).values_list("customer_id", flat=True))

    facts: dict[tuple[int, str], Recipient] = {}
    names: dict[int, str] = {}
    for customer_id in ids:
        row = customers.get(customer_id)
        if row is None:
            continue
        names[customer_id] = row["first_name"]
        common = dict(
            customer_id=customer_id, erased=bool(row["erased_at"] or row["merged_into_id"]),
            bought_vins=frozenset(bought.get(customer_id, ())), last_purchase_on=last_purchase.get(customer_id),
            lead_worked_by=worked_by.get(customer_id, ""), marketing_last_7_days=recent.get(customer_id, 0),
        )
        email, phone = emails.get(customer_id, ""), phones.get(customer_id, "")
        facts[(customer_id, EMAIL)] = Recipient(channel=EMAIL, address=email, listed=listed.get((EMAIL, email), ""),
                                                consent=email_consent.get(customer_id), **common)
        facts[(customer_id, SMS)] = Recipient(channel=SMS, address=phone, listed=listed.get((SMS, phone), ""),
                                              consent=sms_consent.get(phone), **common)
    return facts, names


def _listed(dealer_group_id: int, *, emails: dict[int, str], phones: dict[int, str]) -> dict[tuple[str, str], str]:
    """(channel, address) → the do-not-contact list's reason, for the addresses that are on it."""
    key = SuppressionKey.objects.filter(dealer_group_id=dealer_group_id).values_list("key", flat=True).first()
    if key is None:  # a group that never suppressed anyone has no key and no list
        return {}
    by_digest: dict[str, tuple[str, str]] = {}
    for channel, addresses in ((EMAIL, emails.values()), (SMS, phones.values())):
        for address in addresses:
            if address:
                digest = address_digest(key=key, channel=channel_of(channel), address=address)
                by_digest[digest] = (channel, address)
    return {by_digest[digest]: reason for digest, reason in
            SuppressionEntry.objects.filter(dealer_group_id=dealer_group_id, digest__in=list(by_digest))
            .values_list("digest", "reason")}
