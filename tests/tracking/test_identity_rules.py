"""Who is this shopper: the pure rules (tracking.identity), no database."""

import pytest

from tracking.identity import Candidates, Claims, claims_from_traits, decide_link, normalize_email, normalize_phone


@pytest.mark.parametrize("raw, email", [
    ("  Pat.Shopper@Example.COM ", "pat.shopper@example.com"),
    ("not-an-email", ""), ("a@b", ""), ("two@@example.com", ""), (42, ""), (None, ""),
])
def test_emails_are_trimmed_lowercased_and_checked(raw, email):
    assert normalize_email(raw) == email


@pytest.mark.parametrize("raw, e164", [
    ("(617) 555-0142", "+16175550142"),
    ("(617) 253-1000", "+16172531000"), ("+1 303 871 2000", "+13038712000"), ("12345", ""), ("", ""), (True, ""),
])
def test_phones_become_e164_or_nothing(raw, e164):
    assert normalize_phone(raw) == e164


def test_traits_in_camel_case_and_a_full_name_are_understood():
    claims = claims_from_traits({"firstName": "Robin", "lastName": "Ng", "email": "R@x.io"}, user_id="u1")
    assert (claims.first_name, claims.last_name, claims.email, claims.user_id) == ("Robin", "Ng", "r@x.io", "u1")
    named = claims_from_traits({"name": "Ana Maria Lopez"})
    assert (named.first_name, named.last_name) == ("Ana", "Maria Lopez")


def test_a_customer_token_must_look_like_one():
    assert claims_from_traits({"customer_token": "abcDEF123_-x"}).customer_token == "abcDEF123_-x"
    assert claims_from_traits({"customer_token": "<script>"}).customer_token == ""
    assert claims_from_traits({"customer_token": "short"}).is_empty


CONTACT = Claims(email="pat@example.com")
NAME_ONLY = Claims(user_id="", first_name="Pat")


@pytest.mark.parametrize("current, claims, candidates, expected", [
    # the link token from our own email/text wins over everything
    (None, CONTACT, Candidates(by_token=1, by_user_id=2, by_email=3, by_phone=4), (1, False)),
    (None, CONTACT, Candidates(by_user_id=2, by_email=3, by_phone=4), (2, False)),
    (None, CONTACT, Candidates(by_email=3, by_phone=4), (3, False)),
    (None, CONTACT, Candidates(by_phone=4), (4, False)),
    # nobody matches: a new customer, but only with something staff can answer
    (None, CONTACT, Candidates(), (None, True)),
    (None, Claims(user_id="u1"), Candidates(), (None, False)),
    # already that customer: nothing to do
    (3, CONTACT, Candidates(by_email=3), (None, False)),
    # already someone, and another known person signs in on the same computer: the visitor moves on
    (3, CONTACT, Candidates(by_token=7), (7, False)),
    # already someone, and an unknown email: no second customer is invented
    (3, CONTACT, Candidates(), (None, False)),
])
def test_which_customer_a_visitor_is(current, claims, candidates, expected):
    decision = decide_link(current_customer_id=current, claims=claims, candidates=candidates)
    assert (decision.customer_id, decision.create) == expected
    assert bool(decision.reason) == decision.changes_anything


def test_a_name_alone_identifies_nobody():
    assert NAME_ONLY.is_empty
    assert not decide_link(current_customer_id=None, claims=NAME_ONLY, candidates=Candidates()).changes_anything
