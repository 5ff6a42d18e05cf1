"""Parse and render ADF (Auto-lead Data Format 1.0) car-sales leads.

Lead providers (OEM sites, marketplaces, website vendors) send ADF by e-mail
and by HTTP POST, and very few of them follow the DTD to the letter.  This
module is deliberately forgiving about *shape* (tag case, missing wrappers,
missing declarations, vendor extensions, odd labels) and deliberately strict
about *safety*: anything carrying a DTD, entity declarations or external
references is refused before a single entity is expanded or fetched.

It is plain Python (no Django) so it can run in the mail ingester, the HTTP
endpoint, management commands and tests alike.

Public API::

    parse_adf(raw) -> AdfLead            # first prospect only
    parse_adf_many(raw) -> list[AdfLead] # every prospect, in document order
    render_adf(lead) -> bytes            # canonical ADF 1.0 XML
    AdfError / AdfRefused                # .reason is shown to staff

Extensions
----------
Anything inside a ``<prospect>`` that this module does not map to a field
(vendor elements, and standard ADF elements we do not model such as colours,
options or finance) is kept in ``AdfLead.extensions`` so that nothing a
provider sent is silently lost.  Keys are tag paths relative to
``<prospect>``, lower-cased:

* ``vehicle/colorcombination/exteriorcolor`` -> element text
* ``vehicle/price@currency`` -> attribute value
* a segment gets a 1-based ``[n]`` suffix when its parent has several
  children with that tag, e.g. ``vehicle[2]/doors``.  Children this module
  mapped to fields are numbered before the ones it did not, and vehicles are
  numbered vehicles-of-interest first, then trade-ins -- the order in which
  ``render_adf`` writes them -- so that rendering puts every extension back
  where a re-parse will find it under the same key.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from xml.parsers import expat

import defusedxml
import defusedxml.ElementTree as SafeET

__all__ = [
    "AdfContact",
    "AdfError",
    "AdfLead",
    "AdfPhone",
    "AdfRefused",
    "AdfVehicle",
    "vehicle_as_record",
    "vehicle_from_record",
    "parse_adf",
    "parse_adf_many",
    "render_adf",
]


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


class AdfError(ValueError):
    """The input cannot be read as an ADF lead.

    ``reason`` is written for dealership staff (it ends up in the lead inbox
    next to the raw document), so keep it plain and specific.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AdfRefused(AdfError):
    """The document was refused for safety (DTD, entities, external references).

    Kept distinct from AdfError so callers can log/alert on likely attacks
    separately from the everyday broken feeds.
    """


# --------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class AdfPhone:
    number: str
    # One of ADF's voice | cellphone | fax | pager; vendor labels are mapped.
    type: str = "voice"


@dataclass(frozen=True)
class AdfVehicle:
    interest: str = "buy"  # buy | lease | trade-in | sell | test-drive | ...
    status: str = ""  # new | used | ""
    year: int | None = None
    make: str = ""
    model: str = ""
    trim: str = ""
    vin: str = ""
    stock: str = ""
    price_cents: int | None = None
    odometer: int | None = None
    comments: str = ""

    @property
    def is_trade(self) -> bool:
        return self.interest in _TRADE_INTERESTS


_VEHICLE_TEXT = ("interest", "status", "make", "model", "trim", "vin", "stock", "comments")
_VEHICLE_NUMBERS = ("year", "price_cents", "odometer")


def vehicle_as_record(vehicle: AdfVehicle) -> dict:
    """A vehicle as a JSON object for storage on the lead (empty fields left out)."""
    record = {name: getattr(vehicle, name) for name in _VEHICLE_TEXT + _VEHICLE_NUMBERS}
    return {name: value for name, value in record.items() if value not in (None, "")}


def vehicle_from_record(record: dict) -> AdfVehicle:
    """The stored object back as a vehicle; fields of the wrong type are dropped, never trusted."""
    text = {name: record[name] for name in _VEHICLE_TEXT if isinstance(record.get(name), str)}
    numbers = {name: record[name] for name in _VEHICLE_NUMBERS
               if isinstance(record.get(name), int) and not isinstance(record.get(name), bool)}
    return AdfVehicle(**text, **numbers)


@dataclass(frozen=True)
class AdfContact:
    first_name: str = ""
    last_name: str = ""
    full_name: str = ""
    emails: tuple[str, ...] = ()
    phones: tuple[AdfPhone, ...] = ()
    street: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""


