"""What a DMS export holds, in our words: the fields per kind of file, the presets for common DMS layouts, and
the mapping from our fields to a file's columns. Pure.

A store imports four kinds of file (customers, vehicle sales, service repair-order lines, appointments). Each
kind has canonical fields (`FIELDS[kind]`); a `Mapping` says which header of the uploaded file holds each one.
Presets are mappings for the exports most stores have; the manager picks one (or `mapping_guess` proposes the
best fit for the header) and corrects single columns. The README's "DMS import: the file format" table is this
module written out.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from dataclasses import dataclass

from crm.csvread import normalize_header

KINDS = ("customers", "sales", "repair_orders", "appointments")
KIND_LABELS = {"customers": "Customers", "sales": "Vehicle sales", "repair_orders": "Service repair orders",
               "appointments": "Appointments"}

Mapping = dict[str, str]  # our field -> the header in the uploaded file


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    required: bool
    doc: str


def _f(name: str, label: str, doc: str, *, required: bool = False) -> Field:
    return Field(name=name, label=label, required=required, doc=doc)


# Every kind carries the customer it belongs to, so each file can be imported on its own: the writer finds or
# creates the customer through the matcher (DMS customer number first, then phone, email and name).
_CUSTOMER = (
    _f("customer_number", "DMS customer number", "The customer's number in the DMS; how a re-import finds them "
       "again (up to 40 characters).", required=True),
    _f("first_name", "First name", "Up to 100 characters."),
    _f("last_name", "Last name", "Up to 100 characters; a business customer's name goes here."),
    _f("street", "Street", "Street address, up to 200 characters."),
    _f("city", "City", "Up to 100 characters."),
    _f("region", "State/province", "Up to 50 characters."),
    _f("postal_code", "ZIP/postal code", "Up to 20 characters."),
    _f("email", "Email", "Left out (with a warning on the row) when it is not an email address."),
    _f("phone", "Phone", "Any usual way of writing it; stored as E.164. Left out (with a warning) when it is "
       "not a number in use."),
)

_VEHICLE = (
    _f("year", "Model year", "1900 to next year + 1."),
    _f("make", "Make", "Up to 50 characters."),
    _f("model", "Model", "Up to 80 characters."),
)


def _trade(n: int) -> tuple[Field, ...]:
    return (
        _f(f"trade{n}_vin", f"Trade {n} VIN", f"The VIN of trade-in {n}; check digit verified."),
        _f(f"trade{n}_year", f"Trade {n} year", "Model year of the trade-in."),
        _f(f"trade{n}_make", f"Trade {n} make", "Make of the trade-in."),
        _f(f"trade{n}_model", f"Trade {n} model", "Model of the trade-in."),
        _f(f"trade{n}_mileage", f"Trade {n} mileage", "Odometer of the trade-in, 0 to 2,000,000."),
        _f(f"trade{n}_allowance", f"Trade {n} allowance", "What the store allowed for it (an amount)."),
        _f(f"trade{n}_payoff", f"Trade {n} payoff", "The loan payoff on it (an amount)."),
    )


FIELDS: dict[str, tuple[Field, ...]] = {
    "customers": _CUSTOMER,
    "sales": _CUSTOMER + (
        _f("deal_number", "Deal number", "The deal's number in the DMS, up to 40 characters; how a re-import "
           "finds it again.", required=True),
        _f("sold_on", "Sale date", "Contract or delivery date.", required=True),
        _f("vin", "VIN", "17 characters, check digit verified.", required=True),
        *_VEHICLE,
        _f("trim", "Trim", "Up to 80 characters."),
        _f("mileage", "Mileage", "Odometer at sale, 0 to 2,000,000."),
        _f("price", "Sale price", "Selling price of the vehicle (an amount)."),
        _f("new_used", "New/used", "New, Used (or N/U); certified pre-owned counts as used."),
        _f("deal_type", "Deal type", "Cash, Finance (Retail, Loan) or Lease; when left out, a lease is read "
           "from a residual, a finance deal from an amount financed, else cash."),
        _f("lender", "Lender", "Bank or captive holding the contract, up to 100 characters."),
        _f("amount_financed", "Amount financed", "An amount."),
        _f("apr", "APR", "Percent, 0 to 40 (5.9 or 5.9%)."),
        _f("term_months", "Term (months)", "1 to 120."),
        _f("payment", "Monthly payment", "An amount."),
        _f("first_payment_on", "First payment date", "A date."),
        _f("residual", "Residual", "Lease residual (an amount)."),
        _f("maturity_on", "Maturity / lease end", "Date the contract ends; for a lease, the lease end."),
        _f("miles_per_year", "Miles per year", "Lease allowance, 0 to 100,000."),
        *_trade(1), *_trade(2),
    ),
    "repair_orders": _CUSTOMER + (
        _f("ro_number", "RO number", "The repair order's number, up to 20 characters. A DMS export repeats the "
           "RO on each of its operation lines; every line is read.", required=True),
        _f("opened_on", "RO open date", "A date.", required=True),
        _f("closed_on", "RO close date", "A date, empty while the RO is open."),
        _f("vin", "VIN", "17 characters, check digit verified; may be empty (a counter sale)."),
        *_VEHICLE,
        _f("mileage_in", "Mileage in", "Odometer when the car came in, 0 to 2,000,000."),
        _f("total", "RO total", "Total of the RO (an amount; negative allowed for adjustments)."),
        _f("advisor", "Service advisor", "Up to 100 characters."),
        _f("op_code", "Op code", "The operation line's code, up to 20 characters."),
        _f("op_description", "Op description", "What was done, up to 500 characters."),
        _f("op_amount", "Op amount", "The line's sale (labor plus parts, or labor alone as the export gives it); "
           "negative allowed for credits."),
    ),
    "appointments": _CUSTOMER + (
        _f("appointment_number", "Appointment number", "The appointment's number, up to 40 characters.",
           required=True),
        _f("scheduled_at", "Appointment date/time", "Date and time, store-local (2026-03-04 09:30, "
           "03/04/2026 9:30 AM); a date alone with the time in its own column.", required=True),
        _f("scheduled_time", "Appointment time", "When the date and time are in separate columns (9:30, 9:30 AM, "
           "0930)."),
        _f("department", "Department", "Sales or Service (Service when left out)."),
        _f("kind", "Appointment type", "What it is for (oil change, test drive), up to 100 characters."),
        _f("vin", "VIN", "17 characters, check digit verified; may be empty."),
        _f("notes", "Notes", "Up to 2,000 characters."),
    ),
}
FIELD_BY_NAME: dict[str, dict[str, Field]] = {kind: {f.name: f for f in fields} for kind, fields in FIELDS.items()}
NATURAL_KEY = {"customers": "customer_number", "sales": "deal_number", "repair_orders": "ro_number",
               "appointments": "appointment_number"}


# --- presets -----------------------------------------------------------------------------------------------
# The vendor presets are modelled on typical exports of these systems (report-writer and data-extract layouts
# stores have sent us and that integrators describe); they are NOT certified by, or copied from, the vendors.
# Stores' report writers are configurable, so a preset is a starting point the manager corrects column by column.

def _layout(customer: Mapping, **kinds: Mapping) -> dict[str, Mapping]:
    return {kind: {**customer, **columns} for kind, columns in kinds.items()} | {"customers": dict(customer)}


def _trades(pattern: str) -> Mapping:
    """Trade-in columns for a vendor whose headers differ only in the number: pattern.format(n=1, part=...)."""
    parts = {"vin": "VIN", "year": "Year", "make": "Make", "model": "Model", "mileage": "Odometer",
             "allowance": "Allowance", "payoff": "Payoff"}
    return {f"trade{n}_{name}": pattern.format(n=n, part=part) for n in (1, 2) for name, part in parts.items()}


PRESETS: dict[str, dict[str, Mapping]] = {
    "CDK Drive": _layout(
        {"customer_number": "CustNo", "first_name": "FirstName", "last_name": "LastName", "street": "Address",
         "city": "City", "region": "State", "postal_code": "ZipCode", "email": "Email", "phone": "HomePhone"},
        sales={"deal_number": "DealNo", "sold_on": "ContractDate", "vin": "VIN", "year": "Year", "make": "Make",
               "model": "Model", "trim": "Series", "mileage": "Odometer", "price": "CashPrice",
               "new_used": "NewUsed", "deal_type": "SaleType", "lender": "LienHolder",
               "amount_financed": "AmtFinanced", "apr": "APR", "term_months": "Term", "payment": "Payment",
               "first_payment_on": "FirstPayDate", "residual": "Residual", "maturity_on": "LeaseEndDate",
               "miles_per_year": "MilesPerYear", **_trades("Trade{n}{part}")},
        repair_orders={"ro_number": "RONumber", "opened_on": "OpenDate", "closed_on": "CloseDate", "vin": "VIN",
                       "year": "Year", "make": "Make", "model": "Model", "mileage_in": "MileageIn",
                       "total": "ROTotal", "advisor": "ServiceAdvisor", "op_code": "OpCode",
                       "op_description": "OpDescription", "op_amount": "LaborSale"},
        appointments={"appointment_number": "ApptNo", "scheduled_at": "ApptDate", "scheduled_time": "ApptTime",
                      "department": "Dept", "kind": "ApptType", "vin": "VIN", "notes": "Comments"},
    ),
    "Reynolds & Reynolds ERA": _layout(
        {"customer_number": "Customer No", "first_name": "First Name", "last_name": "Last Name",
         "street": "Address 1", "city": "City", "region": "St", "postal_code": "Zip", "email": "E-Mail",
         "phone": "Home Phone"},
        sales={"deal_number": "Deal No", "sold_on": "Deal Date", "vin": "Serial No", "year": "Yr",
               "make": "Make", "model": "Model", "trim": "Body", "mileage": "Miles", "price": "Sale Price",
               "new_used": "N/U", "deal_type": "Sale Type", "lender": "Finance Source",
               "amount_financed": "Amount Financed", "apr": "Rate", "term_months": "Term",
               "payment": "Monthly Pmt", "first_payment_on": "1st Pmt Date", "residual": "Residual Value",
               "maturity_on": "Lease Maturity", "miles_per_year": "Annual Miles",
               **_trades("Trade {n} {part}")},
        repair_orders={"ro_number": "RO No", "opened_on": "RO Open Date", "closed_on": "RO Close Date",
                       "vin": "Serial No", "year": "Yr", "make": "Make", "model": "Model",
                       "mileage_in": "Mileage In", "total": "RO Total", "advisor": "Advisor",
                       "op_code": "Op Code", "op_description": "Op Description", "op_amount": "Op Sale"},
        appointments={"appointment_number": "Appt No", "scheduled_at": "Appt Date", "scheduled_time": "Appt Time",
                      "department": "Department", "kind": "Appt Type", "vin": "Serial No", "notes": "Remarks"},
    ),
    "Dealertrack DMS": _layout(
        {"customer_number": "CustomerNumber", "first_name": "FirstName", "last_name": "LastName",
         "street": "Address1", "city": "City", "region": "StateCode", "postal_code": "PostalCode",
         "email": "EmailAddress", "phone": "PrimaryPhone"},
        sales={"deal_number": "DealNumber", "sold_on": "DeliveryDate", "vin": "VehicleVIN", "year": "ModelYear",
               "make": "VehicleMake", "model": "VehicleModel", "trim": "VehicleTrim", "mileage": "OdometerReading",
               "price": "SellingPrice", "new_used": "StockType", "deal_type": "DealType",
               "lender": "LienholderName", "amount_financed": "AmountFinanced", "apr": "AnnualPercentageRate",
               "term_months": "TermMonths", "payment": "PaymentAmount", "first_payment_on": "FirstPaymentDate",
               "residual": "ResidualAmount", "maturity_on": "MaturityDate", "miles_per_year": "AnnualMileage",
               **_trades("Trade{n}{part}")},
        repair_orders={"ro_number": "RepairOrderNumber", "opened_on": "OpenedDate", "closed_on": "ClosedDate",
                       "vin": "VehicleVIN", "year": "ModelYear", "make": "VehicleMake", "model": "VehicleModel",
                       "mileage_in": "MileageIn", "total": "RepairOrderTotal", "advisor": "ServiceWriter",
                       "op_code": "OperationCode", "op_description": "OperationDescription",
                       "op_amount": "OperationSale"},
        appointments={"appointment_number": "AppointmentNumber", "scheduled_at": "AppointmentDateTime",
                      "department": "DepartmentType", "kind": "AppointmentType", "vin": "VehicleVIN",
                      "notes": "Comments"},
    ),
    # Our own documented format: the header of each column is the field's name (README, "DMS import: the file
    # format"); headers are compared without case, spaces or punctuation, so "Customer Number" works too.
    "This CRM's documented format": {kind: {f.name: f.name for f in fields} for kind, fields in FIELDS.items()},
}
DOCUMENTED = "This CRM's documented format"


# --- resolving a mapping against a file's header ---------------------------------------------------------

@dataclass(frozen=True)
class ResolvedMapping:
    kind: str
    columns: dict[str, int]  # our field -> column index in the file
    headers: dict[str, str]  # our field -> the file's header it is read from
    missing: tuple[str, ...]  # labels of required fields the file has no column for
    unmapped: tuple[str, ...]  # the file's headers no field reads (shown, so the manager can map them)

    @property
    def ok(self) -> bool:
        return not self.missing


def mapping_resolve(headers: list[str], mapping_or_preset: MappingABC[str, str] | str, *,
                    kind: str) -> ResolvedMapping:
    """Our field -> column index for this header; a preset name or a store's own mapping (field -> header).

    Headers compare without case, spaces or punctuation. A mapping naming a header the file lacks leaves the field
    unread (listed in `missing` when required); unknown field names are ignored.
    """
    if kind not in FIELDS:
        raise ValueError(f"{kind!r} is not a kind of DMS file; one of {', '.join(KINDS)}.")
    if isinstance(mapping_or_preset, str):
        if mapping_or_preset not in PRESETS:
            raise ValueError(f"{mapping_or_preset!r} is not a preset; one of {', '.join(PRESETS)}.")
        mapping = PRESETS[mapping_or_preset].get(kind, {})
    else:
        mapping = mapping_or_preset
    index: dict[str, int] = {}
    for i, header in enumerate(headers):
        index.setdefault(normalize_header(header), i)
    columns: dict[str, int] = {}
    for field in FIELDS[kind]:
        wanted = mapping.get(field.name)
        if wanted and normalize_header(wanted) in index:
            columns[field.name] = index[normalize_header(wanted)]
    used = set(columns.values())
    return ResolvedMapping(
        kind=kind, columns=columns, headers={name: headers[i] for name, i in columns.items()},
        missing=tuple(f.label for f in FIELDS[kind] if f.required and f.name not in columns),
        unmapped=tuple(h for i, h in enumerate(headers) if i not in used),
    )


def mapping_score(headers: list[str], preset: str, *, kind: str) -> float:
    """How well a preset fits a header, 0..1: the share of the preset's columns found (required ones count
    double), 0 when a required field is missing."""
    resolved = mapping_resolve(headers, preset, kind=kind)
    if resolved.missing:
        return 0.0
    mapping = PRESETS[preset].get(kind, {})
    weight = {f.name: (2 if f.required else 1) for f in FIELDS[kind]}
    total = sum(weight[name] for name in mapping if name in weight)
    found = sum(weight[name] for name in resolved.columns)
    return round(found / total, 4) if total else 0.0


def mapping_guess(headers: list[str], *, kind: str) -> tuple[str, float]:
    """The preset that fits this header best and its score (0 when none has every required column)."""
    scored = [(mapping_score(headers, name, kind=kind), -order, name) for order, name in enumerate(PRESETS)]
    score, _, name = max(scored)
    return name, score


def kind_guess(headers: list[str]) -> tuple[str, str, float]:
    """(kind, preset, score) for a header whose kind the manager has not said; the most specific kind wins a tie
    (a sales file also has every customer column)."""
    best = max(((*mapping_guess(headers, kind=kind), kind, order) for order, kind in enumerate(KINDS)),
               key=lambda t: (t[1] > 0, t[1] * len(PRESETS[t[0]].get(t[2], {})), t[3]))
    preset, score, kind, _ = best
    return kind, preset, score


def mapping_from_text(text: str, *, kind: str) -> Mapping:
    """ "deal_number: Deal #" lines (field name or label) -> a Mapping; ValueError naming a bad line."""
    by_name = FIELD_BY_NAME[kind]
    by_label = {normalize_header(f.label): f.name for f in FIELDS[kind]}
    mapping: Mapping = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        if ":" not in line:
            raise ValueError(f"Line {number}: write it as “field: Header in your file”, e.g. “deal_number: DealNo”.")
        name, header = (part.strip() for part in line.split(":", 1))
        key = name if name in by_name else by_label.get(normalize_header(name))
        if key is None:
            raise ValueError(f"Line {number}: {name!r} is not a field of {KIND_LABELS[kind].lower()}.")
        if not header or len(header) > 100 or any(ord(c) < 32 for c in header):
            raise ValueError(f"Line {number}: give the header as it appears in your file (up to 100 characters).")
        mapping[key] = header
    return mapping
