"""Reads for campaigns: who is in an audience, a sample of them with why, and the facts the suppression rules need.

Built for audiences of 100,000+ customers: each trigger is one SQL statement that yields customer ids only, and
the chosen triggers are combined in the database (UNION for "any", INTERSECT for "all"), so Python never holds
more than ids. Lists of values are joined as `unnest(array)` rather than compared with `= ANY(array)` / IN:
on columns that carry a trigram GIN index (a phone's e164, an owned vehicle's VIN) PostgreSQL answers those with
the trigram index at about 2 ms per value, and a join uses the plain btree index instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection
from django.utils import timezone

from crm.encrypted_fields import readable
from customers.models import (
    ConsentRecord, Customer, CustomerEmail, CustomerPhone, CustomerRooftop, OutboundMessage, OwnedVehicle,
    SuppressionEntry, SuppressionKey, VehicleSale,
)
from customers.suppression import address_digest, channel_of
from leads.models import InventoryVehicle, Lead
from marketing import audience as aud
from marketing import eligibility
from marketing.models import Campaign, MarketingRules, PriceDropSubscription
from rooftops.models import Rooftop
from service.models import RepairOrder, VehicleOpportunity
from service.wording import dollars, short_date

VDP_VIEW = "asc_item_pageview"  # alerts.scoring.VDP_VIEW: a vehicle detail page view (a `track` event)
MARKETING_PURPOSES = (ConsentRecord.Purpose.MARKETING, ConsentRecord.Purpose.SERVICE_REMINDERS)
CAP_WINDOW = timedelta(days=7)


def _t(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


# --------------------------------------------------------------------------- scope


@dataclass(frozen=True)
class Scope:
    dealer_group_id: int
    rooftop_ids: tuple[int, ...]  # the store, or every store of the group


def scope_of(*, dealer_group_id: int, rooftop_id: int | None) -> Scope:
    """A store campaign looks at that store; a group campaign at every store of the group. A store outside
    the group gives an empty scope (nobody), never another group's customers."""
    stores = Rooftop.objects.filter(dealer_group_id=dealer_group_id)
    if rooftop_id is not None:
        stores = stores.filter(pk=rooftop_id)
    return Scope(dealer_group_id, tuple(stores.order_by("pk").values_list("pk", flat=True)))


def campaign_scope(campaign: Campaign) -> Scope:
    return scope_of(dealer_group_id=campaign.dealer_group_id, rooftop_id=campaign.rooftop_id)


# --------------------------------------------------------------------------- audience: one SQL per trigger


def _opportunity_sql(kind: str, scope: Scope, now: datetime) -> tuple[str, list]:
    # trigger_kinds @> ARRAY[kind] is answered by the GIN index on the array.
    return (f"SELECT customer_id FROM {_t(VehicleOpportunity)} "
            f"WHERE rooftop_id = ANY(%s) AND trigger_kinds @> ARRAY[%s]::varchar[]",
            [list(scope.rooftop_ids), kind])


def _service_due_sql(scope: Scope, now: datetime) -> tuple[str, list]:
    # The customer's latest repair order at the scope: over 6 months ago, or the car it was for has since been
    # driven SERVICE_DUE_MILES (today's estimated odometer against the mileage written on that RO).
    return (f"""
        SELECT ro.customer_id FROM (
            SELECT DISTINCT ON (customer_id) customer_id, vehicle_id, opened_at, mileage_in
            FROM {_t(RepairOrder)} WHERE rooftop_id = ANY(%s)
            ORDER BY customer_id, opened_at DESC, id DESC
        ) ro
        LEFT JOIN {_t(VehicleOpportunity)} o ON o.vehicle_id = ro.vehicle_id
        WHERE ro.opened_at < %s::timestamptz - make_interval(months => %s)
           OR (o.mileage IS NOT NULL AND ro.mileage_in IS NOT NULL AND o.mileage >= ro.mileage_in + %s)""",
            [list(scope.rooftop_ids), now, aud.SERVICE_DUE_MONTHS, aud.SERVICE_DUE_MILES])