@dataclass(frozen=True)
class AdfLead:
    request_date: datetime | None = None
    is_resend: bool = False
    provider_name: str = ""
    provider_ref: str = ""
    vendor_name: str = ""
    contact: AdfContact = field(default_factory=AdfContact)
    vehicles_of_interest: tuple[AdfVehicle, ...] = ()
    trade_ins: tuple[AdfVehicle, ...] = ()
    comments: str = ""
    timeframe: str = ""
    # Excluded from hashing only because dicts are unhashable; still compared.
    extensions: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def dedupe_key(self) -> str:
        """Stable identity for "the same lead", at most 128 characters.

        Providers that number their leads are trusted: provider + their id.
        Otherwise the key is a hash of what stays the same when a lead is
        re-sent or arrives both by mail and by HTTP (contact channels,
        vehicles, request time) -- deliberately not names or comments, which
        vendors re-format between channels.
        """
        ref = self.provider_ref.strip()
        if ref:
            provider = _collapse(self.provider_name).lower()
            key = f"adf:{_escape_key_part(provider)}:{_escape_key_part(ref)}"
            if len(key) <= 128:
                return key
            digest = hashlib.sha256(f"{provider}\x00{ref}".encode()).hexdigest()
            return f"adf:ref-sha256:{digest}"

        emails = sorted({e.strip().lower() for e in self.contact.emails if e.strip()})
        phones = sorted({p for p in (_phone_digits(ph.number) for ph in self.contact.phones) if p})
        vehicles = sorted(
            [f"interest:{_vehicle_identity(v)}" for v in self.vehicles_of_interest]
            + [f"trade:{_vehicle_identity(v)}" for v in self.trade_ins]
        )
        when = ""
        if self.request_date is not None:
            moment = self.request_date
            if moment.tzinfo is not None:
                # Same instant written with different offsets is the same lead.
                moment = moment.astimezone(timezone.utc)
            when = moment.isoformat()
        payload = json.dumps(
            {"emails": emails, "phones": phones, "vehicles": vehicles, "requested": when},
            sort_keys=True,
            separators=(",", ":"),
        )
        return "adf:sha256:" + hashlib.sha256(payload.encode()).hexdigest()


def _escape_key_part(value: str) -> str:
    # ":" separates the parts; escape it so "a:b"+"c" never equals "a"+"b:c".
    return value.replace("%", "%25").replace(":", "%3A")


def _phone_digits(number: str) -> str:
    digits = re.sub(r"\D", "", number)
    # North American numbers arrive both with and without the leading 1.
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits


def _vehicle_identity(vehicle: AdfVehicle) -> str:
    if vehicle.vin:
        return "vin:" + vehicle.vin.upper()
    if vehicle.stock:
        return "stock:" + vehicle.stock.strip().lower()
    ymm = " ".join(
        part
        for part in (str(vehicle.year or ""), vehicle.make, vehicle.model)
        if part
    )
    return "ymm:" + _collapse(ymm).lower()


# --------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------


def parse_adf(raw: bytes | str) -> AdfLead:
    """Parse an ADF document and return its first ``<prospect>``.

    Most feeds send exactly one prospect per document.  When a document holds
    several, only the first is read (the others are not even validated); use
    :func:`parse_adf_many` to get all of them.

    Raises AdfRefused for unsafe documents and AdfError for anything else
    that cannot be turned into a lead (empty, not XML, no prospect, no usable
    customer contact).
    """
    root = _parse_xml(raw)
    prospects = _find_prospects(root)
    return _ProspectReader(prospects[0]).read()


def parse_adf_many(raw: bytes | str) -> list[AdfLead]:
    """Parse every ``<prospect>`` in the document, in document order.

    All-or-nothing: if any prospect is unusable the whole document is
    rejected, with the prospect's position in the reason, because a partial
    import would silently drop a customer.
    """
    root = _parse_xml(raw)
    prospects = _find_prospects(root)
    leads = []
    for position, element in enumerate(prospects, 1):
        try:
            leads.append(_ProspectReader(element).read())
        except AdfError as exc:
            if len(prospects) == 1:
                raise
            raise AdfError(f"prospect {position} of {len(prospects)}: {exc.reason}") from exc
    return leads


def render_adf(lead: AdfLead) -> bytes:
    """Render a lead as canonical ADF 1.0 XML (UTF-8).

    Every field of AdfLead, plus its extensions, is written so that
    ``parse_adf(render_adf(lead)) == lead`` for leads that came from
    ``parse_adf``.  Raises ValueError for extension keys that are not tag
    paths (only possible for hand-built leads).
    """
    return _render(lead)


# --------------------------------------------------------------------------
# XML loading
# --------------------------------------------------------------------------

