"""Which customer is this website visitor? Pure decisions for joining an anonymous visitor to a customer.

Which customer a set of claims points at is the one customer matcher's rule (`customers.matching.decide`: our
link token, the DMS number, the site's signed-in user id, email, phone, strongest first); what is a phone
number or an email address is `customers.contact`'s. Here is only what is particular to a browser:

- What a message claims: a customer token from an email/text link, a site user id, an email, a phone.
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

from customers.contact import InvalidContact, normalize_email, normalize_phone
from customers.matching import ArrivingContact, Found, Keys, decide

TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,32}$")


def _usable(normalize, value: Any, **kwargs) -> str:
    """A shopper's trait either is a contact point or is ignored: identify never fails on a bad one."""
    try:
        return normalize(value, **kwargs)
    except InvalidContact:
        return ""


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

    @property
    def keys(self) -> Keys:
        """For the customer matcher; the claims are normalized already."""
        return Keys(emails=(self.email,) if self.email else (), phones=((self.phone, "mobile"),) if self.phone else (),
                    link_token=self.customer_token)

    @property
    def contact(self) -> ArrivingContact:
        return ArrivingContact(first_name=self.first_name, last_name=self.last_name)


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
        email=_usable(normalize_email, traits.get("email")),
        phone=_usable(normalize_phone, traits.get("phone"), region=region),
        first_name=first[:100],
        last_name=last.strip()[:100],
    )


@dataclass(frozen=True)
class LinkDecision:
    customer_id: int | None  # the existing customer to join the visitor to
    create: bool  # make a new customer from the claims and join to it
    reason: str  # shown on the customer's timeline: how we know

    @property
    def changes_anything(self) -> bool:
        return self.create or self.customer_id is not None


NO_CHANGE = LinkDecision(customer_id=None, create=False, reason="")


def decide_link(*, current_customer_id: int | None, claims: Claims, found: Found) -> LinkDecision:
    """Which customer this visitor is, given what it claims and whom those claims found."""
    match = decide(found)
    if match.customer_id is not None:
        if match.customer_id == current_customer_id:
            return NO_CHANGE
        return LinkDecision(customer_id=match.customer_id, create=False, reason=match.reason)
    if current_customer_id is None and claims.has_contact:
        how = "email address" if claims.email else "phone number"
        return LinkDecision(customer_id=None, create=True, reason=f"new customer from the {how} they gave")
    return NO_CHANGE
