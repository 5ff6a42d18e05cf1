"""What a manager may do to a campaign, and what each refusal says."""

from datetime import timedelta

import pytest
from django.http import Http404
from django.utils import timezone

from customers.models import OutboundMessage
from factories import RooftopFactory, make_staff
from marketing import services
from marketing.models import Campaign, CampaignRecipient, MarketingRules
from marketing.services import CampaignInput, CampaignRefused
from pages_support import GOOD, campaign, recipient
from rooftops.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(world):
    world.rooftop.address = "100 Lakeside Dr, Springfield, IL 62701"
    world.rooftop.save()
    world.other_rooftop.address = "9 Summit Rd, Denver, CO 80202"
    world.other_rooftop.save()
    return world.rooftop


def save(world, rooftop, **changes):
    return services.campaign_save(user=world.manager, dealer_group=rooftop.dealer_group, rooftop=rooftop,
                                  data=CampaignInput(**{**GOOD, **changes}))


def refusal(world, rooftop, **changes) -> dict[str, str]:
    with pytest.raises(CampaignRefused) as caught:
        save(world, rooftop, **changes)
    return caught.value.errors


def test_a_manager_saves_a_draft(world, store):
    saved = save(world, store, name="  Lease   ending ")
    assert (saved.status, saved.name, saved.rooftop_id, saved.created_by_id) == ("draft", "Lease ending", store.id,
                                                                                 world.manager.id)
    assert saved.audience["triggers"] == ["lease_maturing"]


@pytest.mark.parametrize("changes, field, words", [
    ({"name": "  "}, "name", "Give the campaign a name"),
    ({"name": "x" * 201}, "name", "keep it under 200"),
    ({"audience": {}}, "audience", "Choose at least one trigger or behaviour"),
    ({"audience": {"triggers": ["bought_a_boat"]}}, "audience", "Unknown trigger 'bought_a_boat'"),
    ({"audience": "everyone"}, "audience", "must be a set of choices"),
    ({"channels": "fax"}, "channels", "Choose email, text, or both"),
    ({"email_subject": ""}, "email_subject", "An email needs a subject line"),
    ({"email_body": "   "}, "email_body", "Write the email's text"),
    ({"email_body": "Hi {{ nickname }}"}, "email_body", "Unknown merge field {{ nickname }}"),
    ({"email_subject": "Hi {{ first_name"}, "email_subject", "is not closed"),
    ({"channels": "sms", "sms_body": ""}, "sms_body", "Write the text message"),
    ({"channels": "both", "sms_body": "x" * 481}, "sms_body", "The text is 481 characters; keep it to 480"),
    ({"channels": "sms", "sms_body": "{% load x %}"}, "sms_body", "is not allowed"),
])
def test_each_refusal_says_why(world, store, changes, field, words):
    errors = refusal(world, store, **changes)
    assert words in errors[field], errors
    assert not Campaign.unscoped.exists()


def test_email_needs_the_stores_postal_address_but_texts_do_not(world):
    errors = refusal(world, world.rooftop)
    assert "postal address (CAN-SPAM)" in errors["channels"] and world.rooftop.name in errors["channels"]
    texts = save(world, world.rooftop, channels="sms", sms_body="Hi {{ first_name }}, lease news. Reply STOP to opt out")
    assert texts.channels == "sms" and texts.email_body == ""


def test_a_group_email_needs_every_stores_address(world, store):
    world.other_rooftop.address = ""
    world.other_rooftop.save()
    with pytest.raises(CampaignRefused) as caught:
        services.campaign_save(user=world.manager, dealer_group=store.dealer_group, rooftop=None,
                               data=CampaignInput(**GOOD))
    assert world.other_rooftop.name in caught.value.errors["channels"]


def test_a_manager_at_one_store_may_build_a_group_campaign(world, store):
    saved = services.campaign_save(user=world.manager, dealer_group=store.dealer_group, rooftop=None,
                                   data=CampaignInput(**GOOD))
    assert saved.rooftop_id is None and saved.dealer_group_id == store.dealer_group_id


@pytest.mark.parametrize("who", ["salesperson", "bdc", "advisor", "outsider"])
def test_only_managers_save(world, store, who):
    with pytest.raises(Http404):
        services.campaign_save(user=getattr(world, who), dealer_group=store.dealer_group, rooftop=store,
                               data=CampaignInput(**GOOD))
    with pytest.raises(Http404):
        services.campaign_save(user=getattr(world, who), dealer_group=store.dealer_group, rooftop=None,
                               data=CampaignInput(**GOOD))


def test_a_manager_of_another_store_cannot_save_for_this_one(world, store):
    other_manager = make_staff(world.other_rooftop, Role.MANAGER)
    with pytest.raises(Http404):
        services.campaign_save(user=other_manager, dealer_group=store.dealer_group, rooftop=store,
                               data=CampaignInput(**GOOD))


def test_another_groups_manager_gets_404_for_a_group_campaign(world, store):
    stranger = make_staff(RooftopFactory(), Role.MANAGER)
    with pytest.raises(Http404):
        services.campaign_save(user=stranger, dealer_group=store.dealer_group, rooftop=None,
                               data=CampaignInput(**GOOD))
    group_campaign = campaign(store, group=True)
    with pytest.raises(Http404):
        services.campaign_pause(campaign=group_campaign, user=stranger)


def test_a_sending_campaign_cannot_be_edited(world, store):
    sending = campaign(store, status=Campaign.Status.SENDING)
    with pytest.raises(CampaignRefused) as caught:
        services.campaign_save(user=world.manager, dealer_group=store.dealer_group, rooftop=store,
                               data=CampaignInput(**{**GOOD, "name": "Changed"}), campaign=sending)
    assert "only a draft or a scheduled campaign can be changed" in str(caught.value)
    sending.refresh_from_db()
    assert sending.name == GOOD["name"]


