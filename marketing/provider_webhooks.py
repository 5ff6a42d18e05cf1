"""Routes of the email services' delivery webhooks (django-anymail's tracking views), mounted at /webhooks/email/.

anymail's own URL list, kept to its tracking views and guarded twice: without ANYMAIL_WEBHOOK_SECRET they answer
403 (anymail would accept anyone with a warning, and a forged bounce suppresses a customer's address), and a body
its parser cannot read is a 400 rather than a 500 (anymail lets the parser's ValueError or KeyError escape). What
the events mean for our messages is marketing.receivers.
"""

from __future__ import annotations

import logging
from functools import wraps

from anymail.urls import urlpatterns as anymail_urlpatterns
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.urls import URLPattern
from django.views.decorators.csrf import csrf_exempt

logger = logging.getLogger(__name__)

app_name = "anymail"


def _guarded(view):
    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not (getattr(settings, "ANYMAIL", None) or {}).get("WEBHOOK_SECRET"):
            return HttpResponse("Email delivery webhooks are off: ANYMAIL_WEBHOOK_SECRET is not set.\n", status=403,
                                content_type="text/plain")
        try:
            return view(request, *args, **kwargs)
        except (ValueError, KeyError, TypeError, AttributeError, ImproperlyConfigured) as exc:
            # A payload in a shape the service's parser does not know (or sent to the wrong service's URL).
            logger.info("email webhook %s: unreadable payload (%s)", request.path, exc.__class__.__name__)
            return HttpResponse("The payload could not be read as this service's tracking events.\n", status=400,
                                content_type="text/plain")

    return csrf_exempt(guarded)


urlpatterns = [
    URLPattern(pattern.pattern, _guarded(pattern.callback), pattern.default_args, pattern.name)
    for pattern in anymail_urlpatterns
    if isinstance(pattern, URLPattern) and (pattern.name or "").endswith("_tracking_webhook")
]
