"""What a search box query is: a phone, an email, a VIN, a stock number or a name. Pure.

One box serves every department, so the query is read every way it could be meant and each reading is
searched with its own index; the selector ranks the union.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from customers.contact import InvalidContact, normalize_phone

_VIN_RE = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
_PARTIAL_VIN_RE = re.compile(r"^(?=.*\d)[A-HJ-NPR-Z0-9]{6,16}$")
_STOCK_RE = re.compile(r"^(?=.*\d)[A-Z0-9-]{3,20}$")
_PHONE_CHARS_RE = re.compile(r"^[\d\s().+\-/x]+$")


@dataclass(frozen=True)
class SearchTerms:
    text: str  # the query as typed, trimmed
    name: str  # lower-cased, accents stripped, spaces collapsed; "" when the query is not a name
    phone_e164: str = ""  # a whole phone number
    phone_digits: str = ""  # 4+ digits, for partial numbers
    email: str = ""  # lower-cased; whole or partial
    vin: str = ""  # a whole VIN
    vin_fragment: str = ""  # the last 6-16 characters of a VIN, as service writes them
    stock: str = ""  # an inventory stock number

    @property
    def is_empty(self) -> bool:
        return not any((self.name, self.phone_e164, self.phone_digits, self.email, self.vin, self.vin_fragment, self.stock))


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# What separates a name's words for the exact-word index (customers.models) and its queries (customers.selectors),
# a regular expression read by both PostgreSQL and Python: spaces, apostrophes, periods, commas and hyphens.
NAME_WORD_SEPARATORS = "[ '.,-]+"


def name_words(name: str) -> list[str]:
    """A lower-cased name's words as the exact-word index splits them."""
    return [word for word in re.split(NAME_WORD_SEPARATORS, name) if word]


def search_terms(query: str, *, region: str = "US") -> SearchTerms:
    """Read a query every way it could be meant."""
    text = re.sub(r"\s+", " ", (query or "").strip())[:200]
    if not text:
        return SearchTerms(text="", name="")
    upper = text.upper().replace(" ", "")
    digits = re.sub(r"\D", "", text)

    if "@" in text:
        return SearchTerms(text=text, name="", email=text.lower().replace(" ", ""))

    if _PHONE_CHARS_RE.match(text) and len(digits) >= 4:
        e164 = ""
        if len(digits) >= 10:
            try:
                e164 = normalize_phone(text, region=region)
            except InvalidContact:
                e164 = ""
        # Digits only could also be a stock number ("21874").
        return SearchTerms(text=text, name="", phone_e164=e164, phone_digits=digits[-10:], stock=upper if len(digits) <= 8 else "")

    vin = upper if _VIN_RE.match(upper) else ""
    vin_fragment = upper if not vin and _PARTIAL_VIN_RE.match(upper) else ""
    stock = upper if not vin and _STOCK_RE.match(upper) else ""
    name = re.sub(r"[^\w' -]", " ", _fold(text).lower())
    name = re.sub(r"\s+", " ", name).strip()
    if vin:
        name = ""
    return SearchTerms(text=text, name=name, vin=vin, vin_fragment=vin_fragment, stock=stock)
