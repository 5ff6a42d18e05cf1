"""The preferences page's four switches (email or text × marketing or service reminders) and what a submitted
form may change. Pure.

Email marketing needs no prior consent (CAN-SPAM is opt-out), so an email switch is on until refused. A marketing
text needs written consent (TCPA), so a text switch is on only after a grant, and the page may turn one on only
when the consent words were on the page the customer submitted: the form carries a digest of the words it showed,
and a form whose words differ from today's (an old page, a forged post) can turn text switches off, never on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

EMAIL, SMS = "email", "sms"
MARKETING, SERVICE_REMINDERS = "marketing", "service_reminders"
SWITCHES = ((EMAIL, MARKETING), (EMAIL, SERVICE_REMINDERS), (SMS, MARKETING), (SMS, SERVICE_REMINDERS))
LABELS = {
    (EMAIL, MARKETING): "Offers and news by email",
    (EMAIL, SERVICE_REMINDERS): "Service reminders by email",
    (SMS, MARKETING): "Offers and news by text",
    (SMS, SERVICE_REMINDERS): "Service reminders by text",
}


def field_name(channel: str, purpose: str) -> str:
    return f"{channel}_{purpose}"


def is_on(channel: str, newest: bool | None) -> bool:
    """The switch's state from the newest consent record for the address (None: never asked)."""
    return newest is not False if channel == EMAIL else newest is True


def tcpa_words(*, group_name: str, number: str) -> str:
    """What a customer agrees to when turning a text switch on, shown beside the switches and stored with the grant."""
    return (f"By turning on texts, you agree to receive recurring automated marketing and service-reminder text "
            f"messages from {group_name} at {number}. Consent is not a condition of any purchase. Message "
            f"frequency varies. Message and data rates may apply. Reply STOP to opt out, HELP for help.")


def words_digest(words: str) -> str:
    return hashlib.sha256(words.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Change:
    channel: str
    purpose: str
    granted: bool


def changes(*, current: dict[tuple[str, str], bool], wanted: dict[tuple[str, str], bool],
            tcpa_words_shown: bool) -> tuple[list[Change], list[tuple[str, str]]]:
    """The consent records a submitted form makes, and the switches it asked to turn on but may not.

    Only switches present in both `current` (the address exists) and `wanted` are considered.
    """
    made: list[Change] = []
    refused: list[tuple[str, str]] = []
    for key in SWITCHES:
        if key not in current or key not in wanted or current[key] == wanted[key]:
            continue
        channel, purpose = key
        if wanted[key] and channel == SMS and not tcpa_words_shown:
            refused.append(key)
            continue
        made.append(Change(channel, purpose, wanted[key]))
    return made, refused
