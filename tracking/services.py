"""Writes for shopper tracking: store collector messages durably, join visitors to customers, take web leads.

Every function here owns its transaction and queues side effects (scoring) with transaction.on_commit.
"""

from __future__ import annotations

import logging
import json
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import psycopg
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from crm.handoff import hand_off
from customers.models import (
    Appointment, ConsentRecord, Customer, CustomerRooftop, TimelineEntry,
)
from customers.matching import Found, customer_create, customer_match_or_create, find, keys_lock, surviving
from leads.models import InventoryVehicle, Lead
from rooftops.models import Rooftop
from tracking.identity import Claims, claims_from_traits, decide_link
from tracking.messages import Message
from tracking.models import Visitor

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordResult:
    stored: int
    duplicates: int
    visitor_ids: tuple[int, ...]


def events_record(*, rooftop: Rooftop, messages: Sequence[Message], received_at: datetime) -> RecordResult:
    """Store messages once each (by messageId), upserting their visitors; scoring is queued after commit.

    The rows are in PostgreSQL before the caller answers 200; the Celery hand-off happens only after commit,
    and if Redis is down the beat sweep of unscored events picks them up later, so nothing is lost.
    identify and alias messages also join their visitor to a customer, in the same transaction.
    """
    if not messages:
        return RecordResult(stored=0, duplicates=0, visitor_ids=())
    return events_record_many(batches=[RooftopBatch(rooftop, messages, received_at)])[rooftop.id]


@dataclass(frozen=True)
class RooftopBatch:
    """One request's validated messages for one rooftop, received at `received_at`."""

    rooftop: Rooftop
    messages: Sequence[Message]
    received_at: datetime


def events_record_many(*, batches: Sequence[RooftopBatch]) -> dict[int, RecordResult]:
    """events_record for several requests (maybe several rooftops) at once: all stored, or none.

    The collector's group commit: one COMMIT (one WAL flush) for many requests, and one round trip: every
    rooftop's messages go to PostgreSQL as one statement (_STORE_SQL) that records the messageIds, upserts the
    visitors and inserts the new events, so without identify or alias messages it runs alone in autocommit
    (its own transaction). Those messages join visitors to customers in Python, so a group holding one is
    stored in a transaction that takes the contact locks first and joins them after the statement.
    Merged requests of one rooftop share their latest received_at (all were received by then). Scoring is
    queued once, after commit.
    """
    by_rooftop: dict[int, list[RooftopBatch]] = {}
    for batch in batches:
        by_rooftop.setdefault(batch.rooftop.id, []).append(batch)
    groups = []
    for rooftop_id in sorted(by_rooftop):
        same = by_rooftop[rooftop_id]
        messages = [m for b in same for m in b.messages]
        groups.append((same[0].rooftop, messages, max(b.received_at for b in same)))
    if not any(messages for _, messages, _ in groups):
        return {rooftop.id: RecordResult(stored=0, duplicates=0, visitor_ids=()) for rooftop, _, _ in groups}
    identity = any(m.type in ("identify", "alias") for _, messages, _ in groups for m in messages)
    with transaction.atomic() if identity else nullcontext(), connection.cursor() as cursor:
        if identity:
            # Contact locks before any visitor row lock, as everywhere (customers.matching.keys_lock); a retried
            # identify message takes its locks too, which only serializes it with its own first delivery.
            for rooftop, messages, _ in groups:
                keys_lock(rooftop.dealer_group_id, *(claims_from_traits(m.traits, user_id=m.user_id).keys
                                                     for m in messages if m.type == "identify"))
        stored = _events_store(cursor, groups)
        results: dict[int, RecordResult] = {}
        to_score: set[int] = set()
        for rooftop, messages, received_at in groups:
            visitors, new_count, new_identity = stored.get(rooftop.id, ({}, 0, set()))
            batch_visitors = {visitor_id for visitor_id, _ in visitors.values()}
            joined: set[int] = set()
            if new_identity:
                # visitors_link_customer queues scoring for the visitors it joins (some outside this batch).
                joined = _identity_apply(rooftop=rooftop, visitors=visitors, received_at=received_at, messages=[
                    m for m in _first_of_each(messages) if m.message_id in new_identity])
            results[rooftop.id] = RecordResult(stored=new_count, duplicates=len(messages) - new_count,
                                               visitor_ids=tuple(sorted(batch_visitors | joined)))
            to_score.update(batch_visitors - joined)
        if to_score:
            _queue_scoring_after_commit(tuple(sorted(to_score)))
    return results


