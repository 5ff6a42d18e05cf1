"""Reading a DMS export (CSV or XLSX) as a stream of rows: memory stays flat whatever the file's size. Pure.

No Django, no database: `open_table` checks the file and reads its header; `Table.rows()` yields
`(line_number, values)` lazily, so a years-long export of a few hundred megabytes is read a row at a time by the
writer, which commits in batches and can resume after its last committed line (`rows(after_line=N)`). The rules
for "not CSV text" are the inventory feed's (crm.csvread), except that an Excel workbook (.xlsx, also one
renamed .csv) is read rather than refused, because DMS report writers save to Excel by default.

XLSX is read with openpyxl's read-only mode: rows stream, but the workbook's shared-strings table is held in
memory (a 100,000-line RO export peaked at 9 MB here), and it is slower than CSV (about 2,000 rows of 22 columns
a second here, with the standard library's XML parser), plus one extra pass over the sheet when the file does not
state its dimension (Excel always does; some report writers do not). For exports of hundreds of thousands of
rows, CSV is the better choice, and the README says so.

Anything that makes the file unusable raises `FileRefused` with the reason a manager can act on, also when it is
found mid-stream (invalid UTF-8 at byte 10 MB): the writer stops there and reports the line.
"""

from __future__ import annotations

import csv
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time

from crm.csvread import sniff_delimiter, spreadsheet_kind, text_refusal

# A cell longer than this is refused: no DMS field (a name, a repair description) comes close, and a file made
# of huge fields is an attack on the reader, not an export. Python's csv module keeps its own process-wide limit
# (131,072 characters, the inventory feed's documented limit) as the hard stop while reading; we do not change
# that global, and check our smaller limit on each parsed cell.
MAX_FIELD_CHARS = 32 * 1024
MAX_COLUMNS = 300
# A physical line longer than this is refused before the csv module sees it (memory stays bounded even for a
# file with no newline at all).
MAX_LINE_CHARS = 1024 * 1024
DEFAULT_MAX_BYTES = 500 * 1024 * 1024
# An .xlsx is a zip: its declared unpacked size bounds the work of reading it (a "zip bomb" is refused).
MAX_XLSX_UNPACKED_BYTES = 2 * 1024 * 1024 * 1024
MAX_XLSX_RATIO = 200
CHUNK_BYTES = 64 * 1024


