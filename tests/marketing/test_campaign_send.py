"""Sending a campaign: one outbox message per allowed recipient, a stored reason for each held-back one, the
weekly cap across campaigns, pause/resume/cancel between chunks, exactly once, texts through the fake Twilio."""

import time
from datetime import date, datetime, timedelta, timezone

import pytest
from django.db import connection

from customers.messaging import outbound_messages_send_due, sms_inbound_receive
from customers.models import OutboundMessage
from customers.suppression import address_suppress
from factories import LeadFactory
from marketing import sending
from marketing.models import Campaign, CampaignRecipient, MarketingRules
from marketing.sending import campaign_run
from marketing_world import ago, consent, customer, listed, owned, sale, vdp_view

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 12, 1, 17, 0, tzinfo=timezone.utc)  # 12:00 in New York
TEN_PM = datetime(2026, 12, 2, 3, 0, tzinfo=timezone.utc)  # 22:00 in New York
EIGHT_AM = datetime(2026, 12, 2, 13, 0, tzinfo=timezone.utc)


def campaign(world, *, channels="both", audience=None, name="Trade-up", **fields):
    values = dict(
        dealer_group=world.rooftop.dealer_group, rooftop=world.rooftop, name=name, channels=channels,
        audience=audience or {"triggers": ["positive_equity"]}, status=Campaign.Status.SENDING,
        email_subject="{{ first_name }}, your {{ vehicle }} is worth more than you owe",
        email_body="Hi {{ first_name }}, your {{ vehicle }} has {{ equity }} in equity. {{ salesperson }} at {{ store }}.",
        sms_body="Hi {{ first_name }}, your {{ vehicle }} has {{ equity }} in equity.")
    return Campaign.unscoped.create(**{**values, **fields})


def equity_customer(world, name, n, *, sms_consent=True):
    person = customer(world.rooftop, name, email=f"{name.lower()}@example.com", phone=f"+1617555{n:04d}")
    owned(person, world.rooftop, kinds=["equity"], equity_cents=620_000)
    if sms_consent:
        consent(person, at=ago(NOON, days=30))
    return person


def recipients(c):
    return {(r.customer_id, r.channel): r for r in CampaignRecipient.objects.filter(campaign=c)}


def marketing_messages():
    return OutboundMessage.unscoped.filter(kind="marketing")


