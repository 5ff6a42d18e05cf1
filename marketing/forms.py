"""Reading the campaign builder's and the rules page's forms.

The builder's checks live in `marketing.services.campaign_check` (one place says what a campaign needs, in the
manager's words); this module only turns posted text into its input, so nothing here can refuse a campaign with a
different message than the service would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django import forms
from django.http import QueryDict

from crm.input_guard import CONTROL_CHARACTERS
from marketing.services import RULE_LIMITS, CampaignInput

GROUP = "group"


def _text(post: QueryDict, name: str, limit: int = 25_000) -> str:
    # Line breaks are kept in bodies; other control characters never reach a customer's inbox.
    value = post.get(name, "") or ""
    return CONTROL_CHARACTERS.sub("", value.replace("\r\n", "\n"))[:limit]


@dataclass(frozen=True)
class Builder:
    data: CampaignInput
    group: bool  # the whole dealer group rather than the store


def builder_read(post: QueryDict) -> Builder:
    audience = {
        "triggers": [t[:60] for t in post.getlist("triggers")[:20]],
        "viewed_models": _text(post, "viewed_models", 2_000),
        "viewed_days": _text(post, "viewed_days", 10) or 30,
        "price_drop_subscribers": post.get("price_drop_subscribers") in ("on", "1", "true"),
        "match": _text(post, "match", 10) or "any",
    }
    data = CampaignInput(
        name=_text(post, "name", 1_000), audience=audience, channels=_text(post, "channels", 10),
        email_subject=_text(post, "email_subject", 1_000).replace("\n", " "), email_body=_text(post, "email_body"),
        sms_body=_text(post, "sms_body", 5_000),
    )
    return Builder(data=data, group=post.get("target") == GROUP)


class ScheduleError(ValueError):
    pass


def send_at_read(raw: str, time_zone: str) -> datetime:
    """A datetime-local value ("2026-12-05T09:30") read on the store's clock."""
    raw = (raw or "").strip()
    if not raw:
        raise ScheduleError("Choose the date and time to send.")
    try:
        local = datetime.fromisoformat(raw[:32])
    except ValueError:
        raise ScheduleError("The time to send could not be read; pick it from the calendar.") from None
    if local.tzinfo is not None:
        return local
    return local.replace(tzinfo=ZoneInfo(time_zone))


class RulesForm(forms.Form):
    weekly_cap = forms.IntegerField(
        label="At most this many marketing messages to one customer in any 7 days (all campaigns and stores)",
        min_value=RULE_LIMITS["weekly_cap"][0], max_value=RULE_LIMITS["weekly_cap"][1])
    purchase_quiet_days = forms.IntegerField(
        label="No purchase offers for this many days after a customer buys a vehicle",
        min_value=RULE_LIMITS["purchase_quiet_days"][0], max_value=RULE_LIMITS["purchase_quiet_days"][1])
    price_drop_viewed_days = forms.IntegerField(
        label="A price drop goes to shoppers who viewed the vehicle in the last this many days (and its subscribers)",
        min_value=RULE_LIMITS["price_drop_viewed_days"][0], max_value=RULE_LIMITS["price_drop_viewed_days"][1])