_XML_DECL_RE = re.compile(r"<\?xml(?=[\s?])[^>]*\?>", re.IGNORECASE)
_BYTES_ENCODING_RE = re.compile(
    rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""", re.IGNORECASE
)
# C0 controls can never appear in XML 1.0; vendors leak them from form fields
# (vertical tabs, NULs).  Dropping them keeps line numbers intact.
_BAD_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_JUNK_AFTER_ROOT = expat.errors.codes[expat.errors.XML_ERROR_JUNK_AFTER_DOC_ELEMENT]
_FIRST_ELEMENT_RE = re.compile(r"<(?=[A-Za-z_])")


def _decode(raw: bytes) -> str:
    if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return raw.decode("utf-32")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16")
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    match = _BYTES_ENCODING_RE.match(raw)
    declared = match.group(1).decode("ascii").lower() if match else "utf-8"
    try:
        codec = codecs.lookup(declared).name
    except LookupError:
        raise AdfError(f"unknown character encoding {declared!r} in the XML declaration") from None
    if codec == "utf-8":
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            # The usual culprit: Windows-1252 text sent as (or assumed to be)
            # UTF-8.  A readable "José" beats bouncing the lead.
            return raw.decode("cp1252", errors="replace")
    return raw.decode(codec, errors="replace")


def _prepare_text(raw: bytes | str) -> tuple[str, int]:
    """Return cleaned-up text and how many lines were trimmed off its top."""
    if isinstance(raw, (bytes, bytearray, memoryview)):
        text = _decode(bytes(raw))
    elif isinstance(raw, str):
        text = raw
    else:
        raise TypeError(f"parse_adf expects bytes or str, not {type(raw).__name__}")

    text = text.lstrip("\ufeff")
    stripped = text.lstrip()
    lines_trimmed = text[: len(text) - len(stripped)].count("\n")
    text = _BAD_CONTROL_RE.sub("", stripped)
    if not text.strip():
        raise AdfError("the document is empty")

    # An XML declaration is only legal as the very first thing, in lower
    # case.  Feeds put it after <?adf?>, or write <?XML VERSION="1.0"?>;
    # expat rejects both.  The text is already decoded, so the declaration
    # carries nothing we need: a canonical one replaces the first, and
    # misplaced ones become the same number of newlines so error line
    # numbers still match what staff see in the raw document.
    def fix_declaration(match: re.Match[str]) -> str:
        newlines = "\n" * match.group(0).count("\n")
        if match.start() == 0:
            return '<?xml version="1.0"?>' + newlines
        return newlines

    text = _XML_DECL_RE.sub(fix_declaration, text)
    return text, lines_trimmed


def _parse_xml(raw: bytes | str) -> ET.Element:
    text, lines_trimmed = _prepare_text(raw)
    try:
        root = _safe_fromstring(text)
    except ET.ParseError as exc:
        if exc.code != _JUNK_AFTER_ROOT:
            raise _not_well_formed(exc, lines_trimmed) from None
        # Several bare <prospect>s, or a mail signature after </adf>: give
        # the document a single root.  Inserted on existing lines, so line
        # numbers in any further error stay right.
        first = _FIRST_ELEMENT_RE.search(text)
        if first is None:
            raise _not_well_formed(exc, lines_trimmed) from None
        wrapped = text[: first.start()] + "<adf>" + text[first.start():] + "</adf>"
        try:
            root = _safe_fromstring(wrapped)
        except ET.ParseError as exc2:
            raise _not_well_formed(exc2, lines_trimmed) from None
    _check_depth(root)
    _normalise_names(root)
    return root


# Real ADF is about 6 levels deep (even inside a SOAP envelope).  Far deeper
# nesting is an attack on the recursive walks below, not a lead.
_MAX_DEPTH = 64


def _check_depth(root: ET.Element) -> None:
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > _MAX_DEPTH:
            raise AdfError(f"the document is nested more than {_MAX_DEPTH} elements deep")
        stack.extend((child, depth + 1) for child in element)


def _safe_fromstring(text: str) -> ET.Element:
    try:
        # forbid_dtd stops at the DOCTYPE itself, so nothing inside it (entity
        # bombs, SYSTEM/PUBLIC ids) is ever expanded or fetched.
        return SafeET.fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DTDForbidden:
        raise AdfRefused("refused: the document contains a DTD (<!DOCTYPE ...>), which ADF feeds must not send") from None
    except defusedxml.EntitiesForbidden:
        raise AdfRefused("refused: the document declares XML entities") from None
    except defusedxml.ExternalReferenceForbidden:
        raise AdfRefused("refused: the document references external files or URLs") from None
    except defusedxml.DefusedXmlException as exc:
        raise AdfRefused(f"refused: unsafe XML ({exc.__class__.__name__})") from None


def _not_well_formed(exc: ET.ParseError, lines_trimmed: int) -> AdfError:
    line, column = exc.position
    message = expat.ErrorString(exc.code) if exc.code else str(exc)
    return AdfError(f"XML is not well-formed at line {line + lines_trimmed}, column {column + 1}: {message}")


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1].lower()


def _normalise_names(root: ET.Element) -> None:
    # Tag case and namespaces vary by vendor and carry no meaning in ADF.
    for element in root.iter():
        if isinstance(element.tag, str):
            element.tag = _local(element.tag)
        if element.attrib:
            element.attrib = {_local(k): v for k, v in element.attrib.items()}


def _find_prospects(root: ET.Element) -> list[ET.Element]:
    found: list[ET.Element] = []

    def visit(element: ET.Element) -> None:
        if element.tag == "prospect":
            found.append(element)
            return  # a prospect inside a prospect is vendor noise, not a lead
        for child in element:
            visit(child)

    visit(root)
    if not found:
        raise AdfError("no <prospect> element found")
    return found


# --------------------------------------------------------------------------
# Value helpers
# --------------------------------------------------------------------------


def _collapse(text: str | None) -> str:
    return " ".join((text or "").split())


def _text(element: ET.Element | None) -> str:
    """All text inside an element, whitespace collapsed (for one-line values)."""
    if element is None:
        return ""
    return _collapse("".join(element.itertext()))


def _block_text(element: ET.Element) -> str:
    """Text of a free-text element, keeping the customer's line breaks."""
    pieces = [element.text or ""]
    for child in element:
        # Some vendors paste HTML into comments; <br> was a line break.
        if child.tag == "br":
            pieces.append("\n")
        pieces.append("".join(child.itertext()))
        pieces.append(child.tail or "")
    lines = [" ".join(line.split()) for line in "".join(pieces).splitlines()]
    return "\n".join(lines).strip()


_YEAR_RE = re.compile(r"(?<!\d)(19\d\d|20\d\d|21\d\d)(?!\d)")


def _parse_year(text: str) -> int | None:
    match = _YEAR_RE.search(text)
    return int(match.group(1)) if match else None


def _parse_money_cents(text: str) -> int | None:
    """'$23,995.00' -> 2399500; also 23.995,00 and 23995.  None if not a price."""
    cleaned = re.sub(r"[^\d.,-]", "", text)
    if not re.search(r"\d", cleaned) or re.search(r"\d-", cleaned):
        return None  # "Call for price", or a range like 20000-25000
    cleaned = cleaned.lstrip("-")  # a negative price is a typo, not a refund
    if "," in cleaned and "." in cleaned:
        decimal_sep = "," if cleaned.rfind(",") > cleaned.rfind(".") else "."
    elif "," in cleaned:
        # "23,995" is thousands; "23,5" or "23,50" is a decimal comma.
        tail = cleaned.rsplit(",", 1)[1]
        decimal_sep = "," if cleaned.count(",") == 1 and len(tail) in (1, 2) else ""
    elif cleaned.count(".") > 1:
        decimal_sep = ""  # 1.234.567
    else:
        decimal_sep = "."
    if decimal_sep and decimal_sep in cleaned:
        whole, _, fraction = cleaned.rpartition(decimal_sep)
        number = re.sub(r"[.,]", "", whole) + "." + fraction
    else:
        number = re.sub(r"[.,]", "", cleaned)
    try:
        amount = Decimal(number)
    except InvalidOperation:
        return None
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


_ODOMETER_RE = re.compile(r"(\d[\d,. ]*)\s*(k\b)?", re.IGNORECASE)


def _parse_odometer(text: str) -> tuple[int | None, str]:
    """'45,000 km' -> (45000, 'km'); the unit is '' when the text has none."""
    match = _ODOMETER_RE.search(text)
    if not match:
        return None, ""
    digits = match.group(1).strip()
    # "45,000" / "45.000" / "45 000" are thousands groups; "45000.7" is a fraction.
    if re.fullmatch(r"\d{1,3}([,. ]\d{3})+", digits):
        value = int(re.sub(r"\D", "", digits))
    else:
        value = int(float(re.sub(r"[, ]", "", digits) or "0"))
    if match.group(2):
        value *= 1000
    lowered = text.lower()
    unit = ""
    if re.search(r"\bkm\b|kilomet", lowered):
        unit = "km"
    elif re.search(r"\bmi\b|\bmiles?\b", lowered):
        unit = "mi"
    return value, unit


_DATE_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
)


