"""Writes a manager makes to campaigns and the dealer group's marketing rules.

A campaign is edited while it is a draft or scheduled; starting it (now, or by the beat at `send_at`) hands it to
the worker (`marketing.tasks.campaign_send`) after the transaction commits, so a rollback never leaves a worker
sending a campaign that is still a draft. Pause stops the worker judging more customers (what is already in the
outbox goes); cancel also withdraws what is queued and not yet sent, so "Cancel" means no more messages.

Who may: managers only. A store campaign needs a manager of that store. A group campaign (no store) may be built
by a manager at any store of the group: the group's managers run marketing together, and every message still
goes out under the suppression rules, the group's weekly cap and each customer's consent, so one store cannot
use it to reach a customer the rules would protect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from customers.models import OutboundMessage
from marketing import templating
from marketing.audience import AudienceError, AudienceSpec
from marketing.models import Campaign, CampaignRecipient, MarketingRules
from rooftops.models import DealerGroup, Role, Rooftop
from rooftops.selectors import staff_access

SMS_MAX_CHARS = 480  # three text segments: longer is costly and reads like an email
NAME_MAX = 200
SUBJECT_MAX = 200
EMAIL_BODY_MAX = 20_000
EDITABLE = (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED)
UNFINISHED = (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED, Campaign.Status.SENDING, Campaign.Status.PAUSED)
WITHDRAWABLE = (OutboundMessage.Status.QUEUED, OutboundMessage.Status.WAITING_QUIET_HOURS)
CANCELLED_ERROR = "Campaign cancelled"
# A schedule must be at least this far ahead, so "in 1 minute" is not already past when the beat looks.
SCHEDULE_MIN_AHEAD = timedelta(minutes=2)
SCHEDULE_MAX_AHEAD = timedelta(days=365)


class CampaignRefused(Exception):
    """Nothing was written; `errors` says why, by form field ("" for the whole campaign)."""

    def __init__(self, errors: dict[str, str] | str):
        self.errors = errors if isinstance(errors, dict) else {"": errors}
        super().__init__("; ".join(self.errors.values()))


# --- who may ---------------------------------------------------------------------------------------------

def manages(user: User, *, dealer_group_id: int, rooftop_id: int | None) -> bool:
    """A store's campaign: a manager of that store. A group campaign: a manager at any store of the group."""
    access = staff_access(user)
    if rooftop_id is not None:
        return access.has_role(rooftop_id, Role.MANAGER) and Rooftop.objects.filter(
            id=rooftop_id, dealer_group_id=dealer_group_id).exists()
    managed = access.rooftops_with_role(Role.MANAGER)
    return bool(managed) and Rooftop.objects.filter(id__in=managed, dealer_group_id=dealer_group_id).exists()


def _require_manager(user: User, campaign: Campaign) -> None:
    # The same answer as a campaign that does not exist: a non-manager learns nothing.
    if not manages(user, dealer_group_id=campaign.dealer_group_id, rooftop_id=campaign.rooftop_id):
        raise Http404


# --- building --------------------------------------------------------------------------------------------

@dataclass
class CampaignInput:
    """What the builder form says, checked by `campaign_check`."""

    name: str = ""
    audience: dict[str, Any] = field(default_factory=dict)
    channels: str = Campaign.Channels.EMAIL
    email_subject: str = ""
    email_body: str = ""
    sms_body: str = ""


def _sends_email(channels: str) -> bool:
    return channels in (Campaign.Channels.EMAIL, Campaign.Channels.BOTH)


def _sends_sms(channels: str) -> bool:
    return channels in (Campaign.Channels.SMS, Campaign.Channels.BOTH)


def campaign_check(data: CampaignInput, *, rooftop: Rooftop | None, dealer_group: DealerGroup) -> dict[str, str]:
    """Every reason the campaign cannot be saved as it is, by field; {} when it can."""
    errors: dict[str, str] = {}
    name = " ".join((data.name or "").split())
    if not name:
        errors["name"] = "Give the campaign a name staff will recognise, e.g. \"Lease ending, spring\"."
    elif len(name) > NAME_MAX:
        errors["name"] = f"The name is {len(name)} characters; keep it under {NAME_MAX}."
    try:
        AudienceSpec.parse(data.audience).require_someone()
    except AudienceError as exc:
        errors["audience"] = str(exc)
    if data.channels not in Campaign.Channels.values:
        errors["channels"] = "Choose email, text, or both."
        return errors
    if _sends_email(data.channels):
        if not (data.email_subject or "").strip():
            errors["email_subject"] = "An email needs a subject line."
        elif len(data.email_subject) > SUBJECT_MAX:
            errors["email_subject"] = f"The subject is {len(data.email_subject)} characters; keep it under {SUBJECT_MAX}."
        elif problems := templating.validate(data.email_subject):
            errors["email_subject"] = " ".join(problems)
        if not (data.email_body or "").strip():
            errors["email_body"] = "Write the email's text."
        elif len(data.email_body) > EMAIL_BODY_MAX:
            errors["email_body"] = f"The email is {len(data.email_body):,} characters; keep it under {EMAIL_BODY_MAX:,}."
        elif problems := templating.validate(data.email_body):
            errors["email_body"] = " ".join(problems)
        # CAN-SPAM: every commercial email carries the sender's valid postal address.
        stores = [rooftop] if rooftop is not None else list(Rooftop.objects.filter(dealer_group=dealer_group))
        missing = [s.name for s in stores if not (s.address or "").strip()]
        if missing:
            errors["channels"] = (
                f"Marketing email must carry the store's postal address (CAN-SPAM), and none is on file for "
                f"{', '.join(missing)}. Add it to the store's details first, or send texts only.")
    if _sends_sms(data.channels):
        body = data.sms_body or ""
        if not body.strip():
            errors["sms_body"] = "Write the text message."
        elif len(body) > SMS_MAX_CHARS:
            errors["sms_body"] = (f"The text is {len(body)} characters; keep it to {SMS_MAX_CHARS} (three text "
                                  "segments) or the customer gets it in pieces.")
        elif problems := templating.validate(body):
            errors["sms_body"] = " ".join(problems)
    return errors