def test_a_mixed_audience_queues_one_message_per_allowed_recipient_and_keeps_each_reason(world, fake_twilio):
    rav4 = listed(world.rooftop)
    ok = equity_customer(world, "Alice", 1)
    bought = equity_customer(world, "Bert", 2)
    vdp_view(bought, rav4, at=ago(NOON, days=3))
    sale(bought, world.rooftop, vin=rav4.vin, sold_on=date(2026, 5, 1))
    recent = equity_customer(world, "Cara", 3)
    sale(recent, world.rooftop, vin="JTMOTHERCAR000001", sold_on=date(2026, 11, 21))
    worked = equity_customer(world, "Dan", 4)
    LeadFactory(rooftop=world.rooftop, customer=worked, status="working", assigned_to=world.salesperson)
    unsubscribed = equity_customer(world, "Eve", 5)
    address_suppress(dealer_group_id=world.rooftop.dealer_group_id, channel="email", address="eve@example.com",
                     reason="unsubscribed")
    consent(unsubscribed, channel="sms", granted=False, at=ago(NOON, days=1))
    no_consent = equity_customer(world, "Finn", 6, sms_consent=False)
    c = campaign(world, audience={"triggers": ["positive_equity"], "viewed_models": ["Toyota RAV4"]})

    assert campaign_run(campaign_id=c.pk, now=NOON) == "sent"

    got = {key: (r.status, r.reason) for key, r in recipients(c).items()}
    assert got == {
        (ok.pk, "email"): ("queued", ""), (ok.pk, "sms"): ("queued", ""),
        (bought.pk, "email"): ("suppressed", "already_bought"), (bought.pk, "sms"): ("suppressed", "already_bought"),
        (recent.pk, "email"): ("suppressed", "recent_purchase"), (recent.pk, "sms"): ("suppressed", "recent_purchase"),
        (worked.pk, "email"): ("suppressed", "lead_being_worked"), (worked.pk, "sms"): ("suppressed", "lead_being_worked"),
        (unsubscribed.pk, "email"): ("suppressed", "unsubscribed"), (unsubscribed.pk, "sms"): ("suppressed", "opted_out"),
        (no_consent.pk, "email"): ("queued", ""), (no_consent.pk, "sms"): ("suppressed", "no_consent"),
    }
    held = recipients(c)
    assert held[(recent.pk, "email")].context["held_because"].startswith("Bought a vehicle on Nov 21, 2026 (10 days ago)")
    assert held[(worked.pk, "sms")].context["held_because"] == "Sam Sales is working the customer's open lead"
    assert held[(bought.pk, "email")].context["vin"] == rav4.vin
    c.refresh_from_db()
    assert (c.status, c.audience_size, c.judged, c.queued, c.suppressed, c.finished_at) == ("sent", 12, 12, 3, 9, NOON)
    messages = marketing_messages()
    assert messages.count() == 3
    assert {m.idempotency_key for m in messages} == {
        f"campaign:{c.pk}:{ok.pk}:email", f"campaign:{c.pk}:{ok.pk}:sms", f"campaign:{c.pk}:{no_consent.pk}:email"}
    assert all(m.purpose == "marketing" and m.status == "queued" for m in messages)
    email = messages.get(channel="email", customer=ok)
    assert email.subject == "Alice, your 2019 Toyota RAV4 is worth more than you owe"
    # No salesperson of record: the merge field falls back to the store's sales team (marketing.templating).
    assert email.body == ("Hi Alice, your 2019 Toyota RAV4 has $6,200 in equity. The Lakeside Test Toyota sales team at "
                          "Lakeside Test Toyota.")
    assert recipients(c)[(ok.pk, "email")].message_id == email.pk

    assert outbound_messages_send_due(now=NOON) == 3
    assert [(d["to"], d["body"]) for d in fake_twilio.delivered] == [
        ("+16175550001", "Lakeside Test Toyota: Hi Alice, your 2019 Toyota RAV4 has $6,200 in equity. "
                         "Reply STOP to opt out.")]


def test_the_salesperson_merge_field_is_the_owner_of_their_latest_lead_at_the_store(world):
    person = equity_customer(world, "Gail", 7)
    LeadFactory(rooftop=world.rooftop, customer=person, status="sold", assigned_to=world.teammate,
                sold_at=ago(NOON, days=400))
    c = campaign(world, channels="email")
    campaign_run(campaign_id=c.pk, now=NOON)
    assert marketing_messages().get().body.endswith("Tia Teammate at Lakeside Test Toyota.")


def test_the_weekly_cap_holds_across_two_campaigns(world):
    person = equity_customer(world, "Hal", 8)
    first = campaign(world, name="First")
    campaign_run(campaign_id=first.pk, now=NOON)
    second = campaign(world, name="Second", channels="email")
    campaign_run(campaign_id=second.pk, now=NOON + timedelta(days=6, hours=23))
    assert {r.reason for r in recipients(second).values()} == {"frequency_cap"}
    third = campaign(world, name="A week later", channels="email")
    campaign_run(campaign_id=third.pk, now=NOON + timedelta(days=7, minutes=1))
    assert {r.status for r in recipients(third).values()} == {"queued"}
    assert marketing_messages().filter(customer=person).count() == 3


def test_a_groups_own_weekly_cap_is_used_and_counts_the_messages_of_the_same_chunk(world):
    MarketingRules.objects.create(dealer_group=world.rooftop.dealer_group, weekly_cap=1)
    equity_customer(world, "Ida", 9)
    c = campaign(world)  # email and text to the same person in one chunk: the second is over the cap
    campaign_run(campaign_id=c.pk, now=NOON)
    assert sorted(r.reason for r in recipients(c).values()) == ["", "frequency_cap"]