def _no_visit_sql(scope: Scope, now: datetime) -> tuple[str, list]:
    return (f"SELECT customer_id FROM {_t(RepairOrder)} WHERE rooftop_id = ANY(%s) GROUP BY customer_id "
            f"HAVING max(opened_at) < %s::timestamptz - make_interval(months => %s)",
            [list(scope.rooftop_ids), now, aud.NO_VISIT_MONTHS])


def _matching_inventory_sql(scope: Scope, models: Sequence[str]) -> tuple[str, list]:
    """Vehicles at the scope whose "make model" or model alone is one of the names, ignoring case."""
    names = [m.casefold() for m in models]
    return (f"SELECT id, rooftop_id, vin FROM {_t(InventoryVehicle)} WHERE rooftop_id = ANY(%s) "
            f"AND (lower(make || ' ' || model) = ANY(%s) OR lower(model) = ANY(%s))",
            [list(scope.rooftop_ids), names, names])


def _viewed_models_sql(spec: aud.AudienceSpec, scope: Scope, now: datetime) -> tuple[str, list]:
    # Two sources: detail-page views an identified shopper made (tracking events carry the customer), and the
    # scoring state of shoppers identified after they browsed (ShopperIntent.viewed_vins, GIN-indexed; its
    # last event inside the window stands for the view's date, which the state does not keep per vehicle).
    from alerts.models import ShopperIntent

    inventory, inventory_params = _matching_inventory_sql(scope, spec.viewed_models)
    since = now - timedelta(days=spec.viewed_days)
    sql = f"""
        SELECT e.customer_id FROM tracking_event e
        JOIN ({inventory}) v ON v.rooftop_id = e.rooftop_id AND v.vin = e.vin
        WHERE e.rooftop_id = ANY(%s) AND e.customer_id IS NOT NULL AND e.type = 'track' AND e.event = %s
          AND e.occurred_at >= %s
        UNION
        SELECT si.customer_id FROM {_t(ShopperIntent)} si
        WHERE si.rooftop_id = ANY(%s) AND si.customer_id IS NOT NULL AND si.last_event_at >= %s
          AND si.viewed_vins && ARRAY(SELECT v.vin FROM ({inventory}) v)::varchar[]"""
    return sql, [*inventory_params, list(scope.rooftop_ids), VDP_VIEW, since,
                 list(scope.rooftop_ids), since, *inventory_params]


def _price_drop_sql(scope: Scope, now: datetime) -> tuple[str, list]:
    return (f"SELECT s.customer_id FROM {_t(PriceDropSubscription)} s "
            f"JOIN {_t(InventoryVehicle)} v ON v.id = s.vehicle_id "
            f"WHERE s.rooftop_id = ANY(%s) AND s.cancelled_at IS NULL AND v.status = ANY(%s)",
            [list(scope.rooftop_ids), list(InventoryVehicle.LISTED_STATUSES)])


def _trigger_sqls(spec: aud.AudienceSpec, scope: Scope, now: datetime) -> list[tuple[str, list]]:
    parts = []
    for trigger in spec.triggers:
        if trigger in aud.OPPORTUNITY_KINDS:
            parts.append(_opportunity_sql(aud.OPPORTUNITY_KINDS[trigger], scope, now))
        elif trigger == aud.SERVICE_DUE:
            parts.append(_service_due_sql(scope, now))
        elif trigger == aud.NO_VISIT_12_MONTHS:
            parts.append(_no_visit_sql(scope, now))
    if spec.viewed_models:
        parts.append(_viewed_models_sql(spec, scope, now))
    if spec.price_drop_subscribers:
        parts.append(_price_drop_sql(scope, now))
    return parts


def audience_sql(spec: aud.AudienceSpec, scope: Scope, *, now: datetime) -> tuple[str, list]:
    """`SELECT id` of the audience's customers: the triggers combined, live records of the group only."""
    parts = _trigger_sqls(spec, scope, now)
    if not parts or not scope.rooftop_ids:
        return "SELECT NULL::bigint AS id WHERE false", []
    glue = " INTERSECT " if spec.match == "all" else " UNION "
    combined = glue.join(f"({sql})" for sql, _ in parts)
    params = [p for _, ps in parts for p in ps]
    sql = (f"SELECT c.id FROM {_t(Customer)} c JOIN ({combined}) a(customer_id) ON a.customer_id = c.id "
           f"WHERE c.dealer_group_id = %s AND c.merged_into_id IS NULL AND c.erased_at IS NULL")
    return sql, [*params, scope.dealer_group_id]


