"""The response clock against the real database: warn, reroute, escalate, and what stops it."""

from datetime import datetime, timedelta, timezone

import pytest

from customers.messaging import outbound_message_send
from customers.models import OutboundMessage, TimelineEntry
from factories import make_staff
from leads.models import Lead, LeadClock, LeadNotification, LeadReroute, LeadStatusChange, RoutingRule
from leads.services import LeadError
from leads.services.actions import lead_assign, lead_claim, lead_log_activity, lead_set_status
from leads.services.clock import lead_clocks_owner_unavailable, lead_clocks_sweep
from leads.services.new_leads import lead_create
from rooftops.models import Role
from rooftops.services import staff_set_availability

pytestmark = pytest.mark.django_db

OPEN = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)  # Tuesday 10:00 in New York
MIN = timedelta(minutes=1)


def _lead(world, now=OPEN, source="web_form", **kwargs):
    kwargs.setdefault("email", "pat@example.com")
    return lead_create(rooftop=world.rooftop, source=source, first_name="Pat", now=now, **kwargs).lead


def _clock(lead) -> LeadClock:
    return LeadClock.unscoped.get(lead=lead)


def _notified(user, kind):
    return list(LeadNotification.unscoped.filter(user=user, kind=kind).values_list("text", flat=True))


def test_the_owner_is_warned_once_shortly_before_the_deadline(world):
    lead = _lead(world)
    owner = lead.assigned_to
    assert lead_clocks_sweep(now=OPEN + 9 * MIN).warned == 0
    assert lead_clocks_sweep(now=OPEN + 10 * MIN).warned == 1
    assert lead_clocks_sweep(now=OPEN + 11 * MIN).warned == 0
    assert _notified(owner, "warn") == ["5 minutes left for {} to respond: Pat ({})".format(
        owner.staff_profile.display_name, "website form")]


def test_at_the_deadline_the_lead_goes_to_the_next_available_person_with_the_reason_on_the_timeline(world):
    lead = _lead(world)
    old = lead.assigned_to
    new = world.teammate if old == world.salesperson else world.salesperson
    result = lead_clocks_sweep(now=OPEN + 15 * MIN)
    assert result.rerouted == 1
    lead.refresh_from_db()
    clock = _clock(lead)
    assert lead.assigned_to == new and lead.assigned_at == OPEN  # the first assignment still counts
    assert (clock.owner, clock.hops, clock.warned_at) == (new, 1, None)
    assert clock.deadline_at == OPEN + 30 * MIN
    reroute = LeadReroute.unscoped.get(lead=lead)
    assert (reroute.kind, reroute.from_user, reroute.to_user, reroute.hop) == ("deadline", old, new, 1)
    old_name, new_name = old.staff_profile.display_name, new.staff_profile.display_name
    expected = f"No response in 15 minutes: rerouted from {old_name} to {new_name}"
    assert TimelineEntry.unscoped.filter(lead=lead, kind="routing", summary__startswith=expected).exists()
    # The old owner, the new owner and the manager are told.
    assert len(_notified(old, "reroute")) == len(_notified(new, "reroute")) == len(_notified(world.manager, "reroute")) == 1


def test_a_reroute_never_goes_back_to_someone_who_had_the_lead_and_then_escalates(world):
    third = make_staff(world.rooftop, Role.SALESPERSON, display_name="Theo Third")
    RoutingRule.unscoped.create(rooftop=world.rooftop, source="web_form", response_minutes=15, warn_before_minutes=0,
                                max_hops=2)
    lead = _lead(world)
    owners = [lead.assigned_to]
    for n in (1, 2):
        lead_clocks_sweep(now=OPEN + 15 * n * MIN)
        lead.refresh_from_db()
        owners.append(lead.assigned_to)
    assert set(owners) == {world.salesperson, world.teammate, third}
    result = lead_clocks_sweep(now=OPEN + 45 * MIN)
    assert result.escalated == 1
    clock = _clock(lead)
    assert clock.stop_reason == "escalated" and clock.stopped_at == OPEN + 45 * MIN
    lead.refresh_from_db()
    assert lead.assigned_to == owners[-1]  # stays with someone while the manager decides
    escalation = LeadReroute.unscoped.get(lead=lead, kind="escalate")
    assert escalation.reason == "No response in 15 minutes after 2 reroutes: escalated to a manager"
    assert _notified(world.manager, "escalate")
    assert lead_clocks_sweep(now=OPEN + 90 * MIN).escalated == 0  # escalated once


def test_when_everyone_else_already_had_it_the_lead_goes_to_the_pool(world):
    lead = _lead(world)
    lead_clocks_sweep(now=OPEN + 15 * MIN)
    lead_clocks_sweep(now=OPEN + 30 * MIN)
    lead.refresh_from_db()
    clock = _clock(lead)
    assert lead.assigned_to is None and clock.owner is None and clock.hops == 2
    assert "to the pool" in LeadReroute.unscoped.filter(lead=lead).order_by("-hop").first().reason


