"""Lead pages: who may see what (outsider 404, anonymous to login), my day, actions, manager settings."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Appointment
from factories import make_staff
from leads.models import Lead, LeadClock, LeadResponseTemplate, RoutingRule, SalesRosterEntry
from leads.services.new_leads import lead_create
from rooftops.models import Role

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def open_store(world):
    """Business hours that are open whenever the test runs (views use the real clock)."""
    for rooftop in (world.rooftop, world.other_rooftop):
        rooftop.business_hours = {d: [["00:00", "23:59"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
        rooftop.save()
    return world


def _lead(world, email="pat@example.com", owner=None, **kwargs):
    lead = lead_create(rooftop=world.rooftop, source="web_form", first_name="Pat", last_name="Shopper", email=email,
                       **kwargs).lead
    if owner is not None and lead.assigned_to != owner:
        Lead.unscoped.filter(pk=lead.pk).update(assigned_to=owner)
        LeadClock.unscoped.filter(lead=lead).update(owner=owner)
        lead.refresh_from_db()
    return lead


def _login(client, user):
    client.force_login(user)
    return client


PAGES = ["my-day", "leads-list", "routing-settings", "response-templates", "availability-board", "speed-to-lead"]


@pytest.mark.parametrize("name", PAGES + ["lead-detail"])
def test_anonymous_visitors_are_sent_to_log_in(client, world, open_store, name):
    args = [_lead(world).pk] if name == "lead-detail" else []
    response = client.get(reverse(name, args=args))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.parametrize("name", ["lead-activity", "lead-status", "lead-assign", "lead-claim"])
def test_anonymous_posts_change_nothing(client, world, open_store, name):
    lead = _lead(world)
    response = client.post(reverse(name, args=[lead.pk]), {"kind": "call", "status": "lost", "reason": "x"})
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    lead.refresh_from_db()
    assert lead.status == "new" and lead.first_attempt_at is None


@pytest.mark.parametrize("name", ["lead-detail"])
def test_another_stores_salesperson_gets_404_for_a_lead(client, world, open_store, name):
    lead = _lead(world)
    assert _login(client, world.outsider).get(reverse(name, args=[lead.pk])).status_code == 404
    assert client.get(reverse(name, args=[10**9])).status_code == 404


@pytest.mark.parametrize("name", ["lead-activity", "lead-status", "lead-assign", "lead-claim"])
def test_another_stores_salesperson_cannot_act_on_a_lead(client, world, open_store, name):
    lead = _lead(world)
    response = _login(client, world.outsider).post(reverse(name, args=[lead.pk]),
                                                   {"kind": "call", "status": "lost", "reason": "x", "user": world.outsider.pk})
    assert response.status_code == 404
    lead.refresh_from_db()
    assert lead.status == "new" and lead.first_attempt_at is None


def test_another_stores_salesperson_sees_none_of_its_leads_in_lists(client, world, open_store):
    _lead(world)
    _login(client, world.outsider)
    assert b"Shopper" not in client.get(reverse("leads-list")).content
    assert b"Shopper" not in client.get(reverse("my-day")).content


@pytest.mark.parametrize("name", ["routing-settings", "response-templates", "availability-board", "speed-to-lead"])
def test_manager_pages_are_404_for_salespeople_and_other_stores(client, world, open_store, name):
    assert _login(client, world.salesperson).get(reverse(name)).status_code == 404
    assert _login(client, world.outsider).get(reverse(name)).status_code == 404
    assert _login(client, world.manager).get(reverse(name)).status_code == 200


def test_manager_posts_for_another_store_are_404(client, world, open_store):
    other_manager = make_staff(world.other_rooftop, Role.MANAGER)
    _login(client, other_manager)
    rooftop = world.rooftop
    assert client.post(reverse("routing-rule-save", args=[rooftop.pk, "web_form"]),
                       {"mode": "pool", "response_minutes": 5, "warn_before_minutes": 1, "max_hops": 1}).status_code == 404
    assert client.post(reverse("roster-save", args=[rooftop.pk, world.salesperson.pk]), {"weight": 3}).status_code == 404
    assert client.post(reverse("response-template-save", args=[rooftop.pk, "web_form", "sms"]),
                       {"body": "hi"}).status_code == 404
    assert client.post(reverse("availability-set", args=[rooftop.pk, world.salesperson.pk]),
                       {"availability": "off"}).status_code == 404
    assert client.post(reverse("response-template-preview"), {"rooftop": rooftop.pk, "body": "x"}).status_code == 404
    assert not RoutingRule.unscoped.exists() and not LeadResponseTemplate.unscoped.exists()
    world.salesperson.staff_profile.refresh_from_db()
    assert world.salesperson.staff_profile.availability == "available"


# --------------------------------------------------------------------------- my day


def test_my_day_lists_my_open_leads_most_urgent_first_with_a_live_countdown(client, world, open_store):
    soon = _lead(world, email="soon@example.com", owner=world.salesperson)
    later = _lead(world, email="later@example.com", owner=world.salesperson)
    sold = _lead(world, email="sold@example.com", owner=world.salesperson)
    theirs = _lead(world, email="theirs@example.com", owner=world.teammate)
    now = timezone.now()
    LeadClock.unscoped.filter(lead=soon).update(deadline_at=now + timedelta(minutes=3))
    LeadClock.unscoped.filter(lead=later).update(deadline_at=now + timedelta(minutes=12))
    Lead.unscoped.filter(pk=sold.pk).update(status="sold")
    # An appointment does not outrank a running clock; it orders leads whose clocks have stopped.
    Appointment.unscoped.create(rooftop=world.rooftop, customer=later.customer, lead=later, department="sales",
                                kind="test_drive", scheduled_at=now + timedelta(hours=2))
    html = _login(client, world.salesperson).get(reverse("my-day")).content.decode()
    order = [html.find(f'id="lead-row-{lead.pk}"') for lead in (soon, later)]
    assert -1 not in order and order == sorted(order)
    assert f'id="lead-row-{sold.pk}"' not in html and f'id="lead-row-{theirs.pk}"' not in html
    assert 'data-deadline="' in html and "countdown.js" in html
    assert "Appointment" in html


def test_a_hot_shopper_comes_before_the_clocks_but_a_cold_score_does_not(client, world, open_store):
    from alerts.models import ShopperIntent
    from tracking.models import Visitor

    hot = _lead(world, email="hot@example.com", owner=world.salesperson)
    cold = _lead(world, email="cold@example.com", owner=world.salesperson)
    clock = _lead(world, email="clock@example.com", owner=world.salesperson)
    LeadClock.unscoped.filter(lead__in=[hot, cold]).update(stopped_at=timezone.now())
    LeadClock.unscoped.filter(lead=clock).update(deadline_at=timezone.now() + timedelta(minutes=2))
    for n, (lead, score, level) in enumerate(((hot, 85.0, "hot"), (cold, 12.0, "cold"))):
        visitor = Visitor.unscoped.create(rooftop=world.rooftop, anonymous_id=f"anon-{n}", customer=lead.customer)
        ShopperIntent.objects.create(rooftop=world.rooftop, visitor=visitor, customer=lead.customer, score=score,
                                     level=level)
    html = _login(client, world.salesperson).get(reverse("my-day")).content.decode()
    order = [html.find(f'id="lead-row-{lead.pk}"') for lead in (hot, clock, cold)]
    assert -1 not in order and order == sorted(order), order
    assert "Intent 85" in html


def test_a_quick_call_from_my_day_stops_the_clock_and_returns_the_row(client, world, open_store):
    lead = _lead(world, owner=world.salesperson)
    response = _login(client, world.salesperson).post(
        reverse("lead-activity", args=[lead.pk]), {"kind": "call", "reached": "1", "from": "row"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="lead-row-{lead.pk}"' in html and "Clock stopped" in html and "Call logged." in html
    lead.refresh_from_db()
    assert lead.first_attempt_at and lead.first_contact_at and lead.status == "working"


def test_a_refused_action_answers_422_with_the_reason_in_the_row(client, world, open_store):
    lead = _lead(world, owner=world.salesperson)
    response = _login(client, world.salesperson).post(
        reverse("lead-status", args=[lead.pk]), {"status": "lost", "reason": "", "from": "row"}, **HTMX)
    assert response.status_code == 422
    assert "Say why the lead was lost" in response.content.decode()
    response = client.post(reverse("lead-status", args=[lead.pk]), {"status": "lost", "reason": ""})
    assert response.status_code == 422 and "Say why the lead was lost" in response.content.decode()


def test_notifications_are_listed_and_can_be_marked_read(client, world, open_store):
    lead = _lead(world, owner=world.salesperson)
    lead.notifications.create(user=world.salesperson, rooftop=world.rooftop, kind="reroute", text="Rerouted lead for you")
    _login(client, world.salesperson)
    assert "Rerouted lead for you" in client.get(reverse("my-notifications")).content.decode()
    response = client.post(reverse("notifications-read"), **HTMX)
    assert response.status_code == 200 and "new</span>" not in response.content.decode()
    assert not world.salesperson.lead_notifications.filter(read_at__isnull=True).exists()


def test_a_pool_lead_can_be_claimed(client, world, open_store):
    RoutingRule.unscoped.create(rooftop=world.rooftop, source="web_form", mode="pool")
    lead = _lead(world)
    _login(client, world.teammate)
    assert "Up for grabs" in client.get(reverse("my-day")).content.decode()
    response = client.post(reverse("lead-claim", args=[lead.pk]))
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.assigned_to == world.teammate


# --------------------------------------------------------------------------- lead page and list


def test_the_lead_page_shows_the_speed_to_lead_steps_in_the_stores_time_zone(client, world, open_store):
    lead = _lead(world, owner=world.salesperson)
    html = _login(client, world.salesperson).get(reverse("lead-detail", args=[lead.pk])).content.decode()
    for label in ("Created", "Assigned", "First automated response", "First human attempt", "First contact"):
        assert label in html
    assert "times in America/New_York" in html
    assert "Automated messages" in html and "Routing history" in html


def test_a_manager_reassigns_from_the_lead_page(client, world, open_store):
    lead = _lead(world, owner=world.salesperson)
    response = _login(client, world.manager).post(reverse("lead-assign", args=[lead.pk]),
                                                  {"user": world.teammate.pk, "reason": "Knows the customer"})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.assigned_to == world.teammate
    # A salesperson may not reassign.
    assert _login(client, world.salesperson).post(reverse("lead-assign", args=[lead.pk]),
                                                  {"user": world.salesperson.pk}).status_code == 404


def test_the_leads_list_filters_and_paginates(client, world, open_store):
    for n in range(30):
        _lead(world, email=f"p{n}@example.com", owner=world.salesperson if n % 2 else world.teammate)
    _login(client, world.manager)
    first = client.get(reverse("leads-list"))
    assert first.status_code == 200 and "Page 1 of 2 (30 leads)" in first.content.decode()
    mine = client.get(reverse("leads-list"), {"owner": world.salesperson.pk, "page": 1}).content.decode()
    assert "(15 leads)" in mine
    assert "No leads match" in client.get(reverse("leads-list"), {"q": "nobody-called-this"}).content.decode()
    assert client.get(reverse("leads-list"), {"page": "9999", "rooftop": "x", "status": "??"}).status_code == 200
    junk_page = client.get(reverse("leads-list"), {"page": "abc"})  # crm.pagination: a reason, not page 1
    assert junk_page.status_code == 400 and "page must be a whole number" in junk_page.content.decode()


# --------------------------------------------------------------------------- manager settings


def test_a_manager_saves_a_routing_rule_and_bad_input_gets_a_clear_422(client, world, open_store):
    _login(client, world.manager)
    url = reverse("routing-rule-save", args=[world.rooftop.pk, "adf"])
    ok = client.post(url, {"mode": "named_owner", "named_owner": world.teammate.pk, "response_minutes": 5,
                           "warn_before_minutes": 2, "max_hops": 1}, **HTMX)
    assert ok.status_code == 200 and "Saved." in ok.content.decode()
    rule = RoutingRule.unscoped.get(rooftop=world.rooftop, source="adf")
    assert (rule.mode, rule.named_owner, rule.response_minutes, rule.max_hops) == ("named_owner", world.teammate, 5, 1)
    for data, message in (
        ({"mode": "named_owner", "response_minutes": 5, "warn_before_minutes": 2, "max_hops": 1}, "Choose who owns"),
        ({"mode": "round_robin", "response_minutes": 5, "warn_before_minutes": 5, "max_hops": 1}, "Warn before the deadline"),
        ({"mode": "round_robin", "response_minutes": "soon", "warn_before_minutes": 1, "max_hops": 1}, "whole number"),
        ({"mode": "telepathy", "response_minutes": 5, "warn_before_minutes": 1, "max_hops": 1}, "Choose how"),
        ({"mode": "named_owner", "named_owner": world.outsider.pk, "response_minutes": 5, "warn_before_minutes": 1,
          "max_hops": 1}, "not a salesperson"),
    ):
        response = client.post(url, data, **HTMX)
        assert response.status_code == 422 and message in response.content.decode(), message
    assert RoutingRule.unscoped.get(rooftop=world.rooftop, source="adf").response_minutes == 5


def test_a_manager_sets_weights_and_shifts_and_a_bad_shift_is_explained(client, world, open_store):
    _login(client, world.manager)
    url = reverse("roster-save", args=[world.rooftop.pk, world.teammate.pk])
    ok = client.post(url, {"weight": 3, "active": "on", "shift": '{"mon": [["09:00", "17:00"]]}'}, **HTMX)
    assert ok.status_code == 200
    entry = SalesRosterEntry.unscoped.get(rooftop=world.rooftop, user=world.teammate)
    assert entry.weight == 3 and entry.active and entry.shift["mon"] == [["09:00", "17:00"]]
    bad = client.post(url, {"weight": 3, "shift": '{"mon": [["17:00", "09:00"]]}'}, **HTMX)
    assert bad.status_code == 422 and "closes before it opens" in bad.content.decode()
    assert client.post(url, {"weight": 3, "shift": "{nope"}, **HTMX).status_code == 422
    assert client.post(url, {"weight": 500}, **HTMX).status_code == 422


def test_a_manager_edits_a_template_with_a_preview_and_unknown_placeholders_are_refused(client, world, open_store):
    _login(client, world.manager)
    preview = client.post(reverse("response-template-preview"), {
        "rooftop": world.rooftop.pk, "source": "web_form", "channel": "sms",
        "body": "Hi {customer_first_name}, {salesperson} here about the {vehicle}. {reply_promise}"}, **HTMX)
    html = preview.content.decode()
    assert preview.status_code == 200
    assert "During business hours" in html and "Outside business hours" in html
    assert "Hi Pat," in html and "will reply" in html
    bad = client.post(reverse("response-template-save", args=[world.rooftop.pk, "web_form", "sms"]),
                      {"body": "Hi {first_name}", "active": "on"}, **HTMX)
    assert bad.status_code == 422 and "Unknown placeholder {first_name}" in bad.content.decode()
    good = client.post(reverse("response-template-save", args=[world.rooftop.pk, "web_form", "sms"]),
                       {"body": "Hi {customer_first_name}! {reply_promise}", "active": "on"}, **HTMX)
    assert good.status_code == 200
    assert LeadResponseTemplate.unscoped.get(rooftop=world.rooftop, source="web_form", channel="sms").body == \
        "Hi {customer_first_name}! {reply_promise}"
    no_subject = client.post(reverse("response-template-save", args=[world.rooftop.pk, "adf", "email"]),
                             {"subject": "", "body": "Hello"}, **HTMX)
    assert no_subject.status_code == 422 and "needs a subject" in no_subject.content.decode()


def test_the_availability_board_shows_clocks_and_a_manager_can_set_someone_with_a_customer(
        client, world, open_store, django_capture_on_commit_callbacks):
    RoutingRule.unscoped.create(rooftop=world.rooftop, source="chat", response_minutes=0, warn_before_minutes=0)
    hot = lead_create(rooftop=world.rooftop, source="chat", first_name="Hot", email="hot@example.com").lead
    owner = hot.assigned_to
    _login(client, world.manager)
    board = client.get(reverse("availability-board")).content.decode()
    assert owner.staff_profile.display_name in board and f'href="/leads/{hot.pk}/"' in board
    assert "none running" in board  # the other salesperson has no clock
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("availability-set", args=[world.rooftop.pk, owner.pk]),
                               {"availability": "with_customer"}, **HTMX)
    assert response.status_code == 200 and "Saved." in response.content.decode()
    owner.staff_profile.refresh_from_db()
    assert owner.staff_profile.availability == "with_customer"
    hot.refresh_from_db()
    assert hot.assigned_to != owner  # moved on at once
    assert client.post(reverse("availability-set", args=[world.rooftop.pk, owner.pk]),
                       {"availability": "asleep"}).status_code == 422


def test_the_speed_page_shows_percentiles_per_store_source_and_person(client, world, open_store):
    _lead(world, owner=world.salesperson)
    html = _login(client, world.manager).get(reverse("speed-to-lead"), {"days": "7"}).content.decode()
    for title in ("By store", "By source", "By salesperson"):
        assert title in html
    assert "Lakeside Test Toyota" in html and "Website form" in html