@pytest.fixture
def five(world):
    return [equity_customer(world, f"P{n}", 10 + n) for n in range(5)]


def _interrupt_after_first_chunk(monkeypatch, c, status):
    """A manager presses pause (or cancel) while the first chunk is being judged."""
    judge = sending._judge
    calls = []

    def judging(campaign, *args, **kwargs):
        outcome = judge(campaign, *args, **kwargs)
        if not calls:
            Campaign.unscoped.filter(pk=c.pk).update(status=status)
        calls.append(1)
        return outcome

    monkeypatch.setattr(sending, "CHUNK", 4)
    monkeypatch.setattr(sending, "_judge", judging)


def test_pause_stops_after_the_chunk_and_resume_finishes_without_duplicates(world, five, monkeypatch):
    c = campaign(world)  # ten recipients, chunks of four
    _interrupt_after_first_chunk(monkeypatch, c, Campaign.Status.PAUSED)
    assert campaign_run(campaign_id=c.pk, now=NOON) == "paused"
    c.refresh_from_db()
    assert (c.judged, c.queued) == (4, 4)
    assert CampaignRecipient.objects.filter(campaign=c, status="pending").count() == 6
    assert marketing_messages().count() == 4
    Campaign.unscoped.filter(pk=c.pk).update(status=Campaign.Status.SENDING)  # resume
    assert campaign_run(campaign_id=c.pk, now=NOON + timedelta(minutes=5)) == "sent"
    c.refresh_from_db()
    assert (c.audience_size, c.judged, c.queued, c.suppressed) == (10, 10, 10, 0)
    assert marketing_messages().count() == 10
    assert marketing_messages().values("customer", "channel").distinct().count() == 10


def test_cancel_leaves_the_pending_recipients_cancelled(world, five, monkeypatch):
    c = campaign(world)
    _interrupt_after_first_chunk(monkeypatch, c, Campaign.Status.CANCELLED)
    assert campaign_run(campaign_id=c.pk, now=NOON) == "cancelled"
    counts = {s: CampaignRecipient.objects.filter(campaign=c, status=s).count() for s in ("queued", "cancelled")}
    assert counts == {"queued": 4, "cancelled": 6}
    assert campaign_run(campaign_id=c.pk, now=NOON) == "cancelled"
    assert marketing_messages().count() == 4


def test_a_rerun_or_a_second_delivery_sends_nothing_twice(world, five):
    c = campaign(world)
    assert campaign_run(campaign_id=c.pk, now=NOON) == "sent"
    assert campaign_run(campaign_id=c.pk, now=NOON) == "sent"  # a redelivered task
    Campaign.unscoped.filter(pk=c.pk).update(status=Campaign.Status.SENDING)  # the resume beat, wrongly
    assert campaign_run(campaign_id=c.pk, now=NOON) == "sent"
    assert marketing_messages().count() == 10
    assert CampaignRecipient.objects.filter(campaign=c).count() == 10


def test_a_second_delivery_while_the_first_runs_does_nothing(world, five):
    import zlib

    import psycopg

    c = campaign(world)
    kind = zlib.crc32(Campaign._meta.label.encode()) - 2**31
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [kind, c.pk])  # the first delivery, still running
        assert campaign_run(campaign_id=c.pk, now=NOON) == "busy"
    assert marketing_messages().count() == 0 and not CampaignRecipient.objects.filter(campaign=c).exists()


