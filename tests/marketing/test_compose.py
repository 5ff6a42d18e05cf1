"""What a marketing email or text carries (marketing.compose, marketing.preferences, the provider event table):
pure, no database."""

import pytest

from marketing.compose import Sender, compose_email, compose_text, split_urls
from marketing.preferences import Change, changes, is_on
from marketing.receivers import NOTHING, Outcome, is_soft_bounce, outcome

SENDER = Sender(store_name="Lakeside Toyota", postal_address="100 Shore Rd, Lakeside, MA 01234",
                group_name="Lakeside Auto Group")


def track(url: str) -> str:
    return f"https://crm.test/m/c/T[{url}]/"


def email(body: str):
    return compose_email(body=body, sender=SENDER, unsubscribe_url="https://crm.test/m/u/U1/",
                         preferences_url="https://crm.test/m/p/P1/", open_pixel_url="https://crm.test/m/o/O1/",
                         track=track)


@pytest.mark.parametrize("text, pieces", [
    ("no links", [("no links", False)]),
    ("See https://x.test/a.", [("See ", False), ("https://x.test/a", True), (".", False)]),
    ("(https://x.test/a?b=1&c=2)", [("(", False), ("https://x.test/a?b=1&c=2", True), (")", False)]),
    ("https://x.test/Model_(car) rocks", [("https://x.test/Model_(car)", True), (" rocks", False)]),
    ("two: http://a.test, https://b.test!", [("two: ", False), ("http://a.test", True), (", ", False),
                                            ("https://b.test", True), ("!", False)]),
    ('<a href="https://x.test">', [('<a href="', False), ("https://x.test", True), ('">', False)]),
])
def test_urls_are_found_without_the_punctuation_around_them(text, pieces):
    assert split_urls(text) == pieces


def test_the_text_part_keeps_the_body_and_adds_the_stores_postal_address_and_both_links():
    composed = email("Hi Pat,\n\nYour lease ends soon: https://lakeside.test/lease")
    assert composed.text.startswith("Hi Pat,\n\nYour lease ends soon: https://lakeside.test/lease\n\n--\n")
    assert "Lakeside Toyota, 100 Shore Rd, Lakeside, MA 01234" in composed.text
    assert "Unsubscribe: https://crm.test/m/u/U1/" in composed.text
    assert "preferences: https://crm.test/m/p/P1/" in composed.text