def audience_ids(*, spec: aud.AudienceSpec, scope: Scope, now: datetime | None = None) -> list[int]:
    """The audience's customer ids, ascending (ints only: 100,000 of them are under 4 MB)."""
    sql, params = audience_sql(spec, scope, now=now or timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM ({sql}) audience ORDER BY id", params)
        return [row[0] for row in cursor.fetchall()]


def audience_customer_ids(campaign: Campaign, *, now: datetime | None = None) -> list[int]:
    """A campaign's audience within its scope (store, or every store of its group)."""
    return audience_ids(spec=aud.AudienceSpec.parse(campaign.audience), scope=campaign_scope(campaign), now=now)


# --------------------------------------------------------------------------- preview


@dataclass(frozen=True)
class SampleCustomer:
    customer_id: int
    name: str
    store: str  # the store they would hear from
    why: str  # "Lease ends in 40 days (Mar 3, 2027)"; several reasons joined with "; "


@dataclass(frozen=True)
class AudiencePreview:
    count: int
    sample: list[SampleCustomer]
    error: str = ""  # the audience could not be built, in the manager's words


def audience_preview(*, dealer_group_id: int, rooftop_id: int | None, spec: aud.AudienceSpec | dict,
                     sample: int = 10, now: datetime | None = None) -> AudiencePreview:
    """How many customers the audience holds and a few of them with why they matched, for the builder page.

    `spec` may be the raw JSON or form data: what cannot be parsed comes back as `error`, never an exception.
    The caller has checked that the staff member may see the store (or, for `rooftop_id=None`, the group).
    """
    now = now or timezone.now()
    if not isinstance(spec, aud.AudienceSpec):
        try:
            spec = aud.AudienceSpec.parse(spec)
        except aud.AudienceError as exc:
            return AudiencePreview(0, [], str(exc))
    if spec.is_empty:
        return AudiencePreview(0, [], "Choose at least one trigger or behaviour for the audience.")
    scope = scope_of(dealer_group_id=dealer_group_id, rooftop_id=rooftop_id)
    sql, params = audience_sql(spec, scope, now=now)
    sample = max(0, min(int(sample), 50))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({sql}) audience", params)
        total = cursor.fetchone()[0]
        # A spread rather than the oldest records: ordered by a hash of the id, stable between refreshes.
        cursor.execute(f"SELECT id FROM ({sql}) audience ORDER BY md5(id::text) LIMIT %s", [*params, sample])
        ids = [row[0] for row in cursor.fetchall()]
    return AudiencePreview(total, _sample_rows(ids, spec, scope, now))


def _sample_rows(ids: list[int], spec: aud.AudienceSpec, scope: Scope, now: datetime) -> list[SampleCustomer]:
    if not ids:
        return []
    customers = {c.pk: c for c in Customer.unscoped.filter(pk__in=ids)}
    homes = home_rooftops(ids, scope)
    names = dict(Rooftop.objects.filter(pk__in=set(homes.values())).values_list("pk", "name"))
    why = _why_matched(ids, spec, scope, now)
    return [SampleCustomer(pk, customers[pk].full_name or f"Customer {pk}", names.get(homes.get(pk), ""),
                           "; ".join(why.get(pk, [])) or "Matched the audience")
            for pk in ids if pk in customers]


def _why_matched(ids: list[int], spec: aud.AudienceSpec, scope: Scope, now: datetime) -> dict[int, list[str]]:
    """Each sampled customer's reasons, in words: a handful of small queries over the sample's ids only."""
    why: dict[int, list[str]] = defaultdict(list)
    kinds = {aud.OPPORTUNITY_KINDS[t]: t for t in spec.triggers if t in aud.OPPORTUNITY_KINDS}
    if kinds:
        for customer_id, reasons in VehicleOpportunity.objects.across_rooftops().filter(
                customer_id__in=ids, rooftop_id__in=scope.rooftop_ids, trigger_kinds__overlap=list(kinds)
        ).values_list("customer_id", "reasons"):
            for reason in reasons or []:
                if isinstance(reason, dict) and reason.get("kind") in kinds and reason.get("reason"):
                    why[customer_id].append(str(reason["reason"]))
    if aud.SERVICE_DUE in spec.triggers or aud.NO_VISIT_12_MONTHS in spec.triggers:
        latest = (RepairOrder.objects.across_rooftops().filter(customer_id__in=ids, rooftop_id__in=scope.rooftop_ids)
                  .order_by("customer_id", "-opened_at").distinct("customer_id")
                  .values_list("customer_id", "opened_at", "mileage_in"))
        for customer_id, opened_at, mileage_in in latest:
            months = (now.year - opened_at.year) * 12 + now.month - opened_at.month
            text = f"Last service {short_date(opened_at.date())} ({months} months ago)"
            if mileage_in:
                text += f" at {mileage_in:,} miles"
            why[customer_id].append(text)
    if spec.viewed_models:
        since = now - timedelta(days=spec.viewed_days)
        for customer_id, vehicle, viewed_at in _viewed_vehicles(ids, spec, scope, since):
            why[customer_id].append(f"Viewed the {vehicle} on {short_date(viewed_at.date())}")
    if spec.price_drop_subscribers:
        for customer_id, year, make, model in PriceDropSubscription.objects.across_rooftops().filter(
                customer_id__in=ids, rooftop_id__in=scope.rooftop_ids, cancelled_at__isnull=True,
                vehicle__status__in=InventoryVehicle.LISTED_STATUSES,
        ).values_list("customer_id", "vehicle__year", "vehicle__make", "vehicle__model"):
            why[customer_id].append(f"Asked for price-drop alerts on the {year} {make} {model}")
    return why


def _viewed_vehicles(ids: Iterable[int], spec: aud.AudienceSpec, scope: Scope,
                     since: datetime) -> list[tuple[int, str, datetime]]:
    """(customer, "2024 Toyota RAV4", when) for each customer's newest matching detail-page view."""
    inventory, inventory_params = _matching_inventory_sql(scope, spec.viewed_models)
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT DISTINCT ON (e.customer_id) e.customer_id, iv.year || ' ' || iv.make || ' ' || iv.model,
                   e.occurred_at
            FROM unnest(%s::bigint[]) ids(id)
            JOIN tracking_event e ON e.customer_id = ids.id
            JOIN ({inventory}) v ON v.rooftop_id = e.rooftop_id AND v.vin = e.vin
            JOIN {_t(InventoryVehicle)} iv ON iv.id = v.id
            WHERE e.type = 'track' AND e.event = %s AND e.occurred_at >= %s
            ORDER BY e.customer_id, e.occurred_at DESC""",
                       [list(ids), *inventory_params, VDP_VIEW, since])
        return cursor.fetchall()


def viewed_vins(customer_ids: Sequence[int], spec: aud.AudienceSpec, scope: Scope, *,
                now: datetime) -> dict[int, tuple[str, str]]:
    """customer → (VIN, "2024 Toyota RAV4") of the newest matching vehicle they viewed: the car a viewed-model
    campaign is offering them, so "already bought it" can hold the message back."""
    if not spec.viewed_models or not customer_ids:
        return {}
    inventory, inventory_params = _matching_inventory_sql(scope, spec.viewed_models)
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT DISTINCT ON (e.customer_id) e.customer_id, iv.vin, iv.year || ' ' || iv.make || ' ' || iv.model
            FROM unnest(%s::bigint[]) ids(id)
            JOIN tracking_event e ON e.customer_id = ids.id
            JOIN ({inventory}) v ON v.rooftop_id = e.rooftop_id AND v.vin = e.vin
            JOIN {_t(InventoryVehicle)} iv ON iv.id = v.id
            WHERE e.type = 'track' AND e.event = %s AND e.occurred_at >= %s
            ORDER BY e.customer_id, e.occurred_at DESC""",
                       [list(customer_ids), *inventory_params, VDP_VIEW, now - timedelta(days=spec.viewed_days)])
        return {row[0]: (row[1], row[2]) for row in cursor.fetchall()}


