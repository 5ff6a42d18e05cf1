"""The customer's own links from a marketing message: tracked clicks, the open pixel, unsubscribe and preferences.
No login; a signed token names the recipient; anything else is a 404 page."""

from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
from django.core import signing

from customers.messaging import outbound_message_queue
from customers.models import ConsentRecord, OutboundMessage, TimelineEntry
from email_world import campaign_message, sms_marketing_consent
from factories import RooftopFactory, add_contact, make_customer
from marketing import links, signals
from marketing.models import CampaignRecipient

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 11, 24, 17, 0, tzinfo=timezone.utc)
EMAIL, PHONE = "pat@example.com", "+16175550142"


def path(url: str) -> str:
    return urlsplit(url).path


@pytest.fixture
def pat(world):
    customer = make_customer(world.rooftop, first_name="Pat")
    add_contact(customer, email=EMAIL, phone=PHONE)
    return customer


@pytest.fixture
def sent(world, pat):
    world.rooftop.address = "100 Shore Rd, Lakeside, MA 01234"
    world.rooftop.save()
    recipient, _ = campaign_message(world.rooftop, pat, to=EMAIL, now=NOON)
    return recipient


def test_a_tracked_link_counts_every_click_and_redirects_only_to_the_url_it_was_signed_with(client, sent):
    heard = []

    def listener(sender, recipient, url, at, anonymous_id, **kwargs):
        heard.append((recipient.pk, url, anonymous_id))

    signals.link_clicked.connect(listener)
    try:
        url = links.tracked_url(sent.pk, "https://lakeside.test/lease?utm=x")
        client.cookies["crm_aid"] = "browser-7"
        first = client.get(path(url))
        second = client.get(path(url) + "?next=https://evil.test/")
    finally:
        signals.link_clicked.disconnect(listener)
    assert (first.status_code, first["Location"]) == (302, "https://lakeside.test/lease?utm=x")
    assert (second.status_code, second["Location"]) == (302, "https://lakeside.test/lease?utm=x")
    sent.refresh_from_db()
    assert sent.clicks == 2 and sent.clicked_at is not None
    assert heard == [(sent.pk, "https://lakeside.test/lease?utm=x", "browser-7")] * 2


def test_the_first_click_time_is_kept(client, sent):
    url = path(links.tracked_url(sent.pk, "https://lakeside.test/"))
    client.get(url)
    sent.refresh_from_db()
    first = sent.clicked_at
    client.get(url)
    sent.refresh_from_db()
    assert sent.clicked_at == first and sent.clicks == 2


def _forged_click_token(recipient_id: int, url: str) -> str:
    genuine = links.token(links.CLICK, recipient_id, "https://lakeside.test/")
    # Same signature, the payload swapped for one that points elsewhere.
    forged_payload = links.token(links.CLICK, recipient_id, url).split(":")[0]
    return forged_payload + ":" + genuine.split(":", 1)[1]


@pytest.mark.parametrize("make_token", [
    lambda rid: _forged_click_token(rid, "https://evil.test/"),
    lambda rid: signing.dumps({"r": rid, "u": "https://evil.test/"}, salt="someone-else", compress=True),
    lambda rid: links.token(links.UNSUBSCRIBE, rid, "https://evil.test/"),  # a token of another kind
    lambda rid: links.token(links.CLICK, rid, "javascript:alert(1)"),  # ours, but not a web address
    lambda rid: links.token(links.CLICK, rid),  # ours, with no address at all
    lambda rid: "not-a-token",
    lambda rid: "x" * 3000,
])
def test_a_forged_or_foreign_click_token_is_a_404_page_and_counts_nothing(client, sent, make_token):
    response = client.get(f"/m/c/{make_token(sent.pk)}/")
    assert response.status_code == 404
    assert b"This link does not work" in response.content
    sent.refresh_from_db()
    assert sent.clicks == 0


def test_a_link_in_an_old_email_still_leads_where_it_said_after_the_campaign_is_gone(client, sent):
    url = path(links.tracked_url(sent.pk, "https://lakeside.test/"))
    sent.campaign.delete()
    response = client.get(url)
    assert (response.status_code, response["Location"]) == (302, "https://lakeside.test/")


def test_the_open_pixel_is_an_uncached_gif_and_stamps_the_first_open(client, sent):
    response = client.get(path(links.open_pixel_url(sent.pk)))
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    assert response.content.startswith(b"GIF89a")
    assert "no-store" in response["Cache-Control"] and "no-cache" in response["Cache-Control"]
    sent.refresh_from_db()
    first = sent.opened_at
    assert first is not None
    client.get(path(links.open_pixel_url(sent.pk)))
    sent.refresh_from_db()
    assert sent.opened_at == first
    assert client.get(f"/m/o/{links.token(links.CLICK, sent.pk)}/").status_code == 404


def test_unsubscribe_get_shows_the_question_and_changes_nothing(client, sent, world):
    response = client.get(path(links.unsubscribe_url(sent.pk)))
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Unsubscribe {EMAIL} from {world.rooftop.dealer_group.name} marketing email?" in page
    assert '<form method="post">' in page and links.preferences_url(sent.pk) in page
    assert "100 Shore Rd, Lakeside, MA 01234" in page and "Lakeside Test Toyota" in page
    assert "/logout/" not in page  # no staff navigation
    assert not ConsentRecord.objects.exists()
    sent.refresh_from_db()
    assert sent.unsubscribed_at is None


