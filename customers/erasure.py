"""The one eraser: a deletion request (CCPA and similar) or the retention purge removes a customer's personal
data everywhere it is held, keeps a hashed do-not-contact entry for each address, and records what was done.

What is kept, on purpose: the customer row (anonymised, `erased_at` set) and the rows KPIs count (leads,
appointments, timeline entries, messages, alerts, repair orders) with their kinds, statuses and times, but
with every free text, address, VIN and snapshot blanked. What is deleted: emails and phones (after their
suppression digests are written), website visitors and their events, duplicate candidates.

Consent records are kept without their quoted text: their dates (granted, revoked) answer a later complaint
about a message sent before the erasure, and once the customer row and contact points are gone they identify
nobody.

Each step is one transaction that also writes its counts to the ErasureRecord, so a worker killed mid-way
re-runs cleanly: committed steps are skipped, the interrupted one is redone (every step is idempotent).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import connection, models, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from customers.models import (
    Appointment, ConsentRecord, Customer, CustomerEmail, CustomerPhone, DuplicateCandidate, ErasureRecord,
    InboundMessage, MergeRecord, OutboundMessage, OwnedVehicle, SuppressionEntry, TimelineEntry,
)
from customers.suppression import address_suppress, channel_of

logger = logging.getLogger(__name__)

ERASED_NAME = "Erased customer"
CANCELLED = "Cancelled: the customer's personal data was erased"
Status = ErasureRecord.Status
# Timeline `detail` keys whose string values are codes, not words anyone typed; every other string goes.
DETAIL_CODES = frozenset({"channel", "delivery", "direction", "outcome", "status", "kind", "from_status",
                          "to_status", "source", "department"})


class ErasureRefused(Exception):
    """The request cannot be taken (wrong group, already erased, a merged record)."""


# --------------------------------------------------------------------------- requests


def erasure_request(*, customer: Customer, source: str, reason: str, user: User | None = None,
                    username: str = "") -> ErasureRecord:
    """Record a deletion request and have it carried out by a worker after commit (the message carries the id)."""
    if customer.merged_into_id:
        raise ErasureRefused("This record was merged into another: erase the record it was merged into.")
    with transaction.atomic():
        record = ErasureRecord.unscoped.create(
            dealer_group_id=customer.dealer_group_id, customer_id=customer.pk, source=source, reason=reason[:500],
            requested_by_id=user.pk if user else None,
            requested_by_username=(user.get_username() if user else username)[:150],
        )
        record_id = record.pk

        def hand_over() -> None:
            from crm.handoff import hand_off
            from customers.tasks import erase_customer as erase_task

            # Redis down: the retention sweep picks up records left queued (erasures_resume).
            hand_off(lambda: erase_task.delay(record_id), what=f"erasure {record_id}")

        transaction.on_commit(hand_over)
    return record


# --------------------------------------------------------------------------- the eraser


def erase_customer(*, record_id: int, now: datetime | None = None) -> ErasureRecord:
    """Carry out one ErasureRecord, step by step; a finished record is left as it is."""
    now = now or timezone.now()
    record = ErasureRecord.unscoped.get(pk=record_id)
    if record.status == Status.DONE:
        return record
    ErasureRecord.unscoped.filter(pk=record_id).update(
        status=Status.RUNNING, started_at=Coalesce("started_at", models.Value(now)), steps_total=len(STEPS),
        error="")
    step_name = ""
    try:
        for step_name, step in STEPS:
            with transaction.atomic():
                record = ErasureRecord.unscoped.select_for_update().get(pk=record_id)
                if step_name in record.counts:
                    continue  # committed before a crash
                ids = person_ids(customer_id=record.customer_id, dealer_group_id=record.dealer_group_id)
                counts = step(ids=ids, dealer_group_id=record.dealer_group_id, now=now)
                record.counts = {**record.counts, step_name: counts}
                record.steps_done, record.current_step = len(record.counts), step_name
                record.save(update_fields=["counts", "steps_done", "current_step"])
    except Exception as exc:
        # The class and the step only: a database error's text may quote the very data being erased.
        ErasureRecord.unscoped.filter(pk=record_id).update(
            status=Status.FAILED, error=f"{exc.__class__.__name__} while erasing {step_name}"[:500],
            finished_at=timezone.now())
        raise
    ErasureRecord.unscoped.filter(pk=record_id).update(status=Status.DONE, current_step="", finished_at=timezone.now())
    record.refresh_from_db()
    return record


def person_ids(*, customer_id: int, dealer_group_id: int) -> list[int]:
    """The customer and every record merged into them (the same person, kept only so a merge could be undone)."""
    ids: set[int] = set()
    frontier = set(Customer.unscoped.filter(pk=customer_id, dealer_group_id=dealer_group_id).values_list("pk", flat=True))
    while frontier:
        ids |= frontier
        frontier = set(Customer.unscoped.filter(merged_into_id__in=frontier).values_list("pk", flat=True)) - ids
    return sorted(ids)


StepCounts = dict[str, int]


def _cancel_queued_messages(*, ids: list[int], dealer_group_id: int, now: datetime) -> StepCounts:
    # First, so nothing goes out while the rest runs. A row a worker is sending right now is left to finish.
    cancelled = OutboundMessage.unscoped.filter(
        customer_id__in=ids, status__in=[OutboundMessage.Status.QUEUED, OutboundMessage.Status.WAITING_QUIET_HOURS],
    ).update(status=OutboundMessage.Status.SUPPRESSED, error=CANCELLED)
    return {"queued_messages_cancelled": cancelled}


def _suppress_and_delete_contact_points(*, ids: list[int], dealer_group_id: int, now: datetime) -> StepCounts:
    # Every address they were ever written to or wrote from, not only the current ones.
    addresses: set[tuple[str, str]] = set()
    addresses |= {(SuppressionEntry.Channel.EMAIL, e) for e in
                  CustomerEmail.objects.filter(customer_id__in=ids).values_list("email", flat=True)}
    addresses |= {(SuppressionEntry.Channel.PHONE, p) for p in
                  CustomerPhone.objects.filter(customer_id__in=ids).values_list("e164", flat=True)}
    for channel, to in OutboundMessage.unscoped.filter(customer_id__in=ids).exclude(to_address="").values_list(
            "channel", "to_address").distinct():
        addresses.add((channel_of(channel), to))
    for number in _inbound(ids).exclude(from_number="").values_list("from_number", flat=True).distinct():
        addresses.add((SuppressionEntry.Channel.PHONE, number))
    added = sum(address_suppress(dealer_group_id=dealer_group_id, channel=channel, address=address,
                                 reason=SuppressionEntry.Reason.ERASURE) for channel, address in sorted(addresses))
    emails, _ = CustomerEmail.objects.filter(customer_id__in=ids).delete()
    phones, _ = CustomerPhone.objects.filter(customer_id__in=ids).delete()
    return {"suppression_entries": added, "emails": emails, "phones": phones}


def _strip_consents(*, ids: list[int], dealer_group_id: int, now: datetime) -> StepCounts:
    stripped = ConsentRecord.objects.filter(customer_id__in=ids).exclude(text_shown="").update(text_shown="")
    return {"consent_texts": stripped}


def _strip_vehicles(*, ids: list[int], dealer_group_id: int, now: datetime) -> StepCounts:
    # No plate is stored; the VIN is what ties a car to its owner. The loan (lender, account, payoff) is their
    # finances, encrypted at rest, and goes too: only isnull can be asked of those columns.
    vehicles = OwnedVehicle.objects.filter(customer_id__in=ids)
    financed = vehicles.filter(models.Q(lender__isnull=False) | models.Q(finance_account_number__isnull=False)
                               | models.Q(payoff_cents__isnull=False))
    return {"vehicle_vins": vehicles.exclude(vin="").update(vin=""),
            "vehicle_finances": financed.update(lender=None, finance_account_number=None, payoff_cents=None)}


def _strip_appointments(*, ids: list[int], dealer_group_id: int, now: datetime) -> StepCounts:
    return {"appointment_notes": Appointment.unscoped.filter(customer_id__in=ids).exclude(notes="").update(notes="")}


def scrubbed_detail(detail: dict) -> dict:
    """Pure: a timeline entry's detail without anything a person wrote or an address (ids, flags, codes stay)."""
    kept = {}
    for key, value in (detail or {}).items():
        if value is None or isinstance(value, (bool, int, float)):
            kept[key] = value
        elif isinstance(value, str) and key in DETAIL_CODES and len(value) <= 40:
            kept[key] = value
    return kept