def test_the_headers_offer_one_click_unsubscribe_by_rfc_8058():
    assert email("Hi").headers == {"List-Unsubscribe": "<https://crm.test/m/u/U1/>",
                                   "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def test_the_html_part_escapes_the_text_and_links_urls_through_the_tracker():
    composed = email("Deals <b>now</b> & more:\nhttps://lakeside.test/deals?a=1&b=2.\n\nBye")
    assert "Deals &lt;b&gt;now&lt;/b&gt; &amp; more:<br>" in composed.html
    assert ('<a href="https://crm.test/m/c/T[https://lakeside.test/deals?a=1&amp;b=2]/">'
            "https://lakeside.test/deals?a=1&amp;b=2</a>.") in composed.html
    assert "<p>Bye</p>" in composed.html
    assert "<b>" not in composed.html


def test_the_html_part_has_the_footer_links_untracked_and_the_open_pixel():
    html = email("Hi").html
    assert '<a href="https://crm.test/m/u/U1/">Unsubscribe</a>' in html
    assert '<a href="https://crm.test/m/p/P1/">' in html
    assert "100 Shore Rd, Lakeside, MA 01234" in html
    assert '<img src="https://crm.test/m/o/O1/" width="1" height="1"' in html
    assert "T[https://crm.test/m/u/U1/]" not in html


def test_a_store_name_with_markup_is_escaped_in_the_html_footer():
    composed = compose_email(body="Hi", sender=Sender("A&B <Motors>", "1 Main St", "A&B"), unsubscribe_url="u",
                             preferences_url="p", open_pixel_url="o", track=track)
    assert "A&amp;B &lt;Motors&gt;" in composed.html and "<Motors>" not in composed.html


def test_a_text_gets_tracked_links_and_the_stop_line_with_the_store_name():
    composed = compose_text(body="Price drop on the RAV4: https://lakeside.test/v/1 ", sender=SENDER, track=track)
    assert composed.text == ("Price drop on the RAV4: https://crm.test/m/c/T[https://lakeside.test/v/1]/\n"
                             "Lakeside Toyota: Reply STOP to opt out")
    assert composed.headers == {} and composed.html == ""


@pytest.mark.parametrize("body, expected", [
    ("Deals! Reply STOP to opt out", "Deals! Reply STOP to opt out\nLakeside Toyota"),
    ("Lakeside Toyota deals. reply stop to end", "Lakeside Toyota deals. reply stop to end"),
])
def test_a_text_that_already_says_how_to_stop_does_not_say_it_twice(body, expected):
    assert compose_text(body=body, sender=SENDER, track=track).text == expected


@pytest.mark.parametrize("channel, newest, on", [
    ("email", None, True), ("email", True, True), ("email", False, False),
    ("sms", None, False), ("sms", True, True), ("sms", False, False),
])
def test_email_is_on_until_refused_and_texts_only_after_written_consent(channel, newest, on):
    assert is_on(channel, newest) is on


E_M, E_S, S_M, S_S = ("email", "marketing"), ("email", "service_reminders"), ("sms", "marketing"), \
    ("sms", "service_reminders")


@pytest.mark.parametrize("current, wanted, shown, made, refused", [
    ({E_M: True}, {E_M: True}, False, [], []),
    ({E_M: True}, {E_M: False}, False, [Change("email", "marketing", False)], []),
    ({E_M: False}, {E_M: True}, False, [Change("email", "marketing", True)], []),
    ({S_M: True}, {S_M: False}, False, [Change("sms", "marketing", False)], []),
    ({S_M: False, S_S: False}, {S_M: True, S_S: True}, False, [], [S_M, S_S]),
    ({S_M: False}, {S_M: True}, True, [Change("sms", "marketing", True)], []),
    ({E_M: True}, {E_M: False, S_M: True}, True, [Change("email", "marketing", False)], []),  # no number: no switch
])
def test_a_text_switch_turns_on_only_with_the_consent_words_shown(current, wanted, shown, made, refused):
    assert changes(current=current, wanted=wanted, tcpa_words_shown=shown) == (made, refused)


@pytest.mark.parametrize("event_type, reason, raw, expected", [
    ("delivered", None, {"RecordType": "Delivery"}, Outcome(stamp="delivered_at")),
    ("opened", None, {"event": "open"}, Outcome(stamp="opened_at")),
    ("clicked", None, {"event": "click"}, Outcome(stamp="clicked_at")),
    ("bounced", "bounced", {"Type": "HardBounce"}, Outcome(stamp="bounced_at", listed="bounced")),
    ("bounced", "bounced", {"Type": "SoftBounce"}, NOTHING),
    ("bounced", None, {"event": "bounce", "type": "bounce"}, Outcome(stamp="bounced_at", listed="bounced")),
    ("bounced", None, {"event": "bounce", "type": "blocked"}, NOTHING),
    ("bounced", None, {"event": "soft_bounce"}, NOTHING),
    ("bounced", None, {"bounce": {"bounceType": "Permanent"}}, Outcome(stamp="bounced_at", listed="bounced")),
    ("bounced", None, {"bounce": {"bounceType": "Transient"}}, NOTHING),
    ("bounced", None, "not a dict", Outcome(stamp="bounced_at", listed="bounced")),
    ("rejected", "invalid", {"Type": "BadEmailAddress"}, Outcome(stamp="bounced_at", listed="bounced")),
    ("rejected", "blocked", {"Type": "Blocked"}, NOTHING),
    ("rejected", "spam", {}, Outcome(stamp="complained_at", listed="complained")),
    ("complained", "spam", {"Type": "SpamComplaint"}, Outcome(stamp="complained_at", listed="complained")),
    ("unsubscribed", "unsubscribed", {"event": "unsubscribe"}, Outcome(stamp="unsubscribed_at", unsubscribe=True)),
    ("deferred", None, {"Type": "Transient"}, NOTHING),
    ("queued", None, {"event": "processed"}, NOTHING),
])
def test_what_an_email_services_event_means(event_type, reason, raw, expected):
    assert outcome(event_type=event_type, reject_reason=reason, soft_bounce=is_soft_bounce(raw)) == expected