def _parse_datetime(text: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        # 3.11 accepts "Z", "-0500", "-05:00", date-only and space separators.
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


_PHONE_TYPES = {
    "cellphone": ("cell", "cellphone", "cell phone", "cellular", "mobile", "mobile phone", "mobilephone", "sms", "text", "wireless"),
    "fax": ("fax", "facsimile", "telefax"),
    "pager": ("pager", "beeper"),
}
_PHONE_TYPE_ALIASES = {alias: canonical for canonical, aliases in _PHONE_TYPES.items() for alias in aliases}


def _phone_type(label: str) -> str:
    key = _collapse(label.replace("_", " ").replace("-", " ")).lower()
    # Everything else ("", voice, home, work, day, evening, ...) is a voice
    # line in ADF's vocabulary, which is also the DTD default.
    return _PHONE_TYPE_ALIASES.get(key, _PHONE_TYPE_ALIASES.get(key.replace(" ", ""), "voice"))


_INTEREST_ALIASES = {
    "trade-in": "trade-in",
    "tradein": "trade-in",
    "trade in": "trade-in",
    "trade": "trade-in",
    "sell": "sell",
    "test-drive": "test-drive",
    "testdrive": "test-drive",
    "test drive": "test-drive",
    "buy": "buy",
    "purchase": "buy",
    "lease": "lease",
}
_TRADE_INTERESTS = frozenset({"trade-in", "sell"})


def _interest(label: str | None) -> str:
    key = _collapse(label).lower()
    if not key:
        return "buy"  # the DTD default
    return _INTEREST_ALIASES.get(key, _INTEREST_ALIASES.get(key.replace("_", "-"), key))


def _vehicle_status(label: str | None) -> str:
    key = _collapse(label).lower().replace("_", "-")
    if key == "new":
        return "new"
    if key in {"used", "pre-owned", "preowned", "pre owned", "certified", "cpo", "certified pre-owned"}:
        return "used"
    return ""


_HONORIFICS = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam"}
_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "v", "md", "phd", "esq"}
_SURNAME_PARTICLES = {
    "van", "von", "vom", "zu", "zum", "de", "der", "den", "del", "della", "da", "das", "di", "do", "dos", "du",
    "la", "le", "st", "ten", "ter", "bin", "ibn", "al", "af", "ní", "nic", "ó",
}


