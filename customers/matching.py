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

from crm.bulk import copy_insert
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
    order is what keeps two entry points (or a DMS import's chunk of a thousand) from deadlocking each other."""
    names = sorted(
        {f"customer-contact:{dealer_group_id}:email:{e}" for keys in arrivals for e in keys.emails}
        | {f"customer-contact:{dealer_group_id}:phone:{p}" for keys in arrivals for p, _ in keys.phones}
        | {f"customer-contact:{dealer_group_id}:dms:{keys.dms_customer_number}" for keys in arrivals
           if keys.dms_customer_number}
    )
    if not names:
        return
    with connection.cursor() as cursor:
        # One statement for all of them, taken in the order of the sorted names.
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(h)) FROM "
            "(SELECT hashtextextended(n, 0) AS h, o FROM unnest(%s::text[]) WITH ORDINALITY AS t(n, o) ORDER BY o) s",
            [names],
        )


def surviving_many(customer_ids: Iterable[int]) -> dict[int, int]:
    """Each customer id -> the record it was merged into, followed to the end (itself when never merged)."""
    forward = {customer_id: customer_id for customer_id in customer_ids}
    pending = set(forward.values())
    for _ in range(20):  # merges of merges are rare and short; a cycle (impossible by the merge code) stops here
        if not pending:
            break
        step = dict(Customer.unscoped.filter(id__in=pending, merged_into__isnull=False)
                    .values_list("id", "merged_into_id"))
        for customer_id, current in forward.items():
            if current in step:
                forward[customer_id] = step[current]
        pending = set(step.values()) - set(step)
    return forward


def _preferred(candidates: Iterable[int], known_here: set[int]) -> int | None:
    """Of several records a key points at, the one known at this rooftop wins, then the oldest."""
    candidates = set(candidates)
    return min(candidates, key=lambda c: (c not in known_here, c)) if candidates else None


def surviving(customer_ids: Iterable[int], *, rooftop: Rooftop) -> int | None:
    """Follow merges to the surviving record; among several, prefer one known at this rooftop, then the oldest."""
    resolved = set(surviving_many(customer_ids).values())
    known_here = set(CustomerRooftop.objects.filter(customer_id__in=resolved, rooftop=rooftop)
                     .values_list("customer_id", flat=True))
    return _preferred(resolved, known_here)


def find_many(*, rooftop: Rooftop, arrivals: list[Keys]) -> list[Found]:
    """Who each key of each arrival points at within the dealer group, in one query per kind of key (the
    signed-in user id is tracking's to add). One arrival (`find`) and a DMS chunk of a thousand ask alike."""
    group_id = rooftop.dealer_group_id
    tokens = {k.link_token for k in arrivals if k.link_token}
    numbers = {k.dms_customer_number for k in arrivals if k.dms_customer_number}
    emails = {e for k in arrivals for e in k.emails}
    phones = {p for k in arrivals for p, _ in k.phones}
    by_token: dict[str, list[int]] = {}
    by_number: dict[str, list[int]] = {}
    by_email: dict[str, list[int]] = {}
    by_phone: dict[str, list[int]] = {}
    if tokens:
        for token, cid in Customer.unscoped.filter(dealer_group_id=group_id, link_token__in=tokens).values_list("link_token", "id"):
            by_token.setdefault(token, []).append(cid)
    if numbers:
        # A DMS numbers its own store's customers: the number means someone only at that rooftop.
        for number, cid in (CustomerRooftop.objects.filter(rooftop=rooftop, dms_customer_number__in=numbers)
                            .values_list("dms_customer_number", "customer_id")):
            by_number.setdefault(number, []).append(cid)
    if emails:
        for email, cid in (CustomerEmail.objects.filter(email__in=emails, customer__dealer_group_id=group_id)
                           .values_list("email", "customer_id")):
            by_email.setdefault(email, []).append(cid)
    if phones:
        # Joined to the list, not `e164 = ANY(list)`: PostgreSQL answers an ANY over a column with a trigram index
        # (customer_phone_trgm, for partial-number search) from that index, about 2 ms a number: 2 s a DMS chunk.
        with connection.cursor() as cursor:
            cursor.execute("SELECT p.e164, p.customer_id FROM unnest(%s::text[]) AS k(e164) "
                           "JOIN customers_customerphone p ON p.e164 = k.e164 "
                           "JOIN customers_customer c ON c.id = p.customer_id WHERE c.dealer_group_id = %s",
                           [sorted(phones), group_id])
            for e164, cid in cursor.fetchall():
                by_phone.setdefault(e164, []).append(cid)
    every = {cid for found in (by_token, by_number, by_email, by_phone) for ids in found.values() for cid in ids}
    forward = surviving_many(every)
    known_here = set(CustomerRooftop.objects.filter(customer_id__in=set(forward.values()), rooftop=rooftop)
                     .values_list("customer_id", flat=True)) if forward else set()

    def pick(index: dict[str, list[int]], values: Iterable[str]) -> int | None:
        return _preferred((forward[cid] for value in values for cid in index.get(value, ())), known_here)

    return [
        Found(by_token=pick(by_token, [k.link_token] if k.link_token else []),
              by_dms_number=pick(by_number, [k.dms_customer_number] if k.dms_customer_number else []),
              by_email=pick(by_email, k.emails), by_phone=pick(by_phone, [p for p, _ in k.phones]))
        for k in arrivals
    ]


