import json

import pytest
from django.core.management import call_command

from customers.models import TimelineEntry
from tracking.models import TrackedEvent, Visitor

pytestmark = pytest.mark.django_db


def test_the_demo_has_weeks_of_website_history_and_seeding_again_changes_nothing(capsys):
    call_command("seed_demo", "--json")
    first = json.loads(capsys.readouterr().out)
    events = TrackedEvent.objects.across_rooftops()
    counts = (events.count(), Visitor.unscoped.count(), TimelineEntry.unscoped.filter(kind="web_session").count(),
              events.filter(customer__isnull=False).count())
    assert counts[0] > 3000
    assert counts[2] >= 40  # customers who opened a link: their anonymous browsing joined their story
    assert counts[3] > 500
    assert {"asc_item_pageview", "trade_in_calculator_completed", "payment_calculator_used"} <= set(
        events.values_list("event", flat=True).distinct())
    oldest = events.order_by("occurred_at").first().occurred_at
    newest = events.order_by("-occurred_at").first().occurred_at
    assert (newest - oldest).days >= 14
    for slug, keys in first["rooftops"].items():
        assert keys["demo_site_path"] == f"/demo-site/{slug}/"
        assert keys["tracking_write_key"]

    call_command("seed_demo", "--json")
    second = json.loads(capsys.readouterr().out)
    assert second == first
    assert (events.count(), Visitor.unscoped.count(), TimelineEntry.unscoped.filter(kind="web_session").count(),
            events.filter(customer__isnull=False).count()) == counts
