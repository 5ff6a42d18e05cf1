"""Pagination for every page and API: a page number, offset or cursor from a URL is checked here, once.

A forged or garbled value is a 400 with a reason, a page past the end is the last page, and nothing a
sender writes in the URL reaches the database as a number PostgreSQL cannot hold (a 500 before).
"""

from __future__ import annotations

import re

from django.core.exceptions import FieldDoesNotExist, ValidationError as DjangoValidationError
from django.core.paginator import Page, Paginator
from django.db import models
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError

from crm.input_guard import CONTROL_CHARACTERS, InputRefused

# Past this a page number or offset is not a page anyone follows; it only risks overflowing SQL bigint.
MAX_PAGE = 100_000
MAX_OFFSET = 10_000_000
_WHOLE_NUMBER = re.compile(r"\s*\+?\d{1,18}\s*")
BIGINT_MAX = 2**63 - 1


def page_number(raw: str | None, *, max_page: int = MAX_PAGE) -> int:
    """The page asked for in the URL: missing is 1; anything but a whole number from 1 to max_page is refused."""
    if raw is None or raw.strip() == "":
        return 1
    if not _WHOLE_NUMBER.fullmatch(raw) or not 1 <= int(raw) <= max_page:
        raise InputRefused(f"page must be a whole number from 1 to {max_page}; got {raw[:30]!r}")
    return int(raw)


def paginate(items, *, per_page: int, raw_page: str | None) -> Page:
    """One page of items for an HTML list; a page past the end is the last one."""
    paginator = Paginator(items, per_page)
    return paginator.page(min(page_number(raw_page), paginator.num_pages))


class CheckedCursorPagination(pagination.CursorPagination):
    """DRF's cursor pagination, whose cursor is checked against the ordering field before any query.

    DRF decodes the cursor but passes its position to the database unread: base64 of `p=abc` over an
    integer ordering was a 500. A cursor that does not decode, or whose position is not a value of the
    ordering field, is a 400 "invalid cursor".
    """

    invalid_cursor_message = "invalid cursor: follow the next or previous link of a page, or leave cursor out"

    def paginate_queryset(self, queryset, request, view=None):
        self._ordering_model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise ValidationError({"cursor": self.invalid_cursor_message}) from None
        if cursor is not None and cursor.position is not None and not self._position_is_valid(cursor.position):
            raise ValidationError({"cursor": self.invalid_cursor_message})
        return cursor

    def _position_is_valid(self, position: str) -> bool:
        if CONTROL_CHARACTERS.search(position):
            return False
        ordering = self.ordering if isinstance(self.ordering, str) else self.ordering[0]
        try:
            field = self._ordering_model._meta.get_field(ordering.lstrip("-"))
        except (AttributeError, FieldDoesNotExist):
            return True
        try:
            value = field.to_python(position)
        except (DjangoValidationError, ValueError, TypeError, OverflowError):
            return False
        if isinstance(field, models.IntegerField):
            return -BIGINT_MAX <= value <= BIGINT_MAX
        return True


class CheckedLimitOffsetPagination(pagination.LimitOffsetPagination):
    """DRF's limit/offset pagination with the offset bounded (a huge one overflowed SQL bigint: 500)."""

    def get_offset(self, request):
        offset = super().get_offset(request)
        if offset > MAX_OFFSET:
            raise ValidationError({self.offset_query_param: f"must be at most {MAX_OFFSET}"})
        return offset


class NewestFirst(CheckedCursorPagination):
    """Cursor pages, newest first: rows arriving between pages (events, leads, deliveries) are neither skipped nor
    repeated, as an offset would."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200
