"""The customer's own links from a marketing message: no login, a signed token (marketing.links). Built in issue 14's
email work; until then each answers 404."""

from django.http import Http404


def click(request, token: str):
    raise Http404


def open_pixel(request, token: str):
    raise Http404


def unsubscribe(request, token: str):
    raise Http404


def preferences(request, token: str):
    raise Http404
