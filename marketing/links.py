"""The links a marketing message carries, signed so they work without login and cannot be forged or walked.

Every link names a campaign recipient (`CampaignRecipient.id`), never a customer id in the clear: a tracked link
(`/m/c/<token>/`, counts the click then redirects to the URL it was signed with), the open pixel (`/m/o/<token>/`),
one-click unsubscribe (`/m/u/<token>/`, GET shows a button, POST unsubscribes: RFC 8058) and the preferences page
(`/m/p/<token>/`). Tokens are `django.core.signing` payloads under their own salt, so a token of one kind is not
accepted as another, and they do not expire: an unsubscribe link in a two-year-old email must still work.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "marketing.links"
CLICK, OPEN, UNSUBSCRIBE, PREFERENCES = "c", "o", "u", "p"
_ROUTES = {CLICK: "marketing-click", OPEN: "marketing-open", UNSUBSCRIBE: "marketing-unsubscribe",
           PREFERENCES: "marketing-preferences"}


def token(kind: str, recipient_id: int, url: str = "") -> str:
    payload = {"r": recipient_id}
    if url:
        payload["u"] = url
    return signing.dumps(payload, salt=f"{SALT}.{kind}", compress=True)


def read(kind: str, value: str) -> tuple[int, str] | None:
    """(recipient id, url) from a token of this kind; None when it is not one of ours."""
    try:
        payload = signing.loads(value, salt=f"{SALT}.{kind}")
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("r"), int):
        return None
    url = payload.get("u", "")
    return payload["r"], url if isinstance(url, str) else ""


def absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def link(kind: str, recipient_id: int, url: str = "") -> str:
    """The absolute link of a kind for a recipient (and, for a tracked link, the URL it leads to)."""
    return absolute(reverse(_ROUTES[kind], kwargs={"token": token(kind, recipient_id, url)}))


def tracked_url(recipient_id: int, url: str) -> str:
    return link(CLICK, recipient_id, url)


def unsubscribe_url(recipient_id: int) -> str:
    return link(UNSUBSCRIBE, recipient_id)


def preferences_url(recipient_id: int) -> str:
    return link(PREFERENCES, recipient_id)


def open_pixel_url(recipient_id: int) -> str:
    return link(OPEN, recipient_id)
