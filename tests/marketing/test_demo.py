"""The marketing demo: a trade-cycle campaign whose audience and preview show real customers on first run, and
shoppers watching a car's price; running the seed again changes nothing."""

import pytest
from django.core.management import call_command

from marketing.audience import AudienceSpec
from marketing.models import Campaign, MarketingRules, PriceDropSubscription
from marketing.selectors import audience_preview

pytestmark = pytest.mark.django_db


def test_the_demo_campaign_has_an_audience_and_shoppers_watch_prices():
    call_command("seed_demo")
    campaign = Campaign.unscoped.get(name__startswith="Lease ending or equity")
    assert campaign.status == Campaign.Status.DRAFT and campaign.rooftop.address
    preview = audience_preview(dealer_group_id=campaign.dealer_group_id, rooftop_id=campaign.rooftop_id,
                               spec=AudienceSpec.parse(campaign.audience))
    assert preview.count >= 5 and preview.sample
    assert MarketingRules.objects.filter(dealer_group_id=campaign.dealer_group_id, weekly_cap=2).exists()
    watched = PriceDropSubscription.unscoped.filter(rooftop=campaign.rooftop, cancelled_at__isnull=True)
    assert watched.count() == 6 and all(s.below_cents < s.vehicle.price_cents for s in watched)
    before = (Campaign.unscoped.count(), PriceDropSubscription.unscoped.count())
    call_command("seed_demo")
    assert (Campaign.unscoped.count(), PriceDropSubscription.unscoped.count()) == before
