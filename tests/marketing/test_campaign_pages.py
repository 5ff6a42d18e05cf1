"""The manager's campaign pages: who may open them, the builder's refusals, the panels, sending and results."""

import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import OutboundMessage
from factories import RooftopFactory, make_staff
from marketing.models import Campaign, CampaignRecipient, MarketingRules
from marketing_world import customer, owned
from pages_support import campaign, recipient
from rooftops.models import Role

pytestmark = pytest.mark.django_db

LIST = reverse("marketing-campaigns")
NEW = reverse("marketing-campaign-new")
RULES = reverse("marketing-rules")


@pytest.fixture
def store(world):
    world.rooftop.address = "100 Lakeside Dr, Springfield, IL 62701"
    world.rooftop.phone = "+15550102000"
    world.rooftop.save()
    return world.rooftop


def login(client, user):
    client.force_login(user)
    return client


def builder_post(**changes):
    data = {"name": "Lease ending", "target": "store", "triggers": ["lease_maturing"], "viewed_days": "30",
            "match": "any", "channels": "email", "email_subject": "{{ first_name }}, your lease",
            "email_body": "Hi {{ first_name }},\nYour {{ vehicle }}.", "sms_body": ""}
    data.update(changes)
    return data


def test_the_nav_shows_marketing_to_managers_only(client, world):
    assert b'href="/marketing/campaigns/"' in login(client, world.manager).get(reverse("kpi-dashboard")).content
    assert b'href="/marketing/campaigns/"' not in login(client, world.salesperson).get(
        reverse("customer-search")).content


@pytest.mark.parametrize("who", ["salesperson", "bdc", "advisor", "outsider"])
def test_non_managers_get_404_on_every_page(client, world, store, who):
    mine = campaign(store)
    login(client, getattr(world, who))
    for url in (LIST, NEW, RULES, reverse("marketing-campaign", args=[mine.id]),
                reverse("marketing-campaign-edit", args=[mine.id]),
                reverse("marketing-campaign-progress", args=[mine.id])):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("marketing-campaign-action", args=[mine.id]), {"action": "cancel"}).status_code == 404
    assert client.post(NEW, builder_post()).status_code == 404
    mine.refresh_from_db()
    assert mine.status == "draft" and Campaign.unscoped.count() == 1


def test_anonymous_is_sent_to_log_in(client, store):
    response = client.get(LIST)
    assert response.status_code == 302 and "/login" in response["Location"]


def test_another_groups_campaign_is_404_and_a_store_the_manager_does_not_manage_too(client, world, store):
    elsewhere = RooftopFactory()
    theirs, their_group = campaign(elsewhere), campaign(elsewhere, group=True)
    sister = campaign(world.other_rooftop)  # same group, a store this manager does not manage
    login(client, world.manager)
    for c in (theirs, their_group, sister):
        assert client.get(reverse("marketing-campaign", args=[c.id])).status_code == 404
        assert client.post(reverse("marketing-campaign-action", args=[c.id]), {"action": "cancel"}).status_code == 404
    assert client.get(LIST, {"rooftop": elsewhere.id}).status_code == 404
    assert client.get(reverse("marketing-campaign", args=[99999999])).status_code == 404


def test_the_list_shows_the_stores_and_the_groups_campaigns_and_an_empty_state(client, world, store):
    login(client, world.manager)
    assert b"No campaigns yet" in client.get(LIST).content
    campaign(store, name="Store one")
    campaign(store, group=True, name="Group one")
    campaign(world.other_rooftop, name="Sister store's")
    page = client.get(LIST).content.decode()
    assert "Store one" in page and "Group one" in page and "Whole group" in page
    assert "Sister store&#x27;s" not in page and "Sister store's" not in page
    assert client.get(LIST, {"page": "x"}).status_code == 400


def test_the_builder_saves_a_draft(client, world, store):
    login(client, world.manager)
    assert client.get(NEW).status_code == 200
    response = client.post(NEW, builder_post())
    saved = Campaign.unscoped.get()
    assert response.status_code == 302 and response["Location"] == reverse("marketing-campaign", args=[saved.id])
    assert (saved.name, saved.rooftop_id, saved.status, saved.audience["triggers"]) == (
        "Lease ending", store.id, "draft", ["lease_maturing"])
    refused = client.post(NEW, builder_post(name="Group", target="group"))
    assert refused.status_code == 422 and "none is on file for Summit Test Honda" in refused.content.decode()
    world.other_rooftop.address = "9 Summit Rd, Denver, CO 80202"
    world.other_rooftop.save()
    group = client.post(NEW, builder_post(name="Group", target="group"))
    assert group.status_code == 302 and Campaign.unscoped.get(name="Group").rooftop_id is None


