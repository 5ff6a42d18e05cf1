"""An anonymous visitor becomes a known customer, and the earlier anonymous events join the customer's story."""

import threading
from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection

from customers.models import Customer, CustomerEmail, CustomerRooftop, TimelineEntry
from factories import RooftopFactory, add_contact, make_customer
from tracking.identity import Claims
from tracking.messages import normalize
from tracking.models import TrackedEvent, Visitor
from tracking.services import (
    WebLeadInput, events_record, visitor_identify, visitors_move_to_customer, web_lead_create,
)

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)


def _record(rooftop, *raws, at=NOW):
    messages = [normalize(raw, received_at=at) for raw in raws]
    return events_record(rooftop=rooftop, messages=messages, received_at=at)


def _page(n, anonymous_id="anon-1", **extra):
    return {"type": "track", "event": "asc_item_pageview", "anonymousId": anonymous_id, "messageId": f"{anonymous_id}-{n}",
            "timestamp": (NOW - timedelta(days=3, minutes=n)).isoformat(), **extra}


def _identify(message_id, anonymous_id="anon-1", user_id=None, **traits):
    raw = {"type": "identify", "anonymousId": anonymous_id, "messageId": message_id, "traits": traits}
    if user_id:
        raw["userId"] = user_id
    return raw


def _events(rooftop, anonymous_id="anon-1"):
    return TrackedEvent.objects.for_rooftops([rooftop.id]).filter(visitor__anonymous_id=anonymous_id)