def find(*, rooftop: Rooftop, keys: Keys) -> Found:
    return find_many(rooftop=rooftop, arrivals=[keys])[0]


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


# ---------------------------------------------------------------------------------------------------------
# Many arrivals at once: a DMS import's chunk
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchMatch:
    customer_id: int
    created: bool  # a new customer was made for this arrival (or for an earlier arrival of the same batch)
    changed: bool  # an existing customer learned something: a filled-in name or address, an email, a phone, a number


_FILLED = (("first_name", 100), ("last_name", 100), ("street", 200), ("city", 100), ("region", 50),
           ("postal_code", 20))


def customers_match_or_create_many(*, rooftop: Rooftop, contacts: list[ArrivingContact],
                                   at: datetime | None = None) -> list[BatchMatch]:
    """`customer_match_or_create` for a batch: the same keys, the same `decide`, the same filling-in rules, in a
    fixed number of queries instead of a dozen per arrival. Arrivals of the batch that share a key with each
    other (a customer's three deals in one file) become one new customer. Call inside a transaction."""
    at = at or timezone.now()
    arrivals = [Keys.of(contact) for contact in contacts]
    keys_lock(rooftop.dealer_group_id, *arrivals)
    found = find_many(rooftop=rooftop, arrivals=arrivals)

    # Decide each arrival: an existing customer, or one of the new ones this batch makes.
    new_slots: list[list[int]] = []  # new customer -> the arrivals that are them
    new_by_key: dict[str, int] = {}
    decided: list[tuple[str, int]] = []  # ("old", customer id) or ("new", slot)
    others: dict[int, set[int]] = {}
    for i, (keys, f) in enumerate(zip(arrivals, found)):
        match = decide(f) if not keys.is_empty else Match(customer_id=None)
        if match.customer_id is not None:
            decided.append(("old", match.customer_id))
            if match.others:
                others.setdefault(match.customer_id, set()).update(match.others)
            continue
        names = _batch_keys(keys)
        slot = next((new_by_key[n] for n in names if n in new_by_key), None)
        if slot is None:
            slot = len(new_slots)
            new_slots.append([])
        new_slots[slot].append(i)
        for n in names:
            new_by_key.setdefault(n, slot)
        decided.append(("new", slot))

    created_ids = _customers_create_many(rooftop=rooftop, contacts=contacts, arrivals=arrivals, slots=new_slots, at=at)
    old_ids = {value for kind, value in decided if kind == "old"}
    changed = _contact_points_add_many(rooftop=rooftop, contacts=contacts, arrivals=arrivals, decided=decided,
                                       customer_ids=old_ids, at=at)
    from customers.services import customer_duplicates_detect, customer_duplicates_offer_by_address  # imports us

    for customer in Customer.unscoped.filter(id__in=others):
        customer_duplicates_detect(customer=customer)
    if created_ids:
        # A new customer shares no email, phone or number with anyone (else a key would have found them); a close
        # name at the same address is what is left to ask staff about.
        customer_duplicates_offer_by_address(customer_ids=created_ids)
    return [
        BatchMatch(customer_id=value, created=False, changed=value in changed) if kind == "old"
        else BatchMatch(customer_id=created_ids[value], created=True, changed=False)
        for kind, value in decided
    ]


def _batch_keys(keys: Keys) -> list[str]:
    return ([f"dms:{keys.dms_customer_number}"] if keys.dms_customer_number else []) + \
        [f"email:{e}" for e in keys.emails] + [f"phone:{p}" for p, _ in keys.phones]


