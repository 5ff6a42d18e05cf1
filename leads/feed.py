"""Reading a vendor's inventory feed (CSV): bytes -> text -> validated vehicle records and row errors.

Pure: no database, no clock (`today` is passed in), no network. `leads.inventory_feed` applies the result to a
rooftop. A whole file that is not CSV text is refused (`FeedRefused`, with the reason the manager is shown); a
bad row is a `RowError` with its line number and the rest still loads.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from vininfo import Vin

from crm.csvread import (
    CellRefused, csv_safe, money_cents, normalize_header, sniff_delimiter, spreadsheet_kind, text_refusal,
    whole_number,
)
from crm.input_guard import control_character_reason
from leads.vin import InvalidVin, normalize_vin

MAX_ROWS = 50_000
MAX_PHOTOS = 50
MAX_PHOTO_URL = 500
PHOTO_URL_FIELD_MAX = 200  # InventoryVehicle.photo_url, the first photo
MAX_PRICE_CENTS = 10**12
MAX_MILEAGE = 2_000_000
# Python's csv refuses a field longer than this (its default); no inventory feed has one.
CSV_FIELD_LIMIT = csv.field_size_limit()

# Our field -> the headers vendors use for it (vAuto, HomeNet, DealerSocket-like exports), compared after
# lower-casing and dropping everything but letters and digits ("Stock #" -> "stock", "New/Used" -> "newused").
# Where a file has several (SellingPrice and Price), the first alias listed wins.
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "vin": ("vin", "vehiclevin"),
    "stock_number": ("stock", "stocknumber", "stockno", "stocknum", "stk"),
    "condition": ("type", "newused", "usednew", "condition", "vehiclecondition", "inventorytype"),
    "certified": ("certified", "iscertified", "cpo"),
    "year": ("year", "modelyear"),
    "make": ("make",),
    "model": ("model",),
    "trim": ("trim", "series", "trimlevel"),
    "body_style": ("body", "bodystyle", "bodytype"),
    "exterior_color": ("extcolor", "exteriorcolor", "exteriorcolour", "color", "colour", "extcolorgeneric"),
    "interior_color": ("intcolor", "interiorcolor", "interiorcolour"),
    "mileage": ("miles", "mileage", "odometer"),
    "price": ("sellingprice", "internetprice", "saleprice", "price", "specialprice", "askingprice", "listprice"),
    "msrp": ("msrp", "retailprice"),
    "photo_urls": ("imagelist", "photourls", "imageurls", "photos", "images", "photourl", "imageurl"),
    "days_in_stock": ("daysinstock", "dayinstock", "age"),
    "in_stock_date": ("dateinstock", "instockdate", "stockdate", "inventorydate", "receiveddate"),
}
FIELD_LABELS = {
    "vin": "VIN", "stock_number": "Stock number", "condition": "New/used", "certified": "Certified",
    "year": "Year", "make": "Make", "model": "Model", "trim": "Trim", "body_style": "Body",
    "exterior_color": "Exterior colour", "interior_color": "Interior colour", "mileage": "Mileage",
    "price": "Price", "msrp": "MSRP", "photo_urls": "Photo URLs", "days_in_stock": "Days in stock",
    "in_stock_date": "In-stock date",
}
# Without these a row cannot become a vehicle; year and make may come from the VIN, price from MSRP.
REQUIRED_COLUMNS = ("vin", "stock_number", "condition", "model")
MAX_LENGTHS = {"stock_number": 20, "make": 50, "model": 80, "trim": 80, "body_style": 40,
               "exterior_color": 40, "interior_color": 40}

_CONDITIONS = {
    "new": "new", "n": "new",
    "used": "used", "u": "used", "preowned": "used",
    "certified": "cpo", "cpo": "cpo", "c": "cpo", "certifiedpreowned": "cpo", "certifiedused": "cpo",
}
_TRUE = {"yes", "y", "true", "t", "1", "x", "certified", "cpo"}
_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%Y/%m/%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
                 "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p")


class FeedRefused(ValueError):
    """The whole file is not an inventory feed this reader can load; `reason` is what the manager is told."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class VehicleRecord:
    line: int
    vin: str
    stock_number: str
    condition: str  # InventoryVehicle.Condition values
    year: int
    make: str
    model: str
    price_cents: int
    trim: str = ""
    body_style: str = ""
    exterior_color: str = ""
    interior_color: str = ""
    mileage: int = 0
    msrp_cents: int | None = None
    photo_urls: tuple[str, ...] = ()
    in_stock_on: date | None = None  # from the in-stock date or days in stock; None: the feed does not say


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str
    vin: str = ""
    stock_number: str = ""

    def as_dict(self) -> dict:
        return {"line": self.line, "vin": self.vin, "stock_number": self.stock_number, "reason": self.reason}


