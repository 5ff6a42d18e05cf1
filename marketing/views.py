"""The manager's marketing pages: campaigns (list, builder with its audience and preview panels, sending with
progress, results) and the dealer group's marketing rules.

Managers only: anyone else gets the 404 of a page that does not exist, and another group's or store's campaign is
the same 404 as a missing one (marketing.results.access_campaign). Writes go through marketing.services; a refusal
is shown on the page with a 422, never a 500. Times are shown and read on the store's clock.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.pagination import paginate
from customers.contact import format_phone
from customers.models import Customer
from marketing import forms, results, services, templating
from marketing.audience import TRIGGERS, VIEWED_DAYS_CHOICES, AudienceError, AudienceSpec
from marketing.models import Campaign
from rooftops.models import Role, Rooftop
from rooftops.selectors import managed_rooftop, staff_access

UNPROCESSABLE = 422
CAMPAIGNS_PER_PAGE = 20
HELD_BACK_PER_PAGE = 50
SAMPLE_SIZE = 10
# A sending campaign whose worker has not reported for this long is shown as stalled (the beat resumes it).
STALLED_AFTER = timedelta(minutes=10)


def _zone_of(campaign: Campaign | None, rooftop: Rooftop) -> str:
    """A store campaign's times are on its store's clock; a group campaign's on the clock of the store the
    manager is working from (the page says which)."""
    if campaign is not None and campaign.rooftop is not None:
        return campaign.rooftop.time_zone
    return rooftop.time_zone


def _home_rooftop(user, campaign: Campaign) -> Rooftop:
    """The store a campaign's page is seen from: its own, or for a group campaign the first the user manages there."""
    if campaign.rooftop is not None:
        return campaign.rooftop
    managed = staff_access(user).rooftops_with_role(Role.MANAGER)
    store = Rooftop.objects.filter(id__in=managed, dealer_group_id=campaign.dealer_group_id).order_by("name").first()
    if store is None:
        raise Http404
    return store


# --- the list --------------------------------------------------------------------------------------------

@login_required
@require_GET
def campaigns_page(request: HttpRequest) -> HttpResponse:
    rooftop, rooftops = managed_rooftop(request.user, request.GET.get("rooftop"))
    page = paginate(results.campaigns_for_store(user=request.user, rooftop=rooftop), per_page=CAMPAIGNS_PER_PAGE,
                    raw_page=request.GET.get("page"))
    return render(request, "marketing/campaigns.html", {"rooftop": rooftop, "rooftops": rooftops, "page": page})


# --- the builder -----------------------------------------------------------------------------------------

def _builder_context(*, rooftop: Rooftop, rooftops, data: services.CampaignInput, group: bool,
                     campaign: Campaign | None, errors: dict[str, str]) -> dict:
    audience = data.audience or {}
    viewed = audience.get("viewed_models") or []
    return {
        "rooftop": rooftop, "rooftops": rooftops, "campaign": campaign, "data": data, "group": group,
        "errors": errors, "triggers": list(TRIGGERS.items()), "chosen": set(audience.get("triggers") or []),
        "viewed_models": viewed if isinstance(viewed, str) else ", ".join(viewed),
        "viewed_days": str(audience.get("viewed_days") or 30), "viewed_days_choices": VIEWED_DAYS_CHOICES,
        "price_drop_subscribers": bool(audience.get("price_drop_subscribers")),
        "match": audience.get("match") or "any", "channels": Campaign.Channels.choices,
        "merge_fields": list(templating.FIELDS.items()), "sms_max": services.SMS_MAX_CHARS,
        "group_name": rooftop.dealer_group.name,
    }


