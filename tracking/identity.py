"""Who is this shopper? Pure decisions for joining an anonymous website visitor to a customer.

The database work (finding candidates, locking, writing) is in tracking.services; here are the rules,
testable with tables:

- What a message claims: a customer token from an email/text link, a site user id, an email, a phone.
- Which claim wins when they point at different customers: the token (it came from our own link to that
  customer) over the site's user id over email over phone (phones are shared in households more often).
- A visitor already joined to a customer moves to another only on a matching claim: a shared family
  computer used by a second person. Events already attributed stay with the first customer; nothing
  is rewritten.
- A claim that matches nobody creates a customer only when it carries an email or a phone (something
  staff can answer) and the visitor is not yet anybody; otherwise it changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import phonenumbers

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,32}$")


def normalize_email(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    email = value.strip().lower()
    return email if len(email) <= 254 and EMAIL.match(email) else ""


def normalize_phone(value: Any, *, region: str = "US") -> str:
    """E.164, the only form stored; empty when it is not a valid number."""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        return ""
    try:
        number = phonenumbers.parse(str(value)[:40], region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _name(value: Any, limit: int = 100) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


@dataclass(frozen=True)
class Claims:
    """What one identify message (or web form) says about who the shopper is."""

    customer_token: str = ""
    user_id: str = ""
    email: str = ""
    phone: str = ""
    first_name: str = ""
    last_name: str = ""

    @property
    def has_contact(self) -> bool:
        return bool(self.email or self.phone)

    @property
    def is_empty(self) -> bool:
        return not (self.customer_token or self.user_id or self.email or self.phone)


def claims_from_traits(traits: Mapping[str, Any], *, user_id: str = "", region: str = "US") -> Claims:
    """Segment traits (snake or camel case, `name` split when no first/last) → Claims."""
    token = traits.get("customer_token") or traits.get("customerToken") or ""
    first = _name(traits.get("first_name") or traits.get("firstName"))
    last = _name(traits.get("last_name") or traits.get("lastName"))
    if not first and not last:
        first, _, last = _name(traits.get("name"), 200).partition(" ")
    return Claims(
        customer_token=token if isinstance(token, str) and TOKEN.match(token) else "",
        user_id=user_id,
        email=normalize_email(traits.get("email")),
        phone=normalize_phone(traits.get("phone"), region=region),
        first_name=first[:100],
        last_name=last.strip()[:100],
    )


@dataclass(frozen=True)
class Candidates:
    """Customers (ids, already resolved past merges) each claim points at, as found in the database."""

    by_token: int | None = None
    by_user_id: int | None = None
    by_email: int | None = None
    by_phone: int | None = None


@dataclass(frozen=True)
class LinkDecision:
    customer_id: int | None  # the existing customer to join the visitor to
    create: bool  # make a new customer from the claims and join to it
    reason: str  # shown on the customer's timeline: how we know

    @property
    def changes_anything(self) -> bool:
        return self.create or self.customer_id is not None


NO_CHANGE = LinkDecision(customer_id=None, create=False, reason="")


def decide_link(*, current_customer_id: int | None, claims: Claims, candidates: Candidates) -> LinkDecision:
    """Which customer this visitor is, given what it claims and what those claims match."""
    for customer_id, reason in (
        (candidates.by_token, "opened a link we sent them"),
        (candidates.by_user_id, "signed in on the website"),
        (candidates.by_email, "gave their email address"),
        (candidates.by_phone, "gave their phone number"),
    ):
        if customer_id is not None:
            if customer_id == current_customer_id:
                return NO_CHANGE
            return LinkDecision(customer_id=customer_id, create=False, reason=reason)
    if current_customer_id is None and claims.has_contact:
        how = "email address" if claims.email else "phone number"
        return LinkDecision(customer_id=None, create=True, reason=f"new customer from the {how} they gave")
    return NO_CHANGE