@pytest.mark.parametrize("changes, words", [
    ({"name": ""}, "Give the campaign a name"),
    ({"triggers": []}, "Choose at least one trigger or behaviour"),
    ({"triggers": ["drop table"]}, "Unknown trigger"),
    ({"viewed_days": "forever", "triggers": [], "viewed_models": "RAV4"}, "must be a number"),
    ({"match": "some"}, "Match must be"),
    ({"channels": "pigeon"}, "Choose email, text, or both"),
    ({"email_subject": ""}, "An email needs a subject line"),
    ({"email_body": "Hi {{ first_name "}, "is not closed"),
    ({"email_body": "Hi {{ nickname }}"}, "Unknown merge field"),
    ({"channels": "sms", "sms_body": "x" * 500}, "The text is 500 characters"),
    ({"name": "\x00evil"}, "Lease ending"),  # control characters are dropped, not a 500
])
def test_bad_builder_input_is_a_422_page_with_the_reason(client, world, store, changes, words):
    login(client, world.manager)
    response = client.post(NEW, builder_post(**changes))
    if words == "Lease ending":
        assert response.status_code == 302
        return
    assert response.status_code == 422
    assert words in response.content.decode()
    assert not Campaign.unscoped.exists()


def test_no_postal_address_says_so_on_the_builder(client, world):
    login(client, world.manager)
    response = client.post(NEW, builder_post())
    assert response.status_code == 422 and "CAN-SPAM" in response.content.decode()


def test_the_audience_panel_counts_and_explains_a_sample(client, world, store):
    leasing = customer(store, "Lena", email="lena@example.com")
    owned(leasing, store, kinds=["lease_ending"], reasons=["Lease ends in 40 days"])
    customer(store, "Nobody", email="nobody@example.com")
    login(client, world.manager)
    response = client.post(reverse("marketing-campaign-audience"), builder_post(rooftop=store.id))
    page = response.content.decode()
    assert response.status_code == 200
    assert "<strong>1 customer</strong>" in page and "Lena" in page and "Nobody" not in page
    empty = client.post(reverse("marketing-campaign-audience"), builder_post(triggers=[]))
    assert "Choose at least one trigger" in empty.content.decode()
    assert login(client, world.salesperson).post(reverse("marketing-campaign-audience"),
                                                  builder_post()).status_code == 404


def test_the_preview_renders_the_templates_for_a_real_customer(client, world, store):
    leasing = customer(store, "Lena", email="lena@example.com")
    owned(leasing, store, kinds=["lease_ending"], reasons=["Lease ends in 40 days"], year=2021, make="Toyota",
          model="Camry")
    login(client, world.manager)
    body = "Hi {{ first_name }}, your {{ vehicle }}. Ask {{ salesperson }}: {{ store_phone }}."
    page = client.post(reverse("marketing-campaign-preview"),
                       builder_post(email_body=body, channels="both", sms_body="Hi {{ first_name }}")).content.decode()
    assert "Hi Lena, your 2021 Toyota Camry. Ask the Lakeside Test Toyota sales team: (555) 010-2000." in page
    nobody = client.post(reverse("marketing-campaign-preview"), builder_post(email_body=body, triggers=[],
                                                                            viewed_models="Edsel")).content.decode()
    assert "Hi there, your vehicle. Ask the Lakeside Test Toyota sales team: (555) 010-2000." in nobody