def _split_full_name(full: str) -> tuple[str, str, str]:
    """'Jane Q Doe' -> ('Jane', 'Doe', 'Jane Q Doe'); 'Doe, Jane' -> ('Jane', 'Doe', 'Jane Doe').

    First token is the given name, last token the surname (with particles
    like "van der"); middle names stay only in the full name.  It is a
    heuristic, which is why the full name is always kept as sent.
    """
    full = _collapse(full)
    if "," in full:
        last_part, _, first_part = full.partition(",")
        first_part, last_part = _collapse(first_part), _collapse(last_part)
        if first_part and last_part and last_part.lower().strip(".") not in _SUFFIXES:
            full = f"{first_part} {last_part}"
    tokens = full.replace(",", " ").split()
    while tokens and tokens[0].lower().strip(".") in _HONORIFICS and len(tokens) > 1:
        tokens = tokens[1:]
    while len(tokens) > 1 and tokens[-1].lower().strip(".") in _SUFFIXES:
        tokens = tokens[:-1]
    if not tokens:
        return "", "", full
    if len(tokens) == 1:
        return tokens[0], "", full
    last_start = len(tokens) - 1
    while last_start > 1 and tokens[last_start - 1].lower() in _SURNAME_PARTICLES:
        last_start -= 1
    return tokens[0], " ".join(tokens[last_start:]), full


# --------------------------------------------------------------------------
# Prospect -> AdfLead
# --------------------------------------------------------------------------

_NO_CONTACT = "no customer contact: need a name and a phone or email"

# Vehicles of interest: what the dealer asks; trade-ins: what they'd pay.
_PRICE_RANK_INTEREST = ("asking", "quote", "offer", "", "msrp", "invoice", "appraisal", "call")
_PRICE_RANK_TRADE = ("appraisal", "offer", "asking", "quote", "", "msrp", "invoice", "call")


class _Mapped:
    """How one element was used: which attributes went into fields, whether
    its children still need scanning for extensions, and attributes to
    report that the document implied rather than stated (odometer units)."""

    __slots__ = ("consumed_attrs", "descend", "implied_attrs")

    def __init__(self, consumed_attrs: tuple[str, ...] = (), descend: bool = False, implied_attrs: dict[str, str] | None = None) -> None:
        self.consumed_attrs = consumed_attrs
        self.descend = descend
        self.implied_attrs = implied_attrs or {}


