"""Writes for texts and emails to customers: queue, send exactly once, and take inbound texts (STOP included).

How "exactly once" holds up when a worker dies mid-send: the outbox mechanics (write in the caller's
transaction, hand to Celery after commit, claim under SKIP LOCKED with a lease, only the claimant records the
result, a beat sweep re-sends rows a dead worker left) are `crm.outbox`, shared with webhook deliveries. Here:

1. `outbound_message_queue` writes the row with a unique idempotency key.
2. `outbound_message_claim` settles, under the row lock, whether it may go now (consent, quiet hours).
3. The provider call happens outside any transaction and carries the idempotency key.
4. A row left in `sending` by a dead worker is claimed again after MESSAGING_SEND_LEASE_SECONDS and sent with
   the same key, so a provider that dedupes on it delivers once; a row that never reached the provider is
   simply sent. (Plain SMTP and Twilio's own API do not dedupe: there the window is a crash between the
   provider accepting and our commit, a few milliseconds; the email carries a stable Message-ID.)

Consent and quiet hours are checked when the row is written and again when it is claimed, because a customer
may text STOP while a message waits for 08:00.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from anymail.exceptions import AnymailError, AnymailInvalidAddress, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import Max
from django.dispatch import Signal
from django.utils import timezone

from crm.backoff import MESSAGING_SCHEDULE, backoff_delay, max_attempts
from crm.bulk import copy_insert
from crm.outbox import Outbox
from customers.models import (
    ConsentRecord, Customer, CustomerRooftop, InboundMessage, OutboundMessage, TimelineEntry,
)
from customers.matching import ArrivingContact, customer_match_or_create
from customers.opt_out import is_opt_in, is_opt_out
from customers.quiet_hours import may_send_at, next_send_time
from customers.suppression import channel_of
from customers.sms import OutgoingSms, SmsPermanentError, SmsTemporaryError, sms_backend
from rooftops.models import DealerGroup, Rooftop

logger = logging.getLogger(__name__)

# Messaging depends on no other app. What the sales side makes of a message (the first response stamps speed to
# lead; a reply is the customer reached and is filed on their open lead) it learns from these, in the sending or
# receiving transaction (leads/receivers.py).
first_response_sent = Signal()  # message: OutboundMessage, sent_at: datetime
customer_replied = Signal()  # customer: Customer, channel: "text" | "email", entry: TimelineEntry, now: datetime
# The mail server refused the recipient's address for good (a bounce at send time): marketing stamps its results.
recipient_refused = Signal()  # message: OutboundMessage, at: datetime
# A text that is neither an opt-out nor an opt-in, after it is stored: the assistant app may answer it
# (assistant/receivers.py decides after commit, in a task, so this webhook answers at once).
text_received = Signal()  # inbound: InboundMessage, customers: list[Customer] (who is texting), now: datetime

Status = OutboundMessage.Status
Kind = OutboundMessage.Kind
DUE_STATUSES = (Status.QUEUED, Status.WAITING_QUIET_HOURS)
MAX_SEND_ATTEMPTS = max_attempts(MESSAGING_SCHEDULE)
OUTBOX = Outbox(
    model=OutboundMessage, due_statuses=DUE_STATUSES, sending_status=Status.SENDING, due_at_field="send_after",
    lease_seconds=lambda: settings.MESSAGING_SEND_LEASE_SECONDS, task="customers.tasks.send_outbound_message",
)
# A confirmation answers the customer's own STOP: consent is already gone and quiet hours do not apply.
KINDS_EXEMPT_FROM_CONSENT = frozenset({Kind.OPT_OUT_CONFIRMATION})
SUPPRESSED_ADDRESS = "The address is on the dealer group's do-not-contact list"
# Messages that carry marketing's footer, unsubscribe headers and tracked links (marketing.compose).
COMPOSED_PURPOSES = frozenset({ConsentRecord.Purpose.MARKETING, ConsentRecord.Purpose.SERVICE_REMINDERS})


# --------------------------------------------------------------------------- consent


def sms_consent_granted(*, dealer_group_id: int, phone: str, purpose: str = ConsentRecord.Purpose.TRANSACTIONAL) -> bool:
    """Say whether the newest SMS consent for this number in the dealer group is a grant.

    Judged per phone number across the group, so a STOP reaches every customer record sharing the number.
    """
    latest = (
        ConsentRecord.objects.filter(
            dealer_group_id=dealer_group_id, channel=ConsentRecord.Channel.SMS, purpose=purpose,
            customer__phones__e164=phone,
        )
        .order_by("-recorded_at", "-id")
        .values_list("granted", flat=True)
        .first()
    )
    return bool(latest)


def email_consent_refused(*, customer: Customer, purpose: str = ConsentRecord.Purpose.TRANSACTIONAL) -> bool:
    """Say whether the customer revoked email for this purpose (an inquiry reply needs no prior opt-in)."""
    latest = (
        ConsentRecord.objects.filter(customer=customer, channel=ConsentRecord.Channel.EMAIL, purpose=purpose)
        .order_by("-recorded_at", "-id")
        .values_list("granted", flat=True)
        .first()
    )
    return latest is False


def email_forms(address: str) -> list[str]:
    """The forms a stored email address may take: as written and normalised (lower case). Matched exactly, not
    case-insensitively, so the lookup uses the index on customer emails (a campaign judges every recipient)."""
    stripped = (address or "").strip()
    return sorted({stripped, stripped.lower()})


def email_consent_refused_in_group(*, dealer_group_id: int, email: str, purpose: str) -> bool:
    """Say whether the newest email consent for this address in the dealer group, for this purpose, is a refusal.

    Judged per address across the group, like a texted STOP per number: an unsubscribe from one store's campaign
    reaches every customer record of the group sharing the address, at once.
    """
    latest = (
        ConsentRecord.objects.filter(
            dealer_group_id=dealer_group_id, channel=ConsentRecord.Channel.EMAIL, purpose=purpose,
            customer__emails__email__in=email_forms(email),
        )
        .order_by("-recorded_at", "-id")
        .values_list("granted", flat=True)
        .first()
    )
    return latest is False


def _blocked_reason(message: OutboundMessage) -> str:
    """Why this message may not go out now (do-not-contact list, consent), or '' when it may.

    The rules live once, in `_blocked_reasons`: a message judged alone at sending time and the same message judged
    in a campaign's chunk when it was queued must never get different answers."""
    return _blocked_reasons([message]).get(message.idempotency_key, "")