# One statement for a whole group: what is new (messageId not seen at its rooftop), the visitors of the new
# messages (first and last seen, the latest user id), and the new events pointing at them. Data-modifying CTEs
# all run to completion, in one snapshot; the messages come as one JSON array (_message_row), so the server
# parses them in one pass and the client sends one string instead of thirteen arrays. Rows are written in
# (rooftop, key) order, as any two groups lock them, so two committers never deadlock on them.
_STORE_SQL = """
WITH input AS (
    SELECT (e->>0)::bigint AS rooftop_id, e->>1 AS message_id, e->>2 AS visitor_key, e->>3 AS user_id,
           e->>4 AS type, e->>5 AS event, (e->>6)::timestamptz AS occurred_at, (e->>7)::timestamptz AS sent_at,
           e->>8 AS vin, (e->>9)::timestamptz AS received_at, e->10 AS properties, e->11 AS traits,
           e->12 AS context, n
    -- Numbered by generate_series with the count bound: the planner then knows how many messages there are
    -- (it guesses 100 for jsonb_array_elements, and joins of what follows were planned as nested loops).
    FROM (SELECT %s::jsonb AS messages) AS g, generate_series(1, %s::int) AS m(n),
         LATERAL (SELECT g.messages -> (m.n - 1)) AS x(e)
), fresh AS (
    INSERT INTO tracking_receivedmessage (rooftop_id, message_id, received_at)
    SELECT rooftop_id, message_id, received_at FROM input ORDER BY rooftop_id, message_id
    ON CONFLICT (rooftop_id, message_id) DO NOTHING
    RETURNING rooftop_id, message_id
), new AS (
    SELECT input.* FROM input JOIN fresh USING (rooftop_id, message_id)
), seen AS (
    SELECT rooftop_id, visitor_key, min(occurred_at) AS first_seen_at, max(occurred_at) AS last_seen_at,
           coalesce((array_agg(user_id ORDER BY n DESC) FILTER (WHERE user_id <> ''))[1], '') AS user_id,
           count(*) AS messages
    FROM new GROUP BY rooftop_id, visitor_key
), visitors AS (
    INSERT INTO tracking_visitor (rooftop_id, anonymous_id, user_id, first_seen_at, last_seen_at)
    SELECT rooftop_id, visitor_key, user_id, first_seen_at, last_seen_at FROM seen ORDER BY rooftop_id, visitor_key
    ON CONFLICT (rooftop_id, anonymous_id) DO UPDATE SET
        last_seen_at = GREATEST(tracking_visitor.last_seen_at, EXCLUDED.last_seen_at),
        first_seen_at = LEAST(tracking_visitor.first_seen_at, EXCLUDED.first_seen_at),
        user_id = CASE WHEN EXCLUDED.user_id <> '' THEN EXCLUDED.user_id ELSE tracking_visitor.user_id END
    RETURNING rooftop_id, anonymous_id, id, customer_id
), events AS (
    INSERT INTO tracking_event (received_at, rooftop_id, visitor_id, customer_id, message_id, type, event,
                                occurred_at, sent_at, vin, properties, traits, context)
    SELECT new.received_at, new.rooftop_id, v.id, v.customer_id, new.message_id, new.type, new.event,
           new.occurred_at, new.sent_at, new.vin, new.properties, new.traits, new.context
    FROM new JOIN visitors v ON v.rooftop_id = new.rooftop_id AND v.anonymous_id = new.visitor_key
    ORDER BY new.n
)
SELECT v.rooftop_id, v.anonymous_id, v.id, v.customer_id, s.messages
FROM visitors v JOIN seen s ON s.rooftop_id = v.rooftop_id AND s.visitor_key = v.anonymous_id
UNION ALL
SELECT rooftop_id, message_id, NULL, NULL, NULL FROM new WHERE type IN ('identify', 'alias')
"""