def campaign_save(*, user: User, dealer_group: DealerGroup, rooftop: Rooftop | None, data: CampaignInput,
                  campaign: Campaign | None = None) -> Campaign:
    """Create a draft, or change one still a draft or scheduled. CampaignRefused with the reasons otherwise."""
    if rooftop is not None and rooftop.dealer_group_id != dealer_group.id:
        raise Http404
    if not manages(user, dealer_group_id=dealer_group.id, rooftop_id=rooftop.id if rooftop else None):
        raise Http404
    if campaign is not None:
        _require_manager(user, campaign)
        if campaign.kind != Campaign.Kind.CAMPAIGN:
            raise CampaignRefused("The price-drop alerts are not edited here.")
    errors = campaign_check(data, rooftop=rooftop, dealer_group=dealer_group)
    if errors:
        raise CampaignRefused(errors)
    spec = AudienceSpec.parse(data.audience)
    email, sms = _sends_email(data.channels), _sends_sms(data.channels)
    with transaction.atomic():
        if campaign is None:
            campaign = Campaign(dealer_group=dealer_group, created_by=user)
        else:
            campaign = Campaign.unscoped.select_for_update().get(pk=campaign.pk)
            if campaign.status not in EDITABLE:
                raise CampaignRefused(f"This campaign is {campaign.get_status_display().lower()}; only a draft or a "
                                      "scheduled campaign can be changed.")
        campaign.rooftop = rooftop
        campaign.name = " ".join(data.name.split())
        campaign.audience = spec.as_json()
        campaign.channels = data.channels
        # A channel not chosen keeps no text, so the preview and the worker never use a stale one.
        campaign.email_subject = data.email_subject.strip() if email else ""
        campaign.email_body = data.email_body.strip() if email else ""
        campaign.sms_body = data.sms_body.strip() if sms else ""
        campaign.save()
    return campaign


def _input_of(campaign: Campaign) -> CampaignInput:
    return CampaignInput(name=campaign.name, audience=campaign.audience, channels=campaign.channels,
                         email_subject=campaign.email_subject, email_body=campaign.email_body,
                         sms_body=campaign.sms_body)


def _locked(campaign: Campaign) -> Campaign:
    return (Campaign.unscoped.select_for_update(of=("self",)).select_related("rooftop", "dealer_group")
            .get(pk=campaign.pk))


def _check_sendable(campaign: Campaign) -> None:
    """The rules may have changed since it was saved (the store's address removed): check again before it goes."""
    errors = campaign_check(_input_of(campaign), rooftop=campaign.rooftop, dealer_group=campaign.dealer_group)
    if errors:
        raise CampaignRefused(errors)


def _queue_send(campaign_id: int) -> None:
    def send() -> None:
        # Imported late: the worker's module imports this one's neighbours, not the other way round.
        from marketing.tasks import campaign_send

        campaign_send.delay(campaign_id)

    transaction.on_commit(send)


# --- sending ---------------------------------------------------------------------------------------------

def campaign_schedule(*, campaign: Campaign, send_at: datetime, user: User, now: datetime | None = None) -> Campaign:
    """Send at `send_at` (aware; the form reads it on the store's clock). The beat starts it then."""
    _require_manager(user, campaign)
    now = now or timezone.now()
    if timezone.is_naive(send_at):
        raise CampaignRefused({"send_at": "Give the time with its time zone."})
    if send_at < now + SCHEDULE_MIN_AHEAD:
        raise CampaignRefused({"send_at": "Choose a time at least a few minutes from now, or send it now."})
    if send_at > now + SCHEDULE_MAX_AHEAD:
        raise CampaignRefused({"send_at": "Choose a time within the next year."})
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.status not in EDITABLE:
            raise CampaignRefused(f"This campaign is {campaign.get_status_display().lower()}; it cannot be scheduled.")
        _check_sendable(campaign)
        campaign.status = Campaign.Status.SCHEDULED
        campaign.send_at = send_at
        campaign.save(update_fields=["status", "send_at", "updated_at"])
    return campaign