def subscribed_vins(customer_ids: Sequence[int], scope: Scope) -> dict[int, tuple[str, str]]:
    """customer → (VIN, vehicle) of their newest active price-drop subscription at the scope."""
    rows = (PriceDropSubscription.objects.across_rooftops()
            .filter(customer_id__in=customer_ids, rooftop_id__in=scope.rooftop_ids, cancelled_at__isnull=True,
                    vehicle__status__in=InventoryVehicle.LISTED_STATUSES)
            .order_by("customer_id", "-created_at").distinct("customer_id")
            .values_list("customer_id", "vehicle__vin", "vehicle__year", "vehicle__make", "vehicle__model"))
    return {c: (vin, f"{year} {make} {model}") for c, vin, year, make, model in rows}


# --------------------------------------------------------------------------- where each recipient hears from


def home_rooftops(customer_ids: Sequence[int], scope: Scope) -> dict[int, int]:
    """customer → the store they were last seen at within the scope (customers.messaging._home_rooftop_id,
    in bulk), else the scope's first store."""
    if not customer_ids or not scope.rooftop_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT DISTINCT ON (cr.customer_id) cr.customer_id, cr.rooftop_id
            FROM unnest(%s::bigint[]) ids(id) JOIN {_t(CustomerRooftop)} cr ON cr.customer_id = ids.id
            WHERE cr.rooftop_id = ANY(%s)
            ORDER BY cr.customer_id, cr.first_seen_at DESC, cr.id DESC""",
                       [list(customer_ids), list(scope.rooftop_ids)])
        found = dict(cursor.fetchall())
    return {pk: found.get(pk, scope.rooftop_ids[0]) for pk in customer_ids}


# --------------------------------------------------------------------------- facts for the suppression rules


def _addresses(customer_ids: Sequence[int], channel: str) -> dict[int, str]:
    """The primary email, or the primary (else a mobile) phone, per customer."""
    # A subquery per id (LIMIT 1 on the customer_id index) rather than a join: with a join the planner hashes the
    # whole address table once it is large, and a chunk's cost grows with the group instead of the chunk.
    if channel == eligibility.EMAIL:
        pick = (f"SELECT a.email FROM {_t(CustomerEmail)} a WHERE a.customer_id = ids.id AND a.email <> '' "
                f"ORDER BY a.is_primary DESC, a.id LIMIT 1")
    else:
        pick = (f"SELECT a.e164 FROM {_t(CustomerPhone)} a WHERE a.customer_id = ids.id AND a.e164 <> '' "
                f"ORDER BY a.is_primary DESC, (a.label = 'mobile') DESC, a.id LIMIT 1")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT ids.id, ({pick}) FROM unnest(%s::bigint[]) ids(id)", [list(customer_ids)])
        return {pk: address for pk, address in cursor.fetchall() if address}


def _listed(addresses: Iterable[str], channel: str, dealer_group_id: int) -> dict[str, str]:
    """address → the do-not-contact list's reason, for the listed ones: digests made in Python with the group's
    key, looked up in one query."""
    addresses = set(a for a in addresses if a)
    key = SuppressionKey.objects.filter(dealer_group_id=dealer_group_id).values_list("key", flat=True).first()
    if key is None or not addresses:
        return {}  # a group that never suppressed anyone has no key and no list
    list_channel = channel_of(channel)
    by_digest = {address_digest(key=key, channel=list_channel, address=a): a for a in addresses}
    rows = SuppressionEntry.objects.filter(dealer_group_id=dealer_group_id, channel=list_channel,
                                           digest__in=list(by_digest)).values_list("digest", "reason")
    return {by_digest[digest]: reason for digest, reason in rows}


def _consents(addresses: Iterable[str], channel: str, purpose: str, dealer_group_id: int) -> dict[str, bool]:
    """address → its newest consent record for the purpose, judged per address across the group: a STOP or an
    unsubscribe from any record sharing the number or address is honoured for all of them."""
    addresses = sorted(set(a for a in addresses if a))
    if not addresses:
        return {}
    table, column = (_t(CustomerEmail), "email") if channel == eligibility.EMAIL else (_t(CustomerPhone), "e164")
    # Per address, through the address's btree index (a join hashes the whole address table; see _addresses).
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT ids.address, (
                SELECT cr.granted FROM {table} a JOIN {_t(ConsentRecord)} cr ON cr.customer_id = a.customer_id
                WHERE a.{column} = ids.address AND cr.dealer_group_id = %s AND cr.channel = %s AND cr.purpose = %s
                ORDER BY cr.recorded_at DESC, cr.id DESC LIMIT 1)
            FROM unnest(%s::varchar[]) ids(address)""",
                       [dealer_group_id, channel, purpose, addresses])
        return {address: granted for address, granted in cursor.fetchall() if granted is not None}


