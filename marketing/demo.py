"""The demo's marketing: the group's rules, a trade-cycle campaign ready to send (the builder shows its audience and
a preview at once), and a few shoppers watching a car's price, so a price drop entered by a manager sends alerts."""

from __future__ import annotations

from django.db import transaction

CAMPAIGN_NAME = "Lease ending or equity: trade up early"
EMAIL_BODY = (
    "Hi {{ first_name }},\n\n"
    "Your {{ vehicle }} may be worth more than you think: {{ equity }} more than you owe, by our latest figures. "
    "Many of our customers trade up early at a similar monthly payment.\n\n"
    "{{ salesperson }} would be glad to show you the numbers; call us at {{ store_phone }} or reply to this email.\n\n"
    "{{ store }}"
)


def seed(ctx) -> None:
    from customers.models import Customer
    from leads.models import InventoryVehicle
    from marketing.models import Campaign, MarketingRules
    from marketing.price_drops import price_drop_subscribe
    from marketing.services import CampaignInput, campaign_save

    MarketingRules.objects.get_or_create(dealer_group=ctx.group)
    store = ctx.rooftops.get("lakeside-toyota") or next(iter(ctx.rooftops.values()))
    manager = ctx.staff.get("manager@demo.test")
    if manager is not None and not Campaign.objects.for_rooftops([store.id]).filter(name=CAMPAIGN_NAME).exists():
        campaign_save(user=manager, dealer_group=ctx.group, rooftop=store, data=CampaignInput(
            name=CAMPAIGN_NAME, audience={"triggers": ["lease_maturing", "positive_equity"], "match": "any"},
            channels="email", email_subject="{{ first_name }}, your {{ vehicle }} could trade up early",
            email_body=EMAIL_BODY))
    rng = ctx.rng("marketing-price-watchers")
    with transaction.atomic():
        vehicles = list(InventoryVehicle.objects.for_rooftops([store.id]).filter(status="in_stock").order_by("id")[:3])
        shoppers = list(Customer.objects.for_rooftops([store.id]).filter(merged_into__isnull=True, emails__isnull=False).distinct()
                        .order_by("id")[:6])
        for n, customer in enumerate(shoppers):
            if not vehicles:
                break
            vehicle = vehicles[n % len(vehicles)]
            below = (vehicle.price_cents * rng.randint(92, 98) // 100) // 10_000 * 10_000
            price_drop_subscribe(rooftop=store, customer=customer, vehicle=vehicle, below_cents=below,
                                 source="website price alert (demo)", at=ctx.now)
