"""Whether one marketing message may reach one customer, and if not, why: the suppression rules. Pure.

The visible seam that loses a buyer is an offer for the car they bought last week from the same store, or a
"come see our deals" blast while their salesperson is mid-negotiation. Every campaign recipient and every
price-drop alert is judged here, from facts the caller gathers in bulk (marketing.selectors), so the rules are
one table, proven by `tests/marketing/test_eligibility.py`, and the reason a customer was held back is stored
with them (`CampaignRecipient.reason`) for staff to read.

The rules, first match wins (the reason shown is the strongest):

1. The record was erased or merged away → never.
2. No address on this channel → nothing to send to.
3. The address is on the group's do-not-contact list (erased on request, unsubscribed from everything,
   bounced, complained) → never, whatever the campaign.
4. The customer unsubscribed from marketing on this channel (newest consent record is a refusal) → never.
5. Texts need written marketing consent (TCPA); email needs none unless refused (CAN-SPAM's opt-out).
6. The message offers a vehicle the customer already bought → never.
7. A purchase offer within `purchase_quiet_days` of their last purchase → not now.
8. A salesperson is working the customer's open lead → the salesperson owns that conversation. Exempt: an
   alert the shopper asked for (they asked us, and the salesperson is told of the drop on the live feed).
9. Already `weekly_cap` marketing messages in the last 7 days, across every campaign and store → not now.
   Exempt likewise: an alert the shopper asked for (it still counts toward the cap of the next campaign).

Consent and the do-not-contact list are checked again by the outbox when the message is sent (customers.messaging),
because a STOP or an unsubscribe can arrive between judging and sending.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

EMAIL, SMS = "email", "sms"

DELETED = "deleted"
NO_ADDRESS = "no_address"
DO_NOT_CONTACT = "do_not_contact"
BOUNCED = "bounced"
COMPLAINED = "complained"
UNSUBSCRIBED = "unsubscribed"
OPTED_OUT = "opted_out"
NO_CONSENT = "no_consent"
ALREADY_BOUGHT = "already_bought"
RECENT_PURCHASE = "recent_purchase"
LEAD_BEING_WORKED = "lead_being_worked"
FREQUENCY_CAP = "frequency_cap"

# Reason codes in words for the campaign page (details such as dates are added by `Verdict.detail`).
REASONS = {
    DELETED: "The customer's record was erased or merged",
    NO_ADDRESS: "No address on file for this channel",
    DO_NOT_CONTACT: "The address is on the dealer group's do-not-contact list",
    BOUNCED: "Email to this address bounced",
    COMPLAINED: "The customer marked our email as spam",
    UNSUBSCRIBED: "The address unsubscribed from everything we send",
    OPTED_OUT: "The customer unsubscribed from marketing on this channel",
    NO_CONSENT: "No written consent to marketing texts",
    ALREADY_BOUGHT: "The customer already bought this vehicle",
    RECENT_PURCHASE: "Bought a vehicle recently: no purchase offers yet",
    LEAD_BEING_WORKED: "A salesperson is working the customer's open lead",
    FREQUENCY_CAP: "Already reached this week's limit of marketing messages",
}

# What the do-not-contact list says about an address (customers.SuppressionEntry.Reason) → our reason.
_LISTED = {"erasure": DO_NOT_CONTACT, "bounced": BOUNCED, "complained": COMPLAINED, "unsubscribed": UNSUBSCRIBED}


@dataclass(frozen=True)
class Recipient:
    """What is known about one customer on one channel, gathered in bulk before judging."""

    customer_id: int
    channel: str  # "email" | "sms"
    address: str  # the email address or E.164 number this would go to; "" when none
    erased: bool = False  # erased on request, or merged into another record
    listed: str = ""  # the do-not-contact list's reason for this address ("" when not listed)
    consent: bool | None = None  # newest marketing consent for this channel and address; None: never asked
    bought_vins: frozenset[str] = frozenset()
    last_purchase_on: date | None = None
    lead_worked_by: str = ""  # the salesperson working an open lead of theirs, "" when none
    marketing_last_7_days: int = 0  # marketing messages queued or sent to them in the last 7 days, all stores


@dataclass(frozen=True)
class Offer:
    """What the message is."""

    vins: frozenset[str] = frozenset()  # vehicles it offers (a price drop's vehicle; a campaign's featured car)
    purchase_offer: bool = True  # selling them a vehicle (trade-cycle, price drop) rather than a service reminder
    requested: bool = False  # the shopper asked for exactly this (a price-drop alert they subscribed to)


@dataclass(frozen=True)
class Rules:
    weekly_cap: int = 2
    purchase_quiet_days: int = 90


@dataclass(frozen=True)
class Verdict:
    send: bool
    reason: str = ""  # a code of REASONS when held back
    detail: str = ""  # the reason in words, with its particulars

    @classmethod
    def held(cls, reason: str, detail: str = "") -> Verdict:
        return cls(False, reason, detail or REASONS[reason])


SEND = Verdict(True)


def judge(recipient: Recipient, offer: Offer, rules: Rules, *, today: date) -> Verdict:
    """The rules in the module docstring, in their order."""
    if recipient.erased:
        return Verdict.held(DELETED)
    if not recipient.address:
        return Verdict.held(NO_ADDRESS, "No email address on file" if recipient.channel == EMAIL
                            else "No mobile number on file")
    if recipient.listed:
        return Verdict.held(_LISTED.get(recipient.listed, DO_NOT_CONTACT))
    if recipient.consent is False:
        return Verdict.held(OPTED_OUT, "The customer unsubscribed from marketing "
                            + ("email" if recipient.channel == EMAIL else "texts"))
    if recipient.channel == SMS and recipient.consent is not True:
        return Verdict.held(NO_CONSENT)
    bought = offer.vins & recipient.bought_vins
    if bought:
        return Verdict.held(ALREADY_BOUGHT, f"The customer already bought this vehicle (VIN {min(bought)})")
    if offer.purchase_offer and recipient.last_purchase_on is not None:
        days = (today - recipient.last_purchase_on).days
        if 0 <= days < rules.purchase_quiet_days:
            return Verdict.held(RECENT_PURCHASE, f"Bought a vehicle on {recipient.last_purchase_on:%b %-d, %Y} "
                                f"({days} days ago): no purchase offers for {rules.purchase_quiet_days} days")
    if offer.requested:
        return SEND
    if recipient.lead_worked_by:
        return Verdict.held(LEAD_BEING_WORKED, f"{recipient.lead_worked_by} is working the customer's open lead")
    if recipient.marketing_last_7_days >= rules.weekly_cap:
        return Verdict.held(FREQUENCY_CAP, f"Already {recipient.marketing_last_7_days} marketing messages in the "
                            f"last 7 days (the limit is {rules.weekly_cap})")
    return SEND