def campaign_send_now(*, campaign: Campaign, user: User, now: datetime | None = None) -> Campaign:
    """Start sending at once (a draft or a scheduled campaign)."""
    _require_manager(user, campaign)
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.status not in EDITABLE:
            raise CampaignRefused(f"This campaign is {campaign.get_status_display().lower()}; it cannot be sent again.")
        _check_sendable(campaign)
        campaign.status = Campaign.Status.SENDING
        campaign.started_at = now or timezone.now()
        campaign.heartbeat_at = campaign.started_at
        campaign.save(update_fields=["status", "started_at", "heartbeat_at", "updated_at"])
        _queue_send(campaign.id)
    return campaign


def campaign_pause(*, campaign: Campaign, user: User) -> Campaign:
    """Stop judging more customers; what is already in the outbox still goes (cancel withdraws it)."""
    _require_manager(user, campaign)
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.status != Campaign.Status.SENDING:
            raise CampaignRefused(f"Only a campaign that is sending can be paused; this one is "
                                  f"{campaign.get_status_display().lower()}.")
        campaign.status = Campaign.Status.PAUSED
        campaign.save(update_fields=["status", "updated_at"])
    return campaign


def campaign_resume(*, campaign: Campaign, user: User, now: datetime | None = None) -> Campaign:
    _require_manager(user, campaign)
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.status != Campaign.Status.PAUSED:
            raise CampaignRefused(f"Only a paused campaign can be resumed; this one is "
                                  f"{campaign.get_status_display().lower()}.")
        campaign.status = Campaign.Status.SENDING
        campaign.heartbeat_at = now or timezone.now()  # the beat's "lost campaign" clock starts again
        campaign.save(update_fields=["status", "heartbeat_at", "updated_at"])
        _queue_send(campaign.id)
    return campaign


@dataclass(frozen=True)
class Cancelled:
    campaign: Campaign
    withdrawn: int  # messages taken back from the outbox before they were sent
    not_judged: int  # customers never judged


def campaign_cancel(*, campaign: Campaign, user: User, now: datetime | None = None) -> Cancelled:
    """No more messages: customers not yet judged are cancelled and queued, unsent messages withdrawn."""
    _require_manager(user, campaign)
    now = now or timezone.now()
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.status not in UNFINISHED:
            raise CampaignRefused(f"This campaign is already {campaign.get_status_display().lower()}.")
        campaign.status = Campaign.Status.CANCELLED
        campaign.finished_at = now
        campaign.save(update_fields=["status", "finished_at", "updated_at"])
        not_judged = CampaignRecipient.objects.filter(
            campaign=campaign, status=CampaignRecipient.Status.PENDING).update(status=CampaignRecipient.Status.CANCELLED)
        # The outbox's worker claims rows under FOR UPDATE SKIP LOCKED and moves them to "sending"; this UPDATE
        # waits for such a row and re-reads its status, so a message is either withdrawn here or sent, never both.
        queued = OutboundMessage.objects.across_rooftops().filter(
            campaign_recipient__campaign=campaign, status__in=WITHDRAWABLE)
        withdrawn_ids = list(queued.values_list("id", flat=True))
        withdrawn = OutboundMessage.objects.across_rooftops().filter(
            id__in=withdrawn_ids, status__in=WITHDRAWABLE).update(
            status=OutboundMessage.Status.SUPPRESSED, error=CANCELLED_ERROR)
        CampaignRecipient.objects.filter(
            campaign=campaign, message_id__in=withdrawn_ids, message__status=OutboundMessage.Status.SUPPRESSED,
            message__error=CANCELLED_ERROR).update(status=CampaignRecipient.Status.CANCELLED)
    return Cancelled(campaign=campaign, withdrawn=withdrawn, not_judged=not_judged)


# --- the group's rules -----------------------------------------------------------------------------------

RULE_LIMITS = {"weekly_cap": (1, 14), "purchase_quiet_days": (0, 365), "price_drop_viewed_days": (1, 90)}


def marketing_rules_for(dealer_group_id: int) -> MarketingRules:
    """The group's rules, or the defaults (unsaved) when nobody has set them."""
    return MarketingRules.objects.filter(dealer_group_id=dealer_group_id).first() or MarketingRules(
        dealer_group_id=dealer_group_id)


def marketing_rules_save(*, user: User, dealer_group: DealerGroup, weekly_cap: int, purchase_quiet_days: int,
                         price_drop_viewed_days: int) -> MarketingRules:
    """The group's limits; a manager at any of its stores may set them (they protect every store's customers)."""
    if not manages(user, dealer_group_id=dealer_group.id, rooftop_id=None):
        raise Http404
    values = {"weekly_cap": weekly_cap, "purchase_quiet_days": purchase_quiet_days,
              "price_drop_viewed_days": price_drop_viewed_days}
    errors = {}
    for key, value in values.items():
        low, high = RULE_LIMITS[key]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            errors[key] = f"Choose a whole number from {low} to {high}."
    if errors:
        raise CampaignRefused(errors)
    rules, _ = MarketingRules.objects.update_or_create(dealer_group=dealer_group,
                                                       defaults={**values, "updated_by": user})
    return rules