def customer_time_zone(customer: Customer, rooftop: Rooftop) -> str:
    """Quiet hours follow the customer's clock; without one, the store that writes to them."""
    return customer.time_zone or rooftop.time_zone


def _held_by_quiet_hours(message: OutboundMessage) -> bool:
    """Texts by default (the TCPA window); email only where MESSAGING_QUIET_HOURS_CHANNELS names it for the whole
    deployment, or the store chose to hold its email too."""
    held_channel = (message.channel in settings.MESSAGING_QUIET_HOURS_CHANNELS
                    or (message.channel == OutboundMessage.Channel.EMAIL and message.rooftop.hold_email_in_quiet_hours))
    return (held_channel
            and message.kind not in KINDS_EXEMPT_FROM_CONSENT)


# --------------------------------------------------------------------------- queue


def outbound_message_queue(
    *,
    customer: Customer,
    rooftop: Rooftop,
    channel: str,
    kind: str,
    to_address: str,
    body: str,
    idempotency_key: str,
    now: datetime,
    subject: str = "",
    lead=None,
    purpose: str = ConsentRecord.Purpose.TRANSACTIONAL,
    timeline_entry: TimelineEntry | None = None,
) -> OutboundMessage:
    """Write a message to the outbox (once per idempotency key) and have it sent after commit."""
    message, created = OutboundMessage.unscoped.get_or_create(
        idempotency_key=idempotency_key,
        defaults=dict(
            customer=customer, rooftop=rooftop, lead=lead, channel=channel, kind=kind, purpose=purpose,
            timeline_entry=timeline_entry,
            to_address=to_address, subject=subject[:200], body=body, send_after=now, created_at=now,
        ),
    )
    if not created:
        return message
    blocked = _blocked_reason(message)
    if blocked:
        message.status, message.error = Status.SUPPRESSED, blocked[:500]
        message.save(update_fields=["status", "error"])
        return message
    tz = customer_time_zone(customer, rooftop)
    if _held_by_quiet_hours(message) and not may_send_at(now, tz):
        message.status, message.send_after = Status.WAITING_QUIET_HOURS, next_send_time(now, tz)
        message.save(update_fields=["status", "send_after"])
        return message
    OUTBOX.hand_over_on_commit(message.id)
    return message


