"""One row of a DMS export -> one typed record, or a RowError with the reason a manager can act on. Pure.

No database, no clock unless `today` is left out: the writer (dms.services) upserts the records by their
natural key (DMS customer number, deal number, RO number, appointment number) through the customer matcher and
uses `record_fingerprint` to tell "unchanged" from "updated" without comparing every column.

What refuses a row: no natural key, a control character, a value longer than its column, a date, amount or
number that cannot be read or is out of range, an invalid VIN where the row's vehicle is identified by it.
What does not: a phone or email that is not usable, or a bad trade-in VIN. Contact details are secondary
to a deal or an RO, and a store's DMS is full of "000-000-0000" and "none@none.com"; the value is left out and
the row carries a warning (`warnings`) that the import report lists beside the refused rows.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Callable
from functools import lru_cache
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from crm.csvread import CellRefused, money_cents, normalize_header, whole_number
from crm.input_guard import control_character_reason
from customers.contact import InvalidContact, normalize_email, normalize_phone
from dms.presets import FIELD_BY_NAME, FIELDS, NATURAL_KEY, ResolvedMapping
from leads.vin import InvalidVin, normalize_vin

MAX_CENTS = 10**10  # $100,000,000: no line of a dealership's DMS comes near it
MAX_MILEAGE = 2_000_000
# Column sizes of the lead's models (dms.models, customers.models): longer is refused, not cut, so that a
# number or a name is never silently changed. Free text (descriptions, notes) is cut with a warning instead.
MAX_LENGTHS = {
    "customer_number": 40, "first_name": 100, "last_name": 100, "street": 200, "city": 100, "region": 50,
    "postal_code": 20, "deal_number": 40, "ro_number": 20, "appointment_number": 40, "make": 50, "model": 80,
    "trim": 80, "lender": 100, "advisor": 100, "op_code": 20, "kind": 100,
    "trade1_make": 50, "trade1_model": 80, "trade2_make": 50, "trade2_model": 80,
}
CUT_LENGTHS = {"op_description": 500, "notes": 2000}

DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%Y%m%d", "%Y/%m/%d", "%d-%b-%Y", "%d-%b-%y")
DATETIME_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M",
                    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p",
                    "%m/%d/%y %H:%M", "%m/%d/%y %I:%M %p", "%Y-%m-%dT%H:%M:%S.%f")
TIME_FORMATS = ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M%p", "%I:%M:%S %p", "%I %p", "%I%p", "%H%M")
# Excel's day count (1900 date system, as Excel writes it, with its 1900 leap-year bug folded into the epoch).
EXCEL_EPOCH = date(1899, 12, 30)

_NEW_USED = {"new": "new", "n": "new", "used": "used", "u": "used", "preowned": "used", "cpo": "used",
             "certified": "used", "certifiedpreowned": "used", "demo": "used"}
_DEAL_TYPES = {"cash": "cash", "c": "cash", "finance": "finance", "f": "finance", "retail": "finance",
               "r": "finance", "loan": "finance", "installment": "finance", "retailfinance": "finance",
               "balloon": "finance", "lease": "lease", "l": "lease", "retaillease": "lease",
               "onepaylease": "lease", "wholesale": "cash", "fleet": "cash"}
_DEPARTMENTS = {"sales": "sales", "s": "sales", "showroom": "sales", "service": "service", "svc": "service",
                "serv": "service", "parts": "service", "": "service"}


class RowRefused(CellRefused):
    """This row is refused; the message is the reason."""


# --- records -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CustomerPart:
    dms_number: str
    first_name: str = ""
    last_name: str = ""
    street: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    email: str = ""  # normalized, or "" when missing or unusable
    phone: str = ""  # E.164, or "" when missing or unusable


@dataclass(frozen=True)
class CustomerRecord:
    line: int
    customer: CustomerPart
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class TradeIn:
    vin: str = ""
    year: int | None = None
    make: str = ""
    model: str = ""
    mileage: int | None = None
    allowance_cents: int | None = None
    payoff_cents: int | None = None


@dataclass(frozen=True)
class SaleRecord:
    line: int
    customer: CustomerPart
    deal_number: str
    sold_on: date
    vin: str
    year: int | None
    make: str
    model: str
    trim: str
    mileage: int | None
    price_cents: int | None
    new_used: str  # "new" | "used" | "" (the export does not say)
    deal_type: str  # "cash" | "finance" | "lease"
    lender: str
    amount_financed_cents: int | None
    apr: Decimal | None  # percent, 5.900 for 5.9 %
    term_months: int | None
    payment_cents: int | None
    first_payment_on: date | None
    residual_cents: int | None
    maturity_on: date | None
    miles_per_year: int | None
    trade_ins: tuple[TradeIn, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class RepairOrderRecord:
    line: int
    customer: CustomerPart
    ro_number: str
    opened_on: date
    closed_on: date | None
    vin: str
    year: int | None
    make: str
    model: str
    mileage_in: int | None
    total_cents: int | None
    advisor: str
    op_code: str  # one operation line per row; "" for an RO exported without its lines
    op_description: str
    op_cents: int | None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class AppointmentRecord:
    line: int
    customer: CustomerPart
    appointment_number: str
    scheduled_at: datetime  # naive, the store's local time
    department: str  # "sales" | "service"
    kind: str
    vin: str
    notes: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str
    key: str = ""  # the row's natural key (deal number, RO number ...) when it could be read

    def as_dict(self) -> dict:
        return {"line": self.line, "key": self.key, "reason": self.reason}


Record = CustomerRecord | SaleRecord | RepairOrderRecord | AppointmentRecord


# --- reading a row -----------------------------------------------------------------------------------------

class _Row:
    """The mapped cells of one row, with the typed readers; each raises RowRefused with the reason."""

    def __init__(self, kind: str, values: list[str], resolved: ResolvedMapping, today: date):
        self.kind = kind
        self.today = today
        self.fields = FIELD_BY_NAME[kind]
        self.cells = {name: (values[i].strip() if i < len(values) else "") for name, i in resolved.columns.items()}
        self.warnings: list[str] = []

    def label(self, name: str) -> str:
        return self.fields[name].label

    def raw(self, name: str) -> str:
        return self.cells.get(name, "")

    def text(self, name: str) -> str:
        value = self.raw(name)
        if name in MAX_LENGTHS and len(value) > MAX_LENGTHS[name]:
            raise RowRefused(f"{self.label(name)} is longer than {MAX_LENGTHS[name]} characters.")
        if name in CUT_LENGTHS and len(value) > CUT_LENGTHS[name]:
            self.warnings.append(f"{self.label(name)} cut to {CUT_LENGTHS[name]} characters.")
            value = value[:CUT_LENGTHS[name]]
        return value

    def required(self, name: str) -> str:
        value = self.text(name)
        if not value:
            label = self.label(name)
            first = label.split()[0]
            # "No deal number.", but "No RO number.", "No DMS customer number.", "No VIN."
            raise RowRefused(f"No {label if first.isupper() else label[0].lower() + label[1:]}.")
        return value

    def whole(self, name: str, low: int, high: int) -> int | None:
        return whole_number(self.raw(name), self.label(name), low=low, high=high)

    def year(self, name: str) -> int | None:
        return self.whole(name, 1900, self.today.year + 2)

    def mileage(self, name: str) -> int | None:
        return self.whole(name, 0, MAX_MILEAGE)

    def money(self, name: str, *, negative: bool = False) -> int | None:
        return money_cents(self.raw(name), self.label(name), max_cents=MAX_CENTS, allow_negative=negative)

    def date(self, name: str, *, not_after_today: bool = False) -> date | None:
        raw = self.raw(name)
        if not raw:
            return None
        day = parse_date(raw)
        if day is None:
            raise RowRefused(f"{self.label(name)} {raw!r} is not a date (use YYYY-MM-DD or MM/DD/YYYY).")
        if not 1900 <= day.year <= 2100:
            raise RowRefused(f"{self.label(name)} {raw!r} is not a believable date.")
        if not_after_today and day > self.today + timedelta(days=1):
            raise RowRefused(f"{self.label(name)} {raw!r} is in the future.")
        return day

    def vin(self, name: str, *, required: bool = False) -> str:
        raw = self.raw(name)
        if not raw:
            if required:
                raise RowRefused("No VIN.")
            return ""
        try:
            return normalize_vin(raw)
        except InvalidVin as exc:
            raise RowRefused(f"{self.label(name)} {raw[:40]!r}: {exc}") from None

    def customer(self) -> CustomerPart:
        email = phone = ""
        if self.raw("email"):
            email, problem = _email(self.raw("email"))
            if problem:
                self.warnings.append(f"Email left out: {problem}")
        if self.raw("phone"):
            phone, problem = _phone(self.raw("phone"))
            if problem:
                self.warnings.append(f"Phone left out: {problem}")
        return CustomerPart(
            dms_number=self.required("customer_number"), first_name=self.text("first_name"),
            last_name=self.text("last_name"), street=self.text("street"), city=self.text("city"),
            region=self.text("region"), postal_code=self.text("postal_code"), email=email, phone=phone,
        )


# A DMS export names the same customer on every deal and RO line: their phone and email are parsed once.
@lru_cache(maxsize=65_536)
def _phone(raw: str) -> tuple[str, str]:
    try:
        return normalize_phone(raw), ""
    except InvalidContact as exc:
        return "", str(exc)


@lru_cache(maxsize=65_536)
def _email(raw: str) -> tuple[str, str]:
    try:
        return normalize_email(raw), ""
    except InvalidContact as exc:
        return "", str(exc)


def record_read(kind: str, line: int, values: list[str], resolved: ResolvedMapping, *,
                today: date | None = None) -> Record | RowError:
    """The row as its kind's record, or a RowError saying why not. `today` bounds years and past dates (the
    store's local date; left out, the machine's)."""
    row = _Row(kind, values, resolved, today or date.today())
    key = row.raw(NATURAL_KEY[kind])[:40]
    for name, value in row.cells.items():
        reason = control_character_reason(value, row.label(name))
        if reason:
            return RowError(line=line, key=key, reason=reason[0].upper() + reason[1:] + ".")
    try:
        return _READERS[kind](row, line)
    except CellRefused as exc:
        return RowError(line=line, key=key, reason=str(exc))


def _customer(row: _Row, line: int) -> CustomerRecord:
    customer = row.customer()
    return CustomerRecord(line=line, customer=customer, warnings=tuple(row.warnings))


def _sale(row: _Row, line: int) -> SaleRecord:
    deal_number = row.required("deal_number")
    customer = row.customer()
    sold_on = row.date("sold_on", not_after_today=True)
    if sold_on is None:
        raise RowRefused("No sale date.")
    new_used = ""
    if row.raw("new_used"):
        new_used = _NEW_USED.get(normalize_header(row.raw("new_used")), "")
        if not new_used:
            raise RowRefused(f"New/used {row.raw('new_used')!r}: expected New or Used.")
    amount_financed = row.money("amount_financed")
    residual = row.money("residual")
    miles_per_year = row.whole("miles_per_year", 0, 100_000)
    deal_type = _deal_type(row, amount_financed=amount_financed, residual=residual)
    return SaleRecord(
        line=line, customer=customer, deal_number=deal_number, sold_on=sold_on, vin=row.vin("vin", required=True),
        year=row.year("year"), make=row.text("make"), model=row.text("model"), trim=row.text("trim"),
        mileage=row.mileage("mileage"), price_cents=row.money("price"), new_used=new_used, deal_type=deal_type,
        lender=row.text("lender"), amount_financed_cents=amount_financed, apr=_apr(row),
        term_months=row.whole("term_months", 1, 120), payment_cents=row.money("payment"),
        first_payment_on=row.date("first_payment_on"), residual_cents=residual, maturity_on=row.date("maturity_on"),
        miles_per_year=miles_per_year, trade_ins=_trade_ins(row), warnings=tuple(row.warnings),
    )


def _deal_type(row: _Row, *, amount_financed: int | None, residual: int | None) -> str:
    raw = row.raw("deal_type")
    if raw:
        deal_type = _DEAL_TYPES.get(normalize_header(raw))
        if deal_type is None:
            raise RowRefused(f"Deal type {raw!r}: expected Cash, Finance or Lease.")
        return deal_type
    # Exports that leave the type out still say it through the contract columns.
    if residual:
        return "lease"
    if amount_financed:
        return "finance"
    return "cash"


def _apr(row: _Row) -> Decimal | None:
    raw = row.raw("apr")
    cleaned = raw.replace("%", "").strip()
    if not cleaned:
        return None
    try:
        apr = Decimal(cleaned)
    except InvalidOperation:
        raise RowRefused(f"APR {raw!r} is not a number.") from None
    if not apr.is_finite() or not 0 <= apr <= 40:
        raise RowRefused(f"APR {raw!r} is not a percentage from 0 to 40.")
    return apr.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def _trade_ins(row: _Row) -> tuple[TradeIn, ...]:
    trades = []
    for n in (1, 2):
        names = [f"trade{n}_{part}" for part in ("vin", "year", "make", "model", "mileage", "allowance", "payoff")]
        if not any(row.raw(name) for name in names):
            continue
        vin = ""
        if row.raw(f"trade{n}_vin"):
            try:
                vin = row.vin(f"trade{n}_vin")
            except RowRefused as exc:  # the deal stands; the trade is kept without its VIN
                row.warnings.append(f"VIN of trade-in {n} left out: {exc}")
        trades.append(TradeIn(
            vin=vin, year=row.year(f"trade{n}_year"), make=row.text(f"trade{n}_make"),
            model=row.text(f"trade{n}_model"), mileage=row.mileage(f"trade{n}_mileage"),
            allowance_cents=row.money(f"trade{n}_allowance"), payoff_cents=row.money(f"trade{n}_payoff"),
        ))
    return tuple(trades)


def _repair_order(row: _Row, line: int) -> RepairOrderRecord:
    ro_number = row.required("ro_number")
    customer = row.customer()
    opened_on = row.date("opened_on", not_after_today=True)
    if opened_on is None:
        raise RowRefused("No RO open date.")
    closed_on = row.date("closed_on", not_after_today=True)
    if closed_on is not None and closed_on < opened_on:
        raise RowRefused(f"RO close date {closed_on.isoformat()} is before its open date {opened_on.isoformat()}.")
    return RepairOrderRecord(
        line=line, customer=customer, ro_number=ro_number, opened_on=opened_on, closed_on=closed_on,
        vin=row.vin("vin"), year=row.year("year"), make=row.text("make"), model=row.text("model"),
        mileage_in=row.mileage("mileage_in"), total_cents=row.money("total", negative=True),
        advisor=row.text("advisor"), op_code=row.text("op_code"), op_description=row.text("op_description"),
        op_cents=row.money("op_amount", negative=True), warnings=tuple(row.warnings),
    )


def _appointment(row: _Row, line: int) -> AppointmentRecord:
    number = row.required("appointment_number")
    customer = row.customer()
    department = _DEPARTMENTS.get(normalize_header(row.raw("department")))
    if department is None:
        raise RowRefused(f"Department {row.raw('department')!r}: expected Sales or Service.")
    return AppointmentRecord(
        line=line, customer=customer, appointment_number=number, scheduled_at=_scheduled_at(row),
        department=department, kind=row.text("kind"), vin=row.vin("vin"), notes=row.text("notes"),
        warnings=tuple(row.warnings),
    )


def _scheduled_at(row: _Row) -> datetime:
    raw, raw_time = row.raw("scheduled_at"), row.raw("scheduled_time")
    if not raw:
        raise RowRefused("No appointment date/time.")
    moment = parse_datetime(raw)
    if moment is None:
        day = parse_date(raw)
        if day is None:
            raise RowRefused(f"Appointment date/time {raw!r} is not a date and time (use YYYY-MM-DD HH:MM).")
        if not raw_time:
            raise RowRefused(f"Appointment date/time {raw!r} has no time; map the appointment time column.")
        clock = parse_time(raw_time)
        if clock is None:
            raise RowRefused(f"Appointment time {raw_time!r} is not a time (use 09:30 or 9:30 AM).")
        moment = datetime.combine(day, clock)
    if not 1900 <= moment.year <= 2100:
        raise RowRefused(f"Appointment date/time {raw!r} is not a believable date.")
    return moment


_READERS: dict[str, Callable[[_Row, int], Record]] = {
    "customers": _customer, "sales": _sale, "repair_orders": _repair_order, "appointments": _appointment,
}
assert set(_READERS) == set(FIELDS)


# --- dates and times ----------------------------------------------------------------------------------------

_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})")


def parse_date(text: str) -> date | None:
    """A date in the forms DMS exports write (2026-03-04, 03/04/2026, 3/4/26, 20260304, 04-MAR-2026, an Excel
    ISO datetime at midnight or any time, an Excel day number), or None."""
    text = text.strip()
    # The two forms nearly every export uses, without strptime's cost (it is most of a row's reading time).
    try:
        if len(text) == 10 and text[4] == "-":
            return date.fromisoformat(text)
        match = _US_DATE.fullmatch(text)
        if match:
            month, day, year = (int(g) for g in match.groups())
            if len(match.group(3)) == 2:
                year += 2000 if year < 69 else 1900  # as strptime's %y does
            return date(year, month, day)
    except ValueError:
        return None
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    moment = parse_datetime(text)
    if moment is not None:
        return moment.date()
    if text.isdigit() and len(text) == 5:  # an Excel day number left unformatted in a CSV (20000 = 1954)
        return EXCEL_EPOCH + timedelta(days=int(text))
    return None


def parse_datetime(text: str) -> datetime | None:
    text = text.strip()
    for fmt in DATETIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def parse_time(text: str) -> time | None:
    text = text.strip().upper().replace(".", "")
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).time()
        except ValueError:
            continue
    return None


# --- fingerprint --------------------------------------------------------------------------------------------

def record_fingerprint(record: Record) -> str:
    """A stable hash of what the record says (not its line or warnings): equal for an unchanged row in a
    re-export, different when any value changed."""
    payload = json.dumps([type(record).__name__, _plain(record)], separators=(",", ":"))
    return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()  # 32 hex characters, as stored


def _plain(value: object) -> object:
    # dataclasses.asdict deep-copies every value; this is the same content, built directly.
    if value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, (CustomerPart, TradeIn, *_RECORD_TYPES)):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.name not in ("line", "warnings")}
    return str(value)  # date, datetime, Decimal: their ISO / plain text


_RECORD_TYPES = (CustomerRecord, SaleRecord, RepairOrderRecord, AppointmentRecord)
