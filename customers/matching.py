"""Who is this person? The one matcher every way in uses: website forms and identify, ADF, the staff API, the
DMS import and inbound texts.

The rules (a table in tests/customers/test_matching.py says them again):

- Keys, strongest first: our own link token (it came from a link we sent that customer); the store's DMS
  customer number (its own system's key for them); the website's signed-in user id (tracking knows those);
  an exact email address; an E.164 phone number (shared in households more often than emails are).
- The strongest key that finds someone decides. A weaker key that finds somebody else is not ignored: the two
  records are offered to staff as possible duplicates, never merged here.
- A close name with the same street and postal code is only ever a merge suggestion
  (`customer_duplicates_detect`): two people called John Smith are not one customer.
- A merged-away record forwards to the one it was merged into; of several, the one known at this rooftop wins,
  then the oldest.

`decide` is the pure part; `customer_match_or_create` does the database work for one arrival: lock the keys,
find, decide, then create or fill in what was missing (a name staff may have corrected is never overwritten).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from customers.contact import InvalidContact, normalize_email, normalize_phone
from customers.models import Customer, CustomerEmail, CustomerPhone, CustomerRooftop
from rooftops.models import Rooftop

# Why a key found the person, as the customer's timeline says it.
REASONS = {
    "token": "opened a link we sent them",
    "dms_number": "has the same DMS customer number",
    "user_id": "signed in on the website",
    "email": "gave their email address",
    "phone": "gave their phone number",
}
KEY_ORDER = tuple(REASONS)


@dataclass(frozen=True)
class Found:
    """The customer (id, already past merges) each key points at, as found in the database."""

    by_token: int | None = None
    by_dms_number: int | None = None
    by_user_id: int | None = None
    by_email: int | None = None
    by_phone: int | None = None

    def by(self, key: str) -> int | None:
        return getattr(self, f"by_{key}")


@dataclass(frozen=True)
class Match:
    customer_id: int | None  # None: nobody is this person yet
    key: str = ""  # which key decided, one of KEY_ORDER
    others: tuple[int, ...] = ()  # customers weaker keys pointed at: possible duplicates for staff

    @property
    def reason(self) -> str:
        return REASONS.get(self.key, "")


def decide(found: Found) -> Match:
    """The strongest key that found someone decides; the rest are duplicate suggestions."""
    winner: tuple[str, int] | None = None
    others: list[int] = []
    for key in KEY_ORDER:
        customer_id = found.by(key)
        if customer_id is None:
            continue
        if winner is None:
            winner = (key, customer_id)
        elif customer_id != winner[1] and customer_id not in others:
            others.append(customer_id)
    if winner is None:
        return Match(customer_id=None)
    return Match(customer_id=winner[1], key=winner[0], others=tuple(others))


def phone_region(country: str) -> str:
    """ADF writes the country as "US", "USA" or "United States"; only a two-letter code is a phone region."""
    country = (country or "").strip().upper()
    return country if len(country) == 2 else "US"


# ---------------------------------------------------------------------------------------------------------
# The database side
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArrivingContact:
    """What one arrival says about a person, as it came (cleaning happens here, once)."""

    first_name: str = ""
    last_name: str = ""
    emails: tuple[str, ...] = ()
    phones: tuple[tuple[str, str], ...] = ()  # (number as written, label)
    street: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""
    dms_customer_number: str = ""
    link_token: str = ""


@dataclass(frozen=True)
class Keys:
    """The normalized keys of an arrival; invalid emails and phones are dropped (the entry point warns)."""

    emails: tuple[str, ...] = ()
    phones: tuple[tuple[str, str], ...] = ()  # (E.164, label)
    dms_customer_number: str = ""
    link_token: str = ""

    @classmethod
    def of(cls, contact: ArrivingContact) -> Keys:
        emails: list[str] = []
        for value in contact.emails:
            try:
                email = normalize_email(value)
            except InvalidContact:
                continue
            if email not in emails:
                emails.append(email)
        region = phone_region(contact.country)
        phones: list[tuple[str, str]] = []
        for number, label in contact.phones:
            try:
                e164 = normalize_phone(number, region=region)
            except InvalidContact:
                continue
            if e164 not in [p for p, _ in phones]:
                phones.append((e164, label))
        return cls(emails=tuple(emails), phones=tuple(phones),
                   dms_customer_number=contact.dms_customer_number.strip()[:40], link_token=contact.link_token)

    @property
    def is_empty(self) -> bool:
        return not (self.emails or self.phones or self.dms_customer_number or self.link_token)


def keys_lock(dealer_group_id: int, *arrivals: Keys) -> None:
    """Serialize arrivals sharing an email or phone, so a web form, an identify beacon and an ADF lead arriving
    together make one customer. Taken before any other row lock and in sorted order everywhere: the same
    order is what keeps two entry points from deadlocking each other."""
    names = sorted(
        {f"customer-contact:{dealer_group_id}:email:{e}" for keys in arrivals for e in keys.emails}
        | {f"customer-contact:{dealer_group_id}:phone:{p}" for keys in arrivals for p, _ in keys.phones}
        | {f"customer-contact:{dealer_group_id}:dms:{keys.dms_customer_number}" for keys in arrivals
           if keys.dms_customer_number}
    )
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [name])


def surviving(customer_ids: Iterable[int], *, rooftop: Rooftop) -> int | None:
    """Follow merges to the surviving record; among several, prefer one known at this rooftop, then the oldest."""
    resolved: list[int] = []
    for customer_id in customer_ids:
        seen = set()
        current = customer_id
        while current is not None and current not in seen:
            seen.add(current)
            merged_into = Customer.unscoped.filter(id=current).values_list("merged_into_id", flat=True).first()
            if merged_into is None:
                break
            current = merged_into
        if current is not None and current not in resolved:
            resolved.append(current)
    if not resolved:
        return None
    known_here = set(CustomerRooftop.objects.filter(customer_id__in=resolved, rooftop=rooftop)
                     .values_list("customer_id", flat=True))
    return min(resolved, key=lambda c: (c not in known_here, c))


def find(*, rooftop: Rooftop, keys: Keys) -> Found:
    """Who each key points at within the dealer group (the signed-in user id is tracking's to add)."""
    group_id = rooftop.dealer_group_id
    by_token = by_dms = by_email = by_phone = None
    if keys.link_token:
        by_token = surviving(Customer.unscoped.filter(dealer_group_id=group_id, link_token=keys.link_token)
                             .values_list("id", flat=True), rooftop=rooftop)
    if keys.dms_customer_number:
        # A DMS numbers its own store's customers: the number means someone only at that rooftop.
        by_dms = surviving(CustomerRooftop.objects.filter(rooftop=rooftop, dms_customer_number=keys.dms_customer_number)
                           .values_list("customer_id", flat=True), rooftop=rooftop)
    if keys.emails:
        by_email = surviving(CustomerEmail.objects.filter(email__in=keys.emails, customer__dealer_group_id=group_id)
                             .order_by("customer_id").values_list("customer_id", flat=True), rooftop=rooftop)
    if keys.phones:
        by_phone = surviving(CustomerPhone.objects.filter(e164__in=[p for p, _ in keys.phones],
                                                          customer__dealer_group_id=group_id)
                             .order_by("customer_id").values_list("customer_id", flat=True), rooftop=rooftop)
    return Found(by_token=by_token, by_dms_number=by_dms, by_email=by_email, by_phone=by_phone)


@dataclass(frozen=True)
class MatchResult:
    customer: Customer
    created: bool
    reason: str = ""  # how we know it is them ("gave their email address"); empty for a new customer
    duplicates: tuple[int, ...] = field(default=())


def customer_create(*, rooftop: Rooftop, contact: ArrivingContact, keys: Keys, at: datetime) -> Customer:
    customer = Customer.unscoped.create(
        dealer_group_id=rooftop.dealer_group_id, first_name=contact.first_name.strip()[:100],
        last_name=contact.last_name.strip()[:100], street=contact.street.strip()[:200], city=contact.city.strip()[:100],
        region=contact.region.strip()[:50], postal_code=contact.postal_code.strip()[:20],
        country=phone_region(contact.country), link_token=secrets.token_urlsafe(15)[:20], created_at=at,
    )
    contact_points_add(customer=customer, rooftop=rooftop, contact=contact, keys=keys, at=at)
    return customer


def contact_points_add(*, customer: Customer, rooftop: Rooftop, contact: ArrivingContact, keys: Keys,
                       at: datetime) -> None:
    """What the arrival told us and we did not have: new emails and phones are added, never replaced; a blank
    name or address is filled, one staff may have corrected is kept."""
    fill = {
        name: value.strip()[:limit] for name, value, limit in (
            ("first_name", contact.first_name, 100), ("last_name", contact.last_name, 100),
            ("street", contact.street, 200), ("city", contact.city, 100), ("region", contact.region, 50),
            ("postal_code", contact.postal_code, 20),
        ) if value.strip() and not getattr(customer, name)
    }
    if fill:
        for name, value in fill.items():
            setattr(customer, name, value)
        customer.save(update_fields=[*fill, "updated_at"])
    have_emails = set(customer.emails.values_list("email", flat=True))
    has_primary = bool(have_emails)
    for email in keys.emails:
        if email not in have_emails:
            CustomerEmail.objects.create(customer=customer, email=email, is_primary=not has_primary)
            has_primary = True
    have_phones = set(customer.phones.values_list("e164", flat=True))
    has_primary = bool(have_phones)
    for e164, label in keys.phones:
        if e164 not in have_phones:
            CustomerPhone.objects.create(customer=customer, e164=e164, label=(label or "mobile")[:20],
                                         is_primary=not has_primary)
            has_primary = True
    link, _ = CustomerRooftop.objects.get_or_create(customer=customer, rooftop=rooftop, defaults={"first_seen_at": at})
    if keys.dms_customer_number and link.dms_customer_number != keys.dms_customer_number:
        # The DMS's number for them at this store; a later number from the same DMS replaces an earlier one.
        link.dms_customer_number = keys.dms_customer_number
        link.save(update_fields=["dms_customer_number"])


def customer_match_or_create(*, rooftop: Rooftop, contact: ArrivingContact, source: str, keys: Keys | None = None,
                             at: datetime | None = None, create: bool = True) -> MatchResult | None:
    """The group's customer this arrival is, or a new one; known at `rooftop` after.

    With `create=False` nobody new is made (None when nobody matches). Possible duplicates found on the way are
    offered to staff (DuplicateCandidate), never merged automatically. `source` names the way in, for logs.
    `keys` is for a caller that normalized the contact points already (tracking's claims).
    """
    from customers.services import customer_duplicates_detect  # services imports this module

    at = at or timezone.now()
    keys = keys or Keys.of(contact)
    with transaction.atomic():
        keys_lock(rooftop.dealer_group_id, keys)
        match = decide(find(rooftop=rooftop, keys=keys)) if not keys.is_empty else Match(customer_id=None)
        if match.customer_id is None:
            if not create:
                return None
            customer = customer_create(rooftop=rooftop, contact=contact, keys=keys, at=at)
        else:
            customer = Customer.unscoped.get(pk=match.customer_id)
            contact_points_add(customer=customer, rooftop=rooftop, contact=contact, keys=keys, at=at)
        customer_duplicates_detect(customer=customer)
    return MatchResult(customer=customer, created=match.customer_id is None, reason=match.reason,
                       duplicates=match.others)
