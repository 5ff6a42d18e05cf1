"""Our DMS fields, the vendor presets and mapping a file's header (dms.presets): tables, no database."""

import pytest

from dms.presets import (
    DOCUMENTED, FIELDS, KINDS, NATURAL_KEY, PRESETS, kind_guess, mapping_from_text, mapping_guess, mapping_resolve,
)

CDK_SALES = ["CustNo", "FirstName", "LastName", "Address", "City", "State", "ZipCode", "Email", "HomePhone",
             "DealNo", "ContractDate", "VIN", "Year", "Make", "Model", "AmtFinanced", "APR", "Term", "Payment",
             "FirstPayDate", "Residual", "LeaseEndDate", "MilesPerYear", "Trade1VIN"]
ERA_ROS = ["Customer No", "First Name", "Last Name", "RO No", "RO Open Date", "RO Close Date", "Serial No",
           "Mileage In", "RO Total", "Advisor", "Op Code", "Op Description", "Op Sale"]
DT_APPOINTMENTS = ["CustomerNumber", "FirstName", "LastName", "PrimaryPhone", "AppointmentNumber",
                   "AppointmentDateTime", "DepartmentType", "AppointmentType", "VehicleVIN", "Comments"]


def test_every_kind_has_its_natural_key_and_the_customer_number_required():
    for kind in KINDS:
        required = {f.name for f in FIELDS[kind] if f.required}
        assert {NATURAL_KEY[kind], "customer_number"} <= required
        assert all(f.label and f.doc for f in FIELDS[kind])


def test_every_preset_names_only_fields_of_the_kind_and_each_header_once():
    for name, kinds in PRESETS.items():
        assert set(kinds) == set(KINDS), name
        for kind, mapping in kinds.items():
            assert set(mapping) <= {f.name for f in FIELDS[kind]}, (name, kind)
            # Two fields may share a header only when they are the same column (no preset does).
            assert len(set(mapping.values())) == len(mapping), (name, kind)


def test_resolving_a_preset_gives_column_indexes_missing_labels_and_unmapped_headers():
    resolved = mapping_resolve(CDK_SALES + ["StockNo"], "CDK Drive", kind="sales")
    assert resolved.ok
    assert resolved.columns["deal_number"] == 9 and resolved.columns["amount_financed"] == 15
    assert resolved.headers["maturity_on"] == "LeaseEndDate"
    assert resolved.unmapped == ("StockNo",)
    missing = mapping_resolve(["CustNo", "VIN"], "CDK Drive", kind="sales")
    assert missing.missing == ("Deal number", "Sale date") and not missing.ok


def test_headers_compare_without_case_spaces_or_punctuation():
    resolved = mapping_resolve(["cust no", "DEAL-NO", "Contract Date", "vin"], "CDK Drive", kind="sales")
    assert resolved.ok and resolved.columns == {"customer_number": 0, "deal_number": 1, "sold_on": 2, "vin": 3}


def test_a_stores_own_mapping_is_resolved_and_unknown_fields_ignored():
    mapping = {"customer_number": "Cust #", "ro_number": "Repair Order", "opened_on": "Opened", "bogus": "X"}
    resolved = mapping_resolve(["Repair Order", "Cust #", "Opened"], mapping, kind="repair_orders")
    assert resolved.columns == {"customer_number": 1, "ro_number": 0, "opened_on": 2} and resolved.ok


def test_the_documented_format_takes_field_names_or_labels():
    headers = [f.name for f in FIELDS["sales"]]
    assert mapping_resolve(headers, DOCUMENTED, kind="sales").unmapped == ()
    assert mapping_resolve(["Customer Number", "Deal Number", "Sold On", "VIN"], DOCUMENTED, kind="sales").ok


@pytest.mark.parametrize("bad, message", [
    (dict(mapping_or_preset="Nope DMS", kind="sales"), "not a preset"),
    (dict(mapping_or_preset="CDK Drive", kind="invoices"), "not a kind"),
])
def test_an_unknown_preset_or_kind_is_a_value_error(bad, message):
    with pytest.raises(ValueError, match=message):
        mapping_resolve(["a"], **bad)


@pytest.mark.parametrize("headers, kind, preset", [
    (CDK_SALES, "sales", "CDK Drive"),
    (ERA_ROS, "repair_orders", "Reynolds & Reynolds ERA"),
    (DT_APPOINTMENTS, "appointments", "Dealertrack DMS"),
    ([f.name for f in FIELDS["repair_orders"]], "repair_orders", DOCUMENTED),
])
def test_the_best_preset_and_kind_are_guessed_from_the_header(headers, kind, preset):
    guessed, score = mapping_guess(headers, kind=kind)
    assert guessed == preset and score > 0.5
    assert kind_guess(headers)[:2] == (kind, preset)


def test_a_header_no_preset_fits_scores_zero():
    assert mapping_guess(["Foo", "Bar"], kind="sales")[1] == 0.0


def test_a_mapping_is_read_from_text_by_field_name_or_label():
    assert mapping_from_text("deal_number: Deal #\nSale date: Sold\n\n", kind="sales") == {
        "deal_number": "Deal #", "sold_on": "Sold"}
    with pytest.raises(ValueError, match="Line 1: 'colour' is not a field of vehicle sales"):
        mapping_from_text("colour: Paint", kind="sales")
    with pytest.raises(ValueError, match="Line 2"):
        mapping_from_text("vin: VIN\nno colon here", kind="sales")
