"""The one customer matcher: its rules as a table (pure), then each way in finding the same person (database)."""

import pytest

from customers.contact import InvalidContact, normalize_email, normalize_phone
from customers.matching import ArrivingContact, Found, Keys, customer_match_or_create, decide, phone_region
from customers.models import Customer, CustomerRooftop, DuplicateCandidate


@pytest.mark.parametrize("raw, email", [
    ("  Pat.Shopper@Example.COM ", "pat.shopper@example.com"),
    ("not-an-email", None), ("a@b", None), ("two@@example.com", None), ("a b@example.com", None),
    (42, None), (None, None), ("x" * 250 + "@example.com", None),
])
def test_an_email_is_trimmed_lowercased_and_checked(raw, email):
    if email is None:
        with pytest.raises(InvalidContact):
            normalize_email(raw)
    else:
        assert normalize_email(raw) == email


@pytest.mark.parametrize("raw, e164", [
    ("(617) 555-0142", "+16175550142"), ("617.253.1000", "+16172531000"), ("+1 303 871 2000", "+13038712000"),
    (6172531000, "+16172531000"),
    # possible but not in use, too short, not a number: refused, with one rule for every way in
    ("555-0100", None), ("+1 555 555 5555", None), ("12345", None), ("", None), ("call me", None), (True, None),
])
def test_a_phone_becomes_e164_or_is_refused(raw, e164):
    if e164 is None:
        with pytest.raises(InvalidContact):
            normalize_phone(raw)
    else:
        assert normalize_phone(raw) == e164


@pytest.mark.parametrize("found, customer_id, key, others", [
    # strongest first: our link token, the store's DMS number, the signed-in user, email, phone
    (Found(by_token=1, by_dms_number=2, by_user_id=3, by_email=4, by_phone=5), 1, "token", (2, 3, 4, 5)),
    (Found(by_dms_number=2, by_email=4, by_phone=5), 2, "dms_number", (4, 5)),
    (Found(by_user_id=3, by_email=4), 3, "user_id", (4,)),
    (Found(by_email=4, by_phone=5), 4, "email", (5,)),
    (Found(by_phone=5), 5, "phone", ()),
    # keys that agree are one person, not a duplicate of themselves
    (Found(by_dms_number=7, by_email=7, by_phone=7), 7, "dms_number", ()),
    (Found(by_email=4, by_phone=5, by_user_id=5), 5, "user_id", (4,)),
    # nothing found: nobody yet (a name, however close, never decides: that is a merge suggestion)
    (Found(), None, "", ()),
])
def test_the_strongest_key_decides_and_the_others_are_duplicate_suggestions(found, customer_id, key, others):
    match = decide(found)
    assert (match.customer_id, match.key, match.others) == (customer_id, key, others)
    assert bool(match.reason) == (customer_id is not None)


@pytest.mark.parametrize("country, region", [("US", "US"), ("ca", "CA"), ("USA", "US"), ("United States", "US"), ("", "US")])
def test_only_a_two_letter_country_is_a_phone_region(country, region):
    assert phone_region(country) == region


def test_keys_drop_what_is_not_a_contact_point_and_repeat_nothing():
    keys = Keys.of(ArrivingContact(emails=("A@x.io", "a@x.io", "nope"), phones=(("617 555 0142", "home"),
                                   ("(617) 555-0142", "mobile"), ("555", "")), dms_customer_number=" 10042 "))
    assert keys == Keys(emails=("a@x.io",), phones=(("+16175550142", "home"),), dms_customer_number="10042")


# --------------------------------------------------------------------------------------------- the database side


@pytest.mark.django_db
def test_the_dms_number_finds_the_customer_before_email_and_phone(world):
    first = customer_match_or_create(rooftop=world.rooftop, source="dms", contact=ArrivingContact(
        first_name="Dana", last_name="Reyes", emails=("dana@old.example",), dms_customer_number="C-1001"))
    assert first.created
    assert CustomerRooftop.objects.get(customer=first.customer, rooftop=world.rooftop).dms_customer_number == "C-1001"
    # A new address in the DMS: the number says it is Dana, and the new email is added, not a second Dana.
    again = customer_match_or_create(rooftop=world.rooftop, source="dms", contact=ArrivingContact(
        first_name="Dana", emails=("dana@new.example",), dms_customer_number="C-1001"))
    assert (again.customer, again.created, again.reason) == (first.customer, False, "has the same DMS customer number")
    assert set(again.customer.emails.values_list("email", flat=True)) == {"dana@old.example", "dana@new.example"}
    # The same number at another store of the group is that store's own numbering: nobody is found by it.
    other = customer_match_or_create(rooftop=world.other_rooftop, source="dms", contact=ArrivingContact(
        first_name="Sam", dms_customer_number="C-1001"))
    assert other.created and other.customer != first.customer


