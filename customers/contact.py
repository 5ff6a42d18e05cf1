"""Contact points: phones in E.164 (phonenumbers), emails lower-cased. Pure.

The one definition of a phone number and an email address for every way in (forms, identify, ADF, the API,
imports, inbound texts): a number must be a valid one for its region (`phonenumbers.is_valid_number`, so
"555-0100" without an area code or "+1 555 555 5555" are refused), an address must look deliverable.
"""

import functools
import re

import phonenumbers

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


class InvalidContact(ValueError):
    pass


def normalize_phone(raw: str, *, region: str = "US") -> str:
    """Any human way of writing a phone number → E.164, or InvalidContact with a reason."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)  # JSON senders write numbers as numbers
    text = (raw if isinstance(raw, str) else "").strip()[:40]
    if not text:
        raise InvalidContact("The phone number is empty.")
    return _e164(text, region)


@functools.lru_cache(maxsize=65536)
def _e164(text: str, region: str) -> str:
    # Cached: a DMS import reads a household's number on every deal and RO line, then the matcher reads it again.
    # (An InvalidContact is not cached; lru_cache passes exceptions through.)
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidContact(f"{text!r} is not a phone number: {exc._msg}") from None
    if not phonenumbers.is_possible_number(number):
        raise InvalidContact(f"{text!r} has the wrong number of digits for a phone number.")
    if not phonenumbers.is_valid_number(number):
        raise InvalidContact(f"{text!r} is not a phone number in use (check the area code).")
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
    email = (raw if isinstance(raw, str) else "").strip().lower()
    if len(email) > 254 or not EMAIL.match(email):
        raise InvalidContact(f"{str(raw)[:80]!r} is not an email address.")
    return email
