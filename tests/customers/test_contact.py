import pytest

from customers.contact import InvalidContact, format_phone, normalize_email, normalize_phone


@pytest.mark.parametrize("raw", ["(617) 555-0142", "617.555.0142", "+1 617 555 0142", "1-617-555-0142", "6175550142"])
def test_any_way_of_writing_a_us_number_becomes_e164(raw):
    assert normalize_phone(raw) == "+16175550142"


def test_a_foreign_number_keeps_its_country():
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"


@pytest.mark.parametrize("raw", ["", "call me", "555", "+1 617 555 01423 99"])
def test_what_is_not_a_phone_number_is_refused_with_a_reason(raw):
    with pytest.raises(InvalidContact):
        normalize_phone(raw)


def test_staff_read_a_us_number_in_national_form():
    assert format_phone("+16175550142") == "(617) 555-0142"


def test_emails_are_lower_cased_and_checked():
    assert normalize_email(" Jane.Doe@Example.COM ") == "jane.doe@example.com"
    with pytest.raises(InvalidContact):
        normalize_email("jane at example")
