import pytest
from django.core.management import call_command

from alerts.models import Alert, ShopperIntent
from alerts.selectors import alerts_visible, intent_for_customer
from django.contrib.auth.models import User
from rooftops.selectors import staff_access

pytestmark = pytest.mark.django_db


def snapshot():
    return (
        list(Alert.unscoped.order_by("id").values_list("id", "kind", "state", "priority", "parent_id", "for_team", "reasons")),
        list(ShopperIntent.unscoped.order_by("id").values_list("visitor_id", "score", "event_count", "reasons")),
    )


def test_the_demo_feed_has_alerts_in_several_states_and_seeding_again_changes_nothing():
    call_command("seed_demo")
    first = snapshot()
    call_command("seed_demo")
    assert snapshot() == first

    states = set(Alert.unscoped.values_list("state", flat=True))
    assert {"new", "claimed", "acted", "dismissed"} <= states
    assert Alert.unscoped.filter(snoozed_until__isnull=False).exists()
    kinds = set(Alert.unscoped.values_list("kind", flat=True))
    assert {"repeat_vdp_views", "trade_in_completed", "credit_app_started", "same_model_shopping"} <= kinds
    bdc = User.objects.get(username="bdc@demo.test")
    assert alerts_visible(staff_access(bdc)).filter(state="new").count() >= 3
    assert not alerts_visible(staff_access(bdc)).exclude(rooftop__slug="lakeside-toyota").exists()
    intent = ShopperIntent.unscoped.filter(customer__isnull=False).order_by("-score").first()
    assert intent_for_customer(intent.customer).reasons


def test_the_demo_store_has_enough_sales_history_to_fit_the_weights():
    from alerts.services import scoring_fit_execute, scoring_fit_start
    from rooftops.models import Rooftop

    call_command("seed_demo")
    from tracking.models import TrackedEvent

    # Imported history arrives scored: it raises no alerts today.
    assert not TrackedEvent.unscoped.filter(visitor__anonymous_id__contains="-hist-", scored_at__isnull=True).exists()
    assert not Alert.unscoped.filter(visitor__anonymous_id__contains="-hist-").exists()
    start = scoring_fit_start(rooftop=Rooftop.objects.get(slug="lakeside-toyota"), user=None)
    result = scoring_fit_execute(fit_id=start.run.id).result
    assert result["ok"], result
    assert result["test"] >= 40 and 0.5 < result["rules"]["auc"] and 0.5 < result["fitted"]["auc"]