def test_unsubscribing_by_the_page_button_withdraws_queued_marketing_and_is_idempotent(client, world, pat, sent):
    other_store = RooftopFactory(dealer_group=world.rooftop.dealer_group)
    twin = make_customer(other_store, first_name="Patricia")
    add_contact(twin, email="PAT@example.com")
    _, waiting = campaign_message(other_store, twin, to="PAT@example.com", now=NOON, key="twin")
    assert waiting.status == "queued"
    response = client.post(path(links.unsubscribe_url(sent.pk)))
    assert response.status_code == 200 and b"You are unsubscribed" in response.content
    refusals = ConsentRecord.objects.filter(channel="email", purpose="marketing", granted=False)
    assert sorted(refusals.values_list("customer_id", flat=True)) == sorted([pat.pk, twin.pk])
    assert refusals.first().source == "unsubscribe link"
    waiting.refresh_from_db()
    assert (waiting.status, waiting.error) == ("suppressed", "Unsubscribed (unsubscribe link)")
    sent.refresh_from_db()
    stamped = sent.unsubscribed_at
    assert stamped is not None
    assert TimelineEntry.unscoped.filter(kind="consent", customer=twin).count() == 1
    assert client.post(path(links.unsubscribe_url(sent.pk))).status_code == 200
    assert refusals.count() == 2 and TimelineEntry.unscoped.filter(kind="consent").count() == 2
    sent.refresh_from_db()
    assert sent.unsubscribed_at == stamped


def test_unsubscribe_with_a_bad_token_or_a_vanished_recipient_is_a_404(client, sent):
    assert client.post("/m/u/forged/").status_code == 404
    url = path(links.unsubscribe_url(sent.pk))
    CampaignRecipient.objects.filter(pk=sent.pk).delete()
    assert client.post(url).status_code == 404
    assert client.get(path(links.preferences_url(sent.pk))).status_code == 404
    assert not ConsentRecord.objects.exists()


def _switches(page: str) -> dict[str, bool]:
    found = {}
    for name in ("email_marketing", "email_service_reminders", "sms_marketing", "sms_service_reminders"):
        marker = f'name="{name}" value="on"'
        assert marker in page, name
        found[name] = page.split(marker, 1)[1].startswith(" checked")
    return found


def test_the_preferences_page_shows_four_switches_as_they_stand(client, pat, sent):
    sms_marketing_consent(pat, NOON - timedelta(days=3))
    response = client.get(path(links.preferences_url(sent.pk)))
    assert response.status_code == 200
    page = response.content.decode()
    assert _switches(page) == {"email_marketing": True, "email_service_reminders": True, "sms_marketing": True,
                               "sms_service_reminders": False}
    assert EMAIL in page and "0142" in page and PHONE not in page  # the number by its last four only
    assert "Consent is not a condition of any purchase" in page


def test_saving_preferences_records_consent_group_wide_with_the_words_shown(client, world, pat, sent):
    twin = make_customer(world.other_rooftop)
    add_contact(twin, phone=PHONE)
    url = path(links.preferences_url(sent.pk))
    page = client.get(url).content.decode()
    digest = page.split('name="tcpa" value="', 1)[1].split('"', 1)[0]
    response = client.post(url, {"email_service_reminders": "on", "sms_marketing": "on", "tcpa": digest})
    assert response.status_code == 200 and b"Saved." in response.content
    assert _switches(response.content.decode()) == {
        "email_marketing": False, "email_service_reminders": True, "sms_marketing": True,
        "sms_service_reminders": False}
    off = ConsentRecord.objects.get(channel="email", purpose="marketing")
    assert (off.granted, off.source, off.customer_id) == (False, "preferences page", pat.pk)
    assert "Offers and news by email" in off.text_shown
    texts = ConsentRecord.objects.filter(channel="sms", purpose="marketing", granted=True)
    assert sorted(texts.values_list("customer_id", flat=True)) == sorted([pat.pk, twin.pk])
    assert "Consent is not a condition of any purchase" in texts.first().text_shown
    assert TimelineEntry.unscoped.filter(customer=pat, kind="consent").count() == 2
    assert TimelineEntry.unscoped.filter(customer=twin, kind="consent",
                                         summary="Turned on marketing texts on the preferences page").exists()


def test_a_text_switch_is_not_turned_on_without_the_consent_words_but_can_be_turned_off(client, pat, sent):
    url = path(links.preferences_url(sent.pk))
    response = client.post(url, {"email_marketing": "on", "email_service_reminders": "on", "sms_marketing": "on",
                                 "tcpa": "an-old-page"})
    assert b"Texts can only be turned on" in response.content
    assert not ConsentRecord.objects.exists()
    sms_marketing_consent(pat, NOON)
    client.post(url, {"email_marketing": "on", "email_service_reminders": "on", "tcpa": "an-old-page"})
    assert ConsentRecord.objects.filter(channel="sms", purpose="marketing").order_by("-recorded_at").first().granted \
        is False


def test_after_unsubscribing_the_outbox_refuses_the_next_marketing_email_to_that_address(client, world, pat, sent):
    client.post(path(links.unsubscribe_url(sent.pk)))
    later = outbound_message_queue(customer=pat, rooftop=world.rooftop, channel="email", kind="marketing",
                                   purpose="marketing", to_address=EMAIL, subject="More", body="More deals",
                                   idempotency_key="later", now=NOON)
    assert later.status == OutboundMessage.Status.SUPPRESSED
    assert later.error == f"{EMAIL} unsubscribed from marketing email"
    reply = outbound_message_queue(customer=pat, rooftop=world.rooftop, channel="email", kind="staff",
                                   to_address=EMAIL, subject="Your car", body="Ready", idempotency_key="staff",
                                   now=NOON)
    assert reply.status == OutboundMessage.Status.QUEUED