@dataclass(frozen=True)
class NewMessage:
    """One message for `outbound_messages_queue_many`: the arguments of `outbound_message_queue`."""

    customer: Customer
    rooftop: Rooftop
    channel: str
    kind: str
    to_address: str
    body: str
    idempotency_key: str
    subject: str = ""
    purpose: str = ConsentRecord.Purpose.TRANSACTIONAL


def outbound_messages_queue_many(*, messages: Sequence[NewMessage], now: datetime) -> dict[str, OutboundMessage]:
    """`outbound_message_queue` for many messages at once (a campaign's chunk): the same do-not-contact, consent
    and quiet-hours checks, made in a few bulk queries instead of three per message, and one INSERT.

    Returns idempotency key -> message. A key already in the outbox returns its row untouched and is not handed
    over again (it was when it was written); call inside the transaction that records why they were written.
    """
    wanted = list({m.idempotency_key: m for m in messages}.values())
    existing = {row.idempotency_key: row for row in OutboundMessage.unscoped.filter(
        idempotency_key__in=[m.idempotency_key for m in wanted])}
    rows = [
        OutboundMessage(
            customer=m.customer, rooftop=m.rooftop, channel=m.channel, kind=m.kind, purpose=m.purpose,
            to_address=m.to_address, subject=m.subject[:200], body=m.body, idempotency_key=m.idempotency_key,
            send_after=now, created_at=now,
        )
        for m in wanted if m.idempotency_key not in existing
    ]
    blocked = _blocked_reasons(rows)
    for row in rows:
        reason = blocked.get(row.idempotency_key, "")
        if reason:
            row.status, row.error = Status.SUPPRESSED, reason[:500]
            continue
        tz = customer_time_zone(row.customer, row.rooftop)
        if _held_by_quiet_hours(row) and not may_send_at(now, tz):
            row.status, row.send_after = Status.WAITING_QUIET_HOURS, next_send_time(now, tz)
    copy_insert(OutboundMessage, rows)  # COPY: bulk_create's per-value adaptation was most of a chunk's time
    for row in rows:
        if row.status == Status.QUEUED:
            OUTBOX.hand_over_on_commit(row.id)
    return {**existing, **{row.idempotency_key: row for row in rows}}