def test_quiet_hours_hold_the_texts_until_eight_on_the_customers_clock(world, five, fake_twilio):
    c = campaign(world)
    campaign_run(campaign_id=c.pk, now=TEN_PM)
    texts, emails = marketing_messages().filter(channel="sms"), marketing_messages().filter(channel="email")
    assert {(m.status, m.send_after) for m in texts} == {("waiting_quiet_hours", EIGHT_AM)}
    assert {m.status for m in emails} == {"queued"}
    assert outbound_messages_send_due(now=EIGHT_AM - timedelta(seconds=1)) == 5  # the emails only
    assert fake_twilio.delivered == []
    assert outbound_messages_send_due(now=EIGHT_AM) == 5
    assert len(fake_twilio.delivered) == 5


@pytest.mark.parametrize("fields, words", [
    ({"audience": {"triggers": ["bogus"]}}, "Unknown trigger"),
    ({"audience": {}}, "Choose at least one"),
    ({"sms_body": "  "}, "The text message is empty"),
])
def test_a_campaign_that_cannot_be_sent_fails_with_words(world, five, fields, words):
    c = campaign(world)
    Campaign.unscoped.filter(pk=c.pk).update(**fields)
    assert campaign_run(campaign_id=c.pk, now=NOON) == "failed"
    c.refresh_from_db()
    assert c.status == "failed" and words in c.error and marketing_messages().count() == 0


def test_a_group_campaign_sends_each_customer_from_their_own_store(world):
    here = equity_customer(world, "Here", 30)
    there = customer(world.other_rooftop, "There", email="there@example.com")
    owned(there, world.other_rooftop, kinds=["equity"])
    c = campaign(world, channels="email", rooftop=None)
    campaign_run(campaign_id=c.pk, now=NOON)
    assert {(m.customer_id, m.rooftop_id) for m in marketing_messages()} == {
        (here.pk, world.rooftop.pk), (there.pk, world.other_rooftop.pk)}


def test_a_reply_within_fourteen_days_is_stamped_on_the_campaign_recipient(world):
    person = equity_customer(world, "Rae", 40)
    c = campaign(world, channels="sms")
    campaign_run(campaign_id=c.pk, now=NOON)
    OutboundMessage.unscoped.filter(customer=person).update(status="sent", sent_at=NOON)
    sms_inbound_receive(provider_id="SMreply1", from_number="+16175550040", to_number="+19995550000",
                        body="How much for a new one?", now=NOON + timedelta(days=3))
    assert CampaignRecipient.objects.get(campaign=c).replied_at == NOON + timedelta(days=3)


@pytest.mark.django_db(transaction=True)
def test_the_worker_starts_a_scheduled_campaign_and_sends_it(world, celery_worker):
    from marketing.tasks import campaigns_due

    for n in range(3):
        equity_customer(world, f"W{n}", 50 + n)
    c = campaign(world, channels="email", status=Campaign.Status.SCHEDULED,
                 send_at=datetime.now(timezone.utc) - timedelta(seconds=5))
    assert campaigns_due() == 1
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        c.refresh_from_db()
        if c.status == "sent":
            break
        time.sleep(0.2)
    assert (c.status, c.queued) == ("sent", 3)
    assert marketing_messages().count() == 3


def test_the_beat_starts_due_scheduled_campaigns_and_resumes_only_silent_sending_ones(world, monkeypatch):
    from marketing import tasks

    queued = []
    monkeypatch.setattr(tasks.campaign_send, "delay", queued.append)
    now = datetime.now(timezone.utc)
    due = campaign(world, name="Due", status=Campaign.Status.SCHEDULED, send_at=now - timedelta(minutes=1))
    campaign(world, name="Later", status=Campaign.Status.SCHEDULED, send_at=now + timedelta(hours=1))
    silent = campaign(world, name="Silent", heartbeat_at=now - timedelta(minutes=6))
    campaign(world, name="Busy", heartbeat_at=now - timedelta(minutes=1))
    campaign(world, name="Paused", status=Campaign.Status.PAUSED, heartbeat_at=now - timedelta(hours=1))
    assert tasks.campaigns_due() == 2
    assert sorted(queued) == sorted([due.pk, silent.pk])
    due.refresh_from_db()
    assert due.status == "sending"