def _strip_timeline(*, ids: list[int], dealer_group_id: int, now: datetime) -> StepCounts:
    # Kind, department, direction and time stay: the KPIs count calls, texts and visits by them.
    changed = []
    for entry in TimelineEntry.unscoped.filter(customer_id__in=ids).only("id", "summary", "body", "detail").iterator():
        detail = scrubbed_detail(entry.detail)
        if entry.summary or entry.body or detail != entry.detail:
            entry.summary, entry.body, entry.detail = "", "", detail
            changed.append(entry)
    TimelineEntry.unscoped.bulk_update(changed, ["summary", "body", "detail"], batch_size=500)
    return {"timeline_entries": len(changed)}


def _strip_messages(*, ids: list[int], dealer_group_id: int, now: datetime) -> StepCounts:
    outbound = OutboundMessage.unscoped.filter(customer_id__in=ids).filter(
        ~models.Q(body="") | ~models.Q(subject="") | ~models.Q(to_address="") | ~models.Q(error__in=["", CANCELLED])
    )
    # An error can quote the address ("No text consent for +1617..."); the cancellation note quotes nothing.
    out = outbound.update(body="", subject="", to_address="",
                          error=models.Case(models.When(error=CANCELLED, then=models.Value(CANCELLED)),
                                            default=models.Value("")))
    inbound = _inbound(ids).filter(~models.Q(body="") | ~models.Q(from_number="")).update(body="", from_number="")
    return {"outbound_messages": out, "inbound_messages": inbound}