@dataclass(frozen=True)
class ParsedFeed:
    records: tuple[VehicleRecord, ...]
    errors: tuple[RowError, ...]
    columns: Mapping[str, str]  # our field -> the header it was read from
    rows: int  # data rows in the file (records + errors)
    # Every VIN and stock number the feed names, refused rows included: a vehicle whose row has a typo in its
    # price is still on the lot and must not be unlisted for it.
    seen_vins: frozenset[str] = field(default_factory=frozenset)
    seen_stock_numbers: frozenset[str] = field(default_factory=frozenset)


# --- bytes -> text ---------------------------------------------------------------------------------------

def decode_feed(data: bytes, *, max_bytes: int) -> str:
    """The feed as text, or FeedRefused saying why it is not CSV text (too big, binary, not UTF-8)."""
    if len(data) > max_bytes:
        raise FeedRefused(f"The feed is {len(data):,} bytes; the limit is {max_bytes:,} bytes.")
    if not data.strip():
        raise FeedRefused("The feed is empty.")
    if spreadsheet_kind(data):
        raise FeedRefused("This is a spreadsheet file (Excel), not CSV text: save it as CSV (UTF-8) and upload that.")
    reason = text_refusal(data, what="The feed")
    if reason:
        raise FeedRefused(reason)
    text = data.decode("utf-8-sig")
    return text


# --- text -> records -------------------------------------------------------------------------------------

def resolve_columns(headers: Iterable[str], column_map: Mapping[str, str] | None = None) -> dict[str, int]:
    """Our field -> the column index it is read from: the store's own mapping first, then the defaults."""
    index = {}
    for i, header in enumerate(headers):
        index.setdefault(normalize_header(header), i)
    resolved: dict[str, int] = {}
    for name, aliases in DEFAULT_COLUMNS.items():
        wanted = (column_map or {}).get(name)
        candidates = (normalize_header(wanted),) if wanted else aliases
        for alias in candidates:
            if alias in index:
                resolved[name] = index[alias]
                break
    return resolved


