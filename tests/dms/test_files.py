"""Reading a DMS export as a stream (dms.files): tables, no database."""

import tracemalloc
from datetime import date, datetime

import openpyxl
import pytest

from dms.files import MAX_COLUMNS, MAX_FIELD_CHARS, FileRefused, cell_text, open_table


def write(tmp_path, data: bytes, name="export.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_it_reads_a_csv_header_and_rows_with_their_line_numbers(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbfCustNo,Name\r\n\r\n1,\"Ann\nLee\"\r\n2, Bob \r\n,\r\n3,Cy")
    table = open_table(path, name="export.csv")
    assert (table.kind, table.headers, table.header_line) == ("csv", ["CustNo", "Name"], 1)
    assert list(table.rows()) == [(3, ["1", "Ann\nLee"]), (5, ["2", "Bob"]), (7, ["3", "Cy"])]


@pytest.mark.parametrize("header, delimiter", [
    (b"a;b;c", ";"), (b"a\tb\tc", "\t"), (b"a|b|c", "|"), (b"a,b,c", ","),
])
def test_it_sniffs_the_delimiter_from_the_header_line(tmp_path, header, delimiter):
    sep = delimiter.encode()
    table = open_table(write(tmp_path, header + b"\n1" + sep + b"2" + sep + b"3\n"), name="x.csv")
    assert table.delimiter == delimiter and list(table.rows()) == [(2, ["1", "2", "3"])]


def test_it_reads_old_mac_line_endings(tmp_path):
    table = open_table(write(tmp_path, b"a,b\r1,2\r3,4\r"), name="x.csv")
    assert list(table.rows()) == [(2, ["1", "2"]), (3, ["3", "4"])]


def test_blank_and_repeated_headers_get_names_and_short_rows_are_padded(tmp_path):
    table = open_table(write(tmp_path, b"Phone,,Phone,phone,,\n1,2,3,4\n5\n"), name="x.csv")
    assert table.headers == ["Phone", "Column 2", "Phone (2)", "phone (3)"]
    assert list(table.rows()) == [(2, ["1", "2", "3", "4"]), (3, ["5", "", "", ""])]


@pytest.mark.parametrize("data, reason", [
    (b"", "is empty"),
    (b"  \r\n\n", "is empty"),
    (b"\xff\xfeC\x00u\x00s\x00", "UTF-16"),
    (b"CustNo,Name\n1,\x00\x01\x02", "NUL bytes (the first at byte 14)"),
    (b"CustNo,Name\n1,Jos\xe9\n", "not UTF-8 text (byte 0xe9 at position 17"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old-format Excel file (.xls)"),
    (b"PK\x03\x04 not really a zip", "damaged"),
])
def test_a_file_that_is_not_an_export_is_refused_with_the_reason(tmp_path, data, reason):
    with pytest.raises(FileRefused, match=None) as refused:
        open_table(write(tmp_path, data), name="export.csv")
    assert reason in refused.value.reason


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path):
    import zipfile
    path = tmp_path / "export.csv"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("export.csv", "a,b\n1,2\n")
    with pytest.raises(FileRefused, match="zip archive, not an Excel workbook"):
        open_table(str(path), name="export.csv")


def test_a_file_over_the_size_cap_is_refused_before_reading(tmp_path):
    with pytest.raises(FileRefused, match="is 30 bytes; the limit is 10 bytes"):
        open_table(write(tmp_path, b"a,b\n" + b"1,2\n" * 6 + b"xx"), name="x.csv", max_bytes=10)


def test_invalid_utf8_deep_in_the_file_stops_the_stream_with_its_line(tmp_path):
    body = b"CustNo,Name\n" + b"".join(b"%d,Name %d\n" % (i, i) for i in range(2, 200_000))
    path = write(tmp_path, body + b"200000,Jos\xe9\n200001,Ok\n")
    table = open_table(path, name="big.csv")
    rows = table.rows()
    seen = 0
    with pytest.raises(FileRefused) as refused:
        for _ in rows:
            seen += 1
    assert seen == 199_998
    assert refused.value.line == 200_000
    assert refused.value.reason.startswith("Line 200,000:")
    assert f"position {len(body) + 10:,}" in refused.value.reason


