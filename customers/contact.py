"""Contact points: phones in E.164 (phonenumbers), emails lower-cased. Pure."""

import phonenumbers


class InvalidContact(ValueError):
    pass


def normalize_phone(raw: str, *, region: str = "US") -> str:
    """Any human way of writing a phone number → E.164, or InvalidContact with a reason."""
    text = (raw or "").strip()
    if not text:
        raise InvalidContact("The phone number is empty.")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidContact(f"{text!r} is not a phone number: {exc._msg}") from None
    if not phonenumbers.is_possible_number(number):
        raise InvalidContact(f"{text!r} has the wrong number of digits for a phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    """E.164 → how staff read it: (617) 555-0142 at home, +44 20 … abroad."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    fmt = phonenumbers.PhoneNumberFormat.NATIONAL if number.country_code == 1 else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, fmt)


def normalize_email(raw: str) -> str:
    email = (raw or "").strip().lower()
    local, at, domain = email.partition("@")
    if not local or not at or "." not in domain or " " in email:
        raise InvalidContact(f"{raw!r} is not an email address.")
    return email
