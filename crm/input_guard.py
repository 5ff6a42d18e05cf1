"""Hostile input answered 400 with a reason, in one place, before any view sees it.

PostgreSQL cannot hold a NUL character in text, so a NUL in a filter or search reached the database as a
500. This middleware refuses a request whose path or query string carries NUL or another control character
(tab, newline and carriage return are allowed), for every page, API and public endpoint alike. Views and
helpers that find hostile input later raise `InputRefused`, answered the same way. JSON bodies are checked
by the one JSON reader (crm.json_input).
"""

from __future__ import annotations

import re

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape

# C0 controls except tab, LF and CR, plus DEL.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Where a client reads JSON: the staff API, the collector, ADF intake and the SMS webhook.
JSON_PREFIXES = ("/api/", "/v1/", "/intake/", "/webhooks/")


class InputRefused(Exception):
    """The request is refused with 400; `reason` is what the sender is told."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def control_character_reason(text: str, where: str) -> str | None:
    match = CONTROL_CHARACTERS.search(text)
    if match is None:
        return None
    name = "a NUL character" if match.group() == "\x00" else f"the control character U+{ord(match.group()):04X}"
    return f"{where} contains {name}, which is not accepted"


def query_reason(request: HttpRequest) -> str | None:
    """Why the path or a query parameter (name or value) is refused, or None."""
    reason = control_character_reason(request.path, "the address")
    if reason:
        return reason
    for name, values in request.GET.lists():
        reason = control_character_reason(name, "a query parameter name")
        for value in values:
            reason = reason or control_character_reason(value, f"the query parameter {name[:40]!r}")
        if reason:
            return reason
    return None


def refusal(request: HttpRequest, reason: str) -> HttpResponse:
    if request.path.startswith(JSON_PREFIXES) or "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"detail": reason, "code": "invalid_input"}, status=400)
    body = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bad request</title></head>'
            f"<body><h1>Bad request</h1><p>{escape(reason)}</p></body></html>")
    return HttpResponse(body, status=400, content_type="text/html; charset=utf-8")


class InputGuardMiddleware:
    # Both sync and async: the collector's async view must not be pushed through a thread by this check.
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self._acall(request)
        reason = query_reason(request)
        if reason:
            return refusal(request, reason)
        return self.get_response(request)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        reason = query_reason(request)
        if reason:
            return refusal(request, reason)
        return await self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, InputRefused):
            return refusal(request, exception.reason)
        return None
