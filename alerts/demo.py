"""Demo shoppers and alerts, so the live feed and the customer pages are not empty on first login.

Each demo shopper's clicks are normalized like collector messages and scored by the real scoring service, so
the alerts, reasons and intent scores are exactly what the product would have produced. Idempotent: nothing is
added when the demo shoppers exist already.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from alerts.models import Alert
from alerts.services import alert_act, alert_claim, alert_dismiss, alert_snooze, visitor_score_events
from customers.models import OwnedVehicle
from leads.models import InventoryVehicle, Lead
from rooftops.demo import DemoContext
from service.models import RepairOrder
from tracking.messages import normalize
from tracking.models import Visitor

PREFIX = "demo-alerts-"

# name, how long ago the story ends, the clicks (minutes before the end, event, extra properties)
SCENARIOS = [
    ("repeat-views", 190, [(1500, "vdp", {}), (900, "vdp", {}), (240, "vdp", {}), (2, "vdp", {})]),
    ("trade-in", 150, [(60, "vdp", {}), (20, "vdp", {}), (1, "trade_in_calculator_completed", {
        "trade_year": 2017, "trade_make": "Honda", "trade_model": "Civic", "estimated_value": 11480})]),
    ("payment", 95, [(30, "vdp", {}), (2, "payment_calculator_used", {
        "payment_type": "finance", "monthly_payment": 489, "term_months": 72, "down_payment": 3000})]),
    ("same-model", 60, [(2000, "vdp-a", {}), (700, "vdp-b", {}), (3, "vdp-c", {})]),
    ("equity", 35, [(9, "vdp", {}), (1, "vdp", {})]),
    ("credit", 12, [(15, "vdp", {}), (1, "credit_application_started", {"application_type": "individual"})]),
    ("repeat-urgent", 4, [(m, "vdp", {}) for m in (400, 300, 200, 120, 60, 30, 10, 1)]),
]
# What staff already did with some of them: (scenario, action)
STAFF_ACTIONS = {"repeat-views": "act", "trade-in": "claim", "payment": "dismiss", "same-model": "snooze"}
BROWSERS_PER_ROOFTOP = 8  # extra shoppers with a score but no alert (customer pages show their intent)


def seed(ctx: DemoContext) -> None:
    if Visitor.unscoped.filter(rooftop__dealer_group=ctx.group, anonymous_id__startswith=PREFIX).exists():
        return
    now = min(ctx.now, timezone.now())
    with transaction.atomic():
        for slug, rooftop in sorted(ctx.rooftops.items()):
            _seed_rooftop(ctx, slug, rooftop, now)
            _seed_outcome_history(ctx, slug, rooftop, now)


def _seed_rooftop(ctx: DemoContext, slug: str, rooftop, now) -> None:
    rng = ctx.rng(f"alerts:{slug}")
    leads = list(
        Lead.objects.for_rooftops([rooftop.id])
        .filter(status__in=Lead.OPEN_STATUSES, assigned_to__isnull=False).select_related("customer").order_by("id")[:400]
    )
    stock = list(InventoryVehicle.objects.for_rooftops([rooftop.id]).filter(status="in_stock").order_by("id"))
    by_model: dict[tuple[str, str], list[InventoryVehicle]] = {}
    for vehicle in stock:
        by_model.setdefault((vehicle.make, vehicle.model), []).append(vehicle)
    models_with_three = sorted(k for k, v in by_model.items() if len(v) >= 3)
    equity_customers = sorted(set(
        OwnedVehicle.objects.filter(customer__known_at__rooftop=rooftop, trade_value_cents__gt=0)
        .exclude(payoff_cents__isnull=True).values_list("customer_id", "trade_value_cents", "payoff_cents")
        .order_by("customer_id")
    ))
    service_ids = set(RepairOrder.objects.for_rooftops([rooftop.id]).values_list("customer_id", flat=True))
    equity_ids = [c for c, trade, payoff in equity_customers if trade - payoff > 100_000 and c in service_ids]

    # Plain browsers are picked among non-service customers: a service customer with equity would (rightly)
    # alert the service lane, and the demo's service lane should not be all equity alerts.
    leads = [lead for lead in leads if lead.customer_id not in service_ids] + \
        [lead for lead in leads if lead.customer_id in service_ids]
    main = rng.sample(leads[: max(len(SCENARIOS) + BROWSERS_PER_ROOFTOP, len(leads) // 2)],
                      k=min(len(leads), len(SCENARIOS) + BROWSERS_PER_ROOFTOP))
    picked = main
    alerts_by_scenario: dict[str, Alert] = {}
    for n, (name, ends_ago, clicks) in enumerate(SCENARIOS):
        if name == "equity":
            if not equity_ids:
                continue
            customer_id = rng.choice(equity_ids)
        else:
            customer_id = picked[n].customer_id
        vehicle = picked[n].vehicle if picked[n].vehicle_id and picked[n].vehicle.status == "in_stock" else rng.choice(stock)
        trio = by_model[rng.choice(models_with_three)][:3] if models_with_three else [vehicle] * 3
        end = now - timedelta(minutes=ends_ago)
        visitor = _browse(rooftop, f"{PREFIX}{slug}-{name}", customer_id, end, [
            (end - timedelta(minutes=before), kind, props,
             {"vdp": vehicle, "vdp-a": trio[0], "vdp-b": trio[1], "vdp-c": trio[2]}.get(kind, vehicle))
            for before, kind, props in clicks
        ])
        visitor_score_events(visitor_id=visitor.id, now=end)
        alert = Alert.unscoped.filter(visitor=visitor, parent__isnull=True).order_by("id").first()
        if alert is not None:
            alerts_by_scenario[name] = alert

    for n in range(BROWSERS_PER_ROOFTOP):
        lead = picked[len(SCENARIOS) + n] if len(picked) > len(SCENARIOS) + n else None
        if lead is None:
            break
        end = now - timedelta(hours=rng.randint(1, 60))
        vehicles = rng.sample(stock, k=2)
        clicks = [(end - timedelta(minutes=rng.randint(0, 600)), "vdp", {}, rng.choice(vehicles)) for _ in range(rng.randint(1, 3))]
        visitor = _browse(rooftop, f"{PREFIX}{slug}-browser-{n}", lead.customer_id, end, clicks)
        visitor_score_events(visitor_id=visitor.id, now=end)

    _staff_actions(ctx, slug, alerts_by_scenario, now)


def _browse(rooftop, anonymous_id: str, customer_id: int, end, clicks, *, scored_at=None) -> Visitor:
    """One demo browser's clicks, normalized like the collector's messages and stored as web events.

    Seeding writes the rows itself instead of calling tracking.services.events_record: that would queue a
    scoring task per browser after commit, hundreds of them racing a running worker for nothing (the demo
    scores its shoppers right here, and imported history arrives already scored).
    """
    visitor = Visitor.unscoped.create(
        rooftop=rooftop, anonymous_id=anonymous_id, customer_id=customer_id,
        identified_at=min(c[0] for c in clicks), first_seen_at=min(c[0] for c in clicks), last_seen_at=end,
    )
    rows = []
    for i, (at, kind, props, vehicle) in enumerate(sorted(clicks, key=lambda c: c[0])):
        if kind.startswith("vdp"):
            event, properties = "asc_item_pageview", {
                "item_id": vehicle.vin, "item_number": vehicle.stock_number, "item_year": vehicle.year,
                "item_make": vehicle.make, "item_model": vehicle.model, "item_variant": vehicle.trim,
                "item_price": vehicle.price_cents / 100, "page_type": "item"}
        elif kind == "srp":
            event, properties = "asc_itemlist_pageview", {"item_results": 24, "page_type": "itemlist"}
        elif kind == "asc_pageview":
            event, properties = kind, {"page_type": "home"}
        else:
            event, properties = kind, {"item_id": vehicle.vin, **props}
        m = normalize({"type": "track", "event": event, "anonymousId": anonymous_id,
                       "messageId": f"{anonymous_id}-{i}", "timestamp": at.isoformat(), "properties": properties},
                      received_at=end)
        rows.append((end, rooftop.id, visitor.id, customer_id, m.message_id, m.type, m.event, m.occurred_at, m.vin,
                     Jsonb(dict(m.properties)), scored_at))
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO tracking_event (received_at, rooftop_id, visitor_id, customer_id, message_id, type, event, "
            "occurred_at, vin, properties, scored_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )
    return visitor


def _staff_actions(ctx: DemoContext, slug: str, alerts: dict[str, Alert], now) -> None:
    bdc = ctx.staff.get("bdc@demo.test" if slug == "lakeside-toyota" else "bdc2@demo.test")
    if bdc is None:
        return
    for name, action in STAFF_ACTIONS.items():
        alert = alerts.get(name)
        if alert is None:
            continue
        when = alert.created_at + timedelta(minutes=4)
        if action == "claim":
            alert_claim(alert=alert, user=bdc, now=when)
        elif action == "act":
            alert_act(alert=alert, user=bdc, channel="call", department="bdc", now=when,
                      note="Talked to them: coming in Saturday morning for a test drive.")
        elif action == "dismiss":
            alert_dismiss(alert=alert, user=bdc, reason="already_contacted", note="Spoke yesterday", now=when)
        elif action == "snooze":
            alert_snooze(alert=alert, user=bdc, until=now + timedelta(hours=2), now=now)



HISTORY_SHOPPERS = 220  # per rooftop: enough for the managers' "fit the weights to our sales" to have data


def _seed_outcome_history(ctx: DemoContext, slug: str, rooftop, now) -> None:
    """Website history before past leads, so fitting the weights to outcomes has something to learn from.

    It is imported history, not live traffic: the events are marked scored so they raise no alerts today.
    """
    rng = ctx.rng(f"alerts-history:{slug}")
    leads = list(
        Lead.objects.for_rooftops([rooftop.id])
        .filter(created_at__lte=now - timedelta(days=35), created_at__gte=now - timedelta(days=175))
        .order_by("customer_id", "created_at").distinct("customer_id")
        .values_list("customer_id", "created_at", "sold_at", "vehicle_id")
    )
    leads = rng.sample(leads, k=min(HISTORY_SHOPPERS, len(leads)))
    vehicles = {v.id: v for v in InventoryVehicle.objects.for_rooftops([rooftop.id])}
    pool = list(vehicles.values())
    for n, (customer_id, created_at, sold_at, vehicle_id) in enumerate(sorted(leads)):
        bought = sold_at is not None and sold_at <= created_at + timedelta(days=30)
        wanted = vehicles.get(vehicle_id) or rng.choice(pool)

        def before(hours_max: float):
            return created_at - timedelta(hours=rng.uniform(0.2, hours_max))

        clicks = [(before(600), "asc_pageview", {}, wanted) for _ in range(rng.randint(1, 6))]
        clicks += [(before(400), "srp", {}, wanted) for _ in range(rng.randint(0, 3))]
        clicks += [(before(300), "vdp", {}, rng.choice(pool)) for _ in range(rng.randint(0, 2))]
        # Buyers in this made-up store come back to one car and work out the money; others mostly look.
        if rng.random() < (0.7 if bought else 0.2):
            clicks += [(before(60), "vdp", {}, wanted) for _ in range(rng.randint(2, 5))]
        if rng.random() < (0.55 if bought else 0.12):
            clicks.append((before(48), "trade_in_calculator_completed", {
                "trade_year": 2016, "trade_make": "Honda", "trade_model": "Civic", "estimated_value": 9800}, wanted))
        if rng.random() < (0.45 if bought else 0.15):
            clicks.append((before(48), "payment_calculator_used", {"monthly_payment": 459, "term_months": 72}, wanted))
        if rng.random() < (0.2 if bought else 0.35):
            clicks.append((before(100), "chat_started", {}, wanted))
        _browse(rooftop, f"{PREFIX}{slug}-hist-{n}", customer_id, created_at, clicks, scored_at=now)
