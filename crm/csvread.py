"""Reading tabular text that staff upload (inventory feeds, DMS exports): the rules shared by every reader. Pure.

One definition of "this is not CSV text" (binary, UTF-16, not UTF-8, a spreadsheet), of a header name as
compared ("Stock #" is "stock"), of a delimiter sniffed from the header line, and of an amount and a whole
number in a cell, so the inventory feed (leads.feed) and the DMS import (dms.files, dms.records) refuse the
same things with the same words.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

XLSX_MAGIC = b"PK\x03\x04"  # a zip container: .xlsx (and .docx, .zip; openpyxl tells them apart)
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary Excel (OLE2) format
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class CellRefused(ValueError):
    """One cell cannot be read; the message is the reason the manager is shown for the row."""


def normalize_header(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", (name or "").lower())


def sniff_delimiter(header_line: str) -> str:
    """The delimiter the header line uses most of (comma, tab, pipe, semicolon); comma when it has none."""
    counts = {d: header_line.count(d) for d in (",", "\t", "|", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def spreadsheet_kind(head: bytes) -> str | None:
    """"xlsx" or "xls" when the bytes start like an Excel file, else None."""
    if head[:4] == XLSX_MAGIC:
        return "xlsx"
    if head[:8] == XLS_MAGIC:
        return "xls"
    return None


def text_refusal(data: bytes, *, what: str, offset: int = 0, final: bool = True) -> str | None:
    """Why these bytes are not UTF-8 CSV text (UTF-16, NUL, bad UTF-8), or None; positions count from `offset`.

    Does not look at spreadsheet magic (callers differ: the feed refuses Excel, the DMS import reads XLSX).
    With `final=False` (a chunk of a longer stream) a multi-byte character cut at the end is not an error.
    """
    if offset == 0 and data[:2] in UTF16_BOMS:
        return f"{what} is UTF-16 text: save it as CSV (UTF-8) and upload that."
    nul = data.find(b"\x00")
    if nul >= 0:
        return (f"{what} contains NUL bytes (the first at byte {offset + nul:,}): it is a binary file, "
                "not CSV text.")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if not final and exc.reason == "unexpected end of data" and exc.end == len(data):
            return None
        return (f"{what} is not UTF-8 text (byte 0x{data[exc.start]:02x} at position {offset + exc.start:,}): "
                "save it as CSV (UTF-8) and upload that.")
    return None


def whole_number(text: str, label: str, *, low: int, high: int) -> int | None:
    """"12,000" -> 12000; empty -> None; CellRefused when not a whole number in [low, high]."""
    cleaned = text.replace(",", "").strip()
    if not cleaned:
        return None
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise CellRefused(f"{label} {text!r} is not a number.") from None
    if not number.is_finite() or number != number.to_integral_value() or not low <= number <= high:
        raise CellRefused(f"{label} {text!r} is not a whole number from {low:,} to {high:,}.")
    return int(number)


def money_cents(text: str, label: str, *, max_cents: int, allow_negative: bool = False) -> int | None:
    """"$1,234.50" -> 123450 cents; "(12.00)" or "-12.00" -> -1200 where negatives are allowed; empty -> None."""
    cleaned = text.replace("$", "").replace(",", "").replace(" ", "").strip()
    if not cleaned:
        return None
    negative = False
    if cleaned.startswith("(") and cleaned.endswith(")"):  # accountants' negative, as DMS exports write credits
        negative, cleaned = True, cleaned[1:-1]
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise CellRefused(f"{label} {text!r} is not an amount.") from None
    if not amount.is_finite():
        raise CellRefused(f"{label} {text!r} is not an amount.")
    if negative:
        amount = -abs(amount)
    if amount < 0 and not allow_negative:
        raise CellRefused(f"{label} {text!r} is negative; it cannot be.")
    cents = int((amount * 100).to_integral_value())
    if abs(cents) > max_cents:
        raise CellRefused(f"{label} {text!r} is too large.")
    return cents


def csv_safe(text: str) -> str:
    """A cell for a CSV staff open in a spreadsheet: one starting with = + - @ would run as a formula (CSV
    injection), so it is written as text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