def test_a_deadline_hours_away_is_kept_in_the_database_and_acted_on_exactly_when_due(world):
    RoutingRule.unscoped.create(rooftop=world.rooftop, source="adf", response_minutes=240, warn_before_minutes=0)
    lead = _lead(world, source="adf")
    # A restarted worker has nothing in memory: the sweep finds the clock from the table.
    assert lead_clocks_sweep(now=OPEN + 239 * MIN).rerouted == 0
    assert lead_clocks_sweep(now=OPEN + 240 * MIN).rerouted == 1
    assert lead_clocks_sweep(now=OPEN + 241 * MIN).rerouted == 0
    assert LeadReroute.unscoped.filter(lead=lead).count() == 1


def test_the_same_sweep_run_twice_at_the_same_instant_reroutes_once(world):
    lead = _lead(world)
    at = OPEN + 15 * MIN
    assert lead_clocks_sweep(now=at).rerouted == 1
    assert lead_clocks_sweep(now=at).rerouted == 0
    assert LeadReroute.unscoped.filter(lead=lead).count() == 1


@pytest.mark.parametrize("kind", ["call", "text", "email"])
def test_a_call_text_or_email_stops_the_clock_and_stamps_the_first_attempt(world, kind):
    lead = _lead(world)
    lead_log_activity(lead=lead, kind=kind, by=lead.assigned_to, now=OPEN + 3 * MIN)
    lead.refresh_from_db()
    clock = _clock(lead)
    assert clock.stopped_at == OPEN + 3 * MIN and clock.stop_reason == "human_action"
    assert lead.first_attempt_at == OPEN + 3 * MIN and lead.first_contact_at is None
    assert lead.status == "working"
    assert lead_clocks_sweep(now=OPEN + 20 * MIN).rerouted == 0


def test_reaching_the_customer_stamps_first_contact_once(world):
    lead = _lead(world)
    lead_log_activity(lead=lead, kind="call", by=lead.assigned_to, now=OPEN + 2 * MIN)
    lead_log_activity(lead=lead, kind="call", by=lead.assigned_to, reached=True, now=OPEN + 9 * MIN)
    lead_log_activity(lead=lead, kind="call", by=lead.assigned_to, reached=True, now=OPEN + 30 * MIN)
    lead.refresh_from_db()
    assert (lead.first_attempt_at, lead.first_contact_at) == (OPEN + 2 * MIN, OPEN + 9 * MIN)


def test_a_note_is_not_an_attempt_and_does_not_stop_the_clock(world):
    lead = _lead(world)
    lead_log_activity(lead=lead, kind="note", by=lead.assigned_to, note="Will call after lunch", now=OPEN + MIN)
    assert _clock(lead).stopped_at is None
    with pytest.raises(LeadError, match="Write the note"):
        lead_log_activity(lead=lead, kind="note", by=lead.assigned_to, note="  ")
    with pytest.raises(LeadError, match="Choose call, text, email or note"):
        lead_log_activity(lead=lead, kind="fax", by=lead.assigned_to)