class FileRefused(Exception):
    """The file (or the rest of it, from `line` on) cannot be read; `reason` is what the manager is told."""

    def __init__(self, reason: str, *, line: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.line = line


@dataclass(frozen=True)
class Table:
    path: str
    name: str
    kind: str  # "csv" | "xlsx"
    headers: list[str]
    header_line: int  # the line (CSV) or row (XLSX) the headers were read from; data starts after it
    delimiter: str = ","

    def rows(self, *, after_line: int = 0) -> Iterator[tuple[int, list[str]]]:
        """(line number, cells) for every data row that is not empty, lazily; rows up to `after_line` skipped.

        Cells are stripped strings, padded to the header's width. The line number is the file's line where the
        row starts (a quoted field may span lines), or the sheet's row number in a workbook.
        """
        source = _csv_rows(self) if self.kind == "csv" else _xlsx_rows(self)
        width = len(self.headers)
        for line, values in source:
            if line <= self.header_line or line <= after_line:
                continue
            if len(values) < width:
                values = values + [""] * (width - len(values))
            if any(values):
                yield line, values


def open_table(path: str, *, name: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Table:
    """The file's kind and header, checked; FileRefused saying why it cannot be imported."""
    label = _label(name)
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            head = handle.read(CHUNK_BYTES)
    except OSError as exc:
        raise FileRefused(f"{label} could not be opened ({exc.strerror}).") from None
    if size > max_bytes:
        raise FileRefused(f"{label} is {size:,} bytes; the limit is {max_bytes:,} bytes. Export a shorter date "
                          "range and import the files one after another.")
    if not head.strip():
        raise FileRefused(f"{label} is empty.")
    kind = spreadsheet_kind(head)
    if kind == "xls":
        raise FileRefused(f"{label} is an old-format Excel file (.xls): save it as .xlsx or CSV (UTF-8) and "
                          "upload that.")
    if kind == "xlsx":
        _check_zip(path, label=label, size=size)
        table = Table(path=path, name=name, kind="xlsx", headers=[], header_line=0)
    else:
        reason = text_refusal(head, what=label, final=len(head) < CHUNK_BYTES)
        if reason:
            raise FileRefused(reason, line=1)
        first_line = head.decode("utf-8-sig", errors="ignore").lstrip("\r\n").split("\n", 1)[0]
        table = Table(path=path, name=name, kind="csv", headers=[], header_line=0,
                      delimiter=sniff_delimiter(first_line))
    source = _csv_rows(table) if kind != "xlsx" else _xlsx_rows(table)
    try:
        for line, values in source:
            if any(values):
                return Table(path=path, name=name, kind=table.kind, headers=_headers(values, label=label, line=line),
                             header_line=line, delimiter=table.delimiter)
    finally:
        source.close()  # closes the file (and the workbook) now, not when the generator is collected
    raise FileRefused(f"{label} has no header line (it holds no text).")


def _label(name: str) -> str:
    shown = os.path.basename(name or "")[:80]
    return f"The file {shown!r}" if shown else "The file"


def _headers(values: list[str], *, label: str, line: int) -> list[str]:
    """Trailing blank headers dropped; a blank one in the middle named "Column N"; a repeated one "Name (2)".

    The mapping reads a field from the first column with its name; the renamed repeats can still be mapped.
    """
    while values and not values[-1]:
        values = values[:-1]
    if len(values) > MAX_COLUMNS:
        raise FileRefused(f"{label} has {len(values):,} columns on its header line; at most {MAX_COLUMNS} are "
                          "read. Is this the export?", line=line)
    headers: list[str] = []
    seen: dict[str, int] = {}
    for number, value in enumerate(values, start=1):
        header = " ".join(value.split()) or f"Column {number}"
        key = header.lower()
        seen[key] = seen.get(key, 0) + 1
        headers.append(header if seen[key] == 1 else f"{header} ({seen[key]})")
    return headers


def _check_cells(values: list[str], *, label: str, line: int) -> list[str]:
    if len(values) > MAX_COLUMNS:
        while values and not values[-1]:
            values = values[:-1]
        if len(values) > MAX_COLUMNS:
            raise FileRefused(f"{label}, line {line:,}: {len(values):,} cells; at most {MAX_COLUMNS} are read.",
                              line=line)
    for value in values:
        if len(value) > MAX_FIELD_CHARS:
            raise FileRefused(f"{label}, line {line:,}: a cell is {len(value):,} characters long; at most "
                              f"{MAX_FIELD_CHARS:,} are read. This is not a DMS export.", line=line)
    return values


# --- CSV ---------------------------------------------------------------------------------------------------

def _text_lines(path: str, *, label: str) -> Iterator[str]:
    """The file's text a physical line at a time (newline kept), decoded and checked chunk by chunk."""
    offset = 0  # file position of pending[0]
    pending = b""
    line_number = 1
    carry = ""
    newline = "\n"
    first = True
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(CHUNK_BYTES)
            eof = not chunk
            data = pending + chunk
            reason = text_refusal(data, what=label, offset=offset, final=eof)
            if reason:  # the rows before the bad byte are still read, then the stream stops at its line
                data, eof = data[:_first_bad_byte(data)], True
            try:
                text = data.decode("utf-8")
                pending = b""
            except UnicodeDecodeError as exc:  # a character cut by the chunk boundary: finish it next time
                text = data[:exc.start].decode("utf-8")
                pending = data[exc.start:]
            offset += len(data) - len(pending)
            if first:
                text = text.removeprefix("\ufeff")
                # Old Mac exports end lines with CR alone; the csv module reads those only as one big line.
                if "\n" not in text and "\r" in text:
                    newline = "\r"
                first = False
            carry += text
            parts = carry.split(newline)
            carry = parts.pop()
            for part in parts:
                yield part + newline
                line_number += 1
            if len(carry) > MAX_LINE_CHARS:
                raise FileRefused(f"Line {line_number:,} is longer than {MAX_LINE_CHARS:,} characters: this is not "
                                  "a DMS export.", line=line_number)
            if reason:
                raise FileRefused(f"Line {line_number:,}: {reason}", line=line_number)
            if eof:
                if carry:
                    yield carry
                return


def _first_bad_byte(data: bytes) -> int:
    nul = data.find(b"\x00")
    try:
        data.decode("utf-8")
        bad = len(data)
    except UnicodeDecodeError as exc:
        bad = exc.start
    return min(bad, nul) if nul >= 0 else bad


def _csv_rows(table: Table) -> Iterator[tuple[int, list[str]]]:
    label = _label(table.name)
    reader = csv.reader(_text_lines(table.path, label=label), delimiter=table.delimiter)
    next_line = 1
    try:
        for raw in reader:
            line, next_line = next_line, reader.line_num + 1
            yield line, _check_cells([cell.strip() for cell in raw], label=label, line=line)
    except csv.Error as exc:
        line = reader.line_num
        if "field larger than field limit" in str(exc):
            raise FileRefused(f"{label}, line {line:,}: a cell is longer than {MAX_FIELD_CHARS:,} characters: this "
                              "is not a DMS export.", line=line) from None
        raise FileRefused(f"{label}, line {line:,}: not readable as CSV ({exc}).", line=line) from None


# --- XLSX --------------------------------------------------------------------------------------------------

def _check_zip(path: str, *, label: str, size: int) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        raise FileRefused(f"{label} starts like an Excel workbook but is damaged: open it in Excel and save it "
                          "again as .xlsx or CSV (UTF-8).") from None
    if "xl/workbook.xml" not in names:
        raise FileRefused(f"{label} is a zip archive, not an Excel workbook: upload the CSV or .xlsx inside it.")
    if unpacked > MAX_XLSX_UNPACKED_BYTES or unpacked > max(size, 1) * MAX_XLSX_RATIO:
        raise FileRefused(f"{label} unpacks to {unpacked:,} bytes from {size:,}: this is not a DMS export.")


def _xlsx_rows(table: Table) -> Iterator[tuple[int, list[str]]]:
    import openpyxl  # here, so that CSV-only callers do not pay for importing it

    label = _label(table.name)
    line = table.header_line
    # A file object, not the path: openpyxl refuses a path by its extension, and a workbook renamed .csv is
    # still a workbook.
    handle = open(table.path, "rb")
    try:
        workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a damaged workbook
        handle.close()
        raise FileRefused(f"{label} could not be read as an Excel workbook ({type(exc).__name__}): save it again "
                          "as .xlsx or CSV (UTF-8).") from None
    try:
        sheet = workbook.worksheets[0]
        for line, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            if len(cells) > MAX_COLUMNS * 4:  # a sheet whose used range is absurdly wide; trimmed below
                cells = cells[:MAX_COLUMNS * 4]
            yield line, _check_cells([cell_text(c) for c in cells], label=label, line=line)
    except FileRefused:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged sheet found mid-stream: stop and report the row
        raise FileRefused(f"{label}, row {line + 1:,}: the workbook is damaged ({type(exc).__name__}).",
                          line=line + 1) from None
    finally:
        workbook.close()  # read-only workbooks keep the file open until closed
        handle.close()


def cell_text(value: object) -> str:
    """A spreadsheet cell as the text a CSV export would hold: dates ISO, 42.0 as 42, empty as ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(timespec="seconds")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value).strip()
