"""One DMS row to a typed record or a row error (dms.records): tables, no database."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from dms.presets import FIELDS, mapping_resolve
from dms.records import (
    AppointmentRecord, CustomerRecord, RepairOrderRecord, RowError, SaleRecord, TradeIn, parse_date,
    record_fingerprint, record_read,
)
from leads.vin import with_check_digit

TODAY = date(2026, 12, 5)
VIN = with_check_digit("1HGCM82633A004352")
TRADE_VIN = with_check_digit("2T1BURHE0JC014702")


def read(file_kind, /, **cells):
    """The row of a file in our documented format holding exactly these cells."""
    headers = list(cells)
    resolved = mapping_resolve(headers, "This CRM's documented format", kind=file_kind)
    assert set(resolved.columns) == set(headers), "a test cell names no field"
    return record_read(file_kind, 7, [str(v) for v in cells.values()], resolved, today=TODAY)


SALE = dict(customer_number="C100", first_name="Ann", last_name="Lee", deal_number="D-5001",
            sold_on="2024-03-04", vin=VIN)
RO = dict(customer_number="C100", ro_number="R7001", opened_on="2025-01-10")
APPOINTMENT = dict(customer_number="C100", appointment_number="A1", scheduled_at="2026-12-10 09:30")


def reason(kind, base, **changes):
    result = read(kind, **{**base, **changes})
    assert isinstance(result, RowError), result
    return result


def test_a_customer_row_becomes_a_customer_record_with_normalized_contacts():
    record = read("customers", customer_number="C100", first_name="Ann", last_name="Lee", street="1 Main St",
                  city="Salem", region="MA", postal_code="01970", email=" Ann@Example.COM ",
                  phone="(617) 555-0142")
    assert isinstance(record, CustomerRecord) and record.line == 7 and record.warnings == ()
    assert record.customer.email == "ann@example.com" and record.customer.phone == "+16175550142"
    assert record.customer.dms_number == "C100" and record.customer.city == "Salem"


def test_a_bad_phone_or_email_is_left_out_with_a_warning_not_refused():
    record = read("customers", customer_number="C1", email="none@none", phone="000-000-0000")
    assert isinstance(record, CustomerRecord)
    assert (record.customer.email, record.customer.phone) == ("", "")
    assert [w.split(":")[0] for w in record.warnings] == ["Email left out", "Phone left out"]


def test_a_finance_sale_with_two_trade_ins():
    record = read("sales", **SALE, year="2024", make="Honda", model="Accord", trim="EX", mileage="12",
                  price="$31,450.00", new_used="N", deal_type="Retail", lender="Honda Financial",
                  amount_financed="24,000.50", apr="5.9%", term_months="72", payment="$396.12",
                  first_payment_on="04/18/2024", maturity_on="3/18/30",
                  trade1_vin=TRADE_VIN, trade1_year="2018", trade1_make="Toyota", trade1_model="Camry",
                  trade1_mileage="88,000", trade1_allowance="12000", trade1_payoff="4,100.00",
                  trade2_make="Ford", trade2_model="Focus", trade2_allowance="500")
    assert isinstance(record, SaleRecord), record
    assert (record.deal_number, record.sold_on, record.vin, record.year) == ("D-5001", date(2024, 3, 4), VIN, 2024)
    assert (record.price_cents, record.amount_financed_cents, record.payment_cents) == (3145000, 2400050, 39612)
    assert record.apr == Decimal("5.900") and record.term_months == 72 and record.deal_type == "finance"
    assert (record.new_used, record.first_payment_on, record.maturity_on) == ("new", date(2024, 4, 18),
                                                                              date(2030, 3, 18))
    assert record.trade_ins == (
        TradeIn(vin=TRADE_VIN, year=2018, make="Toyota", model="Camry", mileage=88000, allowance_cents=1200000,
                payoff_cents=410000),
        TradeIn(make="Ford", model="Focus", allowance_cents=50000),
    )


@pytest.mark.parametrize("cells, deal_type", [
    ({}, "cash"),
    ({"amount_financed": "20000"}, "finance"),
    ({"residual": "18,000", "amount_financed": "30000", "miles_per_year": "12000"}, "lease"),
    ({"deal_type": "Lease"}, "lease"),
    ({"deal_type": "CASH", "amount_financed": "1"}, "cash"),
])
def test_the_deal_type_is_read_or_inferred_from_the_contract_columns(cells, deal_type):
    assert read("sales", **SALE, **cells).deal_type == deal_type


def test_a_bad_trade_vin_keeps_the_deal_and_the_trade_with_a_warning():
    record = read("sales", **SALE, trade1_vin="1HGCM82633A004351", trade1_allowance="900")
    assert isinstance(record, SaleRecord)
    assert record.trade_ins == (TradeIn(allowance_cents=90000),)
    assert record.warnings[0].startswith("VIN of trade-in 1 left out: Trade 1 VIN '1HGCM82633A004351'")


@pytest.mark.parametrize("changes, message", [
    ({"deal_number": ""}, "No deal number."),
    ({"customer_number": ""}, "No DMS customer number."),
    ({"sold_on": ""}, "No sale date."),
    ({"sold_on": "March 4th"}, "Sale date 'March 4th' is not a date"),
    ({"sold_on": "2027-01-01"}, "Sale date '2027-01-01' is in the future."),
    ({"sold_on": "1850-01-01"}, "not a believable date"),
    ({"vin": ""}, "No VIN."),
    ({"vin": "1HGCM82633A004351"}, "VIN '1HGCM82633A004351': The check digit of 1HGCM82633A004351 is wrong"),
    ({"vin": "SHORT"}, "A VIN has 17 characters"),
    ({"year": "1899"}, "Model year '1899' is not a whole number from 1,900 to 2,028."),
    ({"year": "2029"}, "from 1,900 to 2,028"),
    ({"mileage": "2,000,001"}, "Mileage '2,000,001' is not a whole number"),
    ({"mileage": "-5"}, "Mileage '-5' is not a whole number"),
    ({"price": "abc"}, "Sale price 'abc' is not an amount."),
    ({"price": "(12.00)"}, "Sale price '(12.00)' is negative"),
    ({"apr": "41"}, "APR '41' is not a percentage from 0 to 40."),
    ({"apr": "-1"}, "APR '-1' is not a percentage"),
    ({"apr": "five"}, "APR 'five' is not a number."),
    ({"term_months": "0"}, "Term (months) '0' is not a whole number from 1 to 120."),
    ({"term_months": "121"}, "from 1 to 120"),
    ({"term_months": "60.5"}, "not a whole number"),
    ({"new_used": "Maybe"}, "New/used 'Maybe': expected New or Used."),
    ({"deal_type": "Barter"}, "Deal type 'Barter': expected Cash, Finance or Lease."),
    ({"deal_number": "D" * 41}, "Deal number is longer than 40 characters."),
    ({"last_name": "L" * 101}, "Last name is longer than 100 characters."),
    ({"first_name": "Ann\x00"}, "First name contains a NUL character, which is not accepted."),
    ({"make": "Hon\x1bda"}, "Make contains the control character U+001B"),
    ({"region": "R" * 51}, "State/province is longer than 50 characters."),
    ({"postal_code": "1" * 21}, "ZIP/postal code is longer than 20 characters."),
    ({"city": "C" * 101}, "City is longer than 100 characters."),
    ({"customer_number": "C" * 41}, "DMS customer number is longer than 40 characters."),
])
def test_a_sale_row_is_refused_with_a_reason_the_manager_can_act_on(changes, message):
    error = reason("sales", SALE, **changes)
    assert message in error.reason and error.line == 7
    assert error.key == ({**SALE, **changes}["deal_number"])[:40]


def test_a_repair_order_line_with_its_operation():
    record = read("repair_orders", **RO, closed_on="01/12/2025", vin=VIN.lower(), year="2019", make="Honda",
                  model="CR-V", mileage_in="45,210", total="$612.40", advisor="Sam Ortiz", op_code="01LOFZ",
                  op_description="LOF synthetic, rotate tires", op_amount="(25.00)")
    assert isinstance(record, RepairOrderRecord), record
    assert (record.ro_number, record.opened_on, record.closed_on) == ("R7001", date(2025, 1, 10), date(2025, 1, 12))
    assert (record.vin, record.mileage_in, record.total_cents, record.op_cents) == (VIN, 45210, 61240, -2500)
    assert (record.op_code, record.advisor) == ("01LOFZ", "Sam Ortiz")


def test_a_repair_order_without_operation_columns_or_vin_is_read():
    record = read("repair_orders", **RO)
    assert isinstance(record, RepairOrderRecord)
    assert (record.vin, record.op_code, record.op_cents, record.closed_on) == ("", "", None, None)


@pytest.mark.parametrize("changes, message", [
    ({"ro_number": ""}, "No RO number."),
    ({"ro_number": "R" * 21}, "RO number is longer than 20 characters."),
    ({"opened_on": ""}, "No RO open date."),
    ({"closed_on": "2025-01-09"}, "RO close date 2025-01-09 is before its open date 2025-01-10."),
    ({"vin": "1HGCM82633A00435"}, "A VIN has 17 characters"),
    ({"op_code": "X" * 21}, "Op code is longer than 20 characters."),
])
def test_a_repair_order_row_is_refused_with_the_reason(changes, message):
    assert message in reason("repair_orders", RO, **changes).reason


def test_a_long_operation_description_is_cut_with_a_warning():
    record = read("repair_orders", **RO, op_description="x" * 600)
    assert len(record.op_description) == 500 and record.warnings == ("Op description cut to 500 characters.",)


@pytest.mark.parametrize("cells, at", [
    ({"scheduled_at": "2026-12-10 09:30"}, datetime(2026, 12, 10, 9, 30)),
    ({"scheduled_at": "12/10/2026 2:15 PM"}, datetime(2026, 12, 10, 14, 15)),
    ({"scheduled_at": "2026-12-10T09:30:00"}, datetime(2026, 12, 10, 9, 30)),
    ({"scheduled_at": "12/10/2026", "scheduled_time": "9:30 am"}, datetime(2026, 12, 10, 9, 30)),
    ({"scheduled_at": "20261210", "scheduled_time": "1430"}, datetime(2026, 12, 10, 14, 30)),
])
def test_an_appointment_time_in_the_forms_exports_write(cells, at):
    record = read("appointments", customer_number="C1", appointment_number="A1", **cells)
    assert isinstance(record, AppointmentRecord), record
    assert record.scheduled_at == at and record.scheduled_at.tzinfo is None and record.department == "service"


def test_an_appointment_row_with_department_kind_vin_and_notes():
    record = read("appointments", **APPOINTMENT, department="Sales", kind="Test drive", vin=VIN, notes="Bring keys")
    assert (record.department, record.kind, record.vin, record.notes) == ("sales", "Test drive", VIN, "Bring keys")


@pytest.mark.parametrize("changes, message", [
    ({"appointment_number": ""}, "No appointment number."),
    ({"scheduled_at": ""}, "No appointment date/time."),
    ({"scheduled_at": "2026-12-10"}, "has no time; map the appointment time column"),
    ({"scheduled_at": "2026-12-10", "scheduled_time": "soon"}, "Appointment time 'soon' is not a time"),
    ({"scheduled_at": "tomorrow"}, "is not a date and time"),
    ({"department": "Body shop"}, "Department 'Body shop': expected Sales or Service."),
])
def test_an_appointment_row_is_refused_with_the_reason(changes, message):
    assert message in reason("appointments", APPOINTMENT, **changes).reason


@pytest.mark.parametrize("text, day", [
    ("2024-03-04", date(2024, 3, 4)), ("03/04/2024", date(2024, 3, 4)), ("3/4/24", date(2024, 3, 4)),
    ("20240304", date(2024, 3, 4)), ("2024-03-04T00:00:00", date(2024, 3, 4)),
    ("2024-03-04 13:45:00", date(2024, 3, 4)), ("04-MAR-2024", date(2024, 3, 4)), ("45355", date(2024, 3, 4)),
    ("2024/03/04", date(2024, 3, 4)), ("13/04/2024", None), ("yesterday", None), ("", None),
])
def test_dates_in_the_forms_dms_exports_write(text, day):
    assert parse_date(text) == day


def test_short_rows_read_missing_cells_as_empty():
    resolved = mapping_resolve(["customer_number", "email"], "This CRM's documented format", kind="customers")
    record = record_read("customers", 3, ["C9"], resolved, today=TODAY)
    assert isinstance(record, CustomerRecord) and record.customer.email == ""


def test_the_fingerprint_changes_with_content_not_with_line_or_warnings():
    base = read("sales", **SALE, price="30000", phone="bad")
    moved = record_read("sales", 99, [str(v) for v in {**SALE, "price": "30,000.00", "phone": "worse"}.values()],
                        mapping_resolve([*SALE, "price", "phone"], "This CRM's documented format", kind="sales"),
                        today=TODAY)
    changed = read("sales", **SALE, price="30001", phone="bad")
    assert record_fingerprint(base) == record_fingerprint(moved)
    assert record_fingerprint(base) != record_fingerprint(changed)
    assert len(record_fingerprint(base)) == 32  # the column it is stored in (dms_fingerprint) holds 32


# Two valid values for every field: changing any one must change the record, or the field is never read.
VALUES = {
    "customer_number": ("C1", "C2"), "first_name": ("Ann", "Bo"), "last_name": ("Lee", "Li"),
    "street": ("1 Main", "2 Main"), "city": ("Salem", "Lynn"), "region": ("MA", "NH"),
    "postal_code": ("01970", "03060"), "email": ("a@example.com", "b@example.com"),
    "phone": ("6175550142", "6175550143"), "deal_number": ("D1", "D2"), "sold_on": ("2024-03-04", "2024-03-05"),
    "vin": (VIN, TRADE_VIN), "year": ("2020", "2021"), "make": ("Honda", "Ford"), "model": ("CR-V", "Edge"),
    "trim": ("EX", "LX"), "mileage": ("10", "11"), "price": ("100", "101"), "new_used": ("New", "Used"),
    "deal_type": ("Lease", "Finance"), "lender": ("Ally", "Chase"), "amount_financed": ("1", "2"),
    "apr": ("1", "2"), "term_months": ("36", "48"), "payment": ("1", "2"),
    "first_payment_on": ("2024-04-01", "2024-04-02"), "residual": ("1", "2"),
    "maturity_on": ("2027-04-01", "2027-04-02"), "miles_per_year": ("10000", "12000"),
    "ro_number": ("R1", "R2"), "opened_on": ("2025-01-01", "2025-01-02"), "closed_on": ("2025-01-03", "2025-01-04"),
    "mileage_in": ("5", "6"), "total": ("1", "2"), "advisor": ("Sam", "Pat"), "op_code": ("A", "B"),
    "op_description": ("a", "b"), "op_amount": ("1", "2"), "appointment_number": ("A1", "A2"),
    "scheduled_at": ("2026-12-10", "2026-12-11"), "scheduled_time": ("09:00", "10:00"),
    "department": ("Sales", "Service"), "kind": ("Oil", "Tires"), "notes": ("x", "y"),
}
for n in (1, 2):
    VALUES.update({f"trade{n}_vin": (VIN, TRADE_VIN), f"trade{n}_year": ("2010", "2011"),
                   f"trade{n}_make": ("Kia", "Audi"), f"trade{n}_model": ("Rio", "A4"),
                   f"trade{n}_mileage": ("1", "2"), f"trade{n}_allowance": ("1", "2"),
                   f"trade{n}_payoff": ("1", "2")})


@pytest.mark.parametrize("kind", list(FIELDS))
def test_every_field_of_every_kind_is_read_into_the_record(kind):
    row = {f.name: VALUES[f.name][0] for f in FIELDS[kind]}
    base = read(kind, **row)
    assert not isinstance(base, RowError) and base.warnings == (), base
    for field in FIELDS[kind]:
        changed = read(kind, **{**row, field.name: VALUES[field.name][1]})
        assert not isinstance(changed, RowError), changed
        assert record_fingerprint(changed) != record_fingerprint(base), field.name