def parse_feed(text: str, *, today: date, column_map: Mapping[str, str] | None = None,
               max_rows: int = MAX_ROWS) -> ParsedFeed:
    """Every row of the feed as a VehicleRecord or a RowError; FeedRefused when the file itself is unusable."""
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(first_line))
    try:
        headers = next(reader, None)
        while headers is not None and not any(h.strip() for h in headers):
            headers = next(reader, None)
        if headers is None:
            raise FeedRefused("The feed is empty.")
        columns = resolve_columns(headers, column_map)
        missing = [n for n in REQUIRED_COLUMNS if n not in columns]
        if "price" not in columns and "msrp" not in columns:
            missing.append("price")
        if missing:
            wanted = ", ".join(FIELD_LABELS[n] for n in missing)
            raise FeedRefused(f"No column for {wanted}. The first line should name the columns (e.g. VIN, Stock, "
                              f"Type, Year, Make, Model, SellingPrice); it was: {first_line[:120]!r}. Set the column "
                              "names on the feed settings if your vendor uses others.")
        records: list[VehicleRecord] = []
        errors: list[RowError] = []
        seen_vins: dict[str, int] = {}
        seen_stock: dict[str, int] = {}
        named_vins: set[str] = set()
        named_stock: set[str] = set()
        rows = 0
        next_line = reader.line_num + 1
        for raw in reader:
            line, next_line = next_line, reader.line_num + 1
            if not any(cell.strip() for cell in raw):
                continue
            rows += 1
            if rows > max_rows:
                raise FeedRefused(f"The feed has more than {max_rows:,} rows; no rooftop has that many vehicles.")
            values = {name: (raw[i].strip() if i < len(raw) else "") for name, i in columns.items()}
            vin_guess = values["vin"].upper().replace(" ", "").replace("-", "")[:17]
            stock_guess = values["stock_number"][:20]
            if vin_guess:
                named_vins.add(vin_guess)
            if stock_guess:
                named_stock.add(stock_guess)
            try:
                record = _record(values, line=line, today=today)
            except _RowRefused as exc:
                errors.append(RowError(line=line, reason=str(exc), vin=vin_guess, stock_number=stock_guess))
                continue
            if record.vin in seen_vins:
                errors.append(RowError(line=line, reason=f"VIN {record.vin} is also on line {seen_vins[record.vin]}.",
                                       vin=record.vin, stock_number=record.stock_number))
                continue
            if record.stock_number in seen_stock:
                errors.append(RowError(line=line, vin=record.vin, stock_number=record.stock_number,
                                       reason=f"Stock number {record.stock_number} is also on line "
                                              f"{seen_stock[record.stock_number]}."))
                continue
            seen_vins[record.vin] = seen_stock[record.stock_number] = line
            records.append(record)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise FeedRefused(f"Line {reader.line_num}: a field is longer than {CSV_FIELD_LIMIT:,} characters: "
                              "this is not an inventory feed.") from None
        raise FeedRefused(f"Line {reader.line_num}: not readable as CSV ({exc}).") from None
    return ParsedFeed(records=tuple(records), errors=tuple(errors),
                      columns={name: headers[i] for name, i in columns.items()}, rows=rows,
                      seen_vins=frozenset(named_vins), seen_stock_numbers=frozenset(named_stock))


# A bad cell refuses its row; the shared readers (crm.csvread) raise the same exception.
_RowRefused = CellRefused


def _record(values: Mapping[str, str], *, line: int, today: date) -> VehicleRecord:
    for name, value in values.items():
        reason = control_character_reason(value, FIELD_LABELS[name])
        if reason:
            raise _RowRefused(reason[0].upper() + reason[1:] + ".")
    try:
        vin = normalize_vin(values["vin"])
    except InvalidVin as exc:
        raise _RowRefused(str(exc) if values["vin"] else "No VIN.") from None
    for name, limit in MAX_LENGTHS.items():
        if len(values.get(name, "")) > limit:
            raise _RowRefused(f"{FIELD_LABELS[name]} is longer than {limit} characters.")
    stock_number = values["stock_number"]
    if not stock_number:
        raise _RowRefused("No stock number.")
    condition = _CONDITIONS.get(normalize_header(values["condition"]))
    if condition is None:
        raise _RowRefused(f"New/used is {values['condition']!r}; expected New, Used or Certified."
                          if values["condition"] else "New/used is empty; expected New, Used or Certified.")
    if condition == "used" and values.get("certified", "").lower() in _TRUE:
        condition = "cpo"
    decoded_make, decoded_year = decode_vin(vin, today=today)
    year = _whole(values.get("year", ""), "Year", low=1900, high=today.year + 2) or decoded_year
    if year is None:
        raise _RowRefused("No year, and the VIN does not give one.")
    make = values.get("make") or decoded_make
    if not make:
        raise _RowRefused("No make, and the VIN does not give one.")
    model = values["model"]
    if not model:
        raise _RowRefused("No model.")
    msrp = parse_money(values.get("msrp", ""), "MSRP")
    price = parse_money(values.get("price", ""), "Price") or msrp
    if not price:
        raise _RowRefused("No price (and no MSRP to use instead).")
    mileage = _whole(values.get("mileage", ""), "Mileage", low=0, high=MAX_MILEAGE) or 0
    in_stock_on = _in_stock_on(values, today=today)
    return VehicleRecord(
        line=line, vin=vin, stock_number=stock_number, condition=condition, year=year, make=make, model=model,
        price_cents=price, trim=values.get("trim", ""), body_style=values.get("body_style", ""),
        exterior_color=values.get("exterior_color", ""), interior_color=values.get("interior_color", ""),
        mileage=mileage, msrp_cents=msrp, photo_urls=photo_urls(values.get("photo_urls", "")),
        in_stock_on=in_stock_on,
    )