class _ProspectReader:
    def __init__(self, prospect: ET.Element) -> None:
        self.prospect = prospect
        self.mapped: dict[int, _Mapped] = {}
        self.vehicle_order: list[ET.Element] = []

    # -- bookkeeping ------------------------------------------------------

    def _use(self, element: ET.Element, *consumed_attrs: str, descend: bool = False, implied: dict[str, str] | None = None) -> None:
        self.mapped[id(element)] = _Mapped(consumed_attrs, descend, implied)

    def _first_value(self, parent: ET.Element | None, *tags: str) -> str:
        """First non-empty child text among `tags`; empty duplicates are consumed
        (they say nothing), differing duplicates are left for extensions."""
        if parent is None:
            return ""
        value = ""
        for child in parent:
            if child.tag not in tags:
                continue
            text = _text(child)
            if not text:
                self._use(child)
            elif not value:
                value = text
                self._use(child)
            elif text == value:
                self._use(child)
        return value

    @staticmethod
    def _children(parent: ET.Element | None, *tags: str) -> list[ET.Element]:
        if parent is None:
            return []
        return [child for child in parent if child.tag in tags]

    # -- reading -----------------------------------------------------------

    def read(self) -> AdfLead:
        prospect = self.prospect
        self._use(prospect, "status", descend=True)
        is_resend = (prospect.get("status") or "").strip().lower() == "resend"

        request_date = None
        for element in self._children(prospect, "requestdate"):
            parsed = _parse_datetime(_text(element))
            if parsed is not None and request_date is None:
                request_date = parsed
                self._use(element)
            elif not _text(element):
                self._use(element)

        provider_name = self._read_provider()
        provider_ref, id_source, id_element = "", "", None
        for element in self._children(prospect, "id"):
            value = _text(element)
            if value and not provider_ref:
                provider_ref, id_source, id_element = value, _collapse(element.get("source")), element
            elif not value:
                self._use(element)
        if not provider_name:
            provider_name = id_source
        if id_element is not None:
            # The id's source is only worth keeping when it differs from the
            # provider; render writes the provider name there by default.
            consumed = ("sequence", "source") if id_source == provider_name else ("sequence",)
            self._use(id_element, *consumed)

        vendor_name = self._read_vendor()
        contact, timeframe, comments = self._read_customer()

        vehicles, trades = [], []
        for element in self._children(prospect, "vehicle"):
            vehicle = self._read_vehicle(element)
            (trades if vehicle.is_trade else vehicles).append((element, vehicle))
        self.vehicle_order = [element for element, _ in vehicles + trades]

        return AdfLead(
            request_date=request_date,
            is_resend=is_resend,
            provider_name=provider_name,
            provider_ref=provider_ref,
            vendor_name=vendor_name,
            contact=contact,
            vehicles_of_interest=tuple(v for _, v in vehicles),
            trade_ins=tuple(v for _, v in trades),
            comments=comments,
            timeframe=timeframe,
            extensions=self._extensions(),
        )

    def _read_provider(self) -> str:
        providers = self._children(self.prospect, "provider")
        if not providers:
            return ""
        provider = providers[0]
        self._use(provider, descend=True)
        names = self._children(provider, "name")
        for name in names:
            self._use(name, "part", "type")
        full = [_text(n) for n in names if (n.get("part") or "full").lower() == "full" and _text(n)]
        if full:
            return full[0]
        return _collapse(" ".join(_text(n) for n in names))

    def _read_vendor(self) -> str:
        vendors = self._children(self.prospect, "vendor")
        if not vendors:
            return ""
        vendor = vendors[0]
        self._use(vendor, descend=True)
        return self._first_value(vendor, "vendorname") or self._first_value(vendor, "name")

    def _read_customer(self) -> tuple[AdfContact, str, str]:
        prospect = self.prospect
        customers = self._children(prospect, "customer")
        customer = customers[0] if customers else None
        comment_parts: list[str] = []
        timeframe = ""

        if customer is not None:
            self._use(customer, descend=True)
            contacts = self._children(customer, "contact")
        else:
            contacts = self._children(prospect, "contact")
        if contacts:
            contact_el = next((c for c in contacts if (c.get("primarycontact") or "").strip() == "1"), contacts[0])
        else:
            # Some feeds put name/email/phone straight under <customer>.
            contact_el = customer
        contact = self._read_contact(contact_el) if contact_el is not None else AdfContact()

        if customer is not None:
            frames = self._children(customer, "timeframe")
            if frames:
                timeframe = self._read_timeframe(frames[0])
            for element in self._children(customer, "comments"):
                self._use(element)
                comment_parts.append(_block_text(element))
        for element in self._children(prospect, "comments"):
            self._use(element)
            comment_parts.append(_block_text(element))

        if not (contact.first_name or contact.last_name or contact.full_name) or not (contact.emails or contact.phones):
            raise AdfError(_NO_CONTACT)
        return contact, timeframe, "\n\n".join(p for p in comment_parts if p)

    def _read_timeframe(self, frame: ET.Element) -> str:
        self._use(frame, descend=True)
        description = self._first_value(frame, "description")
        earliest = self._first_value(frame, "earliestdate")
        latest = self._first_value(frame, "latestdate")
        if not (description or earliest or latest) and len(frame) == 0:
            return _text(frame)  # <timeframe>Within a week</timeframe>
        if earliest and latest:
            window = f"between {earliest} and {latest}"
        elif earliest:
            window = f"from {earliest}"
        elif latest:
            window = f"by {latest}"
        else:
            window = ""
        if description and window:
            return f"{description} ({window})"
        return description or window

    def _read_contact(self, contact_el: ET.Element) -> AdfContact:
        if contact_el.tag == "contact":
            self._use(contact_el, "primarycontact", descend=True)

        parts: dict[str, str] = {}
        loose: list[str] = []
        for name in self._children(contact_el, "name"):
            self._use(name, "part", "type")
            text = _text(name)
            part = (name.get("part") or "").strip().lower()
            if not text:
                continue
            if part in {"first", "middle", "last", "suffix", "full"}:
                parts.setdefault(part, text)
            else:
                loose.append(text)
        if "full" not in parts and loose:
            parts["full"] = " ".join(loose)

        split_first, split_last, split_full = _split_full_name(parts.get("full", ""))
        first = parts.get("first") or split_first
        last = parts.get("last") or split_last
        if parts.get("full"):
            full = split_full
        else:
            full = _collapse(" ".join(parts.get(k, "") for k in ("first", "middle", "last", "suffix")))

        emails = []
        for element in self._children(contact_el, "email"):
            value = _text(element)
            if value.lower().startswith("mailto:"):
                value = value[7:].strip()
            if "@" in value:
                emails.append(value)
                self._use(element)
            elif not value:
                self._use(element)

        phones = []
        for element in self._children(contact_el, "phone"):
            number = _text(element)
            if len(re.sub(r"\D", "", number)) >= 7:
                phones.append(AdfPhone(number=number, type=_phone_type(element.get("type") or "")))
                self._use(element, "type")
            elif not number:
                self._use(element)

        street = city = region = postal = country = ""
        addresses = self._children(contact_el, "address")
        if addresses:
            address = addresses[0]
            self._use(address, descend=True)
            lines = []
            for element in self._children(address, "street", "apartment"):
                self._use(element, "line")
                if _text(element):
                    lines.append(_text(element))
            street = ", ".join(lines)
            city = self._first_value(address, "city")
            region = self._first_value(address, "regioncode", "region", "state", "province")
            postal = self._first_value(address, "postalcode", "zip", "zipcode", "postal")
            country = self._first_value(address, "country")

        return AdfContact(
            first_name=first,
            last_name=last,
            full_name=full,
            emails=tuple(emails),
            phones=tuple(phones),
            street=street,
            city=city,
            region=region,
            postal_code=postal,
            country=country,
        )

    def _read_vehicle(self, element: ET.Element) -> AdfVehicle:
        status = _vehicle_status(element.get("status"))
        # An unrecognised status ("demo") is kept in extensions rather than lost.
        consumed = ("interest", "status") if status or not _collapse(element.get("status")) else ("interest",)
        self._use(element, *consumed, descend=True)
        interest = _interest(element.get("interest"))

        year = None
        for child in self._children(element, "year"):
            parsed = _parse_year(_text(child))
            if parsed is not None and year is None:
                year = parsed
                self._use(child)
            elif not _text(child):
                self._use(child)

        vin = re.sub(r"[\s-]", "", self._first_value(element, "vin")).upper()

        price_cents = None
        ranks = _PRICE_RANK_TRADE if interest in _TRADE_INTERESTS else _PRICE_RANK_INTEREST
        best = None
        for position, child in enumerate(self._children(element, "price")):
            cents = _parse_money_cents(_text(child))
            if cents is None:
                if not _text(child):
                    self._use(child)
                continue
            kind = (child.get("type") or "").strip().lower()
            rank = ranks.index(kind) if kind in ranks else len(ranks)
            if best is None or (rank, position) < best[0]:
                best = ((rank, position), child, cents)
        if best is not None:
            _, chosen, price_cents = best
            # render_adf writes the role's top type; only a different one is news.
            type_is_default = (chosen.get("type") or "").strip().lower() in ("", ranks[0])
            self._use(chosen, *(("type",) if type_is_default else ()))

        odometer = None
        for child in self._children(element, "odometer"):
            value, unit = _parse_odometer(_text(child))
            if value is not None and odometer is None:
                odometer = value
                implied = {"units": unit} if unit and not child.get("units") else None
                self._use(child, implied=implied)
            elif not _text(child):
                self._use(child)

        comments = []
        for child in self._children(element, "comments"):
            self._use(child)
            comments.append(_block_text(child))

        return AdfVehicle(
            interest=interest,
            status=status,
            year=year,
            make=self._first_value(element, "make"),
            model=self._first_value(element, "model"),
            trim=self._first_value(element, "trim"),
            vin=vin,
            stock=self._first_value(element, "stock"),
            price_cents=price_cents,
            odometer=odometer,
            comments="\n\n".join(c for c in comments if c),
        )

    # -- extensions -----------------------------------------------------------

    def _extensions(self) -> dict[str, str]:
        out: dict[str, str] = {}

        def walk(parent: ET.Element, path: str) -> None:
            groups: dict[str, list[ET.Element]] = {}
            for child in parent:
                if isinstance(child.tag, str):  # skip comments/PIs
                    groups.setdefault(child.tag, []).append(child)
            for tag, group in groups.items():
                if parent is self.prospect and tag == "vehicle":
                    ordered = self.vehicle_order
                else:
                    ordered = [c for c in group if id(c) in self.mapped] + [c for c in group if id(c) not in self.mapped]
                for index, child in enumerate(ordered, 1):
                    segment = tag if len(group) == 1 else f"{tag}[{index}]"
                    visit(child, f"{path}/{segment}" if path else segment)

        def visit(element: ET.Element, path: str) -> None:
            usage = self.mapped.get(id(element))
            if usage is not None:
                for name, value in element.attrib.items():
                    if name not in usage.consumed_attrs:
                        out[f"{path}@{name}"] = value
                for name, value in usage.implied_attrs.items():
                    out[f"{path}@{name}"] = value
                if usage.descend:
                    walk(element, path)
                return
            for name, value in element.attrib.items():
                out[f"{path}@{name}"] = value
            own_text = (element.text or "").strip()
            if own_text or len(element) == 0:
                out[path] = own_text
            walk(element, path)

        visit(self.prospect, "")
        return out


