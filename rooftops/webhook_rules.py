"""Outbound webhooks, the pure part: signing, the ordering rule, and which URLs may receive. No Django, no I/O.

A receiver verifies a delivery by recomputing HMAC-SHA256 over f"{t}.{body}" with its secret and comparing with
`v1` of the X-CRM-Signature header (README "Webhooks"); `t` bounds replays.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

SIGNATURE_HEADER = "X-CRM-Signature"
EVENT_HEADER = "X-CRM-Event"
DELIVERY_HEADER = "X-CRM-Delivery"
SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE_SECONDS = 300
MAX_URL_LENGTH = 1000


def secret_new() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of f"{timestamp}.{body}" under the endpoint's secret."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def signature_verify(secret: str, header: str, body: bytes, *, now: int,
                     tolerance: int = DEFAULT_TOLERANCE_SECONDS) -> bool:
    """What a receiver does: the header's v1 matches and its t is within `tolerance` seconds of now."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(parts.get("v1", ""), signature(secret, timestamp, body))


@dataclass(frozen=True)
class QueuedDelivery:
    id: int
    endpoint_id: int
    object_key: str
    unfinished: bool  # pending or sending (not delivered, not given up)


def waits_for_earlier(candidate: QueuedDelivery, others: Iterable[QueuedDelivery]) -> bool:
    """Order per object: a delivery waits while an earlier one for the same endpoint and object is unfinished.

    One given up (failed) no longer holds the later ones back: the receiver gets the newest state instead of
    nothing at all.
    """
    return any(o.unfinished and o.id < candidate.id and o.endpoint_id == candidate.endpoint_id
               and o.object_key == candidate.object_key for o in others)


def url_refusal(url: str, *, addresses: Sequence[str] | None, allow_loopback: bool,
                is_public, is_loopback) -> str | None:
    """Why this URL may not receive webhooks, in words for the manager; None when it may.

    `addresses` is what the host resolves to (None: not found). HTTPS only; plain HTTP only to a loopback host
    when the operator allows loopback (tests, development). Never a private or internal address.
    """
    if len(url) > MAX_URL_LENGTH:
        return f"The URL is longer than {MAX_URL_LENGTH:,} characters."
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        return "The URL is not a web address."
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "The URL must start with https:// and name a host."
    if parts.username or parts.password:
        return "Leave the user name and password out of the URL: deliveries are signed with the secret instead."
    if not addresses:
        if parts.scheme != "https":
            return "The URL must start with https:// (deliveries carry customer events)."
        return f"The host {parts.hostname} was not found."
    loopback = all(is_loopback(a) for a in addresses)
    if allow_loopback and loopback:
        return None
    if parts.scheme != "https":
        return "The URL must start with https:// (deliveries carry customer events)."
    if not all(is_public(a) for a in addresses):
        return f"The host {parts.hostname} is a private or local address; webhooks go to the internet."
    return None


# What an erasure blanks in a delivery's payload (customers.erasure): names and sentences about the person;
# ids, statuses and times stay, as they do on the erased rows themselves.
ERASED_KEYS = frozenset({"name", "reasons", "reason", "description"})


def scrubbed_payload(value):
    """Pure: the payload with every ERASED_KEYS value emptied, at any depth."""
    if isinstance(value, dict):
        return {k: (type(v)() if k in ERASED_KEYS and isinstance(v, (str, list)) else scrubbed_payload(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [scrubbed_payload(v) for v in value]
    return value
