"""What a marketing email or text carries when it leaves: the footer the law asks for, the unsubscribe headers,
an HTML part with tracked links and the open pixel, and the STOP line of a text.

Composed at delivery time (customers.messaging `_deliver`), not when the campaign queues the message, so the
links always name the recipient row that exists and the footer shows the store's address as it is today.
`compose_email` and `compose_text` are pure (plain values in, `Composed` out); `compose` loads those values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from django.utils.html import escape

# A URL in a message body: stops at whitespace and at characters that cannot end one in prose.
_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""
_STOP_LINE = re.compile(r"\breply\s+stop\b", re.IGNORECASE)


@dataclass(frozen=True)
class Composed:
    text: str
    html: str = ""  # email only
    headers: dict[str, str] = field(default_factory=dict)  # email only


@dataclass(frozen=True)
class Sender:
    """Who the message is from, as the footer names them (CAN-SPAM: a valid postal address)."""

    store_name: str
    postal_address: str
    group_name: str


def split_urls(text: str) -> list[tuple[str, bool]]:
    """The text as (piece, is_url) in order; trailing punctuation stays prose ("see https://x.test/a.")."""
    pieces: list[tuple[str, bool]] = []
    position = 0
    for match in _URL.finditer(text):
        url = match.group(0)
        stripped = url.rstrip(_TRAILING)
        # A closing parenthesis that belongs to the URL ("…/Model_(car)") stays.
        while stripped.count("(") > stripped.count(")") and len(stripped) < len(url) and url[len(stripped)] == ")":
            stripped += ")"
        if match.start() > position:
            pieces.append((text[position:match.start()], False))
        pieces.append((stripped, True))
        position = match.start() + len(stripped)
    if position < len(text):
        pieces.append((text[position:], False))
    return pieces


def _html_paragraphs(text: str, track: Callable[[str], str]) -> str:
    """Escaped HTML of plain text: blank lines make paragraphs, single newlines breaks, URLs tracked links."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.strip()):
        html = "".join(
            f'<a href="{escape(track(piece))}">{escape(piece)}</a>' if is_url else escape(piece)
            for piece, is_url in split_urls(block)
        )
        paragraphs.append("<p>" + html.replace("\n", "<br>\n") + "</p>")
    return "\n".join(paragraphs)


def compose_email(*, body: str, sender: Sender, unsubscribe_url: str, preferences_url: str, open_pixel_url: str,
                  track: Callable[[str], str]) -> Composed:
    """The text part (the body as written, links untouched, plus the footer), the HTML part and the headers."""
    body = body.replace("\r\n", "\n").strip()
    address = sender.postal_address.strip()
    footer_lines = [
        "--",
        f"{sender.store_name}" + (f", {address}" if address else ""),
        f"You received this marketing email from {sender.group_name}.",
        f"Unsubscribe: {unsubscribe_url}",
        f"Email and text preferences: {preferences_url}",
    ]
    text = body + "\n\n" + "\n".join(footer_lines) + "\n"
    footer_html = (
        '<hr>\n<p style="color:#555;font-size:12px;line-height:1.5">'
        f"{escape(sender.store_name)}" + (f", {escape(address)}" if address else "") + "<br>\n"
        f"You received this marketing email from {escape(sender.group_name)}.<br>\n"
        f'<a href="{escape(unsubscribe_url)}">Unsubscribe</a> · '
        f'<a href="{escape(preferences_url)}">Email and text preferences</a></p>'
    )
    # The pixel counts an open only where the mail client loads images: opens are approximate.
    pixel = f'<img src="{escape(open_pixel_url)}" width="1" height="1" alt="" style="display:block;border:0">'
    html = (
        '<!doctype html>\n<html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>\n'
        '<body style="font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;color:#222">\n'
        f"{_html_paragraphs(body, track)}\n{footer_html}\n{pixel}\n</body></html>\n"
    )
    headers = {
        # No mailto: alternative: nothing here reads an unsubscribe mailbox, and an address nobody reads would
        # be an unsubscribe that silently fails. RFC 8058 needs only the HTTPS link and the Post header.
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    return Composed(text=text, html=html, headers=headers)


def compose_text(*, body: str, sender: Sender, track: Callable[[str], str]) -> Composed:
    """A marketing text: every URL a tracked link, and the store's name with the STOP line, once."""
    body = "".join(track(piece) if is_url else piece for piece, is_url in split_urls(body.strip()))
    if _STOP_LINE.search(body):
        # The campaign's own words already say how to stop; do not say it twice.
        if sender.store_name.lower() not in body.lower():
            body = f"{body}\n{sender.store_name}"
        return Composed(text=body)
    return Composed(text=f"{body}\n{sender.store_name}: Reply STOP to opt out")


def compose(message) -> Composed:
    """Load what a marketing message needs and compose it. Raises ValueError when the message has no campaign
    recipient: a marketing email without its own unsubscribe link must not go out."""
    from marketing import links
    from marketing.models import CampaignRecipient

    recipient = CampaignRecipient.objects.filter(message_id=message.pk).select_related("rooftop__dealer_group").first()
    if recipient is None:
        raise ValueError("A marketing message needs its campaign recipient for the unsubscribe link")
    rooftop = recipient.rooftop
    sender = Sender(store_name=rooftop.name, postal_address=rooftop.address, group_name=rooftop.dealer_group.name)

    def track(url: str) -> str:
        return links.tracked_url(recipient.pk, url)

    if message.channel == "sms":
        return compose_text(body=message.body, sender=sender, track=track)
    return compose_email(
        body=message.body, sender=sender, unsubscribe_url=links.unsubscribe_url(recipient.pk),
        preferences_url=links.preferences_url(recipient.pk), open_pixel_url=links.open_pixel_url(recipient.pk),
        track=track,
    )