def _blocked_reasons(messages: Sequence[OutboundMessage]) -> dict[str, str]:
    """Why each of these messages may not go out (idempotency key -> reason, for the blocked ones only), in a
    few queries for any number of them: the do-not-contact list by digest (before the consent exemptions: an
    erased person is never written to again, whatever kind of message, even when a new record with their address
    arrives later), SMS consent per number across the group, email refusal per customer and, for composed
    purposes, per address across the group."""
    from customers.models import CustomerPhone, SuppressionEntry, SuppressionKey
    from customers.suppression import address_digest

    reasons: dict[str, str] = {}
    groups = {m.customer.dealer_group_id for m in messages}
    keys = dict(SuppressionKey.objects.filter(dealer_group_id__in=groups).values_list("dealer_group_id", "key"))
    digests: dict[tuple[int, str, str], list[OutboundMessage]] = {}
    for m in messages:
        key = keys.get(m.customer.dealer_group_id)
        if key is not None and m.to_address:
            channel = channel_of(m.channel)
            digests.setdefault((m.customer.dealer_group_id, channel,
                                address_digest(key=key, channel=channel, address=m.to_address)), []).append(m)
    if digests:
        listed = SuppressionEntry.objects.filter(dealer_group_id__in=groups, digest__in={d for _, _, d in digests})
        for group_id, channel, digest in listed.values_list("dealer_group_id", "channel", "digest"):
            for m in digests.get((group_id, channel, digest), []):
                reasons[m.idempotency_key] = SUPPRESSED_ADDRESS
    needs_consent = [m for m in messages if m.idempotency_key not in reasons and m.kind not in KINDS_EXEMPT_FROM_CONSENT]
    texts: dict[tuple[int, str], list[OutboundMessage]] = {}
    for m in needs_consent:
        if m.channel == OutboundMessage.Channel.SMS:
            texts.setdefault((m.customer.dealer_group_id, m.purpose), []).append(m)
    for (group_id, purpose), batch in texts.items():
        # sms_consent_granted for every number at once: joined through unnest, not `e164 IN (...)`, which the
        # trigram index on e164 would answer at about 2 ms a number.
        phones = sorted({m.to_address for m in batch})
        with connection.cursor() as cursor:
            # A subquery per number through the e164 btree index: a join would hash every phone of the table.
            cursor.execute(
                f"SELECT n.e164, (SELECT c.granted FROM {CustomerPhone._meta.db_table} p "
                f"JOIN {ConsentRecord._meta.db_table} c ON c.customer_id = p.customer_id "
                f"WHERE p.e164 = n.e164 AND c.dealer_group_id = %s AND c.channel = 'sms' AND c.purpose = %s "
                f"ORDER BY c.recorded_at DESC, c.id DESC LIMIT 1) FROM unnest(%s::varchar[]) n(e164)",
                [group_id, purpose, phones])
            granted = dict(cursor.fetchall())
        for m in batch:
            if not granted.get(m.to_address):
                reasons[m.idempotency_key] = f"No {m.purpose} text consent for {m.to_address}"
    emails: dict[str, list[OutboundMessage]] = {}
    for m in needs_consent:
        if m.channel != OutboundMessage.Channel.SMS:
            emails.setdefault(m.purpose, []).append(m)
    for purpose, batch in emails.items():
        latest = (ConsentRecord.objects.filter(customer_id__in={m.customer_id for m in batch},
                                               channel=ConsentRecord.Channel.EMAIL, purpose=purpose)
                  .order_by("customer_id", "-recorded_at", "-id").distinct("customer_id")
                  .values_list("customer_id", "granted"))
        refused = {customer_id for customer_id, granted in latest if granted is False}
        refused_addresses = (_email_refusals_in_group(batch, purpose) if purpose in COMPOSED_PURPOSES else set())
        for m in batch:
            if purpose in COMPOSED_PURPOSES and (m.customer_id in refused or
                                                 (m.customer.dealer_group_id, m.to_address) in refused_addresses):
                reasons[m.idempotency_key] = (f"{m.to_address} unsubscribed from "
                                              f"{ConsentRecord.Purpose(purpose).label.lower()} email")
            elif m.customer_id in refused:
                reasons[m.idempotency_key] = "The customer opted out of email"
    return reasons


def _email_refusals_in_group(batch: Sequence[OutboundMessage], purpose: str) -> set[tuple[int, str]]:
    """`email_consent_refused_in_group` for many addresses at once: (group, address) pairs whose newest consent for
    the purpose in the group is a refusal. One subquery per address through the email index, as for phones."""
    from customers.models import CustomerEmail

    refused: set[tuple[int, str]] = set()
    by_group: dict[int, set[str]] = {}
    for m in batch:
        by_group.setdefault(m.customer.dealer_group_id, set()).update(email_forms(m.to_address))
    for group_id, addresses in by_group.items():
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT n.email, (SELECT c.granted FROM {CustomerEmail._meta.db_table} e "
                f"JOIN {ConsentRecord._meta.db_table} c ON c.customer_id = e.customer_id "
                f"WHERE e.email = n.email AND c.dealer_group_id = %s AND c.channel = 'email' AND c.purpose = %s "
                f"ORDER BY c.recorded_at DESC, c.id DESC LIMIT 1) FROM unnest(%s::varchar[]) n(email)",
                [group_id, purpose, sorted(addresses)])
            refused_forms = {email for email, granted in cursor.fetchall() if granted is False}
        for m in batch:
            if m.customer.dealer_group_id == group_id and refused_forms & set(email_forms(m.to_address)):
                refused.add((group_id, m.to_address))
    return refused


# --------------------------------------------------------------------------- send


def outbound_message_claim(*, message_id: int, now: datetime) -> OutboundMessage | None:
    """Take a due message for sending (or settle it as suppressed/waiting); None if it is not ours to send."""

    def may_go_now(message: OutboundMessage) -> bool:
        blocked = _blocked_reason(message)
        if blocked:
            message.status, message.error = Status.SUPPRESSED, blocked[:500]
            message.save(update_fields=["status", "error"])
            _note_delivery(message, Status.SUPPRESSED)
            return False
        tz = customer_time_zone(message.customer, message.rooftop)
        if _held_by_quiet_hours(message) and not may_send_at(now, tz):
            message.status, message.send_after = Status.WAITING_QUIET_HOURS, next_send_time(now, tz)
            message.save(update_fields=["status", "send_after"])
            return False
        return True

    return OUTBOX.claim(row_id=message_id, now=now, select_related=("customer", "rooftop"), settle=may_go_now)