_ROW_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _message_row(rooftop_id: int, m: Message, received_at: str) -> str:
    """One message as the JSON array _STORE_SQL reads; its objects' JSON text is spliced in as checked."""
    objects = m.encoded or tuple(_ROW_ENCODER.encode(o) for o in (m.properties, m.traits, m.context))
    scalars = _ROW_ENCODER.encode((
        rooftop_id, m.message_id, m.visitor_key, m.user_id, m.type, m.event, m.occurred_at.isoformat(),
        m.sent_at.isoformat() if m.sent_at is not None else None, m.vin, received_at,
    ))
    return f"{scalars[:-1]},{objects[0]},{objects[1]},{objects[2]}]"


def _first_of_each(messages: Sequence[Message]) -> list[Message]:
    # Within one request (or one group) a retried message may also appear twice: keep the first.
    unique: dict[str, Message] = {}
    for message in messages:
        unique.setdefault(message.message_id, message)
    return list(unique.values())


def _events_store(cursor, groups) -> dict[int, tuple[dict[str, tuple[int, int | None]], int, set[str]]]:
    """Every rooftop's messages by _STORE_SQL; per rooftop: its new messages' visitors (key -> id, customer),
    how many messages were new, and which new ones are identify or alias."""
    rows = [_message_row(rooftop.id, m, received_at.isoformat())
            for rooftop, messages, received_at in groups for m in _first_of_each(messages)]
    # Bound on the server, not quoted into the SQL text as Django's cursor does: the client does not escape a
    # group's JSON (up to a megabyte or so) and the server does not lex it as a literal. Wrapped like any of
    # Django's cursors (its errors, execute wrappers and query log).
    bound = psycopg.Cursor(cursor.connection)
    with connection.make_debug_cursor(bound) if connection.queries_logged else connection.make_cursor(bound) as c:
        c.execute(_STORE_SQL, ["[" + ",".join(rows) + "]", len(rows)])
        found = c.fetchall()
    stored: dict[int, tuple[dict[str, tuple[int, int | None]], int, set[str]]] = {}
    for rooftop_id, key, visitor_id, customer_id, messages in found:
        visitors, count, identity = stored.setdefault(rooftop_id, ({}, 0, set()))
        if visitor_id is None:
            identity.add(key)
        else:
            visitors[key] = (visitor_id, customer_id)
            stored[rooftop_id] = (visitors, count + messages, identity)
    return stored


# Bulk loads (the demo seeder) leave scoring to the beat sweep of unscored events instead of queueing a task
# per visitor: thousands of tasks racing the loader's own transactions help nobody.
_scoring_left_to_sweep: ContextVar[bool] = ContextVar("scoring_left_to_sweep", default=False)


@contextmanager
def scoring_left_to_sweep():
    """Store events without queueing scoring tasks; alerts' beat sweep scores them within seconds."""
    token = _scoring_left_to_sweep.set(True)
    try:
        yield
    finally:
        _scoring_left_to_sweep.reset(token)


def _queue_scoring_after_commit(visitor_ids: Sequence[int]) -> None:
    # Decided when the events are stored, not when the outer transaction commits (maybe outside the block).
    if not _scoring_left_to_sweep.get():
        transaction.on_commit(lambda: _queue_scoring(visitor_ids))