def test_scheduling_reads_the_time_on_the_stores_clock(client, world, store):
    store.time_zone = "America/Denver"
    store.save()
    draft = campaign(store)
    login(client, world.manager)
    url = reverse("marketing-campaign-action", args=[draft.id])
    later = timezone.localtime(timezone.now() + timedelta(days=2), timezone=__import__("zoneinfo").ZoneInfo(
        "America/Denver")).replace(second=0, microsecond=0, tzinfo=None)
    response = client.post(url, {"action": "schedule", "send_at": later.strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == "scheduled"
    assert timezone.localtime(draft.send_at, __import__("zoneinfo").ZoneInfo("America/Denver")).replace(
        tzinfo=None) == later
    assert "MST" in client.get(reverse("marketing-campaign", args=[draft.id])).content.decode()


@pytest.mark.parametrize("send_at, words", [
    ("", "Choose the date and time"),
    ("yesterday", "could not be read"),
    ("2001-01-01T10:00", "at least a few minutes from now"),
])
def test_a_bad_schedule_is_a_422_with_the_reason(client, world, store, send_at, words):
    draft = campaign(store)
    login(client, world.manager)
    response = client.post(reverse("marketing-campaign-action", args=[draft.id]),
                           {"action": "schedule", "send_at": send_at})
    assert response.status_code == 422 and words in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_an_unknown_action_is_a_400_and_a_wrong_state_a_422(client, world, store):
    draft = campaign(store)
    login(client, world.manager)
    url = reverse("marketing-campaign-action", args=[draft.id])
    assert client.post(url, {"action": "explode"}).status_code == 400
    response = client.post(url, {"action": "pause"})
    assert response.status_code == 422 and "Only a campaign that is sending can be paused" in response.content.decode()


def test_progress_polls_while_sending_and_stops_after(client, world, store):
    sending = campaign(store, status=Campaign.Status.SENDING, audience_size=200, judged=50, queued=40, suppressed=10,
                       heartbeat_at=timezone.now())
    login(client, world.manager)
    url = reverse("marketing-campaign-progress", args=[sending.id])
    page = client.get(url).content.decode()
    assert 'hx-trigger="every 2s"' in page and "Judged 50 of 200 customers (25%)" in page
    assert "40 queued · 10 held back" in page and 'value="pause"' in page and 'value="cancel"' in page
    client.post(reverse("marketing-campaign-action", args=[sending.id]), {"action": "pause"})
    paused = client.get(url).content.decode()
    assert "every 2s" not in paused and 'value="resume"' in paused


def test_cancel_from_the_page_withdraws_queued_messages(client, world, store):
    sending = campaign(store, status=Campaign.Status.SENDING)
    queued = recipient(sending, store, message_status=OutboundMessage.Status.QUEUED)
    login(client, world.manager)
    response = client.post(reverse("marketing-campaign-action", args=[sending.id]), {"action": "cancel"},
                           follow=True)
    assert "1 queued message withdrawn" in response.content.decode()
    queued.message.refresh_from_db()
    assert (queued.message.status, queued.message.error) == ("suppressed", "Campaign cancelled")


def test_the_results_page_counts_and_lists_who_was_held_back_and_why(client, world, store):
    sent = campaign(store, status=Campaign.Status.SENT)
    buyer = customer(store, "Bert", last_name="Buyer")
    recipient(sent, store, customer=buyer, status=CampaignRecipient.Status.SUPPRESSED, reason="already_bought")
    recipient(sent, store, status=CampaignRecipient.Status.SUPPRESSED, reason="frequency_cap")
    recipient(sent, store, message_status=OutboundMessage.Status.SENT, delivered_at=timezone.now(),
              opened_at=timezone.now(), clicked_at=timezone.now(), clicks=2)
    login(client, world.manager)
    page = client.get(reverse("marketing-campaign", args=[sent.id])).content.decode()
    assert "approximate: only clients that load images" in page
    assert "Held back: 2" in page
    assert "The customer already bought this vehicle" in page
    assert "Already reached this week&#x27;s limit of marketing messages" in page
    assert f'href="/customers/{buyer.id}/"' in page and "Bert Buyer" in page
    assert client.get(reverse("marketing-campaign", args=[sent.id]), {"page": "-1"}).status_code == 400


def test_the_rules_page(client, world, store):
    login(client, world.manager)
    assert "2" in client.get(RULES).content.decode()
    response = client.post(RULES, {"weekly_cap": "3", "purchase_quiet_days": "45", "price_drop_viewed_days": "7"})
    assert response.status_code == 302
    assert MarketingRules.objects.get().weekly_cap == 3
    bad = client.post(RULES, {"weekly_cap": "0", "purchase_quiet_days": "lots", "price_drop_viewed_days": "7"})
    assert bad.status_code == 400 and MarketingRules.objects.get().purchase_quiet_days == 45


def test_a_second_managers_group_campaign_is_visible_to_managers_of_the_group_only(client, world, store):
    sister_manager = make_staff(world.other_rooftop, Role.MANAGER)
    group = campaign(store, group=True)
    assert login(client, sister_manager).get(reverse("marketing-campaign", args=[group.id])).status_code == 200
    assert login(client, world.outsider).get(reverse("marketing-campaign", args=[group.id])).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_send_now_runs_through_the_real_worker(client, world, store, celery_worker):
    leasing = customer(store, "Lena", email="lena@example.com")
    owned(leasing, store, kinds=["lease_ending"], reasons=["Lease ends in 40 days"])
    draft = campaign(store, audience={"triggers": ["lease_maturing"]})
    login(client, world.manager)
    response = client.post(reverse("marketing-campaign-action", args=[draft.id]), {"action": "send_now"})
    assert response.status_code == 302
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        draft.refresh_from_db()
        if draft.status == Campaign.Status.SENT:
            break
        time.sleep(0.2)
    assert (draft.status, draft.audience_size, draft.judged, draft.queued) == ("sent", 1, 1, 1)
    message = CampaignRecipient.objects.get(campaign=draft).message
    assert message is not None and message.subject == "Lena, your lease" and message.to_address == "lena@example.com"
    page = client.get(reverse("marketing-campaign", args=[draft.id])).content.decode()
    assert "Judged 1 of 1 customers (100%)" in page
