"""Which customer a website visitor is: the pure rules (tracking.identity on customers.matching), no database."""

import pytest

from customers.matching import Found
from tracking.identity import Claims, claims_from_traits, decide_link


def test_traits_in_camel_case_and_a_full_name_are_understood():
    claims = claims_from_traits({"firstName": "Robin", "lastName": "Ng", "email": "R@x.io"}, user_id="u1")
    assert (claims.first_name, claims.last_name, claims.email, claims.user_id) == ("Robin", "Ng", "r@x.io", "u1")
    named = claims_from_traits({"name": "Ana Maria Lopez"})
    assert (named.first_name, named.last_name) == ("Ana", "Maria Lopez")


def test_traits_that_are_not_contact_points_are_ignored_not_refused():
    claims = claims_from_traits({"email": "not-an-email", "phone": "12345", "firstName": "Pat"})
    assert (claims.email, claims.phone, claims.first_name) == ("", "", "Pat")
    assert claims_from_traits({"email": 42, "phone": True}).is_empty


def test_a_customer_token_must_look_like_one():
    assert claims_from_traits({"customer_token": "abcDEF123_-x"}).customer_token == "abcDEF123_-x"
    assert claims_from_traits({"customer_token": "<script>"}).customer_token == ""
    assert claims_from_traits({"customer_token": "short"}).is_empty


CONTACT = Claims(email="pat@example.com")
NAME_ONLY = Claims(user_id="", first_name="Pat")


@pytest.mark.parametrize("current, claims, found, expected", [
    # the link token from our own email/text wins over everything
    (None, CONTACT, Found(by_token=1, by_user_id=2, by_email=3, by_phone=4), (1, False)),
    (None, CONTACT, Found(by_user_id=2, by_email=3, by_phone=4), (2, False)),
    (None, CONTACT, Found(by_email=3, by_phone=4), (3, False)),
    (None, CONTACT, Found(by_phone=4), (4, False)),
    # nobody matches: a new customer, but only with something staff can answer
    (None, CONTACT, Found(), (None, True)),
    (None, Claims(user_id="u1"), Found(), (None, False)),
    # already that customer: nothing to do
    (3, CONTACT, Found(by_email=3), (None, False)),
    # already someone, and another known person signs in on the same computer: the visitor moves on
    (3, CONTACT, Found(by_token=7), (7, False)),
    # already someone, and an unknown email: no second customer is invented
    (3, CONTACT, Found(), (None, False)),
])
def test_which_customer_a_visitor_is(current, claims, found, expected):
    decision = decide_link(current_customer_id=current, claims=claims, found=found)
    assert (decision.customer_id, decision.create) == expected
    assert bool(decision.reason) == decision.changes_anything


def test_a_name_alone_identifies_nobody():
    assert NAME_ONLY.is_empty
    assert not decide_link(current_customer_id=None, claims=NAME_ONLY, found=Found()).changes_anything