def _queue_scoring(visitor_ids: Sequence[int]) -> None:
    try:
        from alerts.tasks import score_soon
    except ImportError:  # scoring not installed: events wait for it, nothing is lost
        return
    if not visitor_ids:
        return
    ids = tuple(visitor_ids)

    # Bounded by the Redis socket timeouts and the broker's publish retry policy (settings); on the hand-off
    # thread, so the answer to the website never waits on Redis. Redis down or hung: the hint is skipped and the
    # beat sweep of unscored events scores what was stored.
    hand_off(lambda: score_soon(ids), what=f"scoring of {len(ids)} visitor(s)")


# --- identity: joining visitors to customers ---------------------------------------------------------


def _identity_apply(*, rooftop: Rooftop, messages: Sequence[Message],
                    visitors: dict[str, tuple[int, int | None]], received_at: datetime) -> set[int]:
    """identify and alias messages, in order; returns the visitors whose customer changed."""
    changed: set[int] = set()
    for m in messages:
        visitor_id = visitors[m.visitor_key][0]
        if m.type == "identify":
            claims = claims_from_traits(m.traits, user_id=m.user_id)
            if not claims.is_empty:
                changed |= visitor_identify(rooftop=rooftop, visitor_id=visitor_id, claims=claims, at=m.occurred_at,
                                            batch_received_at=received_at)
        else:
            changed |= visitors_alias(rooftop=rooftop, visitor_id=visitor_id, previous_id=m.previous_id,
                                      user_id=m.user_id, at=m.occurred_at, batch_received_at=received_at)
    return changed


def _found(*, rooftop: Rooftop, claims: Claims, exclude_visitor_id: int | None = None) -> Found:
    """The customer matcher's finds, plus the one key only tracking knows: the site's signed-in user id."""
    found = find(rooftop=rooftop, keys=claims.keys)
    if claims.user_id:
        linked = (Visitor.unscoped.filter(rooftop=rooftop, user_id=claims.user_id, customer__isnull=False)
                  .exclude(id=exclude_visitor_id).order_by("-identified_at", "-id")
                  .values_list("customer_id", flat=True)[:1])
        found = replace(found, by_user_id=surviving(linked, rooftop=rooftop))
    return found


def visitor_identify(*, rooftop: Rooftop, visitor_id: int, claims: Claims, at: datetime,
                     batch_received_at: datetime | None = None) -> set[int]:
    """Apply what an identify message claims; returns the visitors whose customer changed."""
    with transaction.atomic():
        keys_lock(rooftop.dealer_group_id, claims.keys)
        visitor = Visitor.unscoped.select_for_update().get(id=visitor_id)
        decision = decide_link(current_customer_id=visitor.customer_id, claims=claims,
                               found=_found(rooftop=rooftop, claims=claims, exclude_visitor_id=visitor_id))
        if not decision.changes_anything:
            return set()
        customer_id = decision.customer_id
        if decision.create:
            customer_id = customer_create(rooftop=rooftop, contact=claims.contact, keys=claims.keys, at=at).id
        user_id = claims.user_id or visitor.user_id
        siblings = []
        if user_id:
            # The same signed-in user on other browsers (joined by alias or userId) is the same person.
            siblings = list(Visitor.unscoped.filter(rooftop=rooftop, user_id=user_id, customer__isnull=True)
                            .exclude(id=visitor_id).values_list("id", flat=True))
        return visitors_link_customer(rooftop=rooftop, visitor_ids=[visitor_id, *siblings], customer_id=customer_id,
                                      at=at, reason=decision.reason, batch_received_at=batch_received_at)