def _builder_post(request: HttpRequest, *, rooftop: Rooftop, rooftops, campaign: Campaign | None) -> HttpResponse:
    read = forms.builder_read(request.POST)
    try:
        saved = services.campaign_save(user=request.user, dealer_group=rooftop.dealer_group,
                                       rooftop=None if read.group else rooftop, data=read.data, campaign=campaign)
    except services.CampaignRefused as exc:
        context = _builder_context(rooftop=rooftop, rooftops=rooftops, data=read.data, group=read.group,
                                   campaign=campaign, errors=exc.errors)
        return render(request, "marketing/builder.html", context, status=UNPROCESSABLE)
    messages.success(request, "Saved as a draft." if saved.status == Campaign.Status.DRAFT else "Saved.")
    return redirect("marketing-campaign", campaign_id=saved.id)


@login_required
@require_http_methods(["GET", "POST"])
def campaign_new(request: HttpRequest) -> HttpResponse:
    rooftop, rooftops = managed_rooftop(request.user, request.POST.get("rooftop") or request.GET.get("rooftop"))
    if request.method == "POST":
        return _builder_post(request, rooftop=rooftop, rooftops=rooftops, campaign=None)
    data = services.CampaignInput(email_body="Hi {{ first_name }},\n\n", sms_body="Hi {{ first_name }}, ")
    return render(request, "marketing/builder.html", _builder_context(
        rooftop=rooftop, rooftops=rooftops, data=data, group=False, campaign=None, errors={}))