def _whole(text: str, label: str, *, low: int, high: int) -> int | None:
    return whole_number(text, label, low=low, high=high)


def parse_money(text: str, label: str = "Price") -> int | None:
    """"$34,500.00" -> 3450000 cents; empty or 0 -> None (vendors write 0 for "call for price")."""
    try:
        return money_cents(text, label, max_cents=MAX_PRICE_CENTS) or None
    except CellRefused as exc:
        if "negative" in str(exc):
            raise CellRefused(f"{label} {text!r} is not an amount.") from None
        raise


def photo_urls(text: str) -> tuple[str, ...]:
    """The http(s) photo addresses in a list field (comma, pipe, semicolon or space separated)."""
    urls = []
    for part in re.split(r"[,|;\s]+", text):
        if part.lower().startswith(("http://", "https://")) and len(part) <= MAX_PHOTO_URL and part not in urls:
            urls.append(part)
    return tuple(urls[:MAX_PHOTOS])


def _in_stock_on(values: Mapping[str, str], *, today: date) -> date | None:
    raw_date = values.get("in_stock_date", "")
    if raw_date:
        for fmt in _DATE_FORMATS:
            try:
                day = datetime.strptime(raw_date, fmt).date()
            except ValueError:
                continue
            if day > today + timedelta(days=1) or day.year < 1990:
                raise _RowRefused(f"In-stock date {raw_date!r} is not believable.")
            return min(day, today)
        raise _RowRefused(f"In-stock date {raw_date!r} is not a date (use YYYY-MM-DD or MM/DD/YYYY).")
    days = _whole(values.get("days_in_stock", ""), "Days in stock", low=0, high=10_000)
    return None if days is None else today - timedelta(days=days)


def decode_vin(vin: str, *, today: date) -> tuple[str | None, int | None]:
    """(make, model year) from the VIN alone, offline; None where it cannot say.

    The year code repeats every 30 years, so of its candidates the latest not past next year's models is taken.
    """
    try:
        decoded = Vin(vin)
        manufacturer = decoded.manufacturer
        years = [y for y in decoded.years if y <= today.year + 1]
    except Exception:  # noqa: BLE001 - vininfo raises several kinds for codes it does not know
        return None, None
    make = manufacturer if isinstance(manufacturer, str) and manufacturer != "UnsupportedBrand" else None
    return make, (max(years) if years else None)


# --- the store's column names ----------------------------------------------------------------------------

def column_map_from_text(text: str) -> dict[str, str]:
    """ "price: Internet_Price" lines -> {"price": "Internet_Price"}; ValueError naming a bad line."""
    mapping: dict[str, str] = {}
    by_label = {normalize_header(label): name for name, label in FIELD_LABELS.items()}
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        if ":" not in line:
            raise ValueError(f"Line {number}: write it as “field: Header in your file”, e.g. “price: Internet_Price”.")
        name, header = (part.strip() for part in line.split(":", 1))
        key = name if name in DEFAULT_COLUMNS else by_label.get(normalize_header(name))
        if key is None:
            raise ValueError(f"Line {number}: {name!r} is not a feed field; use one of "
                             f"{', '.join(DEFAULT_COLUMNS)}.")
        if not header or len(header) > 100 or control_character_reason(header, "header"):
            raise ValueError(f"Line {number}: give the header as it appears in your file (up to 100 characters).")
        mapping[key] = header
    return mapping


def column_map_text(mapping: Mapping[str, str]) -> str:
    return "\n".join(f"{name}: {header}" for name, header in mapping.items() if name in DEFAULT_COLUMNS)


def row_errors_csv(errors: Iterable[Mapping]) -> str:
    """The refused rows as CSV for the manager to fix at the vendor (cells starting =+-@ are quoted as text)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "vin", "stock_number", "reason"])
    for error in errors:
        writer.writerow([csv_safe(str(error.get(k, ""))) for k in ("line", "vin", "stock_number", "reason")])
    return out.getvalue()