def visitors_alias(*, rooftop: Rooftop, visitor_id: int, previous_id: str, user_id: str, at: datetime,
                   batch_received_at: datetime | None = None) -> set[int]:
    """Segment alias: previousId and userId are one person. Their visitors share the user id and customer."""
    with transaction.atomic():
        if not user_id:
            return set()
        same_person = (
            Q(id=visitor_id) | Q(anonymous_id__in=[previous_id, f"user:{previous_id}", f"user:{user_id}"])
            | Q(user_id__in=[v for v in (previous_id, user_id) if v])
        )
        joined = list(Visitor.unscoped.select_for_update().filter(rooftop=rooftop).filter(same_person).order_by("id"))
        ids = [v.id for v in joined]
        Visitor.unscoped.filter(id__in=ids, user_id="").update(user_id=user_id)
        known = [v for v in joined if v.customer_id is not None]
        if not known:
            return set()
        # When the two sides are already different customers, the newest identification wins for the rest;
        # telling two customers apart or merging them is the customer-merge work, not the collector's.
        newest = max(known, key=lambda v: (v.identified_at or at, v.id))
        unlinked = [i for i in ids if i not in {v.id for v in known}]
        return visitors_link_customer(rooftop=rooftop, visitor_ids=unlinked, customer_id=newest.customer_id, at=at,
                                      reason="signed in on the website", batch_received_at=batch_received_at)


def visitors_link_customer(*, rooftop: Rooftop, visitor_ids: Sequence[int], customer_id: int, at: datetime,
                           reason: str, batch_received_at: datetime | None = None) -> set[int]:
    """Join visitors to a customer: their earlier anonymous events join the customer's story.

    Events already attributed to another customer keep it (a shared computer used by two people).
    Returns the visitors whose customer changed; scoring is queued for them after commit.
    """
    if not visitor_ids:
        return set()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE tracking_visitor SET customer_id = %s, identified_at = %s
            WHERE id = ANY(%s) AND rooftop_id = %s AND customer_id IS DISTINCT FROM %s
            RETURNING id
            """,
            [customer_id, at, list(visitor_ids), rooftop.id, customer_id],
        )
        changed = sorted(row[0] for row in cursor.fetchall())
        if not changed:
            return set()
        # Events of the batch being stored that happened after this identification are the new customer's
        # too, even when the browser was someone else's a moment before. A drainer may be marking some of these
        # rows scored: this waits for it, and it never waits for us (it skips a shopper whose rows another
        # transaction holds, alerts.services.INTENT_SAVE_SQL), so links in any order cannot deadlock with it;
        # the scoring queued below picks the skipped shopper up after commit.
        cursor.execute(
            """
            UPDATE tracking_event SET customer_id = %s
            WHERE visitor_id = ANY(%s)
              AND (customer_id IS NULL OR (received_at = %s AND occurred_at >= %s AND customer_id <> %s))
            RETURNING occurred_at < %s
            """,
            [customer_id, changed, batch_received_at, at, customer_id, at],
        )
        # "Earlier" on the timeline: what the shopper did before saying who they are.
        joined = sum(1 for (earlier,) in cursor.fetchall() if earlier)
        CustomerRooftop.objects.get_or_create(customer_id=customer_id, rooftop=rooftop, defaults={"first_seen_at": at})
        TimelineEntry.unscoped.create(
            customer_id=customer_id, rooftop=rooftop, department=TimelineEntry.Department.WEB,
            kind=TimelineEntry.Kind.WEB_SESSION, occurred_at=at,
            summary=f"Identified on the website: {reason}"
                    + (f"; {joined} earlier website event{'s' if joined != 1 else ''} joined their story" if joined
                       else ""),
            detail={"visitor_ids": changed, "events_joined": joined, "how": reason},
        )
        _queue_scoring_after_commit(changed)
    return set(changed)


@dataclass(frozen=True)
class MoveResult:
    visitor_ids: tuple[int, ...]
    events_moved: int


def visitors_move_to_customer(*, from_customer_id: int, to_customer_id: int,
                              visitor_ids: Sequence[int] | None = None) -> MoveResult:
    """Two customers found to be one person: every visitor and web event of one moves to the other.

    For the customer-merge work. No event is lost or copied: rows are re-pointed. To undo a merge, call it
    the other way round with the `visitor_ids` this returned, which moves back exactly those visitors.
    """
    if from_customer_id == to_customer_id:
        return MoveResult((), 0)
    with transaction.atomic(), connection.cursor() as cursor:
        visitors = Visitor.unscoped.select_for_update().filter(customer_id=from_customer_id)
        if visitor_ids is not None:
            visitors = visitors.filter(id__in=list(visitor_ids))
        moved = list(visitors.order_by("id").values_list("id", "rooftop_id"))
        ids = [v for v, _ in moved]
        Visitor.unscoped.filter(id__in=ids).update(customer_id=to_customer_id)
        if visitor_ids is None:
            cursor.execute("UPDATE tracking_event SET customer_id = %s WHERE customer_id = %s",
                           [to_customer_id, from_customer_id])
        else:
            cursor.execute("UPDATE tracking_event SET customer_id = %s WHERE customer_id = %s AND visitor_id = ANY(%s)",
                           [to_customer_id, from_customer_id, ids])
        events = cursor.rowcount
        for rooftop_id in sorted({r for _, r in moved}):
            CustomerRooftop.objects.get_or_create(customer_id=to_customer_id, rooftop_id=rooftop_id)
        _queue_scoring_after_commit(ids)
    return MoveResult(tuple(ids), events)


def visitor_for_browser(*, rooftop: Rooftop, anonymous_id: str, at: datetime) -> Visitor | None:
    """The visitor behind a first-party `crm_aid` cookie, made now if its events have not arrived yet."""
    anonymous_id = (anonymous_id or "").strip()
    if not anonymous_id or len(anonymous_id) > 100:
        return None
    visitor, _ = Visitor.unscoped.get_or_create(
        rooftop=rooftop, anonymous_id=anonymous_id, defaults={"first_seen_at": at, "last_seen_at": at}
    )
    return visitor


# --- web leads: the dealer website's forms -------------------------------------------------------------

SALES_FORMS = {
    "contact": "Contact request",
    "test_drive": "Test drive request",
    "credit": "Credit application started",
    "trade": "Trade-in offer request",
    "price_alert": "Price-drop alert",
}
SERVICE_FORMS = {"service": "Service appointment request"}


@dataclass(frozen=True)
class WebLeadInput:
    """A form the shopper sent from the dealer's website, already validated by the form."""

    form_type: str  # a key of SALES_FORMS or SERVICE_FORMS
    first_name: str
    last_name: str
    email: str  # normalized (identity.normalize_email) or empty
    phone: str  # E.164 or empty; at least one of email/phone is given
    comments: str = ""
    vehicle_id: int | None = None
    preferred_at: datetime | None = None
    trade_in: dict[str, Any] = field(default_factory=dict)
    sms_consent_text: str = ""  # the exact words next to the ticked box; empty when not ticked
    submission_id: str = ""  # from the rendered form: a double submit makes one lead
    price_alert_below_cents: int | None = None  # price_alert: "tell me when it drops below"; None: any drop


