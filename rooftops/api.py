from django.http import Http404
from rest_framework.views import exception_handler as drf_exception_handler

from rooftops.tenancy import UnscopedQueryError


def exception_handler(exc, context):
    """DRF's handler; a missed tenant scope is a bug, but it must fail closed as 404, never leak."""
    if isinstance(exc, UnscopedQueryError):
        exc = Http404()
    return drf_exception_handler(exc, context)
