"""Reads for the customer page, search and the duplicates list. Everything is scoped by the staff access."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import OuterRef, Q, Subquery
from django.http import Http404
from django.utils import timezone

from crm.db_router import read_connection
from crm.encrypted_fields import readable
from customers.contact import format_phone
from customers.models import (
    Appointment, ConsentRecord, Customer, CustomerEmail, CustomerPhone, DuplicateCandidate, MergeRecord, OwnedVehicle,
    TimelineEntry, VehicleSale,
)
from customers.search import NAME_WORD_SEPARATORS, SearchTerms, name_words, search_terms
from rooftops.models import Rooftop
from rooftops.tenancy import StaffAccess
from service.equity import Equity, equity_of

TIMELINE_PAGE_SIZE = 30


def customer_for_access(*, access: StaffAccess, customer_id) -> Customer:
    """The customer if the user's rooftops know them; missing and not-yours are the same 404."""
    try:
        return Customer.objects.for_access(access).select_related("dealer_group").get(pk=customer_id)
    except (Customer.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def survivor_of(customer: Customer) -> Customer:
    seen = set()
    while customer.merged_into_id and customer.pk not in seen:
        seen.add(customer.pk)
        customer = Customer.unscoped.get(pk=customer.merged_into_id)
    return customer


# ---------------------------------------------------------------------------------------------------------
# Timeline: keyset pages over (occurred_at, id), newest first
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelinePage:
    entries: list[TimelineEntry]
    next_cursor: str  # "" on the last page


def cursor_encode(occurred_at: datetime, entry_id: int) -> str:
    return base64.urlsafe_b64encode(f"{occurred_at.isoformat()}|{entry_id}".encode()).decode().rstrip("=")


def cursor_decode(cursor: str) -> tuple[datetime, int] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, _, entry_id = raw.partition("|")
        moment = datetime.fromisoformat(when)
        if moment.tzinfo is None:
            return None
        return moment, int(entry_id)
    except (ValueError, UnicodeDecodeError):
        return None


def timeline_page(*, customer: Customer, access: StaffAccess, kinds: Sequence[str] = (), departments: Sequence[str] = (),
                  cursor: str = "", limit: int = TIMELINE_PAGE_SIZE) -> TimelinePage:
    """One page of the customer's story at the user's rooftops (plus group-wide rows such as consent).

    Keyset pagination on the (customer, occurred_at DESC, id DESC) index: page 300 costs what page 1 does.
    """
    entries = TimelineEntry.unscoped.filter(customer=customer).filter(
        Q(rooftop_id__in=list(access.rooftop_ids)) | Q(rooftop__isnull=True)
    )
    kinds = [k for k in kinds if k in TimelineEntry.Kind.values]
    departments = [d for d in departments if d in TimelineEntry.Department.values]
    if kinds:
        entries = entries.filter(kind__in=kinds)
    if departments:
        entries = entries.filter(department__in=departments)
    position = cursor_decode(cursor)
    if position:
        when, entry_id = position
        entries = entries.filter(Q(occurred_at__lt=when) | Q(occurred_at=when, id__lt=entry_id))
    # Not the lead: neither the page nor the API shows more of it than lead_id (and a lead row is wide).
    rows = list(entries.select_related("actor__staff_profile", "rooftop").order_by("-occurred_at", "-id")[: limit + 1])
    next_cursor = cursor_encode(rows[limit - 1].occurred_at, rows[limit - 1].pk) if len(rows) > limit else ""
    return TimelinePage(entries=rows[:limit], next_cursor=next_cursor)


# ---------------------------------------------------------------------------------------------------------
# The side panel
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentLine:
    channel: str
    channel_label: str
    purpose: str
    purpose_label: str
    granted: bool | None
    recorded_at: datetime | None
    source: str


@dataclass(frozen=True)
class VehicleLine:
    vehicle: OwnedVehicle
    equity: Equity
    # The nightly scan's figures (service.opportunities): value, payoff and mileage, each with how it was found.
    opportunity: object | None = None
    payoff_cents: int | None = None
    sale: object | None = None  # the latest deal for this car (DMS import): how it was bought

    @property
    def deal(self) -> str:
        """"Financed by Toyota Financial: 60 months from Jan 15, 2022 (deal 4471)", from the latest deal."""
        sale = self.sale
        if sale is None:
            return ""
        lender = readable(sale.lender) or ""
        if sale.deal_type == "lease":
            allowance = f", {sale.miles_per_year:,} miles a year" if sale.miles_per_year else ""
            ends = f", ends {sale.maturity_on:%b %-d, %Y}" if sale.maturity_on else ""
            return f"Leased{' through ' + lender if lender else ''}{ends}{allowance} (deal {sale.deal_number})"
        if sale.deal_type == "finance":
            term = f": {sale.term_months} months" if sale.term_months else ""
            first = f" from {sale.first_payment_on:%b %-d, %Y}" if sale.first_payment_on else ""
            return f"Financed{' by ' + lender if lender else ''}{term}{first} (deal {sale.deal_number})"
        return f"Bought for cash on {sale.sold_on:%b %-d, %Y} (deal {sale.deal_number})"

    @property
    def figures(self) -> str:
        """"Worth about $21,400 · owes about $9,800 · about 48,200 miles", as far as each is known."""
        from service.wording import dollars

        o = self.opportunity
        if o is None:
            return ""
        parts = []
        if o.value_cents is not None:
            parts.append(f"Worth about {dollars(o.value_cents)}")
        if self.payoff_cents is not None:
            parts.append(f"owes about {dollars(self.payoff_cents)}" if self.payoff_cents else "owes nothing")
        if o.mileage is not None:
            parts.append(f"about {o.mileage:,} miles")
        return " · ".join(parts)

    @property
    def account_masked(self) -> str:
        from customers.sensitive import mask_last4

        return mask_last4(self.vehicle.finance_account_number)


@dataclass
class CustomerPanel:
    phones: list[tuple[str, str, bool]]  # (formatted, label, primary)
    emails: list[tuple[str, bool]]
    consent: list[ConsentLine]
    consent_history: list[ConsentRecord]
    vehicles: list[VehicleLine]
    open_leads: list
    appointments: list[Appointment]
    assigned: list[tuple[str, str]]  # (name, why)
    duplicates: list[DuplicateCandidate]
    merges: list[MergeRecord]
    action_rooftops: list = field(default_factory=list)
    # Where the user's actions on this page are recorded (services.rooftop_for_action's answer, read with the
    # panel's first query): None when none of the user's rooftops knows the customer.
    action_rooftop: Rooftop | None = None
    known_rooftop_ids: list[int] = field(default_factory=list)  # every rooftop of the group that knows them
    # Whether any store holds a shopping intent for them: the intent card reads one (with the user's scope) only
    # then, and otherwise says "no website activity" without a query.
    any_intent: bool = True
    # Whether the customer has any website event at all: the page folds web sessions (a read of their events since
    # the latest session) only then.
    any_web_events: bool = True


def consent_lines(customer: Customer, *, any_recorded: bool = True) -> tuple[list[ConsentLine], list[ConsentRecord]]:
    """Where consent stands per channel and purpose, and its history; `any_recorded=False` (the panel's flags
    said there is none) skips the read."""
    history = list(customer.consents.select_related("recorded_by").order_by("-recorded_at", "-id")[:50]) if any_recorded else []
    latest: dict[tuple[str, str], ConsentRecord] = {}
    for record in history:
        latest.setdefault((record.channel, record.purpose), record)
    lines = []
    for channel in ConsentRecord.Channel:
        for purpose in ConsentRecord.Purpose:
            record = latest.get((channel.value, purpose.value))
            lines.append(ConsentLine(
                channel=channel.value, channel_label=channel.label, purpose=purpose.value, purpose_label=purpose.label,
                granted=record.granted if record else None, recorded_at=record.recorded_at if record else None,
                source=record.source if record else "",
            ))
    return lines, history


def vehicle_lines(customer: Customer, *, any_sale: bool = True) -> list[VehicleLine]:
    """The customer's vehicles, newest first, each with its equity (service.equity decides): from the scan's
    value and payoff where it has run, else from a trade value and payoff typed in. `any_sale=False` (the
    panel's flags said no deal is on file) skips reading deals."""
    from service.models import VehicleOpportunity

    sales = {sale.vehicle_id: sale for sale in VehicleSale.unscoped.filter(vehicle__customer=customer)
             .order_by("vehicle_id", "-sold_on", "-id").distinct("vehicle_id")} if any_sale else {}
    lines = []
    for v in customer.vehicles.select_related("opportunity").order_by("-year", "id"):
        try:
            found = v.opportunity
        except VehicleOpportunity.DoesNotExist:
            found = None
        if found is not None:
            payoff = readable(found.payoff_cents)
            lines.append(VehicleLine(v, equity_of(trade_value_cents=found.value_cents, payoff_cents=payoff),
                                     opportunity=found, payoff_cents=payoff, sale=sales.get(v.id)))
        else:
            lines.append(VehicleLine(v, equity_of(trade_value_cents=v.trade_value_cents,
                                                  payoff_cents=readable(v.payoff_cents)), sale=sales.get(v.id)))
    return lines


def customer_panel(*, customer: Customer, access: StaffAccess) -> CustomerPanel:
    """Everything beside the timeline. One first query brings the contact points and says which other pieces
    exist at all; only those are read (most customers have no duplicates, merges or deals, many no vehicles)."""
    from leads.models import Lead
    from service.models import RepairOrder

    rooftop_ids = list(access.rooftop_ids)
    recent = timezone.now() - timezone.timedelta(days=2)
    found = _panel_first(customer, recent=recent, rooftop_ids=rooftop_ids)
    phones = [(format_phone(e164), label, primary) for e164, label, primary in found["phones"]]
    emails = [(email, primary) for email, primary in found["emails"]]
    consent, history = consent_lines(customer, any_recorded=found["consents"])
    vehicles = vehicle_lines(customer, any_sale=found["sales"]) if found["vehicles"] else []
    open_leads = list(
        Lead.objects.for_access(access).filter(customer=customer, status__in=Lead.OPEN_STATUSES)
        .select_related("vehicle", "assigned_to__staff_profile", "rooftop").order_by("-created_at")[:20]
    ) if found["open_leads"] else []
    appointments = list(
        Appointment.objects.for_access(access).filter(customer=customer)
        .filter(Q(status=Appointment.Status.SCHEDULED) | Q(scheduled_at__gte=recent))
        .select_related("assigned_to__staff_profile", "rooftop", "lead").order_by("scheduled_at")[:20]
    ) if found["appointments"] else []
    assigned: dict[int, tuple[str, str]] = {}
    for lead in open_leads:
        if lead.assigned_to_id:
            assigned.setdefault(lead.assigned_to_id, (_name(lead.assigned_to), f"Sales, lead #{lead.pk}"))
    for appointment in appointments:
        if appointment.assigned_to_id and appointment.status == Appointment.Status.SCHEDULED:
            assigned.setdefault(appointment.assigned_to_id, (_name(appointment.assigned_to), appointment.get_kind_display()))
    last_ro = (RepairOrder.objects.for_rooftops(rooftop_ids).filter(customer=customer, advisor__isnull=False)
               .select_related("advisor__staff_profile").order_by("-opened_at").first()) if found["advised"] else None
    if last_ro:
        assigned.setdefault(last_ro.advisor_id, (_name(last_ro.advisor), f"Service advisor, RO {last_ro.ro_number}"))
    duplicates = customer_duplicates(access=access, customer=customer) if found["duplicates"] else []
    merges = list(MergeRecord.objects.for_access(access).filter(survivor=customer, undone_at__isnull=True)
                  .select_related("merged", "merged_by__staff_profile").order_by("-merged_at")[:5]) if found["merges"] else []
    panel = CustomerPanel(
        phones=phones, emails=emails, consent=consent, consent_history=history, vehicles=vehicles,
        open_leads=open_leads, appointments=appointments, assigned=list(assigned.values()), duplicates=duplicates,
        merges=merges, known_rooftop_ids=found["known_rooftop_ids"], any_intent=found["intents"],
        action_rooftop=_partial_rooftop(found["action_rooftop"]), any_web_events=found["web_events"],
    )
    return panel


# The panel's first query. Its "any" flags only let the panel skip reads that would find nothing: they look at the
# customer's rows in every store, and each piece they let through is then read with the user's scope.
_PANEL_FIRST_SQL = """
    SELECT
        (SELECT coalesce(json_agg(json_build_array(e164, label, is_primary) ORDER BY is_primary DESC, id), '[]')
         FROM customers_customerphone WHERE customer_id = %(customer)s),
        (SELECT coalesce(json_agg(json_build_array(email, is_primary) ORDER BY is_primary DESC, id), '[]')
         FROM customers_customeremail WHERE customer_id = %(customer)s),
        ARRAY(SELECT rooftop_id FROM customers_customerrooftop WHERE customer_id = %(customer)s),
        EXISTS(SELECT 1 FROM customers_consentrecord WHERE customer_id = %(customer)s),
        EXISTS(SELECT 1 FROM customers_ownedvehicle WHERE customer_id = %(customer)s),
        EXISTS(SELECT 1 FROM customers_vehiclesale s JOIN customers_ownedvehicle v ON v.id = s.vehicle_id
               WHERE v.customer_id = %(customer)s),
        EXISTS(SELECT 1 FROM leads_lead WHERE customer_id = %(customer)s AND status = ANY(%(open)s)),
        EXISTS(SELECT 1 FROM customers_appointment WHERE customer_id = %(customer)s
               AND (status = %(scheduled)s OR scheduled_at >= %(recent)s)),
        EXISTS(SELECT 1 FROM service_repairorder WHERE customer_id = %(customer)s AND advisor_id IS NOT NULL),
        EXISTS(SELECT 1 FROM customers_duplicatecandidate WHERE status = %(dup_open)s
               AND (customer_a_id = %(customer)s OR customer_b_id = %(customer)s)),
        EXISTS(SELECT 1 FROM customers_mergerecord WHERE survivor_id = %(customer)s AND undone_at IS NULL),
        EXISTS(SELECT 1 FROM alerts_shopperintent WHERE customer_id = %(customer)s),
        (SELECT json_build_array(r.id, r.dealer_group_id, r.name, r.slug, r.time_zone)
         FROM customers_customerrooftop cr JOIN rooftops_rooftop r ON r.id = cr.rooftop_id
         WHERE cr.customer_id = %(customer)s AND cr.rooftop_id = ANY(%(rooftops)s) ORDER BY cr.first_seen_at LIMIT 1),
        EXISTS(SELECT 1 FROM tracking_event WHERE customer_id = %(customer)s)
"""
_PANEL_FIRST_COLUMNS = ("phones", "emails", "known_rooftop_ids", "consents", "vehicles", "sales", "open_leads",
                        "appointments", "advised", "duplicates", "merges", "intents", "action_rooftop", "web_events")
# The action rooftop's columns the page uses; any other is read on first use (a deferred field).
_ACTION_ROOFTOP_FIELDS = ("id", "dealer_group_id", "name", "slug", "time_zone")


def _panel_first(customer: Customer, *, recent: datetime, rooftop_ids: Sequence[int]) -> dict:
    """One query: the customer's phones and emails (primary first), the rooftops that know them, whether any row
    exists for each other piece of the panel, and the first of the user's rooftops that knows them (where actions
    are recorded, as services.rooftop_for_action picks it). Plain SQL: built with the ORM, this query cost more to
    compose than to run."""
    from leads.models import Lead

    params = {"customer": customer.pk, "open": [str(s) for s in Lead.OPEN_STATUSES], "recent": recent,
              "scheduled": str(Appointment.Status.SCHEDULED), "dup_open": str(DuplicateCandidate.Status.OPEN),
              "rooftops": sorted(rooftop_ids)}
    with connection.cursor() as cursor:
        cursor.execute(_PANEL_FIRST_SQL, params)
        row = dict(zip(_PANEL_FIRST_COLUMNS, cursor.fetchone()))
    for name in ("phones", "emails", "action_rooftop"):  # json arrives as text on a raw cursor
        if isinstance(row[name], str):
            row[name] = json.loads(row[name])
    return row


def _partial_rooftop(values: list | None) -> Rooftop | None:
    if values is None:
        return None
    known = dict(zip(_ACTION_ROOFTOP_FIELDS, values))
    attnames = [f.attname for f in Rooftop._meta.concrete_fields if f.attname in known]
    return Rooftop.from_db(connection.alias, attnames, [known[name] for name in attnames])


def customer_duplicates(*, access: StaffAccess, customer: Customer) -> list[DuplicateCandidate]:
    """Open merge suggestions for this customer that the user can act on (both records visible)."""
    return list(DuplicateCandidate.objects.for_access(access).filter(
        Q(customer_a=customer) | Q(customer_b=customer), status=DuplicateCandidate.Status.OPEN,
    ).select_related("customer_a", "customer_b").order_by("-found_at", "-id"))


def appointments_search(*, access: StaffAccess, rooftop_id: int | None = None, status: str = "", department: str = "",
                        kind: str = "", customer_id: int | None = None, lead_id: int | None = None,
                        scheduled_after: datetime | None = None, scheduled_before: datetime | None = None):
    """Appointments at the user's rooftops, filtered (the staff API's list)."""
    appointments = Appointment.objects.for_access(access).select_related("customer", "assigned_to__staff_profile")
    for field, value in (("rooftop_id", rooftop_id), ("status", status), ("department", department), ("kind", kind),
                         ("customer_id", customer_id), ("lead_id", lead_id)):
        if value:
            appointments = appointments.filter(**{field: value})
    if scheduled_after:
        appointments = appointments.filter(scheduled_at__gte=scheduled_after)
    if scheduled_before:
        appointments = appointments.filter(scheduled_at__lt=scheduled_before)
    return appointments


def _name(user) -> str:
    profile = getattr(user, "staff_profile", None)
    return profile.display_name if profile else user.get_username()


# ---------------------------------------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------------------------------------

SEARCH_MAX_RESULTS = 200
SEARCH_PAGE_SIZE = 20


@dataclass(frozen=True)
class SearchHit:
    customer: Customer
    score: float
    matched: str  # what matched, in words
    phone: str
    email: str


@dataclass(frozen=True)
class SearchResults:
    terms: SearchTerms
    hits: list[SearchHit]
    total: int  # at most SEARCH_MAX_RESULTS
    page: int
    has_next: bool
    capped: bool


def _readings_sql(terms: SearchTerms, *, whole_name: bool = False) -> tuple[list[str], list]:
    """One SELECT (customer_id, score, matched) per way the query could be meant; each uses its own index.

    Names are read two ways. Fast: every word of 3+ letters must be word-similar to the name (`<%`, GIN
    trigram; "jonathon" finds "Jonathan Smith", "johnson" finds 2,000 Johnsons in ~30 ms on a million rows).
    Whole (`whole_name=True`): similarity of the whole name (`%`), which forgives typos in every word
    ("jonathon smithres") but weighs every candidate sharing a trigram; the selector runs it only when the
    fast reading found nothing convincing, which is when typos are the likely reason.
    """
    parts: list[str] = []
    params: list = []
    if whole_name:
        parts.append(_ranked_then_scoped(
            "SELECT c.id, similarity(c.search_name, %s)::float AS score, c.search_name FROM customers_customer c "
            "WHERE c.search_name %% %s AND c.merged_into_id IS NULL AND GROUP_FILTER"
        ))
        params += [terms.name, terms.name, "GROUP", "SCOPE", SEARCH_MAX_RESULTS + 1]
        return parts, params
    if terms.phone_e164:
        parts.append("SELECT customer_id, 1.0::float AS score, 'phone' AS matched FROM customers_customerphone WHERE e164 = %s")
        params.append(terms.phone_e164)
    if terms.phone_digits and len(terms.phone_digits) >= 4:
        parts.append(
            "SELECT customer_id, (0.5 + 0.04 * least(length(%s), 10))::float, 'phone' FROM customers_customerphone "
            "WHERE e164 LIKE %s LIMIT 500"
        )
        params += [terms.phone_digits, "%" + _like_escape(terms.phone_digits) + "%"]
    if terms.email:
        parts.append("SELECT customer_id, 1.0::float, 'email' FROM customers_customeremail WHERE email = %s")
        params.append(terms.email)
        if len(terms.email) >= 3:
            parts.append(
                "SELECT customer_id, (0.5 + 0.4 * length(%s) / length(email))::float, 'email' "
                "FROM customers_customeremail WHERE email LIKE %s LIMIT 200"
            )
            params += [terms.email, _like_escape(terms.email) + "%"]
    if terms.vin:
        parts.append("SELECT customer_id, 1.0::float, 'owned VIN' FROM customers_ownedvehicle WHERE vin = %s")
        params.append(terms.vin)
        parts.append(
            "SELECT l.customer_id, 0.95::float, 'VIN of a vehicle they asked about' FROM leads_inventoryvehicle iv "
            "JOIN leads_lead l ON l.vehicle_id = iv.id WHERE iv.vin = %s AND iv.rooftop_id = ANY(%s)"
        )
        params += [terms.vin, "ROOFTOPS"]
    if terms.vin_fragment and len(terms.vin_fragment) >= 6:
        parts.append(
            "SELECT customer_id, 0.85::float, 'part of an owned VIN' FROM customers_ownedvehicle WHERE vin LIKE %s LIMIT 200"
        )
        params.append("%" + _like_escape(terms.vin_fragment))
    if terms.stock:
        parts.append(
            "SELECT l.customer_id, 0.95::float, 'stock number of a vehicle they asked about' FROM leads_inventoryvehicle iv "
            "JOIN leads_lead l ON l.vehicle_id = iv.id WHERE iv.stock_number = %s AND iv.rooftop_id = ANY(%s)"
        )
        params += [terms.stock, "ROOFTOPS"]
    words = [w for w in terms.name.split() if len(w) >= 3]
    if words:
        part, part_params = _word_reading(terms, words, " AND ".join(["%s <%% c.search_name"] * len(words)), words)
        parts.append(part)
        params += part_params
    if terms.name:
        # Prefix: "Ja" or "Smi" while typing, before trigrams can help; any 50 will do, the ranking comes after.
        parts.append(
            "SELECT c.id, 0.35::float, 'name' FROM customers_customer c WHERE GROUP_FILTER AND c.search_name LIKE %s "
            "AND c.merged_into_id IS NULL AND SCOPE LIMIT 50"
        )
        params += ["GROUP", _like_escape(terms.name) + "%", "SCOPE"]
    return parts, params


def _exact_words_reading(terms: SearchTerms) -> tuple[list[str], list] | None:
    """The word reading over only the names holding every word of the query exactly, through the words index.

    For a common name this is all the page can show: "johnson" has thousands of exact matches, each scoring 0.9
    like the word reading gives them, above every merely similar name ("johnsen" scores its word similarity times
    0.9). So when more than SEARCH_MAX_RESULTS exact matches are in scope, the capped list is the one the word
    reading would rank, without weighing every trigram-similar name first. Otherwise the caller reads as usual.
    Only for a query that is nothing but plain words of 3+ letters (no phone, email, VIN or stock reading, no
    apostrophe or hyphen, which the two readings split differently).
    """
    if any((terms.phone_e164, terms.phone_digits, terms.email, terms.vin, terms.vin_fragment, terms.stock)):
        return None
    words = terms.name.split()
    if not words or any(len(w) < 3 for w in words) or name_words(terms.name) != words:
        return None
    separators = NAME_WORD_SEPARATORS.replace("'", "''")  # a constant, inlined so the planner matches the index
    part, params = _word_reading(terms, words, f"regexp_split_to_array(c.search_name, '{separators}') @> %s::text[]",
                                 [words])
    return [part], params


def _word_reading(terms: SearchTerms, words: list[str], where: str, where_params: list) -> tuple[str, list]:
    """The word reading's score over the names `where` admits: the whole name's similarity, or 0.9 times the
    words' mean word similarity when that is more (so an exact word scores 0.9 whatever else the name holds)."""
    word_scores = " + ".join(["word_similarity(%s, c.search_name)"] * len(words))
    part = _ranked_then_scoped(
        f"SELECT c.id, greatest(similarity(c.search_name, %s), 0.9 * ({word_scores}) / {len(words)})::float AS score, "
        f"c.search_name FROM customers_customer c WHERE {where} AND c.merged_into_id IS NULL AND GROUP_FILTER"
    )
    return part, [terms.name, *words, *where_params, "GROUP", "SCOPE", SEARCH_MAX_RESULTS + 1]


def _ranked_then_scoped(ranked: str) -> str:
    """A name reading: `ranked` (id, score, search_name) is sorted first and the rooftop scope checked in that
    order, stopping one past SEARCH_MAX_RESULTS (so the page can say there were more). Checked before ranking,
    "johnson" probed the scope index for each of its ~3,000 candidates; in rank order it probes about as many as
    it keeps. (OFFSET 0 keeps the planner from pushing the scope back under the sort.) Ties are broken as the final order breaks them: by name, then id."""
    return (f"SELECT c.id, c.score, 'name' FROM ({ranked} ORDER BY 2 DESC, 3, 1 OFFSET 0) c "
            "WHERE SCOPE ORDER BY c.score DESC, c.search_name, c.id LIMIT %s")


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _run_readings(parts: list[str], raw_params: list, *, access: StaffAccess, rooftop_ids: list[int]) -> list[tuple]:
    scope = ("EXISTS (SELECT 1 FROM customers_customerrooftop cr WHERE cr.customer_id = c.id "
             "AND cr.rooftop_id = ANY(%s))")
    group_filter = "c.dealer_group_id = %s" if access.dealer_group_id else "TRUE"
    params: list = []
    for value in raw_params:
        if value in ("ROOFTOPS", "SCOPE"):
            params.append(rooftop_ids)
        elif value == "GROUP":
            if access.dealer_group_id:
                params.append(access.dealer_group_id)
        else:
            params.append(value)
    # The scope is spelled once here; each reading names where it goes.
    sql = " UNION ALL ".join(f"({part})" for part in parts).replace("GROUP_FILTER", group_filter).replace("SCOPE", scope)
    full = f"""
        WITH readings (customer_id, score, matched) AS ({sql}),
        best AS (
            SELECT DISTINCT ON (customer_id) customer_id, score, matched FROM readings ORDER BY customer_id, score DESC
        )
        SELECT b.customer_id, b.score, b.matched, c.search_name FROM best b JOIN customers_customer c ON c.id = b.customer_id
        WHERE c.merged_into_id IS NULL AND {group_filter} AND {scope}
        ORDER BY b.score DESC, c.search_name, c.id LIMIT %s
    """
    params += ([access.dealer_group_id] if access.dealer_group_id else []) + [rooftop_ids, SEARCH_MAX_RESULTS + 1]
    with read_connection(Customer).cursor() as cursor:
        cursor.execute(full, params)
        return cursor.fetchall()


def customer_search(*, access: StaffAccess, query: str, page: int = 1, region: str = "US") -> SearchResults:
    """Ranked customers of the user's rooftops for one search box: name (typos forgiven), phone in any format,
    email, VIN (whole or last digits) and stock number."""
    terms = search_terms(query, region=region)
    page = max(1, page)
    rooftop_ids = sorted(access.rooftop_ids)
    if terms.is_empty or not rooftop_ids:
        return SearchResults(terms=terms, hits=[], total=0, page=page, has_next=False, capped=False)
    rows: list[tuple] = []
    if exact := _exact_words_reading(terms):
        rows = _run_readings(*exact, access=access, rooftop_ids=rooftop_ids)
    if len(rows) <= SEARCH_MAX_RESULTS:  # not a common name's capped list: weigh every similar name too
        parts, params = _readings_sql(terms)
        rows = _run_readings(parts, params, access=access, rooftop_ids=rooftop_ids) if parts else []
    # The costlier whole-name reading only when the word reading found nothing convincing: a typo in every word.
    if len(terms.name) >= 3 and not any(score >= 0.5 for _, score, _, _ in rows):
        parts, params = _readings_sql(terms, whole_name=True)
        merged = {r[0]: r for r in rows}
        for row in _run_readings(parts, params, access=access, rooftop_ids=rooftop_ids):
            if row[0] not in merged or merged[row[0]][1] < row[1]:
                merged[row[0]] = row
        rows = sorted(merged.values(), key=lambda r: (-r[1], r[3], r[0]))
    capped = len(rows) > SEARCH_MAX_RESULTS
    rows = rows[:SEARCH_MAX_RESULTS]
    start = (page - 1) * SEARCH_PAGE_SIZE
    page_rows = rows[start:start + SEARCH_PAGE_SIZE]
    # The page's customers with their first phone and email (primary first), in one query.
    first = {"customer_id": OuterRef("pk")}
    customers = {c.pk: c for c in Customer.unscoped.filter(pk__in=[r[0] for r in page_rows]).annotate(
        hit_phone=Subquery(CustomerPhone.objects.filter(**first).order_by("-is_primary", "id").values("e164")[:1]),
        hit_email=Subquery(CustomerEmail.objects.filter(**first).order_by("-is_primary", "id").values("email")[:1]),
    )}
    hits = [SearchHit(customer=customers[cid], score=score, matched=matched,
                      phone=format_phone(customers[cid].hit_phone) if customers[cid].hit_phone else "",
                      email=customers[cid].hit_email or "") for cid, score, matched, _name in page_rows if cid in customers]
    return SearchResults(terms=terms, hits=hits, total=len(rows), page=page,
                         has_next=start + SEARCH_PAGE_SIZE < len(rows), capped=capped)


# ---------------------------------------------------------------------------------------------------------
# Duplicates
# ---------------------------------------------------------------------------------------------------------


def duplicates_open(*, access: StaffAccess, limit: int = 50, offset: int = 0) -> tuple[list[DuplicateCandidate], int]:
    candidates = DuplicateCandidate.objects.for_access(access).filter(status=DuplicateCandidate.Status.OPEN)
    total = candidates.count()
    rows = list(candidates.select_related("customer_a", "customer_b").order_by("-found_at", "-id")[offset:offset + limit])
    return rows, total


# --------------------------------------------------------------------------- privacy (customers.erasure)


def retention_activity_batch(*, after_id: int, created_before: datetime, limit: int) -> list:
    """The next customers (by id) old enough to be purge candidates, each with their newest activity per kind.

    Returns (customer_id, dealer_group_id, CustomerActivity) triples; customers.retention decides.
    """
    from django.db.models import Exists, Max, OuterRef, Subquery
    from django.db.models.functions import Coalesce, Greatest

    from customers.models import Appointment, Customer, OutboundMessage, TimelineEntry
    from customers.retention import CustomerActivity
    from leads.models import Lead
    from service.models import RepairOrder
    from tracking.models import TrackedEvent, Visitor

    def newest(queryset, expression):
        return Subquery(queryset.filter(customer_id=OuterRef("pk")).values("customer_id")
                        .annotate(at=Max(expression)).values("at")[:1])

    kinds = {
        "lead_at": newest(Lead.unscoped, Greatest("created_at", Coalesce("status_changed_at", "created_at"))),
        "ro_at": newest(RepairOrder.unscoped, Greatest("opened_at", Coalesce("closed_at", "opened_at"))),
        "appointment_at": newest(Appointment.unscoped, Greatest("created_at", "scheduled_at")),
        "timeline_at": newest(TimelineEntry.unscoped, "occurred_at"),
        "message_at": newest(OutboundMessage.unscoped, "created_at"),
        "visitor_at": newest(Visitor.unscoped, "last_seen_at"),
        # The partial index (customer_id, occurred_at DESC) on every monthly partition answers this.
        "event_at": Subquery(TrackedEvent.unscoped.filter(customer_id=OuterRef("pk"))
                             .order_by("-occurred_at").values("occurred_at")[:1]),
    }
    rows = (
        Customer.unscoped.filter(pk__gt=after_id, created_at__lt=created_before, erased_at__isnull=True,
                                 merged_into__isnull=True)
        .order_by("pk")
        .annotate(**kinds, open_lead=Exists(Lead.unscoped.filter(customer_id=OuterRef("pk"),
                                                                 status__in=Lead.OPEN_STATUSES)))
        .values("pk", "dealer_group_id", "created_at", "open_lead", *kinds)[:limit]
    )
    return [
        (row["pk"], row["dealer_group_id"],
         CustomerActivity(created_at=row["created_at"], last_activity=tuple(row[k] for k in kinds),
                          has_open_lead=row["open_lead"]))
        for row in rows
    ]


def erasure_records_for_managers(*, manager_rooftop_ids) -> object:
    """Erasure records a manager may see: those of customers known at the stores they manage, newest first."""
    from customers.models import ErasureRecord

    return ErasureRecord.objects.for_rooftops(manager_rooftop_ids).order_by("-created_at", "-id")