@dataclass(frozen=True)
class WebLeadResult:
    customer: Customer
    lead: Lead | None
    appointment: Appointment | None
    customer_created: bool


def web_lead_create(*, rooftop: Rooftop, form: WebLeadInput, anonymous_id: str = "",
                    at: datetime | None = None) -> WebLeadResult:
    """A website form: match or create the customer, record consent, make the lead (sales) or the
    appointment request (service), write the timeline, and join the browser's visitor to the customer."""
    at = at or timezone.now()
    if form.form_type not in SALES_FORMS and form.form_type not in SERVICE_FORMS:
        raise ValueError(f"unknown form type {form.form_type!r}")
    if not (form.email or form.phone):
        raise ValueError("a web lead needs an email address or a phone number")
    claims = Claims(email=form.email, phone=form.phone, first_name=form.first_name, last_name=form.last_name)
    vehicle = (InventoryVehicle.unscoped.filter(rooftop=rooftop, id=form.vehicle_id).first()
               if form.vehicle_id else None)
    with transaction.atomic():
        keys_lock(rooftop.dealer_group_id, claims.keys)
        dedupe_key = f"web:{form.submission_id}" if form.submission_id else ""
        if dedupe_key:
            existing = Lead.unscoped.filter(rooftop=rooftop, dedupe_key=dedupe_key).select_related("customer").first()
            if existing is not None:
                return WebLeadResult(existing.customer, existing, None, False)
        # A form states who the shopper is: their email, else their phone; a browser's earlier identity
        # is not enough to file a new inquiry under someone else (the claims carry no token or user id).
        matched = customer_match_or_create(rooftop=rooftop, contact=claims.contact, keys=claims.keys,
                                           source="web form", at=at)
        customer, created = matched.customer, matched.created
        if form.sms_consent_text and form.phone:
            ConsentRecord.objects.create(
                customer=customer, dealer_group_id=rooftop.dealer_group_id, channel=ConsentRecord.Channel.SMS,
                purpose=ConsentRecord.Purpose.TRANSACTIONAL, granted=True, text_shown=form.sms_consent_text,
                source=f"web form: {form.form_type} on {rooftop.name}"[:100], recorded_at=at,
            )
        vehicle_text = f"{vehicle.title} (stock {vehicle.stock_number})" if vehicle else ""
        lead = appointment = None
        if form.form_type in SALES_FORMS:
            label = SALES_FORMS[form.form_type]
            comments = form.comments
            if form.preferred_at:
                comments = f"Preferred time: {_local(form.preferred_at, rooftop):%a %b %-d, %-I:%M %p}\n{comments}"
            lead = Lead.unscoped.create(
                rooftop=rooftop, customer=customer, source=Lead.Source.WEB_FORM, provider="Dealer website",
                vehicle=vehicle, vehicle_description=vehicle_text[:200], trade_in=form.trade_in,
                comments=f"{label}\n{comments}".strip(), created_at=at, dedupe_key=dedupe_key,
            )
            TimelineEntry.unscoped.create(
                customer=customer, rooftop=rooftop, department=TimelineEntry.Department.WEB,
                kind=TimelineEntry.Kind.LEAD, occurred_at=at, lead=lead,
                summary=f"New website lead: {label}" + (f" — {vehicle_text}" if vehicle_text else ""),
                body=form.comments, detail={"form_type": form.form_type, "submission_id": form.submission_id},
            )
            from leads.services.notices import lead_webhook

            lead_webhook(lead, "lead.created", now=at)
            if form.form_type == "price_alert" and vehicle is not None:
                from marketing.price_drops import price_drop_subscribe

                # The shopper asked to hear of this car's price drops: marketing sends them (marketing.price_drops).
                price_drop_subscribe(rooftop=rooftop, customer=customer, vehicle=vehicle,
                                     below_cents=form.price_alert_below_cents, source="website price alert", at=at)
        else:
            when = form.preferred_at or at
            appointment = Appointment.unscoped.create(
                rooftop=rooftop, customer=customer, department=Appointment.Department.SERVICE,
                kind=Appointment.Kind.SERVICE, scheduled_at=when, created_at=at,
                notes=f"Requested on the website. {form.comments}".strip(),
            )
            TimelineEntry.unscoped.create(
                customer=customer, rooftop=rooftop, department=TimelineEntry.Department.SERVICE,
                kind=TimelineEntry.Kind.APPOINTMENT, occurred_at=at,
                summary=f"Service appointment requested on the website for {_local(when, rooftop):%a %b %-d, %-I:%M %p}",
                body=form.comments, detail={"form_type": form.form_type, "submission_id": form.submission_id},
            )
            from customers.services import appointment_webhook

            appointment_webhook(appointment, "appointment.created")
        visitor = visitor_for_browser(rooftop=rooftop, anonymous_id=anonymous_id, at=at)
        if visitor is not None:
            visitors_link_customer(rooftop=rooftop, visitor_ids=[visitor.id], customer_id=customer.id, at=at,
                                   reason="sent a form on the website")
    return WebLeadResult(customer, lead, appointment, created)


def _local(moment: datetime, rooftop: Rooftop) -> datetime:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(rooftop.time_zone))