def _message_id_header(message: OutboundMessage) -> str:
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "crm.localhost"
    return f"<{hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]}@{domain}>"


class DeliveryTemporaryError(Exception):
    """The provider may take it later."""


class DeliveryPermanentError(Exception):
    """The provider will never take it."""


class RecipientRefused(DeliveryPermanentError):
    """The mail server refused the recipient's address: a bounce at send time."""


def _composed(message: OutboundMessage):
    """Marketing's footer, headers and tracked links for a marketing or service-reminder message, else None."""
    if message.purpose not in COMPOSED_PURPOSES:
        return None
    # Imported here, not at the top: marketing depends on customers (its models point at ours), and customers
    # must import without marketing, so the outbox stays usable on its own and no import cycle forms.
    from marketing.compose import compose

    try:
        return compose(message)
    except ValueError as exc:
        raise DeliveryPermanentError(str(exc)) from exc


def _deliver(message: OutboundMessage) -> str:
    """Hand the message to its provider; returns the provider's id or raises Delivery*Error."""
    composed = _composed(message)
    if message.channel == OutboundMessage.Channel.SMS:
        body = composed.text if composed is not None else message.body
        sms = OutgoingSms(to=message.to_address, body=body, idempotency_key=message.idempotency_key)
        try:
            return sms_backend().send(sms)
        except SmsTemporaryError as exc:
            raise DeliveryTemporaryError(str(exc)) from exc
        except SmsPermanentError as exc:
            raise DeliveryPermanentError(str(exc)) from exc
    message_id = _message_id_header(message)
    # A stable Message-ID lets mail systems drop a resend after a crash as a duplicate.
    headers = {"Message-ID": message_id, "X-CRM-Idempotency-Key": message.idempotency_key}
    if composed is not None:
        headers.update(composed.headers)
    email = EmailMultiAlternatives(
        subject=message.subject, body=composed.text if composed is not None else message.body,
        from_email=settings.DEFAULT_FROM_EMAIL, to=[message.to_address], headers=headers,
    )
    if composed is not None and composed.html:
        email.attach_alternative(composed.html, "text/html")
    try:
        email.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        raise RecipientRefused(f"The mail server refused the address: {_smtp_codes(exc)}") from exc
    except smtplib.SMTPSenderRefused as exc:
        raise DeliveryPermanentError(f"The mail server refused our sender address ({exc.smtp_code})") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryTemporaryError(f"Could not reach the mail server: {exc.__class__.__name__}") from exc
    # An email service's backend (django-anymail) raises its own errors: a refused recipient is a bounce, the
    # rest (the service's API down or busy) are worth another try.
    except AnymailRecipientsRefused as exc:
        raise RecipientRefused("The email service refused the address") from exc
    except AnymailInvalidAddress as exc:
        raise DeliveryPermanentError("The email service cannot read the address") from exc
    except AnymailError as exc:
        raise DeliveryTemporaryError(f"The email service did not take it: {exc.__class__.__name__}") from exc
    # Through an email service (django-anymail) its own message id is what its delivery webhooks name.
    status = getattr(email, "anymail_status", None)
    provider_message_id = getattr(status, "message_id", None)
    # (A set when recipients got different ids: never here, one recipient per message.)
    if isinstance(provider_message_id, (str, int)) and str(provider_message_id):
        return str(provider_message_id)
    return message_id


def _smtp_codes(exc: smtplib.SMTPRecipientsRefused) -> str:
    """The server's codes without the addresses (they are personal data and this lands in the row and logs)."""
    codes = sorted({str(code) for code, _text in exc.recipients.values()})
    return ", ".join(codes) or "refused"