def _inbound(ids: list[int]) -> models.QuerySet:
    # Inbound texts name their customers in a JSON list (one number may match several records).
    match = models.Q(pk__in=[])
    for pk in ids:
        match |= models.Q(customer_ids__contains=[pk])
    return InboundMessage.objects.filter(match)


def _strip_leads(*, ids: list[int], dealer_group_id: int, now: datetime) -> StepCounts:
    from leads.models import AdfReview, Lead, LeadNotification, LeadReroute, LeadStatusChange

    leads = Lead.unscoped.filter(customer_id__in=ids)
    # Kept for the KPIs (source, status, times, who worked it); the raw ADF document, comments, the trade-in
    # (its VIN) and the dedupe key (a hash of their contact points for unnumbered leads) go.
    stripped = leads.filter(~models.Q(comments="") | ~models.Q(raw_adf="") | ~models.Q(lost_reason="")
                            | ~models.Q(trade_in={}) | ~models.Q(dedupe_key="")).update(
        comments="", raw_adf="", lost_reason="", trade_in={}, dedupe_key="")
    lead_ids = list(leads.values_list("pk", flat=True))
    # Staff-facing texts about the lead quote the customer's name ("New lead: Pat Shopper ...").
    notes = LeadNotification.unscoped.filter(lead_id__in=lead_ids).exclude(text="").update(text="")
    reroutes = LeadReroute.unscoped.filter(lead_id__in=lead_ids).exclude(reason="").update(reason="")
    changes = LeadStatusChange.objects.filter(lead_id__in=lead_ids).exclude(reason="").update(reason="")
    reviews = AdfReview.unscoped.filter(lead_id__in=lead_ids).exclude(raw="", reason="").update(raw="", reason="")
    return {"leads": stripped, "lead_notifications": notes, "lead_reroutes": reroutes,
            "lead_status_changes": changes, "adf_documents": reviews}


def _visitor_ids(ids: list[int]) -> list[int]:
    from tracking.models import Visitor

    return list(Visitor.unscoped.filter(customer_id__in=ids).values_list("pk", flat=True))


