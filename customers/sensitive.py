"""How sensitive values (encrypted at rest) are shown: masked by default, whole only on a recorded reveal.

Pure: values in, text out. The reveal itself is a view that records an access of kind `sensitive_reveal`.
"""

from __future__ import annotations

import datetime
import re

from crm.crypto import Unreadable

DOT = "\u2022"
# What a "Reveal" button may open, per model: field name -> label (and the URL name of its reveal).
CUSTOMER_REVEALABLE = {"date_of_birth": "Date of birth", "drivers_licence_number": "Driver's licence"}
REVEAL_URL_NAMES = {"date_of_birth": "customer-reveal-date-of-birth",
                    "drivers_licence_number": "customer-reveal-licence"}
VEHICLE_REVEALABLE = {"finance_account_number": "Finance account"}
LICENCE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 -]{0,31}")


def mask_date_of_birth(value: datetime.date | Unreadable | None) -> str:
    """The year alone ("••/••/1987"): enough to tell two John Smiths apart, not enough to impersonate one."""
    if value is None:
        return ""
    if isinstance(value, Unreadable):
        return str(value)
    return f"{DOT * 2}/{DOT * 2}/{value.year}"


def mask_last4(value: str | Unreadable | None) -> str:
    """The last four letters or digits ("••••1234"); spaces and dashes are not counted or shown."""
    if value is None or value == "":
        return ""
    if isinstance(value, Unreadable):
        return str(value)
    significant = re.sub(r"[^A-Za-z0-9]", "", value)
    if len(significant) <= 4:
        return DOT * 4  # so short that its last four would be all of it
    return f"{DOT * 4}{significant[-4:]}"


def mask(field: str, value) -> str:
    return mask_date_of_birth(value) if field == "date_of_birth" else mask_last4(value)


def reveal_text(field: str, value) -> str:
    """The whole value as staff read it; an unreadable one still says only that."""
    if value is None or value == "":
        return ""
    if isinstance(value, Unreadable):
        return str(value)
    if isinstance(value, datetime.date):
        return f"{value:%m/%d/%Y}"
    return str(value)


def licence_problem(value: str) -> str | None:
    """None when a licence number looks like one (1-32 letters, digits, dashes or spaces), else why not."""
    if not LICENCE_RE.fullmatch(value):
        return "A driver's licence number is 1 to 32 letters, digits, dashes or spaces."
    return None


def date_of_birth_problem(value: datetime.date, *, today: datetime.date) -> str | None:
    if value > today:
        return "The date of birth cannot be in the future."
    if value.year < 1900:
        return "The date of birth cannot be before 1900."
    return None