def outbound_message_deliver(*, message: OutboundMessage, now: datetime | None = None) -> str:
    """Send a claimed message and record the outcome; returns the status it ended in."""
    try:
        provider_id = _deliver(message)
    except DeliveryTemporaryError as exc:
        wait = backoff_delay(message.attempts, MESSAGING_SCHEDULE)
        finished_at = now or timezone.now()
        fields = {"status": Status.QUEUED if wait is not None else Status.FAILED, "error": str(exc)[:500]}
        if wait is not None:
            fields["send_after"] = finished_at + wait
        OUTBOX.record(message, **fields)
        if wait is None:
            _note_delivery(message, Status.FAILED)
        return fields["status"]
    except DeliveryPermanentError as exc:
        with transaction.atomic():
            recorded = OUTBOX.record(message, status=Status.FAILED, error=str(exc)[:500])
            _note_delivery(message, Status.FAILED)
            if recorded and isinstance(exc, RecipientRefused):
                recipient_refused.send(sender=OutboundMessage, message=message, at=now or timezone.now())
        return Status.FAILED
    _record_sent(message=message, provider_id=provider_id, sent_at=now or timezone.now())
    return Status.SENT


def _record_sent(*, message: OutboundMessage, provider_id: str, sent_at: datetime) -> None:
    with transaction.atomic():
        if not OUTBOX.record(message, status=Status.SENT, provider_id=provider_id[:100], sent_at=sent_at, error=""):
            return  # our lease ran out and another worker finished it
        if message.timeline_entry_id:
            # Staff wrote this on the customer page: that entry is the story; mark it delivered.
            _note_delivery(message, Status.SENT)
            return
        channel = "text" if message.channel == OutboundMessage.Channel.SMS else "email"
        TimelineEntry.unscoped.create(
            customer_id=message.customer_id, rooftop_id=message.rooftop_id, lead_id=message.lead_id,
            department=TimelineEntry.Department.SYSTEM,
            kind=TimelineEntry.Kind.TEXT if channel == "text" else TimelineEntry.Kind.EMAIL,
            direction="out", occurred_at=sent_at, summary=f"{message.get_kind_display()} sent by {channel}",
            body=message.body, detail={"outbound_message_id": message.pk, "automated": True},
        )
        if message.kind == Kind.FIRST_RESPONSE and message.lead_id:
            first_response_sent.send(sender=OutboundMessage, message=message, sent_at=sent_at)


def outbound_message_send(*, message_id: int, now: datetime | None = None) -> str:
    """Claim and send one message; returns its status, or 'skipped' when it was not due or not ours."""
    now = now or timezone.now()
    message = outbound_message_claim(message_id=message_id, now=now)
    if message is None:
        return "skipped"
    return outbound_message_deliver(message=message, now=now)


def outbound_messages_send_due(*, now: datetime, limit: int = 200) -> int:
    """Send every message that is due (including ones a dead worker left behind); returns how many were sent."""
    ids = OUTBOX.due_ids(now=now, limit=limit)
    return sum(outbound_message_send(message_id=pk, now=now) == Status.SENT for pk in ids)


# --------------------------------------------------------------------------- inbound texts


@dataclass(frozen=True)
class InboundResult:
    duplicate: bool
    opted_out: bool
    opted_in: bool
    customer_ids: tuple[int, ...]


def _groups_for(to_number: str, from_number: str) -> list[int]:
    """The dealer group(s) the customer was texting: the store owning the number, else every group that knows them.

    Erring wide is deliberate: a missed opt-out can cost a TCPA claim.
    """
    rooftop = Rooftop.objects.filter(phone=to_number).first()
    if rooftop is not None:
        return [rooftop.dealer_group_id]
    return list(
        Customer.unscoped.filter(phones__e164=from_number).values_list("dealer_group_id", flat=True).distinct()
    )


