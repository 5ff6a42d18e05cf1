"""The customer's own links from a marketing message: no login, a signed token (marketing.links) names the campaign
recipient. A token that is not ours, or names a recipient that no longer exists, is the same small 404 page.

Only the unsubscribe link is exempt from CSRF: RFC 8058's one-click POST comes from the mail provider, with no
cookie and no token, and the signed token in the URL is what makes the request genuine. The preferences form
keeps Django's CSRF check.
"""

from __future__ import annotations

import base64
import logging
from urllib.parse import urlsplit

from django.db import DatabaseError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from customers.sensitive import mask_last4
from marketing import consent, engagement, links
from marketing import preferences as switches_rules  # the view below is `preferences`
from marketing.models import CampaignRecipient

logger = logging.getLogger(__name__)

# The smallest transparent GIF (1x1).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
ANONYMOUS_ID_MAX = 100


def _not_found(request) -> HttpResponse:
    return render(request, "marketing/public/not_found.html", status=404)


def _recipient(kind: str, token: str) -> CampaignRecipient | None:
    read = links.read(kind, token)
    if read is None:
        return None
    return (CampaignRecipient.objects.select_related("campaign__dealer_group", "rooftop", "message")
            .filter(pk=read[0]).first())


def _store(recipient: CampaignRecipient) -> dict:
    return {"rooftop": recipient.rooftop, "group": recipient.campaign.dealer_group}


@require_http_methods(["GET", "HEAD"])
def click(request, token: str):
    """Count the click, then send the browser to the URL the token was signed with, and only there."""
    read = links.read(links.CLICK, token)
    url = read[1] if read else ""
    if not url or urlsplit(url).scheme not in ("http", "https"):
        return _not_found(request)
    try:
        engagement.recipient_clicked(recipient_id=read[0], url=url, at=timezone.now(),
                                     anonymous_id=request.COOKIES.get("crm_aid", "")[:ANONYMOUS_ID_MAX])
    except DatabaseError:
        # The customer still gets where the link promised; only the count is lost.
        logger.warning("a tracked click could not be recorded", exc_info=True)
    return HttpResponseRedirect(url)


@require_http_methods(["GET", "HEAD"])
def open_pixel(request, token: str):
    read = links.read(links.OPEN, token)
    if read is None:
        return _not_found(request)
    try:
        engagement.recipient_stamp(recipient_id=read[0], field="opened_at", at=timezone.now())
    except DatabaseError:
        logger.warning("an open could not be recorded", exc_info=True)
    response = HttpResponse(PIXEL, content_type="image/gif")
    # Every load should reach us (a cached pixel is an open we never see), and nothing of it should be kept.
    response["Cache-Control"] = "no-cache, no-store, must-revalidate, max-age=0"
    response["Pragma"] = "no-cache"
    return response


@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token: str):
    """GET asks (a mail scanner that follows links must not unsubscribe anyone); POST, the page's button or the
    mail provider's RFC 8058 one-click body `List-Unsubscribe=One-Click`, unsubscribes at once."""
    recipient = _recipient(links.UNSUBSCRIBE, token)
    if recipient is None:
        return _not_found(request)
    channel = recipient.channel
    address = consent.recipient_address(recipient, channel)
    shown = _shown_address(channel, address)
    context = {**_store(recipient), "address": shown, "channel_words": consent.CHANNEL_WORDS[channel],
               "preferences_url": links.preferences_url(recipient.pk)}
    if request.method != "POST":
        return render(request, "marketing/public/unsubscribe.html", context)
    group = recipient.campaign.dealer_group
    one_click = request.POST.get("List-Unsubscribe") == "One-Click"
    consent.recipient_unsubscribe(
        recipient=recipient, now=timezone.now(),
        source="one-click unsubscribe (RFC 8058)" if one_click else "unsubscribe link",
        text_shown="" if one_click else f"Unsubscribe {shown} from {group.name} marketing "
                                        f"{consent.CHANNEL_WORDS[channel]}?",
    )
    return render(request, "marketing/public/unsubscribed.html", context)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def preferences(request, token: str):
    recipient = _recipient(links.PREFERENCES, token)
    if recipient is None:
        return _not_found(request)
    group = recipient.campaign.dealer_group
    addresses = {channel: consent.recipient_address(recipient, channel) for channel in ("email", "sms")}
    words = _switch_words(group.name, addresses)
    saved, refused = False, []
    if request.method == "POST":
        current = consent.preferences_current(dealer_group_id=group.pk, addresses=addresses)
        wanted = {key: request.POST.get(switches_rules.field_name(*key)) == "on" for key in current}
        shown = request.POST.get("tcpa") == switches_rules.words_digest(words["tcpa"]) if addresses["sms"] else False
        made, refused = switches_rules.changes(current=current, wanted=wanted, tcpa_words_shown=shown)
        consent.preferences_save(dealer_group_id=group.pk, addresses=addresses, changes=made, now=timezone.now(),
                                 words=words)
        saved = True
    current = consent.preferences_current(dealer_group_id=group.pk, addresses=addresses)
    switches = [
        {"name": switches_rules.field_name(*key), "label": switches_rules.LABELS[key], "on": on, "channel": key[0],
         "refused": key in refused}
        for key, on in current.items()
    ]
    return render(request, "marketing/public/preferences.html", {
        **_store(recipient), "switches": switches, "saved": saved,
        "email": addresses["email"], "number": _shown_address("sms", addresses["sms"]),
        "tcpa_words": words["tcpa"] if addresses["sms"] else "",
        "tcpa_digest": switches_rules.words_digest(words["tcpa"]) if addresses["sms"] else "",
    })


def _shown_address(channel: str, address: str) -> str:
    """An email address as it is (the customer knows it); a number by its last four only, since the page opens
    for whoever holds the link (a forwarded email)."""
    return address if channel == "email" else mask_last4(address)


def _switch_words(group_name: str, addresses: dict[str, str]) -> dict:
    """The words beside each switch, stored as text_shown with what the customer chose."""
    number = _shown_address("sms", addresses["sms"]) if addresses["sms"] else ""
    tcpa = switches_rules.tcpa_words(group_name=group_name, number=number)
    words: dict = {"tcpa": tcpa}
    for key in switches_rules.SWITCHES:
        label = f'Preferences page: "{switches_rules.LABELS[key]}" from {group_name}'
        words[key] = f"{label}. {tcpa}" if key[0] == "sms" else label
    return words

