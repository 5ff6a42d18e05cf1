"""Sending texts through a pluggable backend, and checking that an inbound webhook really came from the provider.

`SMS_BACKEND` names a class: `customers.sms.ConsoleSmsBackend` (prints; the default for `make run`),
`customers.sms.LogOnlySmsBackend` (delivers nothing; the default with DEBUG off) or
`customers.sms.TwilioSmsBackend` (Twilio's REST API, or anything that speaks it: `TWILIO_API_BASE` points
tests at a fake server on loopback). A backend either returns the provider's message id or raises
`SmsTemporaryError` (try again later: timeouts, 5xx, 429) or `SmsPermanentError` (will never work: bad number,
blocked recipient). Every send carries the message's idempotency key so a provider that honours it can
recognise a resend after a worker died between "provider accepted" and "we wrote it down".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SmsError(Exception):
    """A text could not be handed to the provider."""


class SmsTemporaryError(SmsError):
    """Worth retrying later."""


class SmsPermanentError(SmsError):
    """Retrying cannot help."""


@dataclass(frozen=True)
class OutgoingSms:
    to: str  # E.164
    body: str
    idempotency_key: str


class SmsBackend:
    """Interface: hand one text to the provider and return its id."""

    def send(self, sms: OutgoingSms) -> str:  # pragma: no cover - interface
        raise NotImplementedError


class ConsoleSmsBackend(SmsBackend):
    """Prints the text instead of sending it, body and all (development: `make run`). Never the log: a log
    line must not carry a message body, and a deployment with DEBUG off defaults to `LogOnlySmsBackend`."""

    def send(self, sms: OutgoingSms) -> str:
        print(f"--- SMS to {sms.to} [{sms.idempotency_key}]\n{sms.body}\n---", flush=True)
        return "console-" + hashlib.sha256(sms.idempotency_key.encode()).hexdigest()[:24]


class LogOnlySmsBackend(SmsBackend):
    """A deployment with no text provider yet: the text is not delivered, and the log says so by its key only
    (no number, no body)."""

    def send(self, sms: OutgoingSms) -> str:
        logger.warning("SMS %s not delivered: no text provider is configured (SMS_BACKEND)", sms.idempotency_key)
        return "undelivered-" + hashlib.sha256(sms.idempotency_key.encode()).hexdigest()[:24]


class TwilioSmsBackend(SmsBackend):
    """Twilio's Messages API (POST /2010-04-01/Accounts/{sid}/Messages.json), or a compatible server."""

    def __init__(self) -> None:
        self.account_sid = settings.TWILIO_ACCOUNT_SID
        self.auth_token = settings.TWILIO_AUTH_TOKEN
        self.from_number = settings.TWILIO_FROM_NUMBER
        self.api_base = settings.TWILIO_API_BASE.rstrip("/")
        self.timeout = settings.SMS_HTTP_TIMEOUT_SECONDS
        if not (self.account_sid and self.auth_token and self.from_number):
            raise SmsTemporaryError("Twilio is not configured: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER")

    def send(self, sms: OutgoingSms) -> str:
        import requests

        url = f"{self.api_base}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        try:
            response = requests.post(
                url,
                data={"To": sms.to, "From": self.from_number, "Body": sms.body},
                auth=(self.account_sid, self.auth_token),
                # Twilio-compatible gateways dedupe on one of these; Twilio itself ignores unknown headers.
                headers={"Idempotency-Key": sms.idempotency_key, "I-Twilio-Idempotency-Token": sms.idempotency_key},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            # Includes "sent but the answer never came": the resend carries the same idempotency key.
            raise SmsTemporaryError(f"Could not reach the SMS provider: {exc.__class__.__name__}") from exc
        if response.status_code in (200, 201):
            try:
                return str(response.json()["sid"])
            except (ValueError, KeyError) as exc:
                raise SmsTemporaryError("The SMS provider answered without a message id") from exc
        detail = _error_detail(response)
        if response.status_code == 429 or response.status_code >= 500:
            raise SmsTemporaryError(f"SMS provider busy ({response.status_code}): {detail}")
        raise SmsPermanentError(f"SMS provider refused the text ({response.status_code}): {detail}")


def _error_detail(response) -> str:
    try:
        payload = response.json()
        return f"{payload.get('code', '')} {payload.get('message', '')}".strip()[:300]
    except ValueError:
        return response.text[:300]


def sms_backend() -> SmsBackend:
    """The configured backend."""
    return import_string(settings.SMS_BACKEND)()


# --------------------------------------------------------------------------- inbound webhook signatures


def twilio_signature(url: str, params: Iterable[tuple[str, str]], auth_token: str) -> str:
    """Twilio's X-Twilio-Signature: base64 HMAC-SHA1 over the URL followed by each sorted name and value."""
    payload = url + "".join(f"{name}{value}" for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def twilio_signature_valid(*, urls: Iterable[str], params: Iterable[tuple[str, str]], signature: str,
                           auth_token: str) -> bool:
    """Say whether the signature matches any of the URLs the provider may have called (behind a proxy or not)."""
    if not auth_token or not signature:
        return False
    pairs = list(params)
    return any(hmac.compare_digest(twilio_signature(url, pairs, auth_token), signature) for url in urls)