def sms_inbound_receive(*, provider_id: str, from_number: str, to_number: str, body: str,
                        now: datetime | None = None) -> InboundResult:
    """Take one inbound text: STOP revokes SMS consent group-wide at once; anything else is the customer talking."""
    now = now or timezone.now()
    with transaction.atomic():
        inbound, created = InboundMessage.objects.get_or_create(
            provider_id=provider_id,
            defaults=dict(from_number=from_number, to_number=to_number, body=body, received_at=now),
        )
        if not created:
            return InboundResult(True, inbound.is_opt_out, inbound.is_opt_in, tuple(inbound.customer_ids))
        group_ids = _groups_for(to_number, from_number)
        customers = list(
            Customer.unscoped.filter(dealer_group_id__in=group_ids, phones__e164=from_number, merged_into__isnull=True)
            .distinct().order_by("id")
        )
        inbound.customer_ids = [c.id for c in customers]
        inbound.is_opt_out = is_opt_out(body)
        opted_in = False
        if inbound.is_opt_out:
            _opt_out(customers=customers, from_number=from_number, body=body, inbound=inbound, now=now)
        elif is_opt_in(body) and customers and not all(
            sms_consent_granted(dealer_group_id=g, phone=from_number) for g in {c.dealer_group_id for c in customers}
        ):
            # START/YES only means opt-in right after an opt-out; otherwise "yes" is conversation.
            _opt_in(customers=customers, body=body, now=now)
            opted_in = True
        else:
            texting = _who_is_texting(to_number, from_number, customers)
            _customer_replied(customers=texting, body=body, now=now, inbound=inbound)
            text_received.send(sender=InboundMessage, inbound=inbound, customers=texting, now=now)
        inbound.is_opt_in = opted_in
        inbound.save(update_fields=["customer_ids", "is_opt_out", "is_opt_in"])
    return InboundResult(False, inbound.is_opt_out, opted_in, tuple(inbound.customer_ids))


def _home_rooftop_id(customer: Customer) -> int | None:
    known = CustomerRooftop.objects.filter(customer=customer).order_by("-first_seen_at").values_list("rooftop_id", flat=True)
    return known.first()


def _opt_out(*, customers: list[Customer], from_number: str, body: str, inbound: InboundMessage, now: datetime) -> None:
    quoted = body.strip()[:200]
    for customer in customers:
        ConsentRecord.objects.bulk_create([
            ConsentRecord(customer=customer, dealer_group_id=customer.dealer_group_id, channel=ConsentRecord.Channel.SMS,
                          purpose=purpose, granted=False, text_shown=f'Customer texted "{quoted}"',
                          source="inbound text opt-out", recorded_at=now)
            for purpose in ConsentRecord.Purpose.values
        ])
        TimelineEntry.unscoped.create(
            customer=customer, rooftop=None, department=TimelineEntry.Department.SYSTEM,
            kind=TimelineEntry.Kind.CONSENT, direction="in", occurred_at=now,
            summary="Opted out of texts for the whole dealer group", body=quoted,
            detail={"inbound_message_id": inbound.pk, "channel": "sms", "granted": False},
        )
    if not customers:
        return
    ids = [c.id for c in customers]
    # Anything still waiting would be stopped at claim time anyway; say so now where staff can see it.
    OutboundMessage.unscoped.filter(
        customer_id__in=ids, channel=OutboundMessage.Channel.SMS, status__in=DUE_STATUSES,
    ).exclude(kind__in=KINDS_EXEMPT_FROM_CONSENT).update(status=Status.SUPPRESSED, error="The customer texted STOP")
    last_grant = ConsentRecord.objects.filter(
        customer_id__in=ids, channel=ConsentRecord.Channel.SMS, granted=True).aggregate(at=Max("recorded_at"))["at"]
    confirmed = OutboundMessage.unscoped.filter(kind=Kind.OPT_OUT_CONFIRMATION, to_address=from_number)
    if last_grant is not None:
        confirmed = confirmed.filter(created_at__gt=last_grant)
    if confirmed.exists():
        return  # one confirmation per opt-out, however many times they text STOP
    first = customers[0]
    rooftop_id = _home_rooftop_id(first)
    if rooftop_id is None:
        return
    group = DealerGroup.objects.get(pk=first.dealer_group_id)
    outbound_message_queue(
        customer=first, rooftop=Rooftop.objects.get(pk=rooftop_id), channel=OutboundMessage.Channel.SMS,
        kind=Kind.OPT_OUT_CONFIRMATION, to_address=from_number, now=now,
        body=f"{group.name}: you are unsubscribed and will get no more texts from us. Reply START to resubscribe.",
        idempotency_key=f"sms-opt-out-confirmation:{inbound.provider_id}"[:120],
    )


def _opt_in(*, customers: list[Customer], body: str, now: datetime) -> None:
    for customer in customers:
        # Texts about their inquiries only: marketing needs its own, written consent.
        ConsentRecord.objects.create(
            customer=customer, dealer_group_id=customer.dealer_group_id, channel=ConsentRecord.Channel.SMS,
            purpose=ConsentRecord.Purpose.TRANSACTIONAL, granted=True, text_shown=f'Customer texted "{body.strip()[:200]}"',
            source="inbound text opt-in", recorded_at=now,
        )
        TimelineEntry.unscoped.create(
            customer=customer, department=TimelineEntry.Department.SYSTEM, kind=TimelineEntry.Kind.CONSENT,
            direction="in", occurred_at=now, summary="Opted back in to texts about their inquiries", body=body[:500],
            detail={"channel": "sms", "granted": True},
        )


