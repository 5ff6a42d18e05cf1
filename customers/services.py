"""Writes for customers: matching arrivals, duplicates, merge and undo, web sessions, staff actions.

Every function owns its transaction. Side effects for other apps are queued with `transaction.on_commit`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime

from django.apps import apps
from django.contrib.auth.models import User
from django.db import connection, models, transaction
from django.utils import timezone
from django.urls import reverse

from crm.times import displayable
from customers.models import (
    Appointment, Customer, CustomerEmail, CustomerPhone, CustomerRooftop, DuplicateCandidate, MergeRecord, TimelineEntry,
)
from customers.web_sessions import WebEvent, sessions_from_events
from rooftops.models import Rooftop

logger = logging.getLogger(__name__)


class ActionRefused(ValueError):
    """A staff action that cannot be done as asked; the message is shown to them as is."""


# ---------------------------------------------------------------------------------------------------------
# Duplicates
# ---------------------------------------------------------------------------------------------------------

# With the same street and postal code, a loosely similar name is enough to ask ("Katharine O'Neil" ~ "Katherine Oneil").
NAME_SIMILARITY = 0.45


# The address as compared: postal code and street, lower case, runs of spaces as one (the `customer_address` index).
_ADDRESS = "lower(postal_code), lower(regexp_replace(street, '\\s+', ' ', 'g'))"


def similar_at_same_address(customer_ids: list[int]) -> dict[int, list[int]]:
    """Each customer -> the group's other live records at the same street and postal code with a close name.

    Three lookups for any number of customers (a DMS chunk's thousand), each driven by what it is given: the
    customers by id, the records at their addresses through the `customer_address` index, the name similarity of
    the pairs found. (One self-join read the same but, on a table a first import had just grown, the planner's
    stale statistics made it compare every customer with every other.)"""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, dealer_group_id, {_ADDRESS}, search_name FROM customers_customer "
                       "WHERE id = ANY(%s) AND street <> '' AND postal_code <> '' AND btrim(search_name) <> ''",
                       [list(customer_ids)])
        arrivals = cursor.fetchall()
        if not arrivals:
            return {}
        cursor.execute(f"SELECT id, dealer_group_id, {_ADDRESS}, search_name FROM customers_customer "
                       f"WHERE ({_ADDRESS}) IN (SELECT * FROM unnest(%s::text[], %s::text[])) AND merged_into_id IS NULL",
                       [[postal for _, _, postal, _, _ in arrivals], [street for _, _, _, street, _ in arrivals]])
        at_address: dict[tuple, list[tuple[int, str]]] = {}
        for other_id, group_id, postal, street, name in cursor.fetchall():
            at_address.setdefault((group_id, postal, street), []).append((other_id, name))
        pairs = [(customer_id, other_id, name, other_name)
                 for customer_id, group_id, postal, street, name in arrivals
                 for other_id, other_name in at_address.get((group_id, postal, street), ()) if other_id != customer_id]
        if not pairs:
            return {}
        cursor.execute("SELECT similarity(a, b) >= %s FROM unnest(%s::text[], %s::text[]) AS t(a, b)",
                       [NAME_SIMILARITY, [p[2] for p in pairs], [p[3] for p in pairs]])
        close = [row[0] for row in cursor.fetchall()]
    found: dict[int, list[int]] = {}
    for (customer_id, other_id, _, _), is_close in zip(pairs, close):
        if is_close:
            found.setdefault(customer_id, []).append(other_id)
    return found


def customer_duplicates_offer_by_address(*, customer_ids: list[int]) -> int:
    """A DMS chunk's new customers: offer each close name at the same address to staff (never merged here). A pair
    already known, open or dismissed, is left as it is."""
    pairs = {tuple(sorted((a, b))) for a, others in similar_at_same_address(customer_ids).items() for b in others}
    if not pairs:
        return 0
    groups = dict(Customer.unscoped.filter(id__in={a for a, _ in pairs}).values_list("id", "dealer_group_id"))
    made = DuplicateCandidate.unscoped.bulk_create(
        [DuplicateCandidate(dealer_group_id=groups[a], customer_a_id=a, customer_b_id=b,
                            reasons=["similar name at the same address"]) for a, b in sorted(pairs)],
        ignore_conflicts=True)
    return len(made)


def customer_duplicates_detect(*, customer: Customer) -> list[DuplicateCandidate]:
    """Offer staff every other live record of the group that shares an email or phone, or has a close name
    at the same address. Idempotent: a pair is stored once, and a dismissed pair is not offered again."""
    reasons: dict[int, list[str]] = {}
    others = Customer.unscoped.filter(dealer_group_id=customer.dealer_group_id, merged_into__isnull=True).exclude(pk=customer.pk)
    for other_id, email in (CustomerEmail.objects.filter(customer__in=others, email__in=customer.emails.values("email"))
                            .values_list("customer_id", "email")):
        reasons.setdefault(other_id, []).append(f"same email {email}")
    for other_id, e164 in (CustomerPhone.objects.filter(customer__in=others, e164__in=customer.phones.values("e164"))
                           .values_list("customer_id", "e164")):
        reasons.setdefault(other_id, []).append(f"same phone {e164}")
    for other_id in similar_at_same_address([customer.pk]).get(customer.pk, ()):
        reasons.setdefault(other_id, []).append("similar name at the same address")
    found = []
    for other_id, why in reasons.items():
        a, b = sorted((customer.pk, other_id))
        candidate, made = DuplicateCandidate.unscoped.get_or_create(
            customer_a_id=a, customer_b_id=b,
            defaults={"dealer_group_id": customer.dealer_group_id, "reasons": sorted(set(why))},
        )
        if not made and candidate.status == DuplicateCandidate.Status.OPEN:
            merged = sorted(set(candidate.reasons) | set(why))
            if merged != candidate.reasons:
                candidate.reasons = merged
                candidate.save(update_fields=["reasons"])
        found.append(candidate)
    return found


def duplicate_dismiss(*, candidate: DuplicateCandidate, user: User) -> None:
    candidate.status = DuplicateCandidate.Status.DISMISSED
    candidate.resolved_at = timezone.now()
    candidate.resolved_by = user
    candidate.save(update_fields=["status", "resolved_at", "resolved_by"])


# ---------------------------------------------------------------------------------------------------------
# Merge and undo
# ---------------------------------------------------------------------------------------------------------

# Bookkeeping about customers themselves; these rows describe the records, they do not move with them.
_NOT_MOVED = {"customers.DuplicateCandidate", "customers.MergeRecord", "customers.CustomerRooftop",
              "customers.Customer", "tracking.Visitor", "tracking.TrackedEvent"}
_FILLABLE = ("first_name", "last_name", "street", "city", "region", "postal_code", "time_zone", "preferred_contact",
             # Encrypted fields fill only an empty one, so the snapshot keeps None or "", never a plain value.
             "date_of_birth", "drivers_licence_number", "drivers_licence_state")


def _customer_foreign_keys() -> list[models.ForeignKey]:
    """Every foreign key to Customer in every installed app, so rows of apps written later move too."""
    keys = []
    for model in apps.get_models():
        if model._meta.label in _NOT_MOVED or not model._meta.managed:
            continue
        for f in model._meta.get_fields():
            if isinstance(f, models.ForeignKey) and f.related_model is Customer:
                keys.append(f)
    return keys


def _visitors_move_to_customer(*, from_customer_id: int, to_customer_id: int) -> dict[str, list[int]]:
    """Web visitors and their events follow a merge. Stand-in for tracking.services.visitors_move_to_customer
    (tracking engineer); kept here so merges work before that lands. Returns the ids moved, for undo."""
    from tracking.models import Visitor

    visitor_ids = list(Visitor.unscoped.filter(customer_id=from_customer_id).values_list("id", flat=True))
    Visitor.unscoped.filter(id__in=visitor_ids).update(customer_id=to_customer_id)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tracking_event SET customer_id = %s WHERE customer_id = %s RETURNING id",
                       [to_customer_id, from_customer_id])
        event_ids = [row[0] for row in cursor.fetchall()]
    return {"visitors": visitor_ids, "events": event_ids}


def _visitors_move_back(*, moved: dict[str, list[int]], from_customer_id: int, to_customer_id: int) -> None:
    from tracking.models import Visitor

    Visitor.unscoped.filter(id__in=moved.get("visitors", []), customer_id=to_customer_id).update(customer_id=from_customer_id)
    if moved.get("events"):
        with connection.cursor() as cursor:
            cursor.execute("UPDATE tracking_event SET customer_id = %s WHERE customer_id = %s AND id = ANY(%s)",
                           [from_customer_id, to_customer_id, moved["events"]])


def customer_merge(*, survivor: Customer, merged: Customer, user: User | None,
                   candidate: DuplicateCandidate | None = None) -> MergeRecord:
    """Move everything of `merged` to `survivor`: timeline, leads, appointments, consent, vehicles, ROs, alerts,
    visitors and web events, emails and phones. The merged record stays (forwarding to the survivor) so that
    the merge can be undone exactly from the snapshot in the MergeRecord."""
    if survivor.pk == merged.pk:
        raise ActionRefused("A customer cannot be merged with themselves.")
    if survivor.dealer_group_id != merged.dealer_group_id:
        raise ActionRefused("Customers of different dealer groups cannot be merged.")
    with transaction.atomic():
        # Lock both rows, lowest id first, so two staff merging the same pair cannot interleave.
        locked = {c.pk: c for c in Customer.unscoped.select_for_update().filter(pk__in=[survivor.pk, merged.pk]).order_by("pk")}
        survivor, merged = locked[survivor.pk], locked[merged.pk]
        if merged.merged_into_id or survivor.merged_into_id:
            raise ActionRefused("One of these records was already merged; reload the page.")
        snapshot: dict = {"moved": {}, "filled": {}, "rooftops_added": [], "unprimaried": {}}
        has_primary = {
            "customers.CustomerEmail": survivor.emails.filter(is_primary=True).exists(),
            "customers.CustomerPhone": survivor.phones.filter(is_primary=True).exists(),
        }
        for fk in _customer_foreign_keys():
            model = fk.model
            manager = model._base_manager
            ids = list(manager.filter(**{fk.attname: merged.pk}).values_list("pk", flat=True))
            if not ids:
                continue
            label = f"{model._meta.label}.{fk.name}"
            if has_primary.get(model._meta.label):
                demoted = list(manager.filter(pk__in=ids, is_primary=True).values_list("pk", flat=True))
                manager.filter(pk__in=demoted).update(is_primary=False)
                snapshot["unprimaried"][model._meta.label] = demoted
            manager.filter(pk__in=ids).update(**{fk.attname: survivor.pk})
            snapshot["moved"][label] = ids
        snapshot["tracking"] = _visitors_move_to_customer(from_customer_id=merged.pk, to_customer_id=survivor.pk)
        known = set(survivor.known_at.values_list("rooftop_id", flat=True))
        for link in merged.known_at.all():
            if link.rooftop_id not in known:
                added = CustomerRooftop.objects.create(customer=survivor, rooftop_id=link.rooftop_id, first_seen_at=link.first_seen_at)
                snapshot["rooftops_added"].append(added.pk)
        filled = []
        for name in _FILLABLE:
            if not getattr(survivor, name) and getattr(merged, name):
                snapshot["filled"][name] = getattr(survivor, name)
                setattr(survivor, name, getattr(merged, name))
                filled.append(name)
        if filled:
            survivor.save(update_fields=[*filled, "updated_at"])
        merged.merged_into = survivor
        merged.save(update_fields=["merged_into", "updated_at"])
        record = MergeRecord.unscoped.create(
            dealer_group_id=survivor.dealer_group_id, survivor=survivor, merged=merged, candidate=candidate,
            snapshot=snapshot, merged_by=user,
        )
        entry = TimelineEntry.unscoped.create(
            customer=survivor, rooftop=None, department=TimelineEntry.Department.SYSTEM, kind=TimelineEntry.Kind.MERGE,
            summary=f"Merged with {merged.full_name or 'customer'} #{merged.pk}", actor=user,
            detail={"merge_record_id": record.pk, "merged_customer_id": merged.pk},
        )
        record.snapshot = {**snapshot, "merge_entry_id": entry.pk}
        record.save(update_fields=["snapshot"])
        DuplicateCandidate.unscoped.filter(
            models.Q(customer_a_id=merged.pk) | models.Q(customer_b_id=merged.pk), status=DuplicateCandidate.Status.OPEN,
        ).update(status=DuplicateCandidate.Status.MERGED, resolved_at=timezone.now(), resolved_by=user)
        _merge_webhook(survivor=survivor, merged=merged, record=record)
    return record


def _merge_webhook(*, survivor: Customer, merged: Customer, record: MergeRecord) -> None:
    """`customer.merged` to every store that knows the survivor (a customer belongs to the dealer group)."""
    from rooftops.webhooks import site_link, webhooks_emit

    data = {"customer": {"id": survivor.pk, "name": survivor.full_name,
                         "url": site_link(reverse("customer-detail", kwargs={"customer_id": survivor.pk}))},
            "merged_customer_id": merged.pk, "merge_id": record.pk}
    for rooftop_id in survivor.known_at.values_list("rooftop_id", flat=True):
        webhooks_emit(rooftop_id, "customer.merged", data, object_key=f"customer:{survivor.pk}")


def merge_undo(*, record: MergeRecord, user: User | None) -> None:
    """Put every row the merge moved back where it was; the survivor keeps what it had before."""
    with transaction.atomic():
        record = MergeRecord.unscoped.select_for_update().get(pk=record.pk)
        if record.undone_at:
            raise ActionRefused("This merge was already undone.")
        if record.snapshot.get("erased"):
            # customers.erasure scrubbed the values the undo would restore; the person asked to be forgotten.
            raise ActionRefused("A customer of this merge had their personal data erased; it cannot be undone.")
        survivor = Customer.unscoped.select_for_update().get(pk=record.survivor_id)
        merged = Customer.unscoped.select_for_update().get(pk=record.merged_id)
        snap = record.snapshot
        TimelineEntry.unscoped.filter(pk=snap.get("merge_entry_id")).delete()
        for label, ids in snap.get("moved", {}).items():
            app_model, _, field_name = label.rpartition(".")
            model = apps.get_model(app_model)
            attname = model._meta.get_field(field_name).attname
            model._base_manager.filter(pk__in=ids, **{attname: survivor.pk}).update(**{attname: merged.pk})
        for label, ids in snap.get("unprimaried", {}).items():
            apps.get_model(label)._base_manager.filter(pk__in=ids).update(is_primary=True)
        _visitors_move_back(moved=snap.get("tracking", {}), from_customer_id=merged.pk, to_customer_id=survivor.pk)
        CustomerRooftop.objects.filter(pk__in=snap.get("rooftops_added", [])).delete()
        if snap.get("filled"):
            for name, old in snap["filled"].items():
                setattr(survivor, name, old)
            survivor.save(update_fields=[*snap["filled"], "updated_at"])
        merged.merged_into = None
        merged.save(update_fields=["merged_into", "updated_at"])
        record.undone_at = timezone.now()
        record.undone_by = user
        record.save(update_fields=["undone_at", "undone_by"])
        if record.candidate_id:
            DuplicateCandidate.unscoped.filter(pk=record.candidate_id).update(
                status=DuplicateCandidate.Status.OPEN, resolved_at=None, resolved_by=None)


# ---------------------------------------------------------------------------------------------------------
# Web sessions on the timeline
# ---------------------------------------------------------------------------------------------------------

MAX_EVENTS_PER_REFRESH = 5000


def web_sessions_refresh(*, customer_id: int) -> int:
    """Fold a customer's new web events into `web_session` timeline rows; returns how many rows changed.

    Incremental and bounded: it reads only events at or after the start of the customer's latest session
    (at most MAX_EVENTS_PER_REFRESH), so the tracking pipeline can call it after each batch and the customer
    page can call it on open at a cost independent of the customer's history. An event arriving more than
    one session late (skewed clocks) is not folded into an older session.
    """
    # Most opens find nothing to fold (the pipeline already did, or the customer never browsed): a read
    # without the lock says so in one or two queries. Only a refresh with something to write takes the lock
    # and reads again under it, so the page never queues behind a worker to learn that nothing changed.
    events = _web_events_since_latest_session(customer_id)
    if not events or not _web_session_writes(customer_id, events):
        return 0
    with transaction.atomic():
        # One refresher per customer at a time: the page and a worker must not both add the same session.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('web_sessions'), %s)", [customer_id])
        events = _web_events_since_latest_session(customer_id)
        writes = _web_session_writes(customer_id, events) if events else []
        for latest, session, detail in writes:
            if latest is not None:
                latest.summary, latest.detail = session.summary, detail
                latest.save(update_fields=["summary", "detail"])
                continue
            TimelineEntry.unscoped.create(
                customer_id=customer_id, rooftop_id=session.rooftop_id, department=TimelineEntry.Department.WEB,
                kind=TimelineEntry.Kind.WEB_SESSION, occurred_at=session.started_at, summary=session.summary,
                detail=detail,
            )
    return len(writes)


def _web_events_since_latest_session(customer_id: int) -> list[WebEvent]:
    """The customer's web events from the start of their latest `web_session` row on (all of them if none)."""
    query = """
        SELECT id, occurred_at, rooftop_id, event, vin, properties FROM tracking_event
        WHERE customer_id = %s AND occurred_at >= COALESCE((
            SELECT occurred_at FROM customers_timelineentry WHERE customer_id = %s AND kind = %s
            ORDER BY occurred_at DESC, id DESC LIMIT 1), '-infinity')
        ORDER BY occurred_at, id LIMIT %s
    """
    with connection.cursor() as cursor:
        cursor.execute(query, [customer_id, customer_id, TimelineEntry.Kind.WEB_SESSION, MAX_EVENTS_PER_REFRESH])
        # Django leaves jsonb as text on raw cursors (its JSONField does the decoding).
        # Raw rows skip the model field: pull a shopper clock from year 1 or 9999 into range here too.
        return [WebEvent(event_id=r[0], occurred_at=displayable(r[1]), rooftop_id=r[2], event=r[3] or "", vin=r[4] or "",
                         properties=json.loads(r[5]) if isinstance(r[5], str) else (r[5] or {}))
                for r in cursor.fetchall()]


def _web_session_writes(customer_id: int, events: list[WebEvent]) -> list[tuple]:
    """(latest row to update or None to add one, session, detail) for each session the timeline lacks or tells
    differently; the events start at the latest row's start, so only that row can have grown."""
    latest = (TimelineEntry.unscoped.filter(customer_id=customer_id, kind=TimelineEntry.Kind.WEB_SESSION)
              .order_by("-occurred_at", "-id").first())
    writes = []
    for session in sessions_from_events(events):
        detail = {
            "ended_at": session.ended_at.isoformat(), "events": session.event_count,
            "first_event_id": session.first_event_id, "last_event_id": session.last_event_id,
            "vehicles_viewed": session.vehicles_viewed, "top_vehicle": session.top_vehicle,
            "top_vehicle_views": session.top_vehicle_views, "top_vehicle_vin": session.top_vehicle_vin,
            "milestones": list(session.milestones),
        }
        if latest is not None and session.started_at == latest.occurred_at:
            if latest.detail != detail:
                writes.append((latest, session, detail))
            continue
        writes.append((None, session, detail))
    return writes


# ---------------------------------------------------------------------------------------------------------
# Staff actions from the customer page
# ---------------------------------------------------------------------------------------------------------


def call_log(*, customer: Customer, rooftop: Rooftop, user: User, direction: str, outcome: str, notes: str,
             lead=None, occurred_at: datetime | None = None) -> TimelineEntry:
    """A call made or taken by staff; the first outbound call on a lead stamps its first attempt."""
    if direction not in ("in", "out"):
        raise ActionRefused("Say whether the call was outbound or inbound.")
    outcome = outcome.strip()
    if not outcome:
        raise ActionRefused("Pick how the call went.")
    now = occurred_at or timezone.now()
    name = _display_name(user)
    with transaction.atomic():
        entry = TimelineEntry.unscoped.create(
            customer=customer, rooftop=rooftop, department=_department_of(user, rooftop), kind=TimelineEntry.Kind.CALL,
            direction=direction, occurred_at=now, actor=user, lead=lead,
            summary=f"{'Call by' if direction == 'out' else 'Call from customer, taken by'} {name}: {outcome}",
            body=notes.strip(), detail={"outcome": outcome},
        )
        if lead is not None:
            _stamp_lead_contact(lead=lead, at=now, reached=direction == "in" or outcome == "Talked to customer")
    return entry


def note_add(*, customer: Customer, rooftop: Rooftop, user: User, text: str, lead=None) -> TimelineEntry:
    text = text.strip()
    if not text:
        raise ActionRefused("Write something in the note.")
    if len(text) > 5000:
        raise ActionRefused("A note can be at most 5,000 characters.")
    first_line = text.splitlines()[0]
    return TimelineEntry.unscoped.create(
        customer=customer, rooftop=rooftop, department=_department_of(user, rooftop), kind=TimelineEntry.Kind.NOTE,
        actor=user, lead=lead, summary=f"Note by {_display_name(user)}: {first_line[:120]}", body=text,
    )


def appointment_set(*, customer: Customer, rooftop: Rooftop, user: User, kind: str, scheduled_at: datetime,
                    lead=None, notes: str = "") -> Appointment:
    if kind not in Appointment.Kind.values:
        raise ActionRefused("Pick what the appointment is for.")
    if scheduled_at < timezone.now() - _GRACE:
        raise ActionRefused("That time has already passed; pick a time from now on.")
    department = Appointment.Department.SERVICE if kind == Appointment.Kind.SERVICE else Appointment.Department.SALES
    with transaction.atomic():
        appointment = Appointment.unscoped.create(
            rooftop=rooftop, customer=customer, lead=lead, department=department, kind=kind, scheduled_at=scheduled_at,
            assigned_to=user, created_by=user, notes=notes.strip(),
        )
        local = timezone.localtime(scheduled_at, _zone(rooftop))
        TimelineEntry.unscoped.create(
            customer=customer, rooftop=rooftop, department=department, kind=TimelineEntry.Kind.APPOINTMENT, actor=user,
            lead=lead, summary=f"{Appointment.Kind(kind).label} set for {local:%a %b} {local.day}, {local:%-I:%M %p} by {_display_name(user)}",
            body=notes.strip(), detail={"appointment_id": appointment.pk, "status": "scheduled"},
        )
        if lead is not None and lead.status in ("new", "working"):
            _lead_status_change(lead=lead, to_status="appointment_set", user=user, reason="")
        appointment_webhook(appointment, "appointment.created")
    return appointment


def appointment_webhook(appointment: Appointment, event: str, **extra) -> None:
    """`appointment.created` / `appointment.updated` for the store's webhook endpoints (notes are not sent)."""
    from rooftops.webhooks import site_link, webhooks_emit

    def data() -> dict:
        customer = appointment.customer
        return {"appointment": {
            "id": appointment.pk, "kind": appointment.kind, "department": appointment.department,
            "status": appointment.status, "scheduled_at": appointment.scheduled_at.isoformat(),
            "customer": {"id": customer.pk, "name": customer.full_name,
                         "url": site_link(reverse("customer-detail", kwargs={"customer_id": customer.pk}))},
            "lead_id": appointment.lead_id, "assigned_to_id": appointment.assigned_to_id,
        }, **extra}

    webhooks_emit(appointment.rooftop_id, event, data, object_key=f"appointment:{appointment.pk}")


def appointment_mark(*, appointment: Appointment, user: User, status: str) -> Appointment:
    """Shown or no-show (or cancelled); a shown test drive is a test drive on the timeline."""
    if status not in (Appointment.Status.SHOWN, Appointment.Status.NO_SHOW, Appointment.Status.CANCELLED):
        raise ActionRefused("Mark the appointment shown, no-show or cancelled.")
    if appointment.status == status:
        raise ActionRefused(f"The appointment is already marked {Appointment.Status(status).label.lower()}.")
    with transaction.atomic():
        previous = appointment.status
        appointment.status = status
        appointment.status_changed_at = timezone.now()
        appointment.save(update_fields=["status", "status_changed_at"])
        is_drive = status == Appointment.Status.SHOWN and appointment.kind == Appointment.Kind.TEST_DRIVE
        label = {"shown": "showed", "no_show": "did not show", "cancelled": "was cancelled"}[status]
        TimelineEntry.unscoped.create(
            customer_id=appointment.customer_id, rooftop_id=appointment.rooftop_id, department=appointment.department,
            kind=TimelineEntry.Kind.TEST_DRIVE if is_drive else TimelineEntry.Kind.APPOINTMENT, actor=user,
            lead=appointment.lead,
            summary=(f"Test drive taken (marked by {_display_name(user)})" if is_drive else
                     f"{appointment.get_kind_display()} {label} (marked by {_display_name(user)})"),
            detail={"appointment_id": appointment.pk, "status": status, "previous": previous},
        )
        lead = appointment.lead
        if lead is not None and status == Appointment.Status.SHOWN and lead.status in ("new", "working", "appointment_set"):
            _lead_status_change(lead=lead, to_status="shown", user=user, reason="")
        appointment_webhook(appointment, "appointment.updated", change="status", previous_status=previous)
    return appointment


def appointment_update(*, appointment: Appointment, user: User, scheduled_at: datetime | None = None,
                       notes: str | None = None) -> Appointment:
    """Move a scheduled appointment or change its notes; a new time is a line on the timeline."""
    if appointment.status != Appointment.Status.SCHEDULED:
        raise ActionRefused(f"The appointment is {appointment.get_status_display().lower()}; only a scheduled one "
                            "can be changed.")
    if scheduled_at is not None and scheduled_at < timezone.now() - _GRACE:
        raise ActionRefused("That time has already passed; pick a time from now on.")
    fields = []
    if notes is not None and notes.strip() != appointment.notes:
        appointment.notes = notes.strip()
        fields.append("notes")
    moved = scheduled_at is not None and scheduled_at != appointment.scheduled_at
    if moved:
        appointment.scheduled_at = scheduled_at
        fields.append("scheduled_at")
    if not fields:
        return appointment
    with transaction.atomic():
        appointment.save(update_fields=fields)
        if moved:
            rooftop = appointment.rooftop
            local = timezone.localtime(scheduled_at, _zone(rooftop))
            TimelineEntry.unscoped.create(
                customer_id=appointment.customer_id, rooftop=rooftop, department=appointment.department,
                kind=TimelineEntry.Kind.APPOINTMENT, actor=user, lead=appointment.lead,
                summary=f"{appointment.get_kind_display()} moved to {local:%a %b} {local.day}, {local:%-I:%M %p} "
                        f"by {_display_name(user)}",
                detail={"appointment_id": appointment.pk, "status": "scheduled"},
            )
        appointment_webhook(appointment, "appointment.updated", change="moved" if moved else "notes")
    return appointment


# What staff may correct on a customer's record (contact points have their own rules: matching, consent).
CUSTOMER_EDITABLE = {"first_name": 100, "last_name": 100, "street": 200, "city": 100, "region": 50,
                     "postal_code": 20, "country": 2, "time_zone": 64, "preferred_contact": 10}


def customer_update(*, customer: Customer, user: User, **fields: str) -> Customer:
    """Correct a customer's name, address or preferences; duplicates are looked for again after."""
    unknown = set(fields) - set(CUSTOMER_EDITABLE)
    if unknown:
        raise ActionRefused(f"Cannot change {', '.join(sorted(unknown))} here.")
    changed = {}
    for name, value in fields.items():
        value = value.strip()
        if len(value) > CUSTOMER_EDITABLE[name]:
            raise ActionRefused(f"{name} can be at most {CUSTOMER_EDITABLE[name]} characters.")
        if getattr(customer, name) != value:
            changed[name] = value
    if not changed:
        return customer
    with transaction.atomic():
        for name, value in changed.items():
            setattr(customer, name, value)
        customer.save(update_fields=[*changed, "updated_at"])
        customer_duplicates_detect(customer=customer)
    return customer


def lead_mark_sold(*, lead, user: User, note: str = "") -> None:
    if lead.status == "sold":
        raise ActionRefused("This lead is already sold.")
    with transaction.atomic():
        now = timezone.now()
        _lead_status_change(lead=lead, to_status="sold", user=user, reason=note.strip()[:200])
        lead.sold_at = now
        lead.save(update_fields=["sold_at"])
        vehicle = lead.vehicle.title if lead.vehicle_id else (lead.vehicle_description or "a vehicle")
        TimelineEntry.unscoped.create(
            customer_id=lead.customer_id, rooftop_id=lead.rooftop_id, department=TimelineEntry.Department.SALES,
            kind=TimelineEntry.Kind.PURCHASE, actor=user, lead=lead, occurred_at=now,
            summary=f"Bought the {vehicle} (sold by {_display_name(user)})", body=note.strip(),
        )


def lead_mark_lost(*, lead, user: User, reason: str) -> None:
    reason = reason.strip()
    if not reason:
        raise ActionRefused("Say why the lead was lost; managers read these reasons.")
    if lead.status == "lost":
        raise ActionRefused("This lead is already lost.")
    _lead_status_change(lead=lead, to_status="lost", user=user, reason=reason[:200])


_GRACE = timezone.timedelta(minutes=5)


def _zone(rooftop: Rooftop):
    from zoneinfo import ZoneInfo

    return ZoneInfo(rooftop.time_zone)


def _display_name(user: User | None) -> str:
    if user is None:
        return "the system"
    profile = getattr(user, "staff_profile", None)
    return profile.display_name if profile else (user.get_full_name() or user.get_username())


def _department_of(user: User, rooftop: Rooftop) -> str:
    from rooftops.models import Role, StaffRole

    roles = set(StaffRole.objects.filter(user=user, rooftop=rooftop).values_list("role", flat=True))
    if Role.SERVICE_ADVISOR in roles and Role.SALESPERSON not in roles:
        return TimelineEntry.Department.SERVICE
    if Role.BDC_AGENT in roles:
        return TimelineEntry.Department.BDC
    return TimelineEntry.Department.SALES


def _lead_status_change(*, lead, to_status: str, user: User | None, reason: str) -> None:
    """Status, its history row and its timeline line together. (Routing's lead services may take this over.)"""
    from leads.models import Lead, LeadStatusChange

    now = timezone.now()
    previous = lead.status
    lead.status = to_status
    lead.status_changed_at = now
    fields = ["status", "status_changed_at"]
    if to_status == "lost":
        lead.lost_reason = reason
        fields.append("lost_reason")
    lead.save(update_fields=fields)
    LeadStatusChange.objects.create(lead=lead, from_status=previous, to_status=to_status, reason=reason,
                                    changed_by=user, changed_at=now)
    from leads.services.notices import lead_webhook

    lead_webhook(lead, "lead.status_changed", now=now, previous_status=previous, reason=reason[:200])
    label = Lead.Status(to_status).label.lower()
    TimelineEntry.unscoped.create(
        customer_id=lead.customer_id, rooftop_id=lead.rooftop_id, department=TimelineEntry.Department.SALES,
        kind=TimelineEntry.Kind.LEAD_STATUS, actor=user, lead=lead, occurred_at=now,
        summary=f"Lead #{lead.pk} {Lead.Status(previous).label.lower()} → {label}" + (f": {reason}" if reason else ""),
        detail={"from": previous, "to": to_status},
    )


def _stamp_lead_contact(*, lead, at: datetime, reached: bool) -> None:
    fields = []
    if lead.first_attempt_at is None:
        lead.first_attempt_at = at
        fields.append("first_attempt_at")
    if reached and lead.first_contact_at is None:
        lead.first_contact_at = at
        fields.append("first_contact_at")
    if lead.status == "new":
        _lead_status_change(lead=lead, to_status="working", user=None, reason="")
    if fields:
        lead.save(update_fields=fields)


def rooftop_for_action(*, customer: Customer, rooftop_ids: Sequence[int]) -> Rooftop | None:
    """Where a staff action on this customer is recorded: the first of the user's rooftops that knows them."""
    link = (CustomerRooftop.objects.filter(customer=customer, rooftop_id__in=list(rooftop_ids))
            .select_related("rooftop").order_by("first_seen_at").first())
    return link.rooftop if link else None


__all__ = [
    "ActionRefused", "appointment_mark", "appointment_set", "appointment_update", "customer_update",
    "call_log", "customer_duplicates_detect", "customer_merge", "duplicate_dismiss",
    "lead_mark_lost", "lead_mark_sold", "merge_undo", "note_add", "rooftop_for_action", "web_sessions_refresh",
]


def customer_identity_update(*, customer: Customer, date_of_birth=None, licence_number: str = "",
                             licence_state: str = "", remove: bool = False) -> Customer:
    """Set (or, with `remove`, clear) the encrypted date of birth and driver's licence. A blank value keeps
    what is on file: staff editing the licence should not have to retype a date of birth they cannot see."""
    fields: dict = {}
    if remove:
        fields = {"date_of_birth": None, "drivers_licence_number": None, "drivers_licence_state": ""}
    else:
        if date_of_birth is not None:
            fields["date_of_birth"] = date_of_birth
        if licence_number:
            fields["drivers_licence_number"] = licence_number
        if licence_state:
            fields["drivers_licence_state"] = licence_state
    if fields:
        with transaction.atomic():
            for name, value in fields.items():
                setattr(customer, name, value)
            customer.save(update_fields=[*fields, "updated_at"])
    return customer
