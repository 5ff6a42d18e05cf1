"""Reading a vendor's inventory feed (leads.feed): tables, no database."""

from datetime import date

import pytest

from leads.feed import (
    FeedRefused, column_map_from_text, decode_feed, decode_vin, parse_feed, parse_money, photo_urls, row_errors_csv,
)
from leads.vin import with_check_digit

TODAY = date(2026, 12, 2)
RAV4 = with_check_digit("2T3P1RFV0RC000101")  # a Toyota; model year code R = 2024
CIVIC = with_check_digit("2HGFE2F50RH000102")  # a Honda
HOMENET_HEADER = "VIN,Stock,Type,Year,Make,Model,Trim,Body,ExteriorColor,InteriorColor,Miles,SellingPrice,MSRP,ImageList,DateInStock"


def parse(*rows: str, header: str = HOMENET_HEADER, **kwargs):
    return parse_feed("\n".join([header, *rows]) + "\n", today=TODAY, **kwargs)


def test_a_homenet_style_row_becomes_a_vehicle_record():
    feed = parse(f'{RAV4},LN1004,New,2024,Toyota,RAV4,XLE,SUV,Magnetic Gray,Black,12,"$34,500.00",35990,'
                 f'"https://img.example/1.jpg,https://img.example/2.jpg",2026-11-20')
    assert feed.errors == () and feed.rows == 1
    record = feed.records[0]
    assert (record.line, record.vin, record.stock_number, record.condition) == (2, RAV4, "LN1004", "new")
    assert (record.year, record.make, record.model, record.trim, record.body_style) == (2024, "Toyota", "RAV4", "XLE", "SUV")
    assert (record.exterior_color, record.interior_color, record.mileage) == ("Magnetic Gray", "Black", 12)
    assert (record.price_cents, record.msrp_cents) == (3_450_000, 3_599_000)
    assert record.photo_urls == ("https://img.example/1.jpg", "https://img.example/2.jpg")
    assert record.in_stock_on == date(2026, 11, 20)
    assert feed.columns["price"] == "SellingPrice"


def test_vauto_style_headers_with_tabs_and_days_in_stock_are_read():
    header = "Vehicle VIN\tStock #\tNew/Used\tCertified\tModel Year\tMake\tModel\tOdometer\tInternet Price\tPhoto URLs\tDays In Stock"
    feed = parse(f"{CIVIC}\tSH77\tUsed\tYes\t2024\tHonda\tCivic\t18,250\t24995\thttps://a/1.jpg|https://a/2.jpg\t9",
                 header=header)
    record = feed.records[0]
    assert (record.condition, record.mileage, record.price_cents) == ("cpo", 18_250, 2_499_500)
    assert record.in_stock_on == date(2026, 11, 23) and len(record.photo_urls) == 2


def test_year_and_make_left_out_are_decoded_from_the_vin():
    feed = parse(f"{RAV4},LN1,New,,,RAV4,,,,,,30000,,,")
    assert (feed.records[0].year, feed.records[0].make) == (2024, "Toyota")


@pytest.mark.parametrize("row, reason", [
    ("2T3P1RFV0RC00010X,S1,New,2024,Toyota,RAV4,,,,,,30000,,,", "check digit"),
    (",S1,New,2024,Toyota,RAV4,,,,,,30000,,,", "No VIN."),
    (f"{RAV4},,New,2024,Toyota,RAV4,,,,,,30000,,,", "No stock number."),
    (f"{RAV4},S1,Demo,2024,Toyota,RAV4,,,,,,30000,,,", "New/used is 'Demo'"),
    (f"{RAV4},S1,New,2024,Toyota,,,,,,,30000,,,", "No model."),
    (f"{RAV4},S1,New,2024,Toyota,RAV4,,,,,,0,,,", "No price (and no MSRP"),
    (f"{RAV4},S1,New,2024,Toyota,RAV4,,,,,,abc,,,", "Price 'abc' is not an amount."),
    (f"{RAV4},S1,New,1492,Toyota,RAV4,,,,,,30000,,,", "Year '1492' is not a whole number"),
    (f"{RAV4},S1,Used,2024,Toyota,RAV4,,,,,-5,30000,,,", "Mileage '-5'"),
    (f"{RAV4},S1,New,2024,Toyota,{'X' * 81},,,,,,30000,,,", "Model is longer than 80 characters."),
    (f"{RAV4},S1,New,2024,Toyota,RAV4\x07,,,,,,30000,,,", "control character U+0007"),
    (f"{RAV4},S1,New,2024,Toyota,RAV4,,,,,,30000,,,31/31/2024", "is not a date"),
    (f"{RAV4},S1,New,2024,Toyota,RAV4,,,,,,30000,,,2030-01-01", "is not believable"),
])
def test_a_bad_row_is_reported_with_its_line_and_reason_and_the_rest_still_loads(row, reason):
    feed = parse(f"{CIVIC},GOOD1,Used,2024,Honda,Civic,,,,,,20000,,,", row)
    assert [r.stock_number for r in feed.records] == ["GOOD1"]
    (error,) = feed.errors
    assert error.line == 3 and reason in error.reason, error.reason


def test_the_msrp_stands_in_for_a_missing_price():
    assert parse(f"{RAV4},S1,New,2024,Toyota,RAV4,,,,,,,35990,,").records[0].price_cents == 3_599_000


