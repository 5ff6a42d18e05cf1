"""The long run that sends a campaign: build its recipients, judge each one, write the allowed ones to the outbox.

A campaign the builder put in SENDING (pages' services, or the beat when its time came) is run here by one
worker at a time (a session advisory lock, `rooftops.runs.run_claimed`: the broker may deliver the task twice,
and the resume beat may queue it again). The run is a sequence of short transactions, so a manager's pause or
cancel lands between two of them and a killed worker loses at most the chunk it was in:

1. Recipients: the audience's ids (marketing.selectors, one SQL per trigger) become `CampaignRecipient` rows,
   one per customer and channel, inserted with ON CONFLICT DO NOTHING on (campaign, send_key): a resumed run
   adds nobody twice. `audience_size` counts these rows (a customer on email and text is two), so
   `Campaign.percent` is judged/audience_size.
2. Judging, CHUNK pending recipients at a time, under the campaign row's lock: the facts in bulk
   (`recipient_facts`, a fixed number of queries per chunk), the pure rules (`marketing.eligibility.judge`),
   then in the same transaction the outbox rows of the allowed ones (idempotency key
   "campaign:<id>:<send_key>"), every recipient's verdict, and the progress counters. A chunk either commits
   whole or not at all, so "queued" and the outbox never disagree, and a recipient leaves PENDING only with its
   message written: nobody gets a second message from a re-run.
3. After each chunk the campaign's status is read again (under its lock): paused or cancelled stops the run;
   cancelled also cancels every recipient still pending. The last chunk sets SENT and finished_at.

The outbox checks consent, the do-not-contact list and quiet hours again when each message is sent
(customers.messaging), because a STOP or an unsubscribe can arrive after the judging.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import replace
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from crm import handoff
from customers.messaging import NewMessage, outbound_messages_queue_many
from customers.contact import format_phone
from customers.models import Customer, OutboundMessage
from marketing import eligibility
from marketing.audience import AudienceError, AudienceSpec
from marketing.models import Campaign, CampaignRecipient
from marketing.selectors import (
    Scope, audience_ids, campaign_scope, home_rooftops, marketing_rules, merge_facts, recipient_facts,
    subscribed_vins, viewed_vins,
)
from marketing.templating import render
from rooftops.models import Rooftop
from rooftops.runs import run_claimed

logger = logging.getLogger(__name__)

CHUNK = 500  # recipients judged per transaction: a pause waits at most one chunk
INSERT_CHUNK = 5_000  # recipients inserted per statement while building
HANDOFF_ROOM = handoff.BACKLOG // 2
Status = Campaign.Status
RecipientStatus = CampaignRecipient.Status
CHANNELS = {Campaign.Channels.EMAIL: ("email",), Campaign.Channels.SMS: ("sms",),
            Campaign.Channels.BOTH: ("email", "sms")}


def campaign_run(*, campaign_id: int, now: datetime | None = None) -> str:
    """Send (or go on sending) a campaign in SENDING; returns the status it is left in, or "busy" when another
    worker is running it. `now` fixes the clock for tests; otherwise each chunk reads the time."""
    with run_claimed(Campaign, campaign_id) as claimed:
        if not claimed:
            return "busy"
        return _run(campaign_id, lambda: now or timezone.now())


def _run(campaign_id: int, clock) -> str:
    campaign = Campaign.unscoped.filter(pk=campaign_id).first()
    if campaign is None or campaign.kind != Campaign.Kind.CAMPAIGN:
        return "missing"  # the price-drop campaign's messages are written by marketing.price_drops
    if campaign.status == Status.CANCELLED:
        campaign_recipients_cancel(campaign_id=campaign.pk)
        return Status.CANCELLED
    if campaign.status != Status.SENDING:
        return campaign.status
    if campaign.error:
        Campaign.unscoped.filter(pk=campaign.pk).update(error="")  # a retry after an error: the error is history
    try:
        spec = AudienceSpec.parse(campaign.audience).require_someone()
        _require_templates(campaign)
    except AudienceError as exc:
        _fail(campaign, str(exc), clock())
        return Status.FAILED
    now = clock()
    Campaign.unscoped.filter(pk=campaign.pk).update(heartbeat_at=now, started_at=Coalesce(F("started_at"), now))
    scope = campaign_scope(campaign)
    if campaign.audience_size == 0:  # not built yet (an empty audience is cheap to look for again)
        _build_recipients(campaign, spec, scope, now)
    rules = marketing_rules(campaign.dealer_group_id)
    while True:
        status = _judge_chunk(campaign.pk, spec, scope, rules, clock())
        if status is not None:
            break
        # The chunk's messages were handed to the publisher thread at commit; keep its backlog from overflowing
        # (an overflowing hint is left to the outbox sweep, a few hundred a minute).
        handoff.wait_for_room(below=HANDOFF_ROOM, timeout=60)
    if status == Status.CANCELLED:
        campaign_recipients_cancel(campaign_id=campaign.pk)
    return status


def _require_templates(campaign: Campaign) -> None:
    channels = CHANNELS.get(campaign.channels, ())
    if not channels:
        raise AudienceError(f"Unknown channel {campaign.channels!r}: choose email, text or both.")
    if "email" in channels and not (campaign.email_subject.strip() and campaign.email_body.strip()):
        raise AudienceError("The email needs a subject and a body before the campaign can be sent.")
    if "sms" in channels and not campaign.sms_body.strip():
        raise AudienceError("The text message is empty: write it before the campaign can be sent.")


def _fail(campaign: Campaign, error: str, now: datetime) -> None:
    Campaign.unscoped.filter(pk=campaign.pk, status=Status.SENDING).update(
        status=Status.FAILED, error=error, finished_at=now, heartbeat_at=now)


def campaign_recipients_cancel(*, campaign_id: int) -> int:
    """Mark every recipient still waiting as cancelled with the campaign (the ones already queued stay queued:
    the outbox may have sent them). Returns how many were cancelled."""
    return CampaignRecipient.objects.filter(campaign_id=campaign_id, status=RecipientStatus.PENDING).update(
        status=RecipientStatus.CANCELLED)


# --------------------------------------------------------------------------- 1. recipients


def _build_recipients(campaign: Campaign, spec: AudienceSpec, scope: Scope, now: datetime) -> int:
    ids = audience_ids(spec=spec, scope=scope, now=now)
    channels = list(CHANNELS[campaign.channels])
    table = CampaignRecipient._meta.db_table
    for start in range(0, len(ids), INSERT_CHUNK):
        part = ids[start:start + INSERT_CHUNK]
        # A store's campaign comes from that store; a group's from the store each customer was last seen at.
        homes = {} if campaign.rooftop_id else home_rooftops(part, scope)
        rooftops = [campaign.rooftop_id or homes[pk] for pk in part]
        with connection.cursor() as cursor:
            cursor.execute(f"""
                INSERT INTO {table} (campaign_id, customer_id, rooftop_id, channel, send_key, context, status, reason,
                                     created_at, clicks)
                SELECT %s, u.customer_id, u.rooftop_id, ch.channel, u.customer_id || ':' || ch.channel, '{{}}'::jsonb,
                       %s, '', %s, 0
                FROM unnest(%s::bigint[], %s::bigint[]) u(customer_id, rooftop_id)
                CROSS JOIN unnest(%s::text[]) ch(channel)
                ORDER BY u.customer_id, ch.channel
                ON CONFLICT (campaign_id, send_key) DO NOTHING""",
                           [campaign.pk, RecipientStatus.PENDING, now, part, rooftops, channels])
        Campaign.unscoped.filter(pk=campaign.pk).update(heartbeat_at=timezone.now())
    size = CampaignRecipient.objects.filter(campaign_id=campaign.pk).count()
    Campaign.unscoped.filter(pk=campaign.pk).update(audience_size=size)
    return size


# --------------------------------------------------------------------------- 2. judging and queueing


def merge_context(customer: Customer, recipient_context: dict, rooftop: Rooftop, salesperson_name: str) -> dict[str, str]:
    """The merge fields of one message. A missing name or car reads naturally rather than leaving a gap."""
    return {
        "first_name": customer.first_name or "there",
        "last_name": customer.last_name,
        "vehicle": recipient_context.get("vehicle") or "your vehicle",
        "equity": recipient_context.get("equity") or "",
        "salesperson": salesperson_name,
        "store": rooftop.name,
        "store_phone": format_phone(rooftop.phone) if rooftop.phone else "",
    }


def _sms_text(body: str, rooftop: Rooftop) -> str:
    # Carriers and the TCPA want a marketing text to say who sent it and how to stop it.
    text = body.strip()
    if rooftop.name.casefold() not in text.casefold():
        text = f"{rooftop.name}: {text}"
    if "stop" not in text.casefold():
        text += " Reply STOP to opt out."
    return text


def _judge_chunk(campaign_id: int, spec: AudienceSpec, scope: Scope, rules: eligibility.Rules,
                 now: datetime) -> str | None:
    """Judge and queue one chunk in one transaction; None to go on, else the status the run ends in."""
    with transaction.atomic():
        campaign = Campaign.unscoped.select_for_update().get(pk=campaign_id)
        if campaign.status != Status.SENDING:
            return campaign.status  # paused or cancelled by a manager since the last chunk
        rows = list(CampaignRecipient.objects.filter(campaign_id=campaign_id, status=RecipientStatus.PENDING)
                    .order_by("pk")[:CHUNK])
        if not rows:
            campaign.status, campaign.finished_at, campaign.heartbeat_at = Status.SENT, now, now
            campaign.save(update_fields=["status", "finished_at", "heartbeat_at", "updated_at"])
            return Status.SENT
        verdicts = _judge(campaign, spec, scope, rules, rows, now)
        Campaign.unscoped.filter(pk=campaign_id).update(
            judged=F("judged") + len(rows), queued=F("queued") + verdicts["queued"],
            suppressed=F("suppressed") + verdicts["suppressed"], heartbeat_at=now)
    return None


def _judge(campaign: Campaign, spec: AudienceSpec, scope: Scope, rules: eligibility.Rules,
           rows: list[CampaignRecipient], now: datetime) -> Counter:
    customer_ids = sorted({r.customer_id for r in rows})
    customers = {c.pk: c for c in Customer.unscoped.filter(pk__in=customer_ids).only(
        "id", "dealer_group_id", "first_name", "last_name", "time_zone")}
    rooftops = {r.pk: r for r in Rooftop.objects.filter(pk__in={r.rooftop_id for r in rows})}
    facts = {channel: recipient_facts(customer_ids=[r.customer_id for r in rows if r.channel == channel],
                                      channel=channel, dealer_group_id=campaign.dealer_group_id, purpose=spec.purpose,
                                      now=now)
             for channel in {r.channel for r in rows}}
    merge = merge_facts(customer_ids, {r.customer_id: r.rooftop_id for r in rows})
    # The car a behaviour campaign is about (the model they viewed, the car they watch for a price drop): the
    # "already bought it" rule needs it, or a buyer hears about the car in their own driveway.
    offered = {**(subscribed_vins(customer_ids, scope) if spec.price_drop_subscribers else {}),
               **viewed_vins(customer_ids, spec, scope, now=now)}
    purchase_offer = not spec.is_service_reminder
    today = now.date()
    sent_now: Counter = Counter()  # this chunk's messages count toward the weekly cap of the next recipient
    outcome: Counter = Counter()
    updates: dict[int, tuple[str, str, dict]] = {}
    pending: list[tuple[CampaignRecipient, NewMessage, dict]] = []
    for row in rows:
        fact = facts[row.channel][row.customer_id]
        fact = replace(fact, marketing_last_7_days=fact.marketing_last_7_days + sent_now[row.customer_id])
        vin, offered_vehicle = offered.get(row.customer_id, ("", ""))
        offer = eligibility.Offer(vins=frozenset({vin.upper()}) if vin else frozenset(), purchase_offer=purchase_offer)
        verdict = eligibility.judge(fact, offer, rules, today=today)
        shown = merge[row.customer_id]
        context = {**row.context, "vehicle": shown.vehicle}
        if vin:
            context.update(vin=vin, offered_vehicle=offered_vehicle)
        if not verdict.send:
            updates[row.pk] = (RecipientStatus.SUPPRESSED, verdict.reason, {**context, "held_because": verdict.detail})
            outcome["suppressed"] += 1
            continue
        sent_now[row.customer_id] += 1
        customer, rooftop = customers[row.customer_id], rooftops[row.rooftop_id]
        # The equity figure goes into the message only: it is financial data, kept encrypted at rest.
        fields = merge_context(customer, {**context, "equity": shown.equity}, rooftop, shown.salesperson)
        if row.channel == "sms":
            subject, body = "", _sms_text(render(campaign.sms_body, fields), rooftop)
        else:
            subject, body = render(campaign.email_subject, fields), render(campaign.email_body, fields)
        message = NewMessage(customer=customer, rooftop=rooftop, channel=row.channel,
                             kind=OutboundMessage.Kind.MARKETING, purpose=spec.purpose, to_address=fact.address,
                             subject=subject, body=body, idempotency_key=f"campaign:{campaign.pk}:{row.send_key}")
        pending.append((row, message, context))
        outcome["queued"] += 1
    written = outbound_messages_queue_many(messages=[m for _, m, _ in pending], now=now)
    message_ids = {row.pk: written[m.idempotency_key].pk for row, m, _ in pending}
    for row, _, context in pending:
        updates[row.pk] = (RecipientStatus.QUEUED, "", context)
    _write_verdicts(updates, message_ids)
    return outcome


def _write_verdicts(updates: dict[int, tuple[str, str, dict]], message_ids: dict[int, int]) -> None:
    """Every recipient of the chunk in one UPDATE (500 single-row updates would be most of the chunk's time)."""
    if not updates:
        return
    ids = list(updates)
    with connection.cursor() as cursor:
        cursor.execute(f"""
            UPDATE {CampaignRecipient._meta.db_table} r
            SET status = u.status, reason = u.reason, context = u.context::jsonb, message_id = u.message_id
            FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::bigint[])
                 AS u(id, status, reason, context, message_id)
            WHERE r.id = u.id AND r.status = %s""",
                       [ids, [updates[i][0] for i in ids], [updates[i][1] for i in ids],
                        [json.dumps(updates[i][2]) for i in ids], [message_ids.get(i) for i in ids],
                        RecipientStatus.PENDING])