# --------------------------------------------------------------------------
# AdfLead -> XML
# --------------------------------------------------------------------------

# DTD child order, used to put extension elements where ADF expects them.
_CHILD_ORDER = {
    "prospect": ("id", "requestdate", "vehicle", "customer", "vendor", "provider"),
    "vehicle": ("id", "year", "make", "model", "vin", "stock", "trim", "doors", "bodystyle", "transmission", "odometer", "condition", "colorcombination", "imagetag", "price", "pricecomments", "option", "finance", "comments"),
    "customer": ("contact", "timeframe", "comments"),
    "contact": ("name", "email", "phone", "address"),
    "address": ("street", "apartment", "city", "regioncode", "postalcode", "country"),
    "vendor": ("id", "vendorname", "url", "contact"),
    "provider": ("id", "name", "service", "url", "email", "phone", "contact"),
    "timeframe": ("description", "earliestdate", "latestdate"),
    "colorcombination": ("interiorcolor", "exteriorcolor", "preference"),
    "option": ("optionname", "manufacturercode", "stock", "weighting", "price"),
    "finance": ("method", "amount", "balance"),
}
_SEGMENT_RE = re.compile(r"^([A-Za-z_][\w.-]*)(?:\[([1-9]\d*)\])?$")
_ATTR_RE = re.compile(r"^[A-Za-z_][\w.-]*$")
# XML 1.0 cannot carry these at all, not even as character references.
_UNXMLABLE_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(value: str) -> str:
    return _UNXMLABLE_RE.sub("", value)


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    order = _CHILD_ORDER.get(parent.tag, ())
    element = ET.Element(tag, {k: _clean(v) for k, v in attrs.items()})
    if text is not None:
        element.text = _clean(text)
    if tag in order:
        rank = order.index(tag)
        for position, sibling in enumerate(parent):
            if sibling.tag in order and order.index(sibling.tag) > rank:
                parent.insert(position, element)
                return element
    parent.append(element)
    return element