@pytest.mark.django_db
def test_a_name_and_address_alone_is_a_suggestion_never_a_match(world):
    address = dict(street="12 Elm Street", postal_code="02139", city="Cambridge")
    one = customer_match_or_create(rooftop=world.rooftop, source="api", contact=ArrivingContact(
        first_name="Katharine", last_name="O'Neil", emails=("k1@example.com",), **address))
    two = customer_match_or_create(rooftop=world.rooftop, source="adf", contact=ArrivingContact(
        first_name="Katherine", last_name="Oneil", emails=("k2@example.com",), **address))
    assert two.created and two.customer != one.customer
    pair = sorted((one.customer.pk, two.customer.pk))
    candidate = DuplicateCandidate.unscoped.get(customer_a_id=pair[0], customer_b_id=pair[1])
    assert candidate.reasons == ["similar name at the same address"]


@pytest.mark.django_db
def test_without_create_an_unknown_person_is_nobody(world):
    assert customer_match_or_create(rooftop=world.rooftop, source="sms", create=False,
                                    contact=ArrivingContact(phones=(("+1 617 555 0199", ""),))) is None
    assert not Customer.unscoped.filter(phones__e164="+16175550199").exists()


ADF_JANE = """<?xml version="1.0"?><?adf version="1.0"?>
<adf><prospect status="new"><id sequence="1" source="Cars.com">CC-9</id>
  <requestdate>2026-11-24T09:15:00-05:00</requestdate>
  <vehicle interest="buy" status="new"><year>2024</year><make>Toyota</make><model>RAV4</model></vehicle>
  <customer><contact><name part="full">Jane Q Doe</name><email>jane.doe@example.com</email>
    <phone type="cellphone">(617) 555-0134</phone></contact></customer>
  <provider><name part="full">Cars.com</name></provider>
</prospect></adf>"""


@pytest.mark.django_db
def test_one_person_through_every_door_is_one_customer(world):
    """Website form, identify, ADF, lead intake, the API, a DMS number and an inbound text: one record."""
    from customers.messaging import sms_inbound_receive
    from leads.intake import adf_lead_accept
    from leads.services.new_leads import lead_create
    from tracking.identity import Claims
    from tracking.models import Visitor
    from tracking.services import WebLeadInput, visitor_identify, web_lead_create

    web = web_lead_create(rooftop=world.rooftop, form=WebLeadInput(
        form_type="contact", first_name="Jane", last_name="Doe", email="jane.doe@example.com", phone=""))
    jane = web.customer
    assert web.customer_created
    # ADF with her email (and a phone we did not have yet): the same Jane, now with the phone too.
    assert adf_lead_accept(rooftop=world.rooftop, raw=ADF_JANE, received_via="http").customer == jane
    assert list(jane.phones.values_list("e164", flat=True)) == ["+16175550134"]
    # A lead typed by staff with the phone written another way.
    assert lead_create(rooftop=world.rooftop, source="phone", phone="617.555.0134").lead.customer == jane
    # Identify from a browser with the email in capitals.
    visitor = Visitor.unscoped.create(rooftop=world.rooftop, anonymous_id="anon-jane")
    visitor_identify(rooftop=world.rooftop, visitor_id=visitor.pk, claims=Claims(email="jane.doe@example.com"),
                     at=web.customer.created_at)
    visitor.refresh_from_db()
    assert visitor.customer_id == jane.pk
    # The DMS knows her by number and email; after that the number alone finds her.
    assert customer_match_or_create(rooftop=world.rooftop, source="dms", contact=ArrivingContact(
        emails=("JANE.DOE@example.com",), dms_customer_number="D-77")).customer == jane
    assert customer_match_or_create(rooftop=world.rooftop, source="api", contact=ArrivingContact(
        dms_customer_number="D-77")).customer == jane
    # She texts the store: the reply is filed on her record.
    world.rooftop.phone = "+16175550100"
    world.rooftop.save(update_fields=["phone"])
    result = sms_inbound_receive(provider_id="SM-jane-1", from_number="+16175550134", to_number="+16175550100",
                                 body="Is the RAV4 still there?")
    assert result.customer_ids == (jane.pk,)
    assert jane.timeline.filter(summary="Text from the customer").exists()
    assert Customer.unscoped.filter(dealer_group=world.rooftop.dealer_group).count() == 1
