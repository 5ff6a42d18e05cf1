"""The live feed page and its one-click actions (htmx partials), and the manager's scoring settings page."""


import re
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Alert, ScoringSettings
from alerts.selectors import FEED_PAGE_SIZE
from alerts.services import alert_raise
from alerts.selectors import scoring_config
from alerts.scoring import Signal
from customers.models import TimelineEntry
from factories import make_customer

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def page(client, user, url="/alerts/", **extra):
    client.force_login(user)
    return client.get(url, **extra)


def test_anonymous_visitors_are_sent_to_log_in(client, alert):
    for url in ("/alerts/", "/alerts/older/?before=1_5", f"/alerts/{alert.id}/", "/settings/scoring/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert client.post(f"/alerts/{alert.id}/claim/")["Location"].startswith("/login/")


def test_the_bdc_feed_shows_the_alert_with_reasons_activity_and_actions(client, world, shopper, alert):
    html = page(client, world.bdc).content.decode()
    assert f'id="alert-{alert.id}"' in html and "priority-3" in html
    assert "Viewed the 2024 Toyota RAV4 XLE" in html and "Next step:" in html
    assert "Recent activity" in html and "×4" in html
    assert "Claim" in html and 'value="call"' in html and "Dismiss" in html and "Snooze" in html
    assert f'data-after="{alert.id}"' in html  # the websocket resumes after what the page shows
    assert "Jordan Rivera" in html and "+16175550123" in html


def test_the_salesperson_sees_their_own_alert_and_the_outsider_sees_none(client, world, alert):
    assert f'id="alert-{alert.id}"' in page(client, world.salesperson).content.decode()
    outsider = page(client, world.outsider).content.decode()
    assert f'id="alert-{alert.id}"' not in outsider and "No alerts right now" in outsider
    assert page(client, world.outsider, f"/alerts/{alert.id}/").status_code == 404


def test_an_empty_feed_says_what_will_appear_there(client, world):
    html = page(client, world.bdc).content.decode()
    assert "No alerts right now" in html and 'data-after="0"' in html


def test_the_feed_puts_the_latest_signal_first_and_loads_older_alerts(client, world):
    config = scoring_config(rooftop_id=world.rooftop.id)
    start = timezone.now() - timedelta(hours=1)
    ids, customers = [], []
    for n in range(FEED_PAGE_SIZE + 3):
        customer = make_customer(world.rooftop, first_name=f"Buyer{n}")
        customers.append(customer)
        ids.append(alert_raise(rooftop=world.rooftop, signal=Signal("credit_app_started", "urgent", f"reason {n}", "call"),
                               customer_id=customer.id, visitor_id=None, score=50, config=config,
                               now=start + timedelta(seconds=n)).id)
    html = page(client, world.bdc).content.decode()
    assert html.index(f'id="alert-{ids[-1]}"') < html.index(f'id="alert-{ids[-2]}"')
    assert f'id="alert-{ids[2]}"' not in html and "Load older alerts" in html
    older_url = re.search(r'hx-get="(/alerts/older/\?before=[^"]+)"', html).group(1)
    older = client.get(older_url).content.decode()
    assert all(f'id="alert-{i}"' in older for i in ids[:3]) and 'hx-swap-oob="true"' in older
    assert "That is every alert." in older
    # The first shopper does something again: their one row moves to the top.
    alert_raise(rooftop=world.rooftop, signal=Signal("trade_in_completed", "high", "Finished the trade-in", "call"),
                customer_id=customers[0].id, visitor_id=None, score=60, config=config, now=timezone.now())
    html = page(client, world.bdc).content.decode()
    assert html.index(f'id="alert-{ids[0]}"') < html.index(f'id="alert-{ids[-1]}"')
    assert "Finished the trade-in" in html and "latest signal" in html
    for bad in ("x", "5", "1_x", "99999999999999999999_1"):
        response = client.get(f"/alerts/older/?before={bad}")
        assert response.status_code == 400 and b"feed position" in response.content


def test_claim_from_the_feed_swaps_the_row(client, world, alert):
    client.force_login(world.bdc)
    response = client.post(f"/alerts/{alert.id}/claim/", **HX)
    assert response.status_code == 200 and "Claimed by you" in response.content.decode()
    alert.refresh_from_db()
    assert (alert.state, alert.claimed_by) == ("claimed", world.bdc)


def test_a_call_from_the_feed_is_logged_to_the_timeline(client, world, shopper, alert):
    client.force_login(world.bdc)
    response = client.post(f"/alerts/{alert.id}/act/", {"channel": "call", "note": "Set a test drive"}, **HX)
    assert response.status_code == 200 and "Acted on by you" in response.content.decode()
    assert TimelineEntry.unscoped.filter(customer=shopper.customer, kind="call", body="Set a test drive").exists()


def test_dismiss_without_a_reason_shows_why_and_changes_nothing(client, world, alert):
    client.force_login(world.bdc)
    response = client.post(f"/alerts/{alert.id}/dismiss/", {"reason": ""}, **HX)
    assert response.status_code == 422 and "Choose why you dismiss" in response.content.decode()
    alert.refresh_from_db()
    assert alert.state == "new"
    response = client.post(f"/alerts/{alert.id}/dismiss/", {"reason": "other", "note": "Test account"}, **HX)
    assert "Dismissed: Test account" in response.content.decode() and "Undo dismiss" in response.content.decode()
    assert f'id="alert-{alert.id}"' not in page(client, world.bdc).content.decode()
    assert f'id="alert-{alert.id}"' in client.get("/alerts/?closed=1").content.decode()
    client.post(f"/alerts/{alert.id}/undismiss/", **HX)
    alert.refresh_from_db()
    assert alert.state == "seen"


def test_a_snoozed_alert_leaves_the_feed_until_its_time(client, world, alert):
    client.force_login(world.bdc)
    response = client.post(f"/alerts/{alert.id}/snooze/", {"minutes": "60"}, **HX)
    assert "snoozed until" in response.content.decode()
    assert f'id="alert-{alert.id}"' not in client.get("/alerts/").content.decode()
    assert client.post(f"/alerts/{alert.id}/snooze/", {"minutes": "soon"}, **HX).status_code == 422


def test_without_htmx_an_action_redirects_back_to_the_feed_with_the_reason(client, world, alert):
    client.force_login(world.bdc)
    response = client.post(f"/alerts/{alert.id}/dismiss/", {"reason": ""}, follow=True)
    assert response.redirect_chain[-1][0] == "/alerts/"
    assert "Choose why you dismiss" in response.content.decode()


@pytest.mark.parametrize("action", ["claim", "act", "snooze", "dismiss", "undismiss"])
def test_actions_on_another_rooftops_alert_are_404(client, world, alert, action):
    client.force_login(world.outsider)
    assert client.post(f"/alerts/{alert.id}/{action}/", {"channel": "call", "minutes": "5", "reason": "duplicate"},
                       **HX).status_code == 404
    alert.refresh_from_db()
    assert alert.state == Alert.State.NEW


# --- scoring settings -----------------------------------------------------------------------------

def settings_post(client, rooftop, **overrides):
    from alerts.forms import ScoringSettingsForm
    from alerts.selectors import ScoringConfig
    from alerts.scoring import ScoringRules

    form = ScoringSettingsForm.from_config(ScoringConfig(rules=ScoringRules()))
    data = {name: ("on" if value is True else value) for name, value in form.initial.items() if value is not False}
    data.update(rooftop=rooftop.id, action="save", **overrides)
    return client.post("/settings/scoring/", data)


def test_only_managers_of_the_store_open_the_scoring_settings(client, world):
    assert page(client, world.bdc, "/settings/scoring/").status_code == 404
    assert page(client, world.outsider, "/settings/scoring/").status_code == 404
    assert page(client, world.manager, f"/settings/scoring/?rooftop={world.other_rooftop.id}").status_code == 404
    html = page(client, world.manager, "/settings/scoring/").content.decode()
    assert "Scoring rules" in html and "uses the default rules" in html and 'value="72.0"' in html


def test_a_manager_tunes_the_rules_and_can_undo_and_reset(client, world):
    client.force_login(world.manager)
    response = settings_post(client, world.rooftop, repeat_vdp_count="3", **{"cooldown__repeat_vdp_views": "60"})
    assert response.status_code == 302
    rules = scoring_config(rooftop_id=world.rooftop.id).rules
    assert (rules.repeat_vdp_count, rules.cooldown_minutes["repeat_vdp_views"]) == (3, 60)
    client.post("/settings/scoring/", {"rooftop": world.rooftop.id, "action": "reset"})
    assert scoring_config(rooftop_id=world.rooftop.id).rules.repeat_vdp_count == 4
    response = client.post("/settings/scoring/", {"rooftop": world.rooftop.id, "action": "undo"}, follow=True)
    assert "previous scoring rules are back" in response.content.decode()
    assert scoring_config(rooftop_id=world.rooftop.id).rules.repeat_vdp_count == 3


@pytest.mark.parametrize("overrides, message", [
    ({"hot_score": "10", "warm_score": "30"}, "must not be below warm_score"),
    ({"repeat_vdp_count": "0"}, "greater than or equal to 1"),
    ({"half_life_hours": "0"}, "half_life_hours must be greater than 0"),
    ({"form_abandon_minutes": "5000"}, "form_abandon_max_hours must be longer"),
    ({"signal_weight__credit_app_started": "-1"}, "greater than or equal to 0"),
    ({"alert_expiry_hours": "abc"}, "Enter a whole number"),
])
def test_invalid_rules_are_refused_with_a_message_next_to_the_field(client, world, overrides, message):
    client.force_login(world.manager)
    response = settings_post(client, world.rooftop, **overrides)
    assert response.status_code == 422 and message in response.content.decode()
    assert not ScoringSettings.unscoped.filter(rooftop=world.rooftop).exists()
