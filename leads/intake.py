"""ADF lead intake: one call point for HTTP, email and the review queue.

`adf_lead_accept(rooftop=, raw=, received_via=)` parses the document (leads.adf), finds or creates the
customer through the one customer matcher (customers.matching), and creates the lead once per (rooftop,
dedupe_key): the same lead by mail and by HTTP, or resent, is one lead. What cannot be read into a lead is
kept whole in the AdfReview queue with the reason.

`_lead_create_from_adf` is the single place an ADF lead is written (it keeps every vehicle of interest and
the trade-in as ADF gives them); routing, the clock and the first response follow after commit through
`leads.services.new_leads.lead_route_new`, as for every other intake.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.models import Customer, TimelineEntry
from customers.matching import ArrivingContact, customer_match_or_create
from leads import adf
from leads.adf import AdfError, AdfLead, AdfRefused, AdfVehicle
from leads.models import AdfReview, InventoryVehicle, Lead
from leads.services.new_leads import lead_route_new
from rooftops.models import Rooftop

logger = logging.getLogger(__name__)

MAX_ADF_BYTES = 1_000_000  # 1 MB: real ADF is a few KB; anything bigger is not a lead


class AdfUnreadable(Exception):
    """Not an XML document we can read (answered 400); kept in the review queue unless refused as unsafe."""

    def __init__(self, reason: str, review: AdfReview | None, refused: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.review = review
        self.refused = refused


@dataclass(frozen=True)
class IntakeResult:
    status: str  # created | duplicate | needs_review
    lead: Lead | None
    customer: Customer | None
    review: AdfReview | None = None
    reason: str = ""
    extra_lead_ids: tuple[int, ...] = ()  # further prospects of the same document

    def as_json(self) -> dict:
        data = {"status": self.status, "lead_id": self.lead.pk if self.lead else None,
                "customer_id": self.customer.pk if self.customer else None}
        if self.review is not None:
            data["review_id"] = self.review.pk
            data["reason"] = self.reason
        if self.extra_lead_ids:
            data["more_lead_ids"] = list(self.extra_lead_ids)
        return data


def _decode_for_storage(raw: bytes | str) -> str:
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _parses_as_xml(raw: bytes | str) -> bool:
    # The ADF module's own loader (same leniency about declarations and wrappers), used only to tell
    # "not XML at all" (400) from "XML, but not a lead" (201 needs_review).
    try:
        adf._parse_xml(raw)
    except AdfError:
        return False
    return True


def adf_lead_accept(*, rooftop: Rooftop, raw: bytes | str, received_via: str) -> IntakeResult:
    """Read an ADF delivery into a lead (or find the lead it repeats); raise AdfUnreadable for non-XML."""
    if not (raw.strip() if isinstance(raw, str) else raw.strip(b" \t\r\n\x00")):
        raise AdfUnreadable("the document is empty", None)  # nothing to keep for review
    try:
        parsed = adf.parse_adf_many(raw)
    except AdfRefused as exc:
        # Kept (as text, never parsed again) so a flood from a leaked token can be seen; never turned into a lead.
        review = _review_keep(rooftop=rooftop, raw=raw, reason=exc.reason, received_via=received_via, refused=True)
        raise AdfUnreadable(exc.reason, review, refused=True) from None
    except AdfError as exc:
        review = _review_keep(rooftop=rooftop, raw=raw, reason=exc.reason, received_via=received_via)
        if not _parses_as_xml(raw):
            raise AdfUnreadable(exc.reason, review) from None
        return IntakeResult(status="needs_review", lead=None, customer=None, review=review, reason=exc.reason)
    raw_text = _decode_for_storage(raw)
    results = [_lead_from_adf(rooftop=rooftop, parsed=lead, raw_text=raw_text, received_via=received_via) for lead in parsed]
    first = results[0]
    return IntakeResult(status=first.status, lead=first.lead, customer=first.customer,
                        extra_lead_ids=tuple(r.lead.pk for r in results[1:] if r.lead))


def _review_keep(*, rooftop: Rooftop, raw: bytes | str, reason: str, received_via: str, refused: bool = False) -> AdfReview:
    return AdfReview.unscoped.create(rooftop=rooftop, raw=_decode_for_storage(raw).replace("\x00", ""),
                                     reason=reason[:500], received_via=received_via[:20], refused=refused)


def _lead_from_adf(*, rooftop: Rooftop, parsed: AdfLead, raw_text: str, received_via: str) -> IntakeResult:
    key = parsed.dedupe_key
    existing = Lead.unscoped.filter(rooftop=rooftop, dedupe_key=key).select_related("customer").first()
    if existing is not None:
        return IntakeResult(status="duplicate", lead=existing, customer=existing.customer)
    try:
        with transaction.atomic():
            lead = _lead_create_from_adf(rooftop=rooftop, parsed=parsed, raw_text=raw_text, received_via=received_via)
    except IntegrityError:
        # The same lead arrived by the other channel a moment ago: the unique (rooftop, dedupe_key) decided.
        existing = Lead.unscoped.select_related("customer").get(rooftop=rooftop, dedupe_key=key)
        return IntakeResult(status="duplicate", lead=existing, customer=existing.customer)
    return IntakeResult(status="created", lead=lead, customer=lead.customer)


def contact_of(parsed: AdfLead) -> ArrivingContact:
    c = parsed.contact
    first, last = c.first_name, c.last_name
    if not (first or last) and c.full_name:
        first, _, last = c.full_name.partition(" ")
    return ArrivingContact(
        first_name=first.strip(), last_name=last.strip(), emails=tuple(c.emails),
        phones=tuple((p.number, {"cellphone": "mobile", "voice": "home"}.get(p.type, p.type)) for p in c.phones),
        street=c.street, city=c.city, region=c.region, postal_code=c.postal_code, country=c.country,
    )


def vehicle_match(*, rooftop: Rooftop, wanted: AdfVehicle) -> InventoryVehicle | None:
    """The inventory vehicle the shopper asked about: by VIN, else by stock number, at this rooftop."""
    vehicles = InventoryVehicle.objects.for_rooftops([rooftop.pk])
    if wanted.vin:
        match = vehicles.filter(vin=wanted.vin.strip().upper()).first()
        if match:
            return match
    if wanted.stock:
        return vehicles.filter(stock_number__iexact=wanted.stock.strip()).first()
    return None


def vehicle_description(vehicle: AdfVehicle) -> str:
    words = [str(vehicle.year or ""), vehicle.make, vehicle.model, vehicle.trim]
    text = " ".join(w for w in words if w)
    if vehicle.status:
        text += f" ({vehicle.status})"
    if vehicle.stock:
        text += f", stock {vehicle.stock}"
    if vehicle.vin:
        text += f", VIN {vehicle.vin}"
    return text.strip(" ,")[:200]


def trade_in_of(trade: AdfVehicle) -> dict:
    data = {"year": trade.year, "make": trade.make, "model": trade.model, "trim": trade.trim,
            "mileage": trade.odometer, "vin": trade.vin, "value_cents": trade.price_cents, "comments": trade.comments,
            "interest": trade.interest}
    return {k: v for k, v in data.items() if v not in (None, "")}


def _lead_create_from_adf(*, rooftop: Rooftop, parsed: AdfLead, raw_text: str, received_via: str) -> Lead:
    customer = customer_match_or_create(rooftop=rooftop, contact=contact_of(parsed), source="adf").customer
    wanted = parsed.vehicles_of_interest[0] if parsed.vehicles_of_interest else None
    vehicle = vehicle_match(rooftop=rooftop, wanted=wanted) if wanted else None
    description = "" if vehicle or wanted is None else vehicle_description(wanted)
    interests = []
    for index, each in enumerate(parsed.vehicles_of_interest):
        match = vehicle if index == 0 else vehicle_match(rooftop=rooftop, wanted=each)
        interests.append({**adf.vehicle_as_record(each), **({"inventory_id": match.pk} if match else {})})
    comments = parsed.comments
    if parsed.timeframe:
        comments = f"{comments}\nTimeframe: {parsed.timeframe}".strip()
    now = timezone.now()
    lead = Lead.unscoped.create(
        rooftop=rooftop, customer=customer, source=Lead.Source.ADF,
        provider=(parsed.provider_name or parsed.vendor_name or "ADF")[:100], vehicle=vehicle,
        vehicle_description=description, vehicles_of_interest=interests, trade_in=trade_in_of(parsed.trade_ins[0]) if parsed.trade_ins else {},
        comments=comments, created_at=now, status_changed_at=now, dedupe_key=parsed.dedupe_key, raw_adf=raw_text,
    )
    what = vehicle.title + f" (stock {vehicle.stock_number})" if vehicle else (description or "no vehicle named")
    if len(interests) > 1:
        what += f" and {len(interests) - 1} more vehicle{'s' if len(interests) > 2 else ''}"
    TimelineEntry.unscoped.create(
        customer=customer, rooftop=rooftop, department=TimelineEntry.Department.SALES, kind=TimelineEntry.Kind.LEAD,
        occurred_at=now, lead=lead, summary=f"New lead from {lead.provider}: {what}"[:500], body=comments,
        detail={"received_via": received_via, "source": "adf", "trade_in": lead.trade_in or None},
    )
    from leads.services.notices import lead_webhook

    lead_webhook(lead, "lead.created", now=now)
    transaction.on_commit(lambda: _lead_created(lead.pk))
    return lead


def _lead_created(lead_id: int) -> None:
    # Routing (assignment, the clock, the first response) for a lead this intake wrote itself.
    lead_route_new(lead_id=lead_id)


def adf_review_accept(*, review: AdfReview, raw: str, user: User) -> IntakeResult:
    """Staff fixed the XML (or not): try again. On success the review is closed with its lead."""
    if review.status != AdfReview.Status.OPEN:
        raise ValueError("This delivery was already handled.")
    rooftop = review.rooftop
    try:
        parsed = adf.parse_adf_many(raw)
    except AdfError as exc:
        review.raw = raw
        review.reason = exc.reason[:500]
        review.refused = isinstance(exc, AdfRefused)
        review.save(update_fields=["raw", "reason", "refused"])
        return IntakeResult(status="needs_review", lead=None, customer=None, review=review, reason=exc.reason)
    results = [_lead_from_adf(rooftop=rooftop, parsed=p, raw_text=raw, received_via=f"review:{review.received_via}"[:20])
               for p in parsed]
    review.raw = raw
    review.status = AdfReview.Status.ACCEPTED
    review.lead = results[0].lead
    review.resolved_by = user
    review.resolved_at = timezone.now()
    review.save(update_fields=["raw", "status", "lead", "resolved_by", "resolved_at"])
    first = results[0]
    return IntakeResult(status=first.status, lead=first.lead, customer=first.customer, review=review)


def adf_review_discard(*, review: AdfReview, user: User) -> None:
    review.status = AdfReview.Status.DISCARDED
    review.resolved_by = user
    review.resolved_at = timezone.now()
    review.save(update_fields=["status", "resolved_by", "resolved_at"])


def _inventory_as_adf(v: InventoryVehicle, interest: str = "buy") -> AdfVehicle:
    return AdfVehicle(interest=interest, status="used" if v.condition != "new" else "new", year=v.year, make=v.make,
                      model=v.model, trim=v.trim, vin=v.vin, stock=v.stock_number, price_cents=v.price_cents,
                      odometer=v.mileage or None)


def lead_as_adf(lead: Lead) -> bytes:
    """The lead as ADF 1.0 XML, to hand to another system."""
    from leads.adf import AdfContact, AdfPhone, render_adf

    customer = lead.customer
    vehicles: tuple[AdfVehicle, ...] = ()
    if lead.vehicles_of_interest:
        # Every vehicle the provider named, in its order; one matched to inventory is written from the inventory.
        records = [r for r in lead.vehicles_of_interest if isinstance(r, dict)]
        ids = [r["inventory_id"] for r in records if isinstance(r.get("inventory_id"), int)]
        stock = {v.pk: v for v in InventoryVehicle.objects.for_rooftops([lead.rooftop_id]).filter(pk__in=ids)}
        vehicles = tuple(
            _inventory_as_adf(stock[r["inventory_id"]], interest=str(r.get("interest") or "buy"))
            if r.get("inventory_id") in stock else adf.vehicle_from_record(r)
            for r in records
        )
    elif lead.vehicle_id:
        vehicles = (_inventory_as_adf(lead.vehicle),)
    elif lead.vehicle_description:
        vehicles = (AdfVehicle(interest="buy", comments=lead.vehicle_description),)
    trades = ()
    if lead.trade_in:
        t = lead.trade_in
        year = t.get("year")
        trades = (AdfVehicle(interest="trade-in", year=int(year) if str(year or "").isdigit() else None,
                             make=str(t.get("make", "")), model=str(t.get("model", "")), trim=str(t.get("trim", "")),
                             vin=str(t.get("vin", "")), odometer=t.get("mileage") if isinstance(t.get("mileage"), int) else None,
                             price_cents=t.get("value_cents") if isinstance(t.get("value_cents"), int) else None),)
    phones = tuple(AdfPhone(number=p.e164, type="cellphone" if p.label == "mobile" else "voice")
                   for p in customer.phones.order_by("-is_primary", "id"))
    contact = AdfContact(
        first_name=customer.first_name, last_name=customer.last_name,
        emails=tuple(customer.emails.order_by("-is_primary", "id").values_list("email", flat=True)), phones=phones,
        street=customer.street, city=customer.city, region=customer.region, postal_code=customer.postal_code,
        country=customer.country,
    )
    document = AdfLead(
        request_date=lead.created_at, provider_name=lead.rooftop.name, provider_ref=str(lead.pk),
        vendor_name=lead.rooftop.name, contact=contact, vehicles_of_interest=vehicles, trade_ins=trades,
        comments=lead.comments,
    )
    return render_adf(document)