def _purchases(customer_ids: Sequence[int]) -> dict[int, tuple[frozenset[str], date | None]]:
    """customer → (VINs bought, last purchase day): DMS deals, and leads marked sold with a vehicle."""
    bought: dict[int, set[str]] = defaultdict(set)
    last: dict[int, date] = {}
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT s.customer_id, upper(s.vin), s.sold_on FROM unnest(%s::bigint[]) ids(id)
            JOIN {_t(VehicleSale)} s ON s.customer_id = ids.id
            UNION ALL
            SELECT l.customer_id, upper(v.vin), l.sold_at::date FROM unnest(%s::bigint[]) ids(id)
            JOIN {_t(Lead)} l ON l.customer_id = ids.id
            LEFT JOIN {_t(InventoryVehicle)} v ON v.id = l.vehicle_id
            WHERE l.status = 'sold' AND (l.vehicle_id IS NOT NULL OR l.sold_at IS NOT NULL)""",
                       [list(customer_ids), list(customer_ids)])
        for customer_id, vin, sold_on in cursor.fetchall():
            if vin:
                bought[customer_id].add(vin)
            if sold_on is not None and (customer_id not in last or sold_on > last[customer_id]):
                last[customer_id] = sold_on
    return {pk: (frozenset(bought.get(pk, ())), last.get(pk)) for pk in set(bought) | set(last)}


def _leads_worked(customer_ids: Sequence[int]) -> dict[int, str]:
    """customer → the name of the salesperson working their newest open, assigned lead (any store)."""
    from django.contrib.auth import get_user_model

    from rooftops.models import StaffProfile

    user = get_user_model()
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT DISTINCT ON (l.customer_id) l.customer_id,
                   COALESCE(NULLIF(p.display_name, ''), NULLIF(trim(u.first_name || ' ' || u.last_name), ''),
                            u.username)
            FROM unnest(%s::bigint[]) ids(id) JOIN {_t(Lead)} l ON l.customer_id = ids.id
            JOIN {_t(user)} u ON u.id = l.assigned_to_id
            LEFT JOIN {_t(StaffProfile)} p ON p.user_id = u.id
            WHERE l.status = ANY(%s)
            ORDER BY l.customer_id, l.created_at DESC""",
                       [list(customer_ids), list(Lead.OPEN_STATUSES)])
        return dict(cursor.fetchall())