def test_a_vin_or_stock_number_twice_in_one_feed_keeps_the_first():
    feed = parse(f"{RAV4},S1,New,2024,Toyota,RAV4,,,,,,30000,,,", f"{RAV4},S2,New,2024,Toyota,RAV4,,,,,,30000,,,",
                 f"{CIVIC},S1,Used,2024,Honda,Civic,,,,,,20000,,,")
    assert [r.line for r in feed.records] == [2]
    assert [(e.line, e.reason) for e in feed.errors] == [
        (3, f"VIN {RAV4} is also on line 2."), (4, "Stock number S1 is also on line 2.")]


def test_refused_rows_still_count_as_named_so_their_vehicles_are_not_unlisted():
    feed = parse(f"{RAV4},S1,New,2024,Toyota,RAV4,,,,,,oops,,,")
    assert feed.records == () and feed.seen_vins == {RAV4} and feed.seen_stock_numbers == {"S1"}


def test_line_numbers_count_physical_lines_across_quoted_newlines_and_blank_lines():
    feed = parse(f'{CIVIC},S1,Used,2024,Honda,Civic,"Sport\nTouring",,,,,20000,,,', "",
                 f"{RAV4},S2,Demo,2024,Toyota,RAV4,,,,,,30000,,,")
    assert feed.records[0].line == 2 and feed.errors[0].line == 5


def test_the_stores_own_column_names_win_over_the_defaults():
    header = "VIN,Stock,Type,Model,SellingPrice,Web_Price"
    feed = parse(f"{RAV4},S1,New,RAV4,30000,28500", header=header, column_map={"price": "Web Price"})
    assert feed.records[0].price_cents == 2_850_000 and feed.columns["price"] == "Web_Price"


@pytest.mark.parametrize("data, reason", [
    (b"", "The feed is empty."),
    (b"PK\x03\x04rest-of-a-zip", "spreadsheet file (Excel)"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "NUL bytes"),
    (b"\xff\xfeV\x00I\x00N\x00", "UTF-16"),
    (b"VIN,Stock\n\xe9t\xe9,1\n", "not UTF-8 text (byte 0xe9 at position 10)"),
    (b"x" * 101, "the limit is 100 bytes"),
])
def test_a_file_that_is_not_csv_text_is_refused_with_a_reason(data, reason):
    with pytest.raises(FeedRefused) as refused:
        decode_feed(data, max_bytes=100)
    assert reason in refused.value.reason


def test_a_utf8_file_with_a_byte_order_mark_is_read():
    text = decode_feed(f"\ufeffVIN,Stock,Type,Model,Price\n{RAV4},S1,New,RAV4,1\n".encode(), max_bytes=10_000)
    assert parse_feed(text, today=TODAY).records[0].vin == RAV4


@pytest.mark.parametrize("text, reason", [
    ("<!doctype html><html><body>Login</body></html>\n", "No column for VIN, Stock number, New/used, Model, Price"),
    ("VIN,Stock,Type,Model\n", "No column for Price"),
    ("VIN,Stock,Type,Model,Price\n" + RAV4 + ',S1,New,"' + "x" * 200_000 + '",1\n', "longer than 131,072"),
])
def test_a_file_that_is_not_an_inventory_feed_is_refused(text, reason):
    with pytest.raises(FeedRefused) as refused:
        parse_feed(text, today=TODAY)
    assert reason in refused.value.reason


def test_too_many_rows_are_refused():
    rows = [f"{RAV4},S{n},New,RAV4,1" for n in range(4)]
    with pytest.raises(FeedRefused, match="more than 3 rows"):
        parse_feed("VIN,Stock,Type,Model,Price\n" + "\n".join(rows), today=TODAY, max_rows=3)


@pytest.mark.parametrize("text, cents", [("$34,500.00", 3_450_000), ("34500", 3_450_000), ("0.5", 50), ("", None),
                                         ("0", None), ("$0.00", None)])
def test_money(text, cents):
    assert parse_money(text) == cents


def test_photo_lists_keep_http_addresses_once_in_order():
    assert photo_urls("https://a/1.jpg, ftp://x/2.jpg|https://a/1.jpg;http://a/3.jpg javascript:alert(1)") == (
        "https://a/1.jpg", "http://a/3.jpg")


@pytest.mark.parametrize("vin, expected", [
    (RAV4, ("Toyota", 2024)),
    (CIVIC, ("Honda", 2024)),
    (with_check_digit("WBA3A5C50CF256985"), ("BMW", 2012)),
])
def test_the_vin_decodes_offline_to_make_and_the_latest_plausible_year(vin, expected):
    assert decode_vin(vin, today=TODAY) == expected


def test_column_names_are_written_one_per_line_and_a_bad_line_is_named():
    assert column_map_from_text("price: Web_Price\n\nStock number: StockNo") == {"price": "Web_Price",
                                                                                   "stock_number": "StockNo"}
    with pytest.raises(ValueError, match="Line 1: 'colour' is not a feed field"):
        column_map_from_text("colour: Paint")
    with pytest.raises(ValueError, match="Line 2"):
        column_map_from_text("price: P\nnonsense")


def test_the_error_csv_keeps_a_spreadsheet_from_running_a_cell_as_a_formula():
    text = row_errors_csv([{"line": 3, "vin": "=HYPERLINK(1)", "stock_number": "S1", "reason": "No model."}])
    assert text.splitlines() == ["line,vin,stock_number,reason", "3,'=HYPERLINK(1),S1,No model."]
