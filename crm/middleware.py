"""Project-wide request handling: a database that cannot be reached is 503 with Retry-After, never a 500."""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.utils.deprecation import MiddlewareMixin

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
JSON_PREFIXES = ("/api/", "/v1/", "/intake/", "/webhooks/")


def database_unavailable_response(path: str) -> HttpResponse:
    """What every door answers while PostgreSQL is down: retry soon; nothing was stored."""
    if path.startswith(JSON_PREFIXES):
        response: HttpResponse = JsonResponse(
            {"success": False, "code": "unavailable", "detail": "The database is unavailable; retry shortly."},
            status=503)
    else:
        response = HttpResponse(
            "<!doctype html><title>Unavailable</title><h1>The CRM is briefly unavailable</h1>"
            "<p>Its database did not answer. Try again in a few seconds.</p>", status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware(MiddlewareMixin):
    """OperationalError / InterfaceError (refused, reset, pool timeout) → 503 + Retry-After, one log line.

    Any other database error is a bug and still surfaces as a 500 with its traceback.
    """

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.warning("database unavailable during %s %s: %s", request.method, request.path,
                       f"{type(exception).__name__}: {exception}".splitlines()[0][:200])
        return database_unavailable_response(request.path)