def _marketing_last_7_days(customer_ids: Sequence[int], now: datetime) -> dict[int, int]:
    """customer → marketing messages (campaigns, reminders, price drops) queued or sent to them in the last
    7 days at every store; failed and suppressed ones never reached them."""
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT m.customer_id, count(*) FROM unnest(%s::bigint[]) ids(id)
            JOIN {_t(OutboundMessage)} m ON m.customer_id = ids.id
            WHERE m.purpose = ANY(%s) AND m.status <> ALL(%s) AND m.created_at > %s
            GROUP BY m.customer_id""",
                       [list(customer_ids), list(MARKETING_PURPOSES),
                        [OutboundMessage.Status.FAILED, OutboundMessage.Status.SUPPRESSED], now - CAP_WINDOW])
        return dict(cursor.fetchall())


def recipient_facts(*, customer_ids: Sequence[int], channel: str, dealer_group_id: int, today: date | None = None,
                    purpose: str = ConsentRecord.Purpose.MARKETING, now: datetime | None = None,
                    ) -> dict[int, eligibility.Recipient]:
    """customer → what the suppression rules need to know about them on this channel, in eight queries
    whatever the number of customers (call it per chunk of a few hundred to a few thousand)."""
    now = now or timezone.now()
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    # Not in the group at all counts as gone: never write to someone the campaign's group does not hold.
    gone = {pk: erased_at is not None or merged_into_id is not None
            for pk, erased_at, merged_into_id in Customer.unscoped.filter(pk__in=ids, dealer_group_id=dealer_group_id)
            .values_list("pk", "erased_at", "merged_into_id")}
    addresses = _addresses(ids, channel)
    listed = _listed(addresses.values(), channel, dealer_group_id)
    consents = _consents(addresses.values(), channel, purpose, dealer_group_id)
    purchases = _purchases(ids)
    worked = _leads_worked(ids)
    recent = _marketing_last_7_days(ids, now)
    facts = {}
    for pk in ids:
        address = addresses.get(pk, "")
        bought, last_purchase = purchases.get(pk, (frozenset(), None))
        facts[pk] = eligibility.Recipient(
            customer_id=pk, channel=channel, address=address,
            erased=gone.get(pk, True),
            listed=listed.get(address, ""), consent=consents.get(address), bought_vins=bought,
            last_purchase_on=last_purchase, lead_worked_by=worked.get(pk, ""),
            marketing_last_7_days=recent.get(pk, 0),
        )
    return facts


def marketing_rules(dealer_group_id: int) -> eligibility.Rules:
    """The group's limits, or the defaults when a manager never set any."""
    row = MarketingRules.objects.filter(dealer_group_id=dealer_group_id).first()
    if row is None:
        return eligibility.Rules()
    return eligibility.Rules(weekly_cap=row.weekly_cap, purchase_quiet_days=row.purchase_quiet_days)