def _strip_alerts(*, ids: list[int], dealer_group_id: int, now: datetime) -> StepCounts:
    from alerts.models import Alert, AlertAction

    # Before the visitors go: an alert raised while they were still anonymous points only at the visitor.
    alerts = Alert.unscoped.filter(models.Q(customer_id__in=ids) | models.Q(visitor_id__in=_visitor_ids(ids)))
    alert_ids = list(alerts.values_list("pk", flat=True))
    # Reasons and next steps are sentences about the shopper ("Pat viewed the RAV4 3 times ..."); kind,
    # priority, state and times stay for the alert KPIs.
    stripped = Alert.unscoped.filter(pk__in=alert_ids).filter(
        ~models.Q(reasons=[]) | ~models.Q(suggested_next_step="") | ~models.Q(dismissed_reason="")
    ).update(reasons=[], suggested_next_step="", dismissed_reason="")
    notes = AlertAction.objects.filter(alert_id__in=alert_ids).exclude(note="").update(note="")
    return {"alerts": stripped, "alert_notes": notes}


def _delete_web_tracking(*, ids: list[int], dealer_group_id: int, now: datetime) -> StepCounts:
    from alerts.models import ShopperIntent
    from tracking.models import Visitor

    visitor_ids = _visitor_ids(ids)
    with connection.cursor() as cursor:
        # tracking_event is partitioned by month and unmanaged: one statement reaches every partition. Events
        # from before the visitor was identified carry only the visitor id.
        cursor.execute("DELETE FROM tracking_event WHERE customer_id = ANY(%s) OR visitor_id = ANY(%s)",
                       [ids, visitor_ids])
        events = cursor.rowcount
    intents, _ = ShopperIntent.unscoped.filter(
        models.Q(customer_id__in=ids) | models.Q(visitor_id__in=visitor_ids)).delete()
    visitors, _ = Visitor.unscoped.filter(pk__in=visitor_ids).delete()
    return {"web_events": events, "web_visitors": visitors, "shopper_intents": intents}


def _scrub_merges(*, ids: list[int], dealer_group_id: int, now: datetime) -> StepCounts:
    # The undo snapshot keeps the survivor's old field values ("filled"); an undo would put them back.
    scrubbed = []
    for record in MergeRecord.unscoped.filter(models.Q(survivor_id__in=ids) | models.Q(merged_id__in=ids)):
        if record.snapshot.get("erased"):
            continue
        record.snapshot = {**record.snapshot, "filled": {name: "" for name in record.snapshot.get("filled", {})},
                           "erased": True}
        scrubbed.append(record)
    MergeRecord.unscoped.bulk_update(scrubbed, ["snapshot"])
    return {"merge_records": len(scrubbed)}


def _delete_duplicate_candidates(*, ids: list[int], dealer_group_id: int, now: datetime) -> StepCounts:
    # Their reasons quote the shared address ("same email jo@example.com").
    deleted, _ = DuplicateCandidate.unscoped.filter(
        models.Q(customer_a_id__in=ids) | models.Q(customer_b_id__in=ids)).delete()
    return {"duplicate_candidates": deleted}


def _delete_chat_transcripts(*, ids: list[int], dealer_group_id: int, now: datetime) -> StepCounts:
    # HOOK: chat transcripts do not exist yet (the after-hours assistant is a later issue). When they land,
    # delete or blank them here, in this step, so every erasure reaches them.
    return {"chat_transcripts": 0}


def _anonymise_customer(*, ids: list[int], dealer_group_id: int, now: datetime) -> StepCounts:
    # Last, so a half-done erasure still shows who it is about to the manager watching it. `search_name` is a
    # stored generated column and the trigram indexes follow the row, so search forgets them in this UPDATE.
    anonymised = Customer.unscoped.filter(pk__in=ids, erased_at__isnull=True).update(
        first_name=ERASED_NAME, last_name="", street="", city="", region="", postal_code="", time_zone="",
        preferred_contact="", link_token=None, date_of_birth=None, drivers_licence_number=None,
        drivers_licence_state="", erased_at=now, updated_at=now)
    return {"customers": anonymised}