def test_an_automated_message_does_not_stop_the_clock(world, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    lead = _lead(world)
    email = OutboundMessage.unscoped.get(lead=lead, channel="email")
    assert outbound_message_send(message_id=email.pk, now=OPEN + MIN) == "sent"
    lead.refresh_from_db()
    assert lead.first_response_at == OPEN + MIN
    assert _clock(lead).stopped_at is None
    assert lead_clocks_sweep(now=OPEN + 15 * MIN).rerouted == 1


def test_a_status_change_stops_the_clock_and_records_the_reason(world):
    lead = _lead(world)
    lead_set_status(lead=lead, status="lost", by=world.manager, reason="Bought elsewhere", now=OPEN + 4 * MIN)
    lead.refresh_from_db()
    assert (lead.status, lead.lost_reason) == ("lost", "Bought elsewhere")
    change = LeadStatusChange.objects.get(lead=lead)
    assert (change.from_status, change.to_status, change.reason, change.changed_by) == (
        "new", "lost", "Bought elsewhere", world.manager)
    assert _clock(lead).stop_reason == "status_change"
    assert TimelineEntry.unscoped.get(lead=lead, kind="lead_status").summary == "Status: New → Lost (Bought elsewhere)"


def test_a_lost_lead_needs_a_reason_and_a_status_cannot_be_set_twice(world):
    lead = _lead(world)
    with pytest.raises(LeadError, match="Say why the lead was lost"):
        lead_set_status(lead=lead, status="lost", by=world.manager)
    with pytest.raises(LeadError, match="already new"):
        lead_set_status(lead=lead, status="new", by=world.manager)
    with pytest.raises(LeadError, match="Unknown status"):
        lead_set_status(lead=lead, status="maybe", by=world.manager)


def test_with_a_customer_reroutes_urgent_leads_at_once_but_leaves_ordinary_ones(world):
    RoutingRule.unscoped.create(rooftop=world.rooftop, source="chat", response_minutes=0, warn_before_minutes=0)
    hot = _lead(world, source="chat", email="hot@example.com")
    owner = hot.assigned_to
    ordinary = _lead(world, email="calm@example.com", now=OPEN + MIN)
    if ordinary.assigned_to != owner:
        lead_assign(lead=ordinary, to_user=owner, by=world.manager, now=OPEN + MIN)
    moved = lead_clocks_owner_unavailable(user_id=owner.pk, availability="with_customer", now=OPEN + 2 * MIN)
    assert moved == 1
    hot.refresh_from_db()
    ordinary.refresh_from_db()
    assert hot.assigned_to not in (owner, None) and ordinary.assigned_to == owner
    reason = LeadReroute.unscoped.get(lead=hot, kind="unavailable").reason
    assert reason.startswith(f"{owner.staff_profile.display_name} is with a customer and the lead is urgent")


def test_going_to_lunch_moves_every_untouched_lead_on(world):
    lead = _lead(world)
    owner = lead.assigned_to
    assert lead_clocks_owner_unavailable(user_id=owner.pk, availability="lunch", now=OPEN + MIN) == 1
    lead.refresh_from_db()
    assert lead.assigned_to not in (owner, None)
    assert f"{owner.staff_profile.display_name} went to lunch" in LeadReroute.unscoped.get(lead=lead).reason


def test_setting_availability_moves_urgent_leads_after_commit(world, django_capture_on_commit_callbacks):
    # The change happens at the real time of the run, and a closed store moves nothing overnight: keep it open.
    world.rooftop.business_hours = {d: [["00:00", "23:59"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    world.rooftop.save(update_fields=["business_hours"])
    RoutingRule.unscoped.create(rooftop=world.rooftop, source="chat", response_minutes=0, warn_before_minutes=0)
    lead = _lead(world, source="chat")
    owner = lead.assigned_to
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        staff_set_availability(profile=owner.staff_profile, availability="with_customer")
    assert not LeadReroute.unscoped.filter(lead=lead).exists()  # nothing moves before commit
    for callback in callbacks:
        callback()
    # Whoever may take it at the real time of the test run (or the pool): never the person with a customer.
    lead.refresh_from_db()
    assert LeadReroute.unscoped.filter(lead=lead, from_user=owner).count() == 1
    assert lead.assigned_to != owner


def test_a_manager_reassigns_and_the_new_owner_gets_a_fresh_clock(world):
    lead = _lead(world)
    other = world.teammate if lead.assigned_to == world.salesperson else world.salesperson
    lead_assign(lead=lead, to_user=other, by=world.manager, reason="Speaks Spanish", now=OPEN + 5 * MIN)
    clock = _clock(lead)
    assert clock.owner == other and clock.deadline_at == OPEN + 20 * MIN
    assert LeadReroute.unscoped.get(lead=lead).kind == "reassign"
    assert _notified(other, "new_lead")


def test_nobody_off_or_inactive_can_be_given_a_lead_by_hand(world):
    lead = _lead(world)
    other = world.teammate if lead.assigned_to == world.salesperson else world.salesperson
    other.staff_profile.availability = "off"
    other.staff_profile.save()
    with pytest.raises(LeadError, match="is off"):
        lead_assign(lead=lead, to_user=other, by=world.manager)
    with pytest.raises(LeadError, match="not a salesperson at Lakeside"):
        lead_assign(lead=lead, to_user=world.outsider, by=world.manager)


def test_a_salesperson_claims_a_pool_lead_but_not_one_someone_has(world):
    RoutingRule.unscoped.create(rooftop=world.rooftop, source="chat", mode="pool")
    pooled = _lead(world, source="chat", email="pool@example.com")
    lead_claim(lead=pooled, by=world.teammate, now=OPEN + MIN)
    pooled.refresh_from_db()
    assert pooled.assigned_to == world.teammate and _clock(pooled).owner == world.teammate
    with pytest.raises(LeadError, match="already has"):
        lead_claim(lead=pooled, by=world.salesperson)


def test_a_closed_lead_found_running_is_stopped_by_the_sweep(world):
    lead = _lead(world)
    Lead.unscoped.filter(pk=lead.pk).update(status="sold")
    lead_clocks_sweep(now=OPEN + 20 * MIN)
    assert _clock(lead).stop_reason == "status_change"
    assert not LeadReroute.unscoped.filter(lead=lead).exists()


def test_a_call_logged_on_the_customer_page_stops_the_clock_instead_of_a_reroute(world):
    from customers.services import call_log

    lead = _lead(world)
    call_log(customer=lead.customer, rooftop=world.rooftop, user=lead.assigned_to, direction="out",
             outcome="Left voicemail", notes="", lead=lead, occurred_at=OPEN + 3 * MIN)
    assert lead_clocks_sweep(now=OPEN + 15 * MIN).rerouted == 0
    assert _clock(lead).stop_reason == "human_action"
    assert not LeadReroute.unscoped.filter(lead=lead).exists()