def _who_is_texting(to_number: str, from_number: str, sharing: list[Customer]) -> list[Customer]:
    """The conversation is the matcher's customer for this number at the store texted; a number no store owns
    (a shared short code) leaves every record sharing it, as before a store is known."""
    rooftop = Rooftop.objects.filter(phone=to_number).first()
    if rooftop is None:
        return sharing
    match = customer_match_or_create(rooftop=rooftop, source="sms", create=False,
                                     contact=ArrivingContact(phones=((from_number, "mobile"),)))
    return [match.customer] if match is not None else []


def _customer_replied(*, customers: list[Customer], body: str, now: datetime, inbound: InboundMessage) -> None:
    for customer in customers:
        entry = TimelineEntry.unscoped.create(
            customer=customer, rooftop_id=_home_rooftop_id(customer), department=TimelineEntry.Department.SALES,
            kind=TimelineEntry.Kind.TEXT, direction="in", occurred_at=now, summary="Text from the customer",
            body=body[:5000], detail={"inbound_message_id": inbound.pk},
        )
        customer_replied.send(sender=Customer, customer=customer, channel="text", entry=entry, now=now)
        if entry.rooftop_id:
            _message_webhook(entry, customer)


def _message_webhook(entry: TimelineEntry, customer: Customer) -> None:
    """`message.received` for the store's webhook endpoints: who texted and a link, not what they wrote."""
    from django.urls import reverse

    from rooftops.webhooks import site_link, webhooks_emit

    data = {"message": {"channel": "sms", "timeline_entry_id": entry.pk, "received_at": entry.occurred_at.isoformat(),
                        "customer": {"id": customer.pk, "name": customer.full_name,
                                     "url": site_link(reverse("customer-detail", kwargs={"customer_id": customer.pk}))}}}
    webhooks_emit(entry.rooftop_id, "message.received", data, object_key=f"customer:{customer.pk}",
                  now=entry.occurred_at)


# --------------------------------------------------------------------------- what staff write (customers.outbound)


def _note_delivery(message: OutboundMessage, status: str) -> None:
    """Keep the delivery status on the timeline entry a staff member wrote, where the customer page shows it."""
    if not message.timeline_entry_id:
        return
    entry = TimelineEntry.unscoped.filter(pk=message.timeline_entry_id).first()
    if entry is None:
        return
    entry.detail = {**entry.detail, "delivery": status, "outbound_message_id": message.pk}
    entry.save(update_fields=["detail"])


def timeline_message_deliver(*, entry_id: int, now: datetime | None = None) -> OutboundMessage | None:
    """Send a text or email a staff member recorded on the customer page: one outbox message per entry.

    customers.outbound checks consent and quiet hours before recording and calls this after commit; the
    outbox checks both again when it sends, because minutes or hours may pass in between.
    """
    entry = (
        TimelineEntry.unscoped.select_related("customer", "rooftop")
        .filter(pk=entry_id, direction="out", kind__in=[TimelineEntry.Kind.TEXT, TimelineEntry.Kind.EMAIL])
        .first()
    )
    to_address = (entry.detail or {}).get("to") if entry is not None else None
    if entry is None or entry.rooftop is None or not to_address:
        logger.warning("timeline entry %s is not a message staff can send; nothing queued", entry_id)
        return None
    sms = entry.kind == TimelineEntry.Kind.TEXT
    with transaction.atomic():
        message = outbound_message_queue(
            customer=entry.customer, rooftop=entry.rooftop, lead=entry.lead, timeline_entry=entry,
            channel=OutboundMessage.Channel.SMS if sms else OutboundMessage.Channel.EMAIL, kind=Kind.STAFF,
            to_address=to_address, subject="" if sms else (entry.detail.get("subject") or "(no subject)"),
            # Queued as of when staff sent it (consent and quiet hours were checked for that moment).
            body=entry.body, idempotency_key=f"timeline-entry:{entry.pk}", now=now or entry.occurred_at,
        )
        _note_delivery(message, message.status)
    return message