def test_schedule_needs_a_future_time(world, store):
    draft = campaign(store)
    now = timezone.now()
    with pytest.raises(CampaignRefused) as caught:
        services.campaign_schedule(campaign=draft, send_at=now - timedelta(hours=1), user=world.manager, now=now)
    assert "at least a few minutes from now" in caught.value.errors["send_at"]
    with pytest.raises(CampaignRefused):
        services.campaign_schedule(campaign=draft, send_at=now + timedelta(days=400), user=world.manager, now=now)
    when = now + timedelta(days=1)
    scheduled = services.campaign_schedule(campaign=draft, send_at=when, user=world.manager, now=now)
    assert (scheduled.status, scheduled.send_at) == ("scheduled", when)


def test_schedule_checks_the_campaign_again(world):
    # Saved while the store had an address; it was removed since: the email cannot go.
    draft = campaign(world.rooftop)
    with pytest.raises(CampaignRefused) as caught:
        services.campaign_send_now(campaign=draft, user=world.manager)
    assert "CAN-SPAM" in caught.value.errors["channels"]
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_send_now_starts_and_queues_the_worker_after_commit(world, store, django_capture_on_commit_callbacks):
    draft = campaign(store)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        started = services.campaign_send_now(campaign=draft, user=world.manager)
    assert started.status == "sending" and started.started_at is not None
    assert len(callbacks) == 1
    with pytest.raises(CampaignRefused) as caught:
        services.campaign_send_now(campaign=draft, user=world.manager)
    assert "cannot be sent again" in str(caught.value)


def test_pause_and_resume(world, store, django_capture_on_commit_callbacks):
    draft = campaign(store)
    with pytest.raises(CampaignRefused) as caught:
        services.campaign_pause(campaign=draft, user=world.manager)
    assert "Only a campaign that is sending can be paused" in str(caught.value)
    sending = campaign(store, status=Campaign.Status.SENDING)
    assert services.campaign_pause(campaign=sending, user=world.manager).status == "paused"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.campaign_resume(campaign=sending, user=world.manager).status == "sending"
    assert len(callbacks) == 1
    with pytest.raises(CampaignRefused):
        services.campaign_resume(campaign=sending, user=world.manager)


def test_cancel_withdraws_what_is_queued_and_leaves_what_went(world, store):
    sending = campaign(store, status=Campaign.Status.SENDING)
    pending = recipient(sending, store, status=CampaignRecipient.Status.PENDING)
    queued = recipient(sending, store, message_status=OutboundMessage.Status.QUEUED)
    waiting = recipient(sending, store, channel="sms", message_status=OutboundMessage.Status.WAITING_QUIET_HOURS)
    in_flight = recipient(sending, store, message_status=OutboundMessage.Status.SENDING)
    sent = recipient(sending, store, message_status=OutboundMessage.Status.SENT)
    held = recipient(sending, store, status=CampaignRecipient.Status.SUPPRESSED, reason="already_bought")
    other = campaign(store, status=Campaign.Status.SENDING, name="Another")
    others_queued = recipient(other, store, message_status=OutboundMessage.Status.QUEUED)

    done = services.campaign_cancel(campaign=sending, user=world.manager)

    assert (done.withdrawn, done.not_judged) == (2, 1)
    sending.refresh_from_db()
    assert sending.status == "cancelled" and sending.finished_at is not None
    for row in (queued, waiting):
        row.refresh_from_db()
        row.message.refresh_from_db()
        assert (row.status, row.message.status, row.message.error) == ("cancelled", "suppressed", "Campaign cancelled")
    pending.refresh_from_db()
    assert pending.status == "cancelled"
    for row, status in ((in_flight, "sending"), (sent, "sent"), (others_queued, "queued")):
        row.message.refresh_from_db()
        assert row.message.status == status
    held.refresh_from_db()
    assert (held.status, held.reason) == ("suppressed", "already_bought")
    with pytest.raises(CampaignRefused) as caught:
        services.campaign_cancel(campaign=sending, user=world.manager)
    assert "already cancelled" in str(caught.value)


def test_a_salesperson_cannot_pause_or_cancel(world, store):
    sending = campaign(store, status=Campaign.Status.SENDING)
    for action in (services.campaign_pause, services.campaign_cancel):
        with pytest.raises(Http404):
            action(campaign=sending, user=world.salesperson)
    sending.refresh_from_db()
    assert sending.status == "sending"


def test_marketing_rules_save_and_their_bounds(world, store):
    rules = services.marketing_rules_save(user=world.manager, dealer_group=store.dealer_group, weekly_cap=3,
                                          purchase_quiet_days=60, price_drop_viewed_days=7)
    assert (rules.weekly_cap, rules.purchase_quiet_days, rules.price_drop_viewed_days, rules.updated_by_id) == (
        3, 60, 7, world.manager.id)
    with pytest.raises(CampaignRefused) as caught:
        services.marketing_rules_save(user=world.manager, dealer_group=store.dealer_group, weekly_cap=0,
                                      purchase_quiet_days=60, price_drop_viewed_days=7)
    assert caught.value.errors == {"weekly_cap": "Choose a whole number from 1 to 14."}
    with pytest.raises(Http404):
        services.marketing_rules_save(user=world.salesperson, dealer_group=store.dealer_group, weekly_cap=1,
                                      purchase_quiet_days=60, price_drop_viewed_days=7)
    assert MarketingRules.objects.get().weekly_cap == 3