def _customers_create_many(*, rooftop: Rooftop, contacts: list[ArrivingContact], arrivals: list[Keys],
                           slots: list[list[int]], at: datetime) -> list[int]:
    if not slots:
        return []
    customers = []
    for members in slots:
        first = contacts[members[0]]
        values = {name: next((getattr(contacts[i], name).strip()[:limit] for i in members
                              if getattr(contacts[i], name).strip()), "") for name, limit in _FILLED}
        customers.append(Customer(dealer_group_id=rooftop.dealer_group_id, country=phone_region(first.country),
                                  link_token=secrets.token_urlsafe(15)[:20], created_at=at, **values))
    copy_insert(Customer, customers)
    links, emails, phones = [], [], []
    for customer, members in zip(customers, slots):
        number = next((arrivals[i].dms_customer_number for i in reversed(members) if arrivals[i].dms_customer_number), "")
        links.append(CustomerRooftop(customer=customer, rooftop=rooftop, first_seen_at=at, dms_customer_number=number))
        seen_emails: list[str] = []
        seen_phones: list[str] = []
        for i in members:
            for email in arrivals[i].emails:
                if email not in seen_emails:
                    emails.append(CustomerEmail(customer=customer, email=email, is_primary=not seen_emails))
                    seen_emails.append(email)
            for e164, label in arrivals[i].phones:
                if e164 not in seen_phones:
                    phones.append(CustomerPhone(customer=customer, e164=e164, label=(label or "mobile")[:20],
                                                is_primary=not seen_phones))
                    seen_phones.append(e164)
    copy_insert(CustomerRooftop, links)
    copy_insert(CustomerEmail, emails)
    copy_insert(CustomerPhone, phones)
    return [customer.id for customer in customers]


def _contact_points_add_many(*, rooftop: Rooftop, contacts: list[ArrivingContact], arrivals: list[Keys],
                             decided: list[tuple[str, int]], customer_ids: set[int], at: datetime) -> set[int]:
    """`contact_points_add` for the existing customers of a batch; the ids of those that learned something."""
    if not customer_ids:
        return set()
    changed: set[int] = set()
    customers = {c.id: c for c in Customer.unscoped.filter(id__in=customer_ids).only("id", *(n for n, _ in _FILLED))}
    have_emails: dict[int, list[str]] = {}
    for cid, email in CustomerEmail.objects.filter(customer_id__in=customer_ids).values_list("customer_id", "email"):
        have_emails.setdefault(cid, []).append(email)
    have_phones: dict[int, list[str]] = {}
    for cid, e164 in CustomerPhone.objects.filter(customer_id__in=customer_ids).values_list("customer_id", "e164"):
        have_phones.setdefault(cid, []).append(e164)
    links = {link.customer_id: link for link in CustomerRooftop.objects.filter(customer_id__in=customer_ids, rooftop=rooftop)}
    filled: dict[int, Customer] = {}
    new_emails, new_phones, new_links, renumbered = [], [], {}, {}
    for i, (kind, cid) in enumerate(decided):
        if kind != "old":
            continue
        contact, keys, customer = contacts[i], arrivals[i], customers[cid]
        for name, limit in _FILLED:
            value = getattr(contact, name).strip()[:limit]
            if value and not getattr(customer, name):
                setattr(customer, name, value)
                filled[cid] = customer
        emails = have_emails.setdefault(cid, [])
        for email in keys.emails:
            if email not in emails:
                new_emails.append(CustomerEmail(customer_id=cid, email=email, is_primary=not emails))
                emails.append(email)
                changed.add(cid)
        phones = have_phones.setdefault(cid, [])
        for e164, label in keys.phones:
            if e164 not in phones:
                new_phones.append(CustomerPhone(customer_id=cid, e164=e164, label=(label or "mobile")[:20],
                                                is_primary=not phones))
                phones.append(e164)
                changed.add(cid)
        link = links.get(cid) or new_links.get(cid)
        if link is None:
            new_links[cid] = CustomerRooftop(customer_id=cid, rooftop=rooftop, first_seen_at=at,
                                             dms_customer_number=keys.dms_customer_number)
            changed.add(cid)
        elif keys.dms_customer_number and link.dms_customer_number != keys.dms_customer_number:
            # The DMS's number for them at this store; a later number from the same DMS replaces an earlier one.
            link.dms_customer_number = keys.dms_customer_number
            if link.pk:
                renumbered[cid] = link
            changed.add(cid)
    if filled:
        for customer in filled.values():
            customer.updated_at = at
        Customer.unscoped.bulk_update(list(filled.values()), [n for n, _ in _FILLED] + ["updated_at"])
        changed.update(filled)
    copy_insert(CustomerEmail, new_emails)
    copy_insert(CustomerPhone, new_phones)
    copy_insert(CustomerRooftop, list(new_links.values()))
    if renumbered:
        CustomerRooftop.objects.bulk_update(list(renumbered.values()), ["dms_customer_number"])
    return changed