@login_required
@require_http_methods(["GET", "POST"])
def campaign_edit(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = results.access_campaign(user=request.user, campaign_id=campaign_id)
    if campaign.status not in services.EDITABLE or campaign.kind != Campaign.Kind.CAMPAIGN:
        messages.info(request, "Only a draft or a scheduled campaign can be changed.")
        return redirect("marketing-campaign", campaign_id=campaign.id)
    home = _home_rooftop(request.user, campaign)
    rooftop, rooftops = managed_rooftop(request.user, request.POST.get("rooftop") or home.id)
    if request.method == "POST":
        return _builder_post(request, rooftop=rooftop, rooftops=rooftops, campaign=campaign)
    data = services.CampaignInput(name=campaign.name, audience=campaign.audience, channels=campaign.channels,
                                  email_subject=campaign.email_subject, email_body=campaign.email_body,
                                  sms_body=campaign.sms_body)
    return render(request, "marketing/builder.html", _builder_context(
        rooftop=rooftop, rooftops=rooftops, data=data, group=campaign.rooftop_id is None, campaign=campaign,
        errors={}))


def _audience_of(request: HttpRequest):
    """The builder form's store, scope and audience, for the two htmx panels."""
    rooftop, _ = managed_rooftop(request.user, request.POST.get("rooftop") or request.GET.get("rooftop"))
    read = forms.builder_read(request.POST)
    return rooftop, read


@login_required
@require_POST
def campaign_audience(request: HttpRequest) -> HttpResponse:
    """The audience panel: how many customers the choices find, and ten of them with why each matched."""
    from marketing.selectors import audience_preview

    rooftop, read = _audience_of(request)
    try:
        spec = AudienceSpec.parse(read.data.audience).require_someone()
    except AudienceError as exc:
        return render(request, "marketing/_audience.html", {"error": str(exc)})
    preview = audience_preview(dealer_group_id=rooftop.dealer_group_id, rooftop_id=None if read.group else rooftop.id,
                               spec=spec, sample=SAMPLE_SIZE)
    return render(request, "marketing/_audience.html", {"preview": preview, "error": preview.error,
                                                        "rooftop": rooftop, "group": read.group})


def _merge_context(customer: Customer | None, rooftop: Rooftop, *, group: bool) -> dict[str, str]:
    """A customer's real merge values, filled as the worker fills them (marketing.sending.merge_context), from the
    store they would hear from."""
    if customer is None:
        return {"store": rooftop.name, "store_phone": format_phone(rooftop.phone) if rooftop.phone else ""}
    from marketing.selectors import home_rooftops, merge_facts, scope_of
    from marketing.sending import merge_context

    scope = scope_of(dealer_group_id=rooftop.dealer_group_id, rooftop_id=None if group else rooftop.id)
    home_id = home_rooftops([customer.id], scope).get(customer.id, rooftop.id)
    home = rooftop if home_id == rooftop.id else Rooftop.objects.get(pk=home_id)
    facts = merge_facts([customer.id], {customer.id: home.id}).get(customer.id)
    context = merge_context(customer, {"vehicle": facts.vehicle if facts else "",
                                       "equity": facts.equity if facts else ""}, home,
                            facts.salesperson if facts else "")
    return context


@login_required
@require_POST
def campaign_preview(request: HttpRequest) -> HttpResponse:
    """The preview panel: the templates filled in for one customer of the audience (the one chosen, else the first
    of the sample), or with every fallback when nobody matches yet."""
    from marketing.selectors import audience_preview

    rooftop, read = _audience_of(request)
    customer = None
    note = ""
    try:
        spec = AudienceSpec.parse(read.data.audience).require_someone()
    except AudienceError:
        spec = None
    if spec is not None:
        preview = audience_preview(dealer_group_id=rooftop.dealer_group_id,
                                   rooftop_id=None if read.group else rooftop.id, spec=spec, sample=SAMPLE_SIZE)
        ids = [s.customer_id for s in preview.sample]
        wanted = request.POST.get("preview_customer", "")
        chosen = int(wanted) if wanted.isdigit() and int(wanted) in ids else (ids[0] if ids else None)
        if chosen is not None:
            customer = Customer.objects.for_access(staff_access(request.user)).filter(pk=chosen).first()
    if customer is None:
        note = "Nobody in the audience yet: shown with what a customer with nothing on file would read."
    context = _merge_context(customer, rooftop, group=read.group)
    data = read.data
    rendered = {
        "email_subject": templating.render(data.email_subject, context),
        "email_body": templating.render(data.email_body, context),
        "sms_body": templating.render(data.sms_body, context),
    }
    problems = {name: templating.validate(getattr(data, name)) for name in rendered}
    return render(request, "marketing/_preview.html", {
        "customer": customer, "note": note, "rendered": rendered, "problems": problems,
        "email": data.channels in ("email", "both"), "sms": data.channels in ("sms", "both"),
        "sms_length": len(rendered["sms_body"]), "sms_max": services.SMS_MAX_CHARS,
    })


# --- one campaign: sending, progress, results ------------------------------------------------------------

def _progress_context(campaign: Campaign) -> dict:
    stalled = (campaign.status == Campaign.Status.SENDING and campaign.heartbeat_at is not None
               and timezone.now() - campaign.heartbeat_at > STALLED_AFTER)
    return {"campaign": campaign, "polling": campaign.status == Campaign.Status.SENDING, "stalled": stalled,
            "zone": campaign.rooftop.time_zone if campaign.rooftop else None}


def _campaign_context(request: HttpRequest, campaign: Campaign, *, errors: dict[str, str] | None = None,
                      send_at_value: str = "") -> dict:
    home = _home_rooftop(request.user, campaign)
    zone = _zone_of(campaign, home)
    held = paginate(results.held_back_customers(campaign), per_page=HELD_BACK_PER_PAGE,
                    raw_page=request.GET.get("page"))
    try:
        spec_words = AudienceSpec.parse(campaign.audience).describe()
    except AudienceError:
        spec_words = "An audience this version cannot read"
    return {
        **_progress_context(campaign), "rooftop": home, "zone": zone, "results": results.campaign_results(campaign),
        "held": held, "held_rows": [results.held_back_row(r) for r in held.object_list], "audience": spec_words,
        "errors": errors or {}, "send_at_value": send_at_value, "editable": campaign.status in services.EDITABLE,
        "min_send_at": timezone.localtime(timezone.now() + services.SCHEDULE_MIN_AHEAD,
                                          ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M"),
    }


@login_required
@require_GET
def campaign_page(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = results.access_campaign(user=request.user, campaign_id=campaign_id)
    return render(request, "marketing/campaign.html", _campaign_context(request, campaign))


@login_required
@require_GET
def campaign_progress(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The progress partial htmx polls every 2 s while the campaign sends (a finished one carries no trigger)."""
    campaign = results.access_campaign(user=request.user, campaign_id=campaign_id)
    return render(request, "marketing/_progress.html", _progress_context(campaign))


ACTIONS = ("send_now", "schedule", "pause", "resume", "cancel")


@login_required
@require_POST
def campaign_action(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = results.access_campaign(user=request.user, campaign_id=campaign_id)
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        return HttpResponse(f"Unknown action; use one of: {', '.join(ACTIONS)}.", status=400,
                            content_type="text/plain")
    here = reverse("marketing-campaign", args=[campaign.id])
    send_at_value = request.POST.get("send_at", "")[:32]
    try:
        if action == "send_now":
            services.campaign_send_now(campaign=campaign, user=request.user)
            messages.success(request, "Sending: customers are being judged and the allowed messages queued.")
        elif action == "schedule":
            zone = _zone_of(campaign, _home_rooftop(request.user, campaign))
            try:
                send_at = forms.send_at_read(send_at_value, zone)
            except forms.ScheduleError as exc:
                raise services.CampaignRefused({"send_at": str(exc)}) from None
            campaign = services.campaign_schedule(campaign=campaign, send_at=send_at, user=request.user)
            local = timezone.localtime(campaign.send_at, ZoneInfo(zone))
            messages.success(request, f"Scheduled for {local:%b %-d, %Y at %-I:%M %p} ({zone}).")
        elif action == "pause":
            services.campaign_pause(campaign=campaign, user=request.user)
            messages.info(request, "Paused. Messages already queued still go; nobody else is judged until you resume.")
        elif action == "resume":
            services.campaign_resume(campaign=campaign, user=request.user)
            messages.success(request, "Resumed.")
        else:
            done = services.campaign_cancel(campaign=campaign, user=request.user)
            messages.info(request, f"Cancelled. {done.withdrawn} queued message{'s' if done.withdrawn != 1 else ''} "
                                   "withdrawn before sending; messages already sent stay sent.")
    except services.CampaignRefused as exc:
        campaign.refresh_from_db()
        return render(request, "marketing/campaign.html",
                      _campaign_context(request, campaign, errors=exc.errors, send_at_value=send_at_value),
                      status=UNPROCESSABLE)
    return redirect(here)


# --- the group's rules -----------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def rules_page(request: HttpRequest) -> HttpResponse:
    rooftop, rooftops = managed_rooftop(request.user, request.POST.get("rooftop") or request.GET.get("rooftop"))
    group = rooftop.dealer_group
    rules = services.marketing_rules_for(group.id)
    status = 200
    if request.method == "POST":
        form = forms.RulesForm(request.POST)
        if form.is_valid():
            try:
                services.marketing_rules_save(user=request.user, dealer_group=group, **form.cleaned_data)
            except services.CampaignRefused as exc:
                for key, message in exc.errors.items():
                    form.add_error(key or None, message)
            else:
                messages.success(request, f"Saved. Every campaign and price-drop alert of {group.name} follows these "
                                          "rules from now on.")
                return redirect(f"{reverse('marketing-rules')}?rooftop={rooftop.id}")
        status = 400
    else:
        form = forms.RulesForm(initial={"weekly_cap": rules.weekly_cap, "purchase_quiet_days": rules.purchase_quiet_days,
                                        "price_drop_viewed_days": rules.price_drop_viewed_days})
    return render(request, "marketing/rules.html", {"form": form, "rooftop": rooftop, "rooftops": rooftops,
                                                    "rules": rules, "group": group}, status=status)