@pytest.mark.django_db
class TestIdentify:
    def test_an_email_that_matches_a_customer_joins_the_visitor_and_its_earlier_events(self):
        rooftop = RooftopFactory()
        other = RooftopFactory(dealer_group=rooftop.dealer_group)
        customer = make_customer(other, first_name="Jo")  # known at the sister store only, so far
        add_contact(customer, email="jo@example.com")
        _record(rooftop, _page(1), _page(2), _page(3))
        assert set(_events(rooftop).values_list("customer_id", flat=True)) == {None}

        _record(rooftop, _identify("id-1", email="JO@example.com"))
        visitor = Visitor.objects.for_rooftops([rooftop.id]).get(anonymous_id="anon-1")
        assert visitor.customer_id == customer.id
        assert visitor.identified_at is not None
        assert set(_events(rooftop).values_list("customer_id", flat=True)) == {customer.id}
        assert CustomerRooftop.objects.filter(customer=customer, rooftop=rooftop).exists()
        entry = TimelineEntry.unscoped.get(customer=customer, kind="web_session")
        assert entry.rooftop_id == rooftop.id
        assert "3 earlier website events joined" in entry.summary

        _record(rooftop, _page(4))  # later events are the customer's from the start
        assert _events(rooftop).get(message_id="anon-1-4").customer_id == customer.id

    def test_a_customer_token_from_an_email_link_identifies_the_visitor(self):
        rooftop = RooftopFactory()
        customer = make_customer(rooftop, link_token="tok_abcdefgh1234")
        _record(rooftop, _page(1), _identify("id-1", customer_token="tok_abcdefgh1234"))
        assert set(_events(rooftop).values_list("customer_id", flat=True)) == {customer.id}

    def test_a_token_of_another_dealer_group_identifies_nobody(self):
        rooftop = RooftopFactory()
        make_customer(RooftopFactory(), link_token="tok_othergroup99")
        _record(rooftop, _page(1), _identify("id-1", customer_token="tok_othergroup99"))
        assert Visitor.objects.for_rooftops([rooftop.id]).get().customer_id is None

    def test_a_user_id_already_linked_on_another_browser_identifies_this_one(self):
        rooftop = RooftopFactory()
        customer = make_customer(rooftop)
        add_contact(customer, phone="+16172531000")
        _record(rooftop, _identify("id-1", anonymous_id="laptop", user_id="dms-42", phone="617-253-1000"))
        _record(rooftop, _page(1, anonymous_id="phone"), _identify("id-2", anonymous_id="phone", user_id="dms-42"))
        assert set(_events(rooftop, "phone").values_list("customer_id", flat=True)) == {customer.id}

    def test_an_email_nobody_has_makes_a_new_customer_known_at_the_store(self):
        rooftop = RooftopFactory()
        _record(rooftop, _page(1), _identify("id-1", email="new@example.com", first_name="Nia", last_name="Hall"))
        customer = Customer.objects.for_rooftops([rooftop.id]).get()
        assert (customer.first_name, customer.last_name) == ("Nia", "Hall")
        assert list(customer.emails.values_list("email", flat=True)) == ["new@example.com"]
        assert customer.link_token
        assert set(_events(rooftop).values_list("customer_id", flat=True)) == {customer.id}

    def test_a_name_alone_identifies_nobody_and_creates_nothing(self):
        rooftop = RooftopFactory()
        _record(rooftop, _page(1), _identify("id-1", first_name="Anon"))
        assert not Customer.unscoped.filter(dealer_group=rooftop.dealer_group).exists()

    def test_events_in_the_same_batch_as_the_identify_are_all_joined(self):
        rooftop = RooftopFactory()
        customer = make_customer(rooftop)
        add_contact(customer, email="pat@example.com")
        _record(rooftop, _page(1), _identify("id-1", email="pat@example.com"), _page(2))
        assert set(_events(rooftop).values_list("customer_id", flat=True)) == {customer.id}

    def test_a_merged_customer_is_followed_to_the_surviving_record(self):
        rooftop = RooftopFactory()
        survivor = make_customer(rooftop)
        merged = make_customer(rooftop, merged_into=survivor)
        add_contact(merged, email="old@example.com")
        _record(rooftop, _page(1), _identify("id-1", email="old@example.com"))
        assert Visitor.objects.for_rooftops([rooftop.id]).get().customer_id == survivor.id

    def test_events_already_of_one_customer_stay_when_a_second_person_uses_the_browser(self):
        rooftop = RooftopFactory()
        first, second = make_customer(rooftop, link_token="tok_first_1234"), make_customer(rooftop, link_token="tok_second_1234")
        _record(rooftop, _page(1), _identify("id-1", customer_token="tok_first_1234"))
        before = _page(2, timestamp=(NOW - timedelta(minutes=10)).isoformat())
        switch = {**_identify("id-2", customer_token="tok_second_1234"), "timestamp": (NOW - timedelta(minutes=5)).isoformat()}
        after = _page(3, timestamp=(NOW - timedelta(minutes=1)).isoformat())
        _record(rooftop, before, switch, after)
        by_message = dict(_events(rooftop).values_list("message_id", "customer_id"))
        assert by_message["anon-1-1"] == first.id
        assert by_message["anon-1-2"] == first.id  # before the second person said who they are
        assert by_message["anon-1-3"] == second.id


@pytest.mark.django_db
def test_alias_joins_a_second_browser_to_the_same_customer():
    rooftop = RooftopFactory()
    customer = make_customer(rooftop)
    add_contact(customer, email="sam@example.com")
    _record(rooftop, _identify("id-1", anonymous_id="desktop", user_id="site-user-9", email="sam@example.com"))
    _record(rooftop, _page(1, anonymous_id="tablet"), _page(2, anonymous_id="tablet"))
    _record(rooftop, {"type": "alias", "previousId": "tablet", "userId": "site-user-9", "messageId": "alias-1"})
    tablet = Visitor.objects.for_rooftops([rooftop.id]).get(anonymous_id="tablet")
    assert (tablet.customer_id, tablet.user_id) == (customer.id, "site-user-9")
    assert set(_events(rooftop, "tablet").values_list("customer_id", flat=True)) == {customer.id}


@pytest.mark.django_db
def test_alias_before_anyone_is_known_lets_a_later_identify_join_both_browsers():
    rooftop = RooftopFactory()
    customer = make_customer(rooftop)
    add_contact(customer, email="lee@example.com")
    _record(rooftop, _page(1, anonymous_id="a"), _page(1, anonymous_id="b"))
    _record(rooftop, {"type": "alias", "anonymousId": "b", "previousId": "a", "userId": "u-7", "messageId": "al"})
    _record(rooftop, _identify("id-1", anonymous_id="b", user_id="u-7", email="lee@example.com"))
    assert set(_events(rooftop, "a").values_list("customer_id", flat=True)) == {customer.id}