def test_a_multibyte_character_across_a_chunk_boundary_is_read(tmp_path):
    from dms.files import CHUNK_BYTES
    head = b"Name\n"
    padding = (b"a" * 99 + b"\n") * (CHUNK_BYTES // 100 + 1)
    padding = padding[:CHUNK_BYTES - len(head) - 1].replace(b"\n", b"a", 0)
    assert padding[-1:] != b"\n"
    table = open_table(write(tmp_path, head + padding + "é\nZoë\n".encode()), name="x.csv")
    assert [values[0][-1] for _, values in table.rows()][-2:] == ["é", "ë"]


def test_a_huge_field_is_refused_with_its_line(tmp_path):
    data = b"a,b\n1,2\n3,\"" + b"x" * (MAX_FIELD_CHARS + 1) + b"\"\n"
    table = open_table(write(tmp_path, data), name="x.csv")
    with pytest.raises(FileRefused, match=r"line 3: a cell is 32,769 characters long") as refused:
        list(table.rows())
    assert refused.value.line == 3


def test_a_quoted_field_running_on_past_the_csv_limit_is_refused_not_buffered(tmp_path):
    # An unclosed quote swallows the rest of the file into one field: the csv module's own limit stops it.
    data = b"a,b\n1,\"" + b"line\n" * 40_000
    table = open_table(write(tmp_path, data), name="x.csv")
    with pytest.raises(FileRefused, match="a cell is longer than"):
        list(table.rows())


def test_a_line_without_end_is_refused(tmp_path):
    from dms.files import MAX_LINE_CHARS
    table = open_table(write(tmp_path, b"a,b\n" + b"1," * (MAX_LINE_CHARS // 2 + 10)), name="x.csv")
    with pytest.raises(FileRefused, match="Line 2 is longer than"):
        list(table.rows())


def test_too_many_columns_are_refused(tmp_path):
    header = ",".join(f"c{i}" for i in range(MAX_COLUMNS + 1)).encode()
    with pytest.raises(FileRefused, match=f"line 1: {MAX_COLUMNS + 1} cells"):
        open_table(write(tmp_path, header + b"\n"), name="x.csv")
    table = open_table(write(tmp_path, b"a,b\n" + b"1," * (MAX_COLUMNS + 1) + b"1\n"), name="x.csv")
    with pytest.raises(FileRefused, match="at most 300 are read"):
        list(table.rows())


def test_rows_resume_after_the_last_committed_line(tmp_path):
    table = open_table(write(tmp_path, b"n\n1\n2\n\"3\n3\"\n4\n"), name="x.csv")
    assert [line for line, _ in table.rows()] == [2, 3, 4, 6]
    assert list(table.rows(after_line=3)) == [(4, ["3\n3"]), (6, ["4"])]
    assert list(table.rows(after_line=6)) == []


def test_a_workbook_is_read_as_xlsx_even_when_named_csv(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["CustNo", "ContractDate", "AmtFinanced", "HomePhone", "APR", "Note"])
    sheet.append([None, None, None, None, None, None])
    sheet.append([1001, datetime(2024, 3, 4), 20000.0, 6175550142, 5.9, "  hi "])
    sheet.append([1002, datetime(2024, 3, 4, 9, 30), 199.99, None, 0, None])
    second = workbook.create_sheet("Other")
    second.append(["ignored"])
    path = tmp_path / "renamed.csv"
    workbook.save(path)
    table = open_table(str(path), name="renamed.csv")
    assert table.kind == "xlsx" and table.headers == ["CustNo", "ContractDate", "AmtFinanced", "HomePhone", "APR",
                                                      "Note"]
    assert list(table.rows()) == [
        (3, ["1001", "2024-03-04", "20000", "6175550142", "5.9", "hi"]),
        (4, ["1002", "2024-03-04T09:30:00", "199.99", "", "0", ""]),
    ]
    assert list(table.rows(after_line=3)) == [(4, ["1002", "2024-03-04T09:30:00", "199.99", "", "0", ""])]


@pytest.mark.parametrize("value, text", [
    (None, ""), (42.0, "42"), (0.1, "0.1"), (True, "TRUE"), (date(2024, 1, 2), "2024-01-02"),
    (datetime(2024, 1, 2), "2024-01-02"), (datetime(2024, 1, 2, 8, 5), "2024-01-02T08:05:00"), (" x ", "x"),
])
def test_cells_read_as_an_export_would_write_them(value, text):
    assert cell_text(value) == text


def test_a_50_mb_csv_is_read_with_flat_memory(tmp_path):
    path = tmp_path / "big.csv"
    row = b"C%07d,Firstname,Lastname,123 Main Street,Springfield,MA,01101,someone@example.com,6175550142,DEAL%07d\n"
    with open(path, "wb") as handle:
        handle.write(b"CustNo,First,Last,Street,City,State,Zip,Email,Phone,DealNo\n")
        written = 0
        i = 0
        while written < 50 * 1024 * 1024:
            line = row % (i, i)
            handle.write(line)
            written += len(line)
            i += 1
    table = open_table(str(path), name="big.csv")
    tracemalloc.start()
    count = 0
    for _line, values in table.rows():
        count += 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == i
    assert peak < 2 * 1024 * 1024, f"peak {peak:,} bytes"


def test_a_workbook_that_unpacks_out_of_proportion_is_refused(tmp_path):
    import zipfile
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (20 * 1024 * 1024))
    with pytest.raises(FileRefused, match="unpacks to 20,971,5"):
        open_table(str(path), name="bomb.xlsx")


def test_a_workbook_cell_at_excels_own_limit_is_read(tmp_path):
    # Excel holds at most 32,767 characters in a cell (openpyxl cuts longer ones on save); ours is one above.
    workbook = openpyxl.Workbook()
    workbook.active.append(["CustNo", "Notes"])
    workbook.active.append(["2", "x" * 40_000])
    path = tmp_path / "export.xlsx"
    workbook.save(path)
    assert MAX_FIELD_CHARS > 32_767
    [(line, values)] = open_table(str(path), name="export.xlsx").rows()
    assert line == 2 and len(values[1]) == 32_767


def test_an_empty_workbook_has_no_header(tmp_path):
    path = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(path)
    with pytest.raises(FileRefused, match="has no header line"):
        open_table(str(path), name="empty.xlsx")
