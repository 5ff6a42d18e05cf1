"""Demo website traffic: three weeks of shoppers browsing each demo rooftop's website.

Some visitors are demo customers who opened a link from an email or text (identify with their customer
token) or signed up for a price alert (identify with their email), so customer pages show their website
history; the rest stay anonymous. Everything goes through tracking.services.events_record, exactly as the
collector stores it, except that scoring is left to the beat sweep of unscored events rather than thousands of
queued tasks. Deterministic message ids make it idempotent: a second run stores nothing new.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from customers.models import Customer
from leads.models import InventoryVehicle
from rooftops.demo import DemoContext
from tracking.messages import normalize
from tracking.partitions import partitions_ensure
from tracking.services import events_record, scoring_left_to_sweep

DAYS = 21
KNOWN_VISITORS = 40  # demo customers per rooftop who browse the website
ANONYMOUS_VISITORS = 60


def keys(ctx: DemoContext) -> dict[str, dict[str, str]]:
    return {
        slug: {"tracking_write_key": rooftop.tracking_write_key, "demo_site_path": f"/demo-site/{slug}/"}
        for slug, rooftop in ctx.rooftops.items()
    }


def seed(ctx: DemoContext) -> None:
    # The demo's weeks may start last month: give them month partitions rather than the default one.
    partitions_ensure(now=ctx.now, months_back=1)
    for slug, rooftop in sorted(ctx.rooftops.items()):
        _seed_rooftop(ctx, slug, rooftop)


def _vehicle_props(v: InventoryVehicle) -> dict:
    return {"item_id": v.vin, "item_number": v.stock_number, "item_year": v.year, "item_make": v.make,
            "item_model": v.model, "item_variant": v.trim, "item_price": v.price_cents // 100,
            "item_condition": v.condition}


def _seed_rooftop(ctx: DemoContext, slug: str, rooftop) -> None:
    rng = ctx.rng(f"tracking-web:{slug}")
    inventory = list(InventoryVehicle.objects.for_rooftops([rooftop.id])
                     .filter(status=InventoryVehicle.Status.IN_STOCK).order_by("id"))
    if not inventory:
        return
    customers = list(Customer.objects.for_rooftops([rooftop.id]).filter(leads__rooftop=rooftop,
                                                                        link_token__isnull=False)
                     .distinct().order_by("id").values_list("id", "link_token"))
    known = rng.sample(customers, min(KNOWN_VISITORS, len(customers)))
    visitors = [(f"demo-{slug}-c{cid}", token) for cid, token in known]
    visitors += [(f"demo-{slug}-a{n:03d}", None) for n in range(ANONYMOUS_VISITORS)]
    site = f"https://www.{slug.replace('-', '')}.example"
    for anonymous_id, token in visitors:
        favourite = rng.choice(inventory)
        sessions = rng.randint(1, 5)
        # The most engaged shoppers come back in the last days: the alert feed has something fresh.
        starts = sorted(ctx.now - timedelta(days=rng.uniform(0, DAYS), hours=rng.uniform(0, 10))
                        for _ in range(sessions))
        identify_session = rng.randrange(sessions) if token else -1
        for s, start in enumerate(starts):
            messages = _session(rng, anonymous_id=anonymous_id, start=start, inventory=inventory,
                                favourite=favourite, site=site, session=s,
                                token=token if s == identify_session else None)
            received_at = messages[-1]["_at"] + timedelta(seconds=20)
            normalized = []
            for raw in messages:
                raw.pop("_at")
                normalized.append(normalize(raw, received_at=received_at))
            with scoring_left_to_sweep():
                events_record(rooftop=rooftop, messages=normalized, received_at=received_at)


def _session(rng, *, anonymous_id: str, start: datetime, inventory: list, favourite: InventoryVehicle, site: str,
             session: int, token: str | None) -> list[dict]:
    """One visit: the results page, a few vehicle pages (mostly the favourite), sometimes tools and a CTA."""
    at = start
    out: list[dict] = []

    def add(kind: str, name: str, props: dict, path: str, **extra) -> None:
        nonlocal at
        at += timedelta(seconds=rng.randint(8, 90))
        n = len(out)
        message = {"type": kind, "anonymousId": anonymous_id, "messageId": f"{anonymous_id}:{session}:{n}",
                   "timestamp": at.isoformat(), "sentAt": at.isoformat(), "properties": props,
                   "context": {"page": {"url": site + path, "path": path},
                               "library": {"name": "crm-track", "version": "1"}}, "_at": at, **extra}
        message["event" if kind == "track" else "name"] = name
        out.append(message)

    def page(page_type: str, path: str, title: str) -> None:
        add("page", title, {"page_type": page_type, "path": path}, path)
        add("track", "asc_pageview", {"page_type": page_type}, path)

    if token:
        # Opened a link from our email or text: track.js sends identify with the customer token.
        page("home", "/", "Home")
        add("identify", "", {}, "/", traits={"customer_token": token})
    page("srp", "/inventory/", "Inventory")
    add("track", "asc_itemlist_pageview", {"page_type": "itemlist", "item_results": rng.randint(20, 120),
                                           "filters": {"make": favourite.make}}, "/inventory/")
    for _ in range(rng.randint(1, 4)):
        vehicle = favourite if rng.random() < 0.6 else rng.choice(inventory)
        path = f"/vehicles/{vehicle.stock_number}/"
        page("vdp", path, vehicle.title)
        add("track", "asc_item_pageview", {**_vehicle_props(vehicle), "page_type": "item"}, path)
    path = f"/vehicles/{favourite.stock_number}/"
    roll = rng.random()
    if roll < 0.25:
        add("track", "payment_calculator_used", {**_vehicle_props(favourite), "payment_type": "finance",
                                                 "down_payment": 3000, "term_months": rng.choice([48, 60, 72]),
                                                 "apr": 6.9, "monthly_payment": round(rng.uniform(380, 720), 2)}, path)
    if roll < 0.12:
        add("track", "trade_in_calculator_completed", {
            "trade_year": rng.randint(2012, 2021), "trade_make": rng.choice(["Honda", "Ford", "Nissan", "Toyota"]),
            "trade_model": rng.choice(["Civic", "Escape", "Rogue", "Corolla"]), "trade_mileage": rng.randint(30, 140) * 1000,
            "trade_condition": rng.choice(["good", "fair"]), "estimated_value": rng.randint(40, 220) * 50,
            "item_id": favourite.vin}, path)
    if 0.3 < roll < 0.4:
        add("track", "asc_cta_interaction", {**_vehicle_props(favourite), "element_text": "Call us",
                                             "element_type": "call", "event_action": "click", "page_type": "vdp"}, path)
    if 0.4 < roll < 0.45:
        add("track", "credit_application_started", {"application_type": "individual", "item_id": favourite.vin}, path)
    if 0.45 < roll < 0.5:
        add("track", "asc_form_engagement", {"form_type": "test_drive", "form_id": "form-test_drive",
                                             "event_action_result": "start", "page_type": "vdp"}, path)
    return out