@pytest.mark.django_db
def test_merging_two_customers_moves_every_visitor_and_event_and_can_be_undone():
    rooftop = RooftopFactory()
    other = RooftopFactory(dealer_group=rooftop.dealer_group)
    keep, dup = make_customer(rooftop), make_customer(other)
    add_contact(keep, email="keep@example.com")
    add_contact(dup, email="dup@example.com")
    _record(rooftop, _page(1, "k"), _identify("k-id", "k", email="keep@example.com"))
    _record(other, _page(1, "d1"), _page(2, "d1"), _identify("d1-id", "d1", email="dup@example.com"))
    _record(other, _page(1, "d2"), _identify("d2-id", "d2", email="dup@example.com"))
    all_events = TrackedEvent.objects.across_rooftops().filter(rooftop_id__in=[rooftop.id, other.id])
    before = all_events.count()
    dup_events = all_events.filter(customer_id=dup.id).count()
    assert dup_events == 5

    result = visitors_move_to_customer(from_customer_id=dup.id, to_customer_id=keep.id)
    assert result.events_moved == dup_events
    assert len(result.visitor_ids) == 2
    assert all_events.count() == before  # nothing lost, nothing copied
    assert not all_events.filter(customer_id=dup.id).exists()
    assert all_events.filter(customer_id=keep.id).count() == before
    assert not Visitor.unscoped.filter(customer_id=dup.id).exists()
    assert CustomerRooftop.objects.filter(customer=keep, rooftop=other).exists()

    undone = visitors_move_to_customer(from_customer_id=keep.id, to_customer_id=dup.id, visitor_ids=result.visitor_ids)
    assert undone.events_moved == dup_events
    assert all_events.filter(customer_id=dup.id).count() == dup_events
    assert Visitor.unscoped.get(anonymous_id="k", rooftop=rooftop).customer_id == keep.id


@pytest.mark.django_db
def test_a_web_form_and_an_identify_with_a_phone_find_the_same_customer():
    rooftop = RooftopFactory()
    _record(rooftop, _page(1))
    result = web_lead_create(rooftop=rooftop, anonymous_id="anon-1", form=WebLeadInput(
        form_type="contact", first_name="Kai", last_name="Moss", email="", phone="+16172531000"))
    assert result.customer_created
    _record(rooftop, _identify("id-9", anonymous_id="anon-other", phone="(617) 253-1000"))
    assert Visitor.unscoped.get(anonymous_id="anon-other").customer_id == result.customer.id
    assert Customer.unscoped.filter(dealer_group=rooftop.dealer_group).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_form_and_an_identify_arriving_at_once_make_one_customer():
    """The form POST and track.js's identify beacon race each other; advisory locks keep it one person."""
    rooftop = RooftopFactory()
    start = threading.Barrier(2)
    errors = []

    def form():
        try:
            start.wait()
            web_lead_create(rooftop=rooftop, anonymous_id="racer", form=WebLeadInput(
                form_type="contact", first_name="Ray", last_name="Cer", email="ray@example.com", phone=""))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    def identify():
        try:
            start.wait()
            _record(rooftop, _identify("race-id", anonymous_id="racer", email="ray@example.com"))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=form), threading.Thread(target=identify)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert CustomerEmail.objects.filter(email="ray@example.com").count() == 1
    customer = Customer.unscoped.get(dealer_group=rooftop.dealer_group)
    assert Visitor.unscoped.get(anonymous_id="racer").customer_id == customer.id


@pytest.mark.django_db
def test_visitor_identify_is_callable_directly_for_a_known_visitor():
    rooftop = RooftopFactory()
    customer = make_customer(rooftop)
    add_contact(customer, email="d@example.com")
    result = _record(rooftop, _page(1))
    changed = visitor_identify(rooftop=rooftop, visitor_id=result.visitor_ids[0], claims=Claims(email="d@example.com"),
                               at=NOW)
    assert changed == set(result.visitor_ids)