# --------------------------------------------------------------------------- merge fields


@dataclass(frozen=True)
class MergeFacts:
    vehicle: str = ""  # "2019 Toyota RAV4"
    equity: str = ""  # "$6,200", "" when unknown or not positive
    salesperson: str = ""


def merge_facts(customer_ids: Sequence[int], rooftop_ids: dict[int, int]) -> dict[int, MergeFacts]:
    """customer → their newest owned vehicle with its equity (decrypted here, never in SQL), and the owner of
    their latest lead at the store they hear from."""
    from django.contrib.auth import get_user_model

    from rooftops.models import StaffProfile

    if not customer_ids:
        return {}
    vehicles: dict[int, tuple[str, int | None]] = {}
    rows = (OwnedVehicle.objects.filter(customer_id__in=customer_ids)
            .order_by("customer_id", "-id").distinct("customer_id")
            .values_list("customer_id", "id", "year", "make", "model"))
    by_vehicle = {}
    for customer_id, vehicle_id, year, make, model in rows:
        by_vehicle[vehicle_id] = customer_id
        vehicles[customer_id] = (" ".join(str(p) for p in (year, make, model) if p), None)
    for vehicle_id, equity in VehicleOpportunity.objects.across_rooftops().filter(
            vehicle_id__in=list(by_vehicle)).values_list("vehicle_id", "equity_cents"):
        customer_id = by_vehicle[vehicle_id]
        vehicles[customer_id] = (vehicles[customer_id][0], readable(equity))
    user = get_user_model()
    pairs = [(pk, rooftop_ids.get(pk)) for pk in customer_ids]
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT DISTINCT ON (l.customer_id) l.customer_id,
                   COALESCE(NULLIF(p.display_name, ''), NULLIF(trim(u.first_name || ' ' || u.last_name), ''),
                            u.username)
            FROM unnest(%s::bigint[], %s::bigint[]) ids(id, rooftop_id)
            JOIN {_t(Lead)} l ON l.customer_id = ids.id AND l.rooftop_id = ids.rooftop_id
            JOIN {_t(user)} u ON u.id = l.assigned_to_id
            LEFT JOIN {_t(StaffProfile)} p ON p.user_id = u.id
            ORDER BY l.customer_id, l.created_at DESC""",
                       [[p for p, _ in pairs], [r for _, r in pairs]])
        salespeople = dict(cursor.fetchall())
    facts = {}
    for pk in customer_ids:
        vehicle, equity = vehicles.get(pk, ("", None))
        facts[pk] = MergeFacts(vehicle=vehicle, equity=dollars(equity) if isinstance(equity, int) and equity > 0 else "",
                               salesperson=salespeople.get(pk, ""))
    return facts
