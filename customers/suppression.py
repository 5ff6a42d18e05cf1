"""The do-not-contact list: addresses kept only as keyed hashes, checked by the outbox before anything is sent.

A digest is HMAC-SHA256(group key, normalised address), with the same normalisers the customer matcher uses
(`customers.contact`), so "Jo@Example.com " and "(617) 555-0142" match what was erased. The key is per dealer
group and lives in the database (`SuppressionKey`): the list cannot be read back into addresses, and a digest
from one group says nothing in another. Someone holding both the key and the table can still test a guessed
address (phone numbers are few enough to enumerate); the point is that the list is not a list of addresses.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from django.db import IntegrityError, transaction

from customers.contact import InvalidContact, normalize_email, normalize_phone
from customers.models import SuppressionEntry, SuppressionKey

Channel = SuppressionEntry.Channel


# A North American number already in E.164 form: the normaliser returns it unchanged when it is valid, and the
# fallback below returns it unchanged when it is not, so its digest needs no parsing (phonenumbers costs about
# 0.3 ms a number: a campaign's 100,000 texts were spending half a minute here).
_NANP_E164 = re.compile(r"\+1\d{10}")


def normalised_address(channel: str, address: str) -> str:
    """The form an address is hashed in. Pure. An address the normalisers refuse is hashed as typed (trimmed,
    lower-cased): it was stored that way, and it is what a later message to it would carry."""
    if channel != Channel.EMAIL and isinstance(address, str) and _NANP_E164.fullmatch(address):
        return address
    try:
        return normalize_email(address) if channel == Channel.EMAIL else normalize_phone(address)
    except InvalidContact:
        return (address or "").strip().lower()


def address_digest(*, key: str, channel: str, address: str) -> str:
    """Pure: the hex digest stored for an address; the channel is part of the message so an email and a phone
    never collide."""
    message = f"{channel}:{normalised_address(channel, address)}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def channel_of(message_channel: str) -> str:
    """An outbox channel (email, sms) as a suppression channel (email, phone)."""
    return Channel.EMAIL if message_channel == "email" else Channel.PHONE


def suppression_key(*, dealer_group_id: int) -> str:
    """The group's key, made on first use (two first uses at once agree on one)."""
    row = SuppressionKey.objects.filter(dealer_group_id=dealer_group_id).first()
    if row is not None:
        return row.key
    try:
        with transaction.atomic():
            return SuppressionKey.objects.create(dealer_group_id=dealer_group_id, key=secrets.token_hex(32)).key
    except IntegrityError:
        return SuppressionKey.objects.get(dealer_group_id=dealer_group_id).key


def address_suppress(*, dealer_group_id: int, channel: str, address: str, reason: str) -> bool:
    """Add an address to the group's list; True when it was not there yet."""
    digest = address_digest(key=suppression_key(dealer_group_id=dealer_group_id), channel=channel, address=address)
    _, created = SuppressionEntry.objects.get_or_create(
        dealer_group_id=dealer_group_id, channel=channel, digest=digest, defaults={"reason": reason})
    return created


def address_is_suppressed(*, dealer_group_id: int, channel: str, address: str) -> bool:
    if not address:
        return False
    # A group that never suppressed anyone has no key yet: nothing to find, and a read makes none.
    key = SuppressionKey.objects.filter(dealer_group_id=dealer_group_id).values_list("key", flat=True).first()
    if key is None:
        return False
    return SuppressionEntry.objects.filter(
        dealer_group_id=dealer_group_id, channel=channel,
        digest=address_digest(key=key, channel=channel, address=address),
    ).exists()