def _render_vehicle(prospect: ET.Element, vehicle: AdfVehicle) -> None:
    attrs = {"interest": vehicle.interest or "buy"}
    if vehicle.status:
        attrs["status"] = vehicle.status
    element = _add(prospect, "vehicle", **attrs)
    if vehicle.year is not None:
        _add(element, "year", str(vehicle.year))
    for tag, value in (("make", vehicle.make), ("model", vehicle.model), ("vin", vehicle.vin), ("stock", vehicle.stock), ("trim", vehicle.trim)):
        if value:
            _add(element, tag, value)
    if vehicle.odometer is not None:
        _add(element, "odometer", str(vehicle.odometer))
    if vehicle.price_cents is not None:
        # The top-ranked type for the role, so a re-parse picks this price
        # over any others kept in extensions.
        kind = _PRICE_RANK_TRADE[0] if vehicle.is_trade else _PRICE_RANK_INTEREST[0]
        sign = "-" if vehicle.price_cents < 0 else ""
        whole, cents = divmod(abs(vehicle.price_cents), 100)
        _add(element, "price", f"{sign}{whole}.{cents:02d}", type=kind)
    if vehicle.comments:
        _add(element, "comments", vehicle.comments)


def _render(lead: AdfLead) -> bytes:
    root = ET.Element("adf")
    prospect = ET.SubElement(root, "prospect", status="resend" if lead.is_resend else "new")
    if lead.provider_ref:
        id_attrs = {"sequence": "1"}
        if lead.provider_name:
            id_attrs["source"] = lead.provider_name
        _add(prospect, "id", lead.provider_ref, **id_attrs)
    if lead.request_date is not None:
        _add(prospect, "requestdate", lead.request_date.isoformat())
    for vehicle in lead.vehicles_of_interest + lead.trade_ins:
        _render_vehicle(prospect, vehicle)

    customer = _add(prospect, "customer")
    c = lead.contact
    contact = _add(customer, "contact", primarycontact="1")
    if c.first_name:
        _add(contact, "name", c.first_name, part="first")
    if c.last_name:
        _add(contact, "name", c.last_name, part="last")
    if c.full_name and c.full_name != _collapse(f"{c.first_name} {c.last_name}"):
        _add(contact, "name", c.full_name, part="full")
    for email in c.emails:
        _add(contact, "email", email)
    for phone in c.phones:
        _add(contact, "phone", phone.number, type=phone.type or "voice")
    address_fields = (("street", c.street), ("city", c.city), ("regioncode", c.region), ("postalcode", c.postal_code), ("country", c.country))
    if any(value for _, value in address_fields):
        address = _add(contact, "address")
        for tag, value in address_fields:
            if value:
                if tag == "street":
                    _add(address, tag, value, line="1")
                else:
                    _add(address, tag, value)
    if lead.timeframe:
        frame = _add(customer, "timeframe")
        _add(frame, "description", lead.timeframe)
    if lead.comments:
        _add(customer, "comments", lead.comments)

    if lead.vendor_name:
        vendor = _add(prospect, "vendor")
        _add(vendor, "vendorname", lead.vendor_name)
    if lead.provider_name:
        provider = _add(prospect, "provider")
        _add(provider, "name", lead.provider_name, part="full")

    for key, value in lead.extensions.items():
        _apply_extension(prospect, key, value)

    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0"?>\n<?adf version="1.0"?>\n' + body + "\n").encode("utf-8")


def _apply_extension(prospect: ET.Element, key: str, value: str) -> None:
    path, _, attribute = key.partition("@")
    if attribute and not _ATTR_RE.match(attribute):
        raise ValueError(f"extension key {key!r} has an invalid attribute name")
    if not path and not attribute:
        raise ValueError("extension key must not be empty")
    element = prospect
    for segment in path.split("/") if path else ():
        match = _SEGMENT_RE.match(segment)
        if not match:
            raise ValueError(f"extension key {key!r} is not a tag path")
        tag, index = match.group(1).lower(), int(match.group(2) or 1)
        same = [child for child in element if child.tag == tag]
        while len(same) < index:
            same.append(_add(element, tag))
        element = same[index - 1]
    if attribute:
        element.set(attribute.lower(), _clean(value))
    else:
        element.text = _clean(value)