def _strip_webhook_deliveries(*, ids: list[int], dealer_group_id: int, now: datetime) -> StepCounts:
    """Webhook deliveries about them (still waiting, or in the log) keep ids and statuses; names and sentences go."""
    from alerts.models import Alert
    from leads.models import Lead
    from rooftops.models import WebhookDelivery
    from rooftops.webhook_rules import scrubbed_payload

    keys = [f"customer:{pk}" for pk in ids]
    keys += [f"lead:{pk}" for pk in Lead.unscoped.filter(customer_id__in=ids).values_list("pk", flat=True)]
    keys += [f"appointment:{pk}" for pk in Appointment.unscoped.filter(customer_id__in=ids).values_list("pk", flat=True)]
    keys += [f"alert:{pk}" for pk in Alert.unscoped.filter(customer_id__in=ids).values_list("pk", flat=True)]
    changed = []
    for delivery in WebhookDelivery.unscoped.filter(object_key__in=keys).only("id", "payload").iterator():
        scrubbed = scrubbed_payload(delivery.payload)
        if scrubbed != delivery.payload:
            delivery.payload = scrubbed
            changed.append(delivery)
    WebhookDelivery.unscoped.bulk_update(changed, ["payload"], batch_size=500)
    return {"webhook_deliveries": len(changed)}


STEPS: tuple[tuple[str, Callable[..., StepCounts]], ...] = (
    ("cancel_queued_messages", _cancel_queued_messages),
    ("contact_points", _suppress_and_delete_contact_points),
    ("consents", _strip_consents),
    ("vehicles", _strip_vehicles),
    ("appointments", _strip_appointments),
    ("timeline", _strip_timeline),
    ("messages", _strip_messages),
    ("leads", _strip_leads),
    ("alerts", _strip_alerts),
    ("web_tracking", _delete_web_tracking),
    ("merges", _scrub_merges),
    ("duplicates", _delete_duplicate_candidates),
    ("chat_transcripts", _delete_chat_transcripts),
    ("webhook_deliveries", _strip_webhook_deliveries),
    ("customer", _anonymise_customer),
)


# --------------------------------------------------------------------------- retention and recovery

RESUME_AFTER_MINUTES = 15


def erasures_resume(*, now: datetime) -> int:
    """Carry out records left queued or running (a lost task message, a worker that died and never came back),
    and try failed ones again: honouring the request is not optional, and a failure is logged each time."""
    stale = now - timedelta(minutes=RESUME_AFTER_MINUTES)
    ids = list(ErasureRecord.unscoped.filter(status__in=[Status.QUEUED, Status.RUNNING, Status.FAILED],
                                             created_at__lt=stale)
               .order_by("pk").values_list("pk", flat=True)[:100])
    for record_id in ids:
        try:
            erase_customer(record_id=record_id, now=now)
        except Exception:  # noqa: BLE001 - recorded as failed on the record; the next one still runs
            logger.exception("erasure %s failed again", record_id)
    return len(ids)


def retention_purge(*, now: datetime, retention_days: int, batch_size: int = 200, limit: int = 1000) -> list[int]:
    """Erase customers unused for `retention_days` (none when 0); returns the ErasureRecord ids, at most `limit`.

    Read in batches by id; each customer is erased through the same eraser as a request, with its own record.
    What is left over is taken by the next daily run.
    """
    from customers.retention import retention_cutoff, unused_since_cutoff
    from customers.selectors import retention_activity_batch

    cutoff = retention_cutoff(now=now, retention_days=retention_days)
    if cutoff is None:
        return []
    done: list[int] = []
    after_id = 0
    while len(done) < limit:
        batch = retention_activity_batch(after_id=after_id, created_before=cutoff, limit=batch_size)
        if not batch:
            break
        for customer_id, group_id, activity in batch:
            after_id = customer_id
            if not unused_since_cutoff(activity, cutoff=cutoff) or len(done) >= limit:
                continue
            record = ErasureRecord.unscoped.create(
                dealer_group_id=group_id, customer_id=customer_id, source=ErasureRecord.Source.RETENTION,
                reason=f"No activity for {retention_days} days", created_at=now)
            try:
                erase_customer(record_id=record.pk, now=now)
            except Exception:  # noqa: BLE001 - the record says it failed; erasures_resume tries again
                logger.exception("retention erasure %s failed", record.pk)
            done.append(record.pk)
    return done
