"""Lead pages: my day, the leads list, a lead, and the manager's routing, templates, availability and speed pages.

Views are thin: resolve what the person may see (same 404 for missing and not yours), call a selector or a
service, render a page or the partial htmx swaps in. A refused action answers 422 with the reason in the
same partial, so the message appears where the person clicked.
"""

from __future__ import annotations

import json
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from crm.pagination import paginate
from leads import response_templates, selectors
from leads.models import InventoryVehicle, Lead, LeadResponseTemplate, RoutingRule
from leads.routing import AVAILABILITIES
from leads.services import LeadError
from leads.services.actions import (
    lead_assign, lead_claim, lead_log_activity, lead_notifications_mark_read, lead_set_status,
)
from leads.services.first_response import AUTO_RESPONSE_SOURCES, response_context
from leads.services.roster import DEFAULT_RULE, routing_rule_for
from leads.services.store_settings import response_template_save, routing_rule_save, sales_roster_save
from rooftops.audit import Kind as Read, access_record_rows
from rooftops.models import Availability, Role, Rooftop, StaffProfile, StaffRole
from rooftops.selectors import staff_access
from rooftops.services import rooftop_hold_email_in_quiet_hours, staff_set_availability
from rooftops.tenancy import get_scoped_or_404

PAGE_SIZE = 25
UNPROCESSABLE = 422


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _manager_rooftops(access) -> list[Rooftop]:
    ids = access.rooftops_with_role(Role.MANAGER)
    if not ids:
        raise Http404  # same answer as a page that does not exist
    return list(Rooftop.objects.filter(id__in=ids).order_by("name"))


def _manager_rooftop(access, rooftop_id: int) -> Rooftop:
    if not access.has_role(rooftop_id, Role.MANAGER):
        raise Http404
    return Rooftop.objects.get(pk=rooftop_id)


def _int(value, default: int | None = None) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# --------------------------------------------------------------------------- salesperson


@login_required
@require_GET
def my_day(request):
    access = staff_access(request.user)
    now = timezone.now()
    mine = selectors.my_day_leads(access=access, user=request.user, now=now)
    pool = selectors.pool_leads(access=access, now=now) if access.any_role(Role.SALESPERSON, Role.MANAGER) else []
    access_record_rows(request, kind=Read.MY_DAY, rows=[*mine, *pool])
    return render(request, "leads/my_day.html", {
        "leads": mine,
        "open_count": selectors.my_day_open_count(access=access, user=request.user),
        "pool": pool,
        "notifications": selectors.notifications_for(user=request.user),
        "unread": selectors.unread_notification_count(user=request.user),
        "availability_choices": Availability.choices,
        "statuses": Lead.Status.choices,
        "now": now,
    })


def _notifications_partial(request):
    return render(request, "leads/_notifications.html", {
        "notifications": selectors.notifications_for(user=request.user),
        "unread": selectors.unread_notification_count(user=request.user),
    })


@login_required
@require_GET
def my_notifications(request):
    return _notifications_partial(request)


@login_required
@require_POST
def notifications_read(request):
    lead_notifications_mark_read(user=request.user)
    if _is_htmx(request):
        return _notifications_partial(request)
    return redirect("my-day")


@login_required
@require_GET
def leads_list(request):
    access = staff_access(request.user)
    if not access.rooftop_ids:
        raise Http404
    rooftops = list(Rooftop.objects.filter(id__in=access.rooftop_ids).order_by("name"))
    filters = selectors.LeadFilters(
        status=request.GET.get("status", "open"),
        source=request.GET.get("source", "") if request.GET.get("source") in Lead.Source.values else "",
        owner=request.GET.get("owner", ""),
        rooftop_id=_int(request.GET.get("rooftop")) if _int(request.GET.get("rooftop")) in access.rooftop_ids else None,
        q=request.GET.get("q", "")[:100],
    )
    now = timezone.now()
    page_obj = paginate(selectors.leads_search(access=access, user=request.user, filters=filters, now=now),
                        per_page=PAGE_SIZE, raw_page=request.GET.get("page"))
    access_record_rows(request, kind=Read.LEADS_LIST, rows=page_obj.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "leads/leads_list.html", {
        "page": page_obj, "filters": filters, "rooftops": rooftops, "query": query.urlencode(),
        "statuses": Lead.Status.choices, "sources": Lead.Source.choices,
        "salespeople": selectors.salespeople_at(access.rooftop_ids), "now": now,
    })


def _lead_page_context(request, lead: Lead, **extra) -> dict:
    access = staff_access(request.user)
    return {
        "lead": lead,
        "steps": selectors.speed_to_lead_steps(lead),
        "timeline": selectors.lead_timeline(lead),
        "vehicles_of_interest": selectors.lead_vehicles_of_interest(lead),
        "outbound": selectors.lead_messages(lead),
        "reroutes": selectors.lead_reroutes(lead),
        "clock": getattr(lead, "clock", None),
        "rule": routing_rule_for(rooftop=lead.rooftop, source=lead.source),
        "statuses": Lead.Status.choices,
        "is_manager": access.has_role(lead.rooftop_id, Role.MANAGER),
        "can_claim": lead.assigned_to_id is None and access.has_role(lead.rooftop_id, Role.SALESPERSON),
        "salespeople": selectors.salespeople_at([lead.rooftop_id]),
        "now": timezone.now(),
        **extra,
    }


def _fetch_lead(request, lead_id: int) -> Lead:
    access = staff_access(request.user)
    return get_scoped_or_404(
        Lead.objects.select_related("rooftop", "customer", "vehicle", "assigned_to__staff_profile"), access, pk=lead_id)


@login_required
@require_GET
def lead_detail(request, lead_id: int):
    lead = _fetch_lead(request, lead_id)
    access_record_rows(request, kind=Read.LEAD_PAGE, rows=[lead])
    return render(request, "leads/lead_detail.html", _lead_page_context(request, lead))


def _after_action(request, lead: Lead, error: str = "", done: str = ""):
    """The my-day row for htmx (422 with the reason on error); the lead page otherwise."""
    if _is_htmx(request) and request.POST.get("from") == "row":
        access = staff_access(request.user)
        now = timezone.now()
        row = next(iter(selectors._with_urgency(Lead.objects.for_access(access).filter(pk=lead.pk)
                                                .select_related("rooftop", "customer", "vehicle", "clock"), now)), None)
        response = render(request, "leads/_lead_row.html", {
            "lead": row, "error": error, "done": done, "statuses": Lead.Status.choices, "now": now})
        response.status_code = UNPROCESSABLE if error else 200
        return response
    if error:
        lead = _fetch_lead(request, lead.pk)
        response = render(request, "leads/lead_detail.html", _lead_page_context(request, lead, error=error))
        response.status_code = UNPROCESSABLE
        return response
    messages.success(request, done)
    return redirect("lead-detail", lead_id=lead.pk)


@login_required
@require_POST
def lead_activity(request, lead_id: int):
    lead = _fetch_lead(request, lead_id)
    kind = request.POST.get("kind", "")
    try:
        lead_log_activity(lead=lead, kind=kind, by=request.user, note=request.POST.get("note", ""),
                          reached=request.POST.get("reached") in ("1", "on", "true"))
    except LeadError as exc:
        return _after_action(request, lead, error=str(exc))
    return _after_action(request, lead, done=f"{kind.capitalize()} logged.")


@login_required
@require_POST
def lead_status(request, lead_id: int):
    lead = _fetch_lead(request, lead_id)
    try:
        lead = lead_set_status(lead=lead, status=request.POST.get("status", ""), by=request.user,
                               reason=request.POST.get("reason", ""))
    except LeadError as exc:
        return _after_action(request, lead, error=str(exc))
    return _after_action(request, lead, done=f"Status set to {lead.get_status_display().lower()}.")


@login_required
@require_POST
def lead_assign_view(request, lead_id: int):
    lead = _fetch_lead(request, lead_id)
    access = staff_access(request.user)
    if not access.has_role(lead.rooftop_id, Role.MANAGER):
        raise Http404
    to_user = User.objects.filter(pk=_int(request.POST.get("user"), 0)).first()
    if to_user is None:
        return _after_action(request, lead, error="Choose who should get the lead")
    try:
        lead_assign(lead=lead, to_user=to_user, by=request.user, reason=request.POST.get("reason", "")[:200])
    except LeadError as exc:
        return _after_action(request, lead, error=str(exc))
    return _after_action(request, lead, done="Lead reassigned.")


@login_required
@require_POST
def lead_claim_view(request, lead_id: int):
    lead = _fetch_lead(request, lead_id)
    if not staff_access(request.user).has_role(lead.rooftop_id, Role.SALESPERSON):
        raise Http404
    try:
        lead_claim(lead=lead, by=request.user)
    except LeadError as exc:
        return _after_action(request, lead, error=str(exc))
    return _after_action(request, lead, done="The lead is yours. The clock is running.")


# --------------------------------------------------------------------------- manager: routing rules and roster


@login_required
@require_GET
def routing_settings_view(request):
    access = staff_access(request.user)
    rooftops = _manager_rooftops(access)
    sections = []
    for rooftop in rooftops:
        settings = selectors.routing_settings(rooftop=rooftop)
        settings["rules"] = [
            {"source": source, "source_label": label, "rule": rule, "values": _rule_values(rule, None)}
            for source, label, rule in settings["rules"]
        ]
        sections.append((rooftop, settings))
    return render(request, "leads/routing_settings.html", {"rooftops": sections, "modes": RoutingRule.Mode.choices,
                                                          "after_hours_choices": RoutingRule.AfterHours.choices})


@login_required
@require_POST
def email_quiet_hours_save_view(request, rooftop_id: int):
    """The store's choice to hold email for quiet hours too (texts are always held: the TCPA window)."""
    rooftop = _manager_rooftop(staff_access(request.user), rooftop_id)
    hold = request.POST.get("hold_email_in_quiet_hours")
    if hold not in ("on", "off"):
        return HttpResponse("Choose whether email waits for quiet hours: on or off", status=UNPROCESSABLE,
                            content_type="text/plain")
    rooftop_hold_email_in_quiet_hours(rooftop=rooftop, hold=hold == "on")
    messages.success(request, f"{rooftop.name} now {'holds email until 8:00 AM, like texts' if hold == 'on' else 'sends email at any hour'}.")
    return redirect("routing-settings")


def _rule_values(rule: RoutingRule | None, posted) -> dict:
    """What the rule form shows: what was just typed (after an error), the saved rule, or the defaults."""
    if posted is not None:
        return {"mode": posted.get("mode", ""), "named_owner": posted.get("named_owner", ""),
                "response_minutes": posted.get("response_minutes", ""),
                "warn_before_minutes": posted.get("warn_before_minutes", ""), "max_hops": posted.get("max_hops", ""),
                "after_hours": posted.get("after_hours", "")}
    source = rule or DEFAULT_RULE
    return {"mode": source.mode, "named_owner": str(rule.named_owner_id or "") if rule else "",
            "response_minutes": source.response_minutes, "warn_before_minutes": source.warn_before_minutes,
            "max_hops": source.max_hops, "after_hours": source.after_hours}


def _rule_row(request, rooftop: Rooftop, source: str, *, error: str = "", saved: bool = False, posted=None):
    settings = selectors.routing_settings(rooftop=rooftop)
    rule = next(r for value, _label, r in settings["rules"] if value == source)
    response = render(request, "leads/_rule_row.html", {
        "rooftop": rooftop, "item": {"source": source, "source_label": Lead.Source(source).label, "rule": rule,
                                     "values": _rule_values(rule, posted)},
        "salespeople": settings["salespeople"], "modes": RoutingRule.Mode.choices,
        "after_hours_choices": RoutingRule.AfterHours.choices, "error": error, "saved": saved,
    })
    response.status_code = UNPROCESSABLE if error else 200
    return response


@login_required
@require_POST
def routing_rule_save_view(request, rooftop_id: int, source: str):
    access = staff_access(request.user)
    rooftop = _manager_rooftop(access, rooftop_id)
    if source not in Lead.Source.values:
        raise Http404
    error = ""
    numbers = {}
    for name, label in (("response_minutes", "Response deadline"), ("warn_before_minutes", "Warning"),
                        ("max_hops", "Reroutes before escalation")):
        value = _int(request.POST.get(name))
        if value is None or value < 0:
            error = f"{label} must be a whole number of 0 or more"
            break
        numbers[name] = value
    mode = request.POST.get("mode", "")
    owner = None
    if not error and mode not in RoutingRule.Mode.values:
        error = "Choose how these leads are routed"
    if not error and request.POST.get("named_owner"):
        owner = User.objects.filter(pk=_int(request.POST.get("named_owner"), 0)).first()
    # A form (or API client) that predates the after-hours choice keeps what the store already chose.
    after_hours = request.POST.get("after_hours") or (
        RoutingRule.unscoped.filter(rooftop=rooftop, source=source).values_list("after_hours", flat=True).first()
        or RoutingRule.AfterHours.NEXT_SHIFT)
    if not error:
        try:
            routing_rule_save(rooftop=rooftop, source=source, mode=mode, named_owner=owner, by=request.user,
                              after_hours=after_hours, **numbers)
        except LeadError as exc:
            error = str(exc)
    if _is_htmx(request):
        return _rule_row(request, rooftop, source, error=error, saved=not error, posted=request.POST if error else None)
    if error:
        return HttpResponse(error, status=UNPROCESSABLE, content_type="text/plain")
    messages.success(request, f"Saved the rule for {Lead.Source(source).label.lower()} leads at {rooftop.name}.")
    return redirect("routing-settings")


@login_required
@require_POST
def roster_save_view(request, rooftop_id: int, user_id: int):
    access = staff_access(request.user)
    rooftop = _manager_rooftop(access, rooftop_id)
    person = User.objects.filter(pk=user_id).select_related("staff_profile").first()
    if person is None or not StaffRole.objects.filter(user=person, rooftop=rooftop, role=Role.SALESPERSON).exists():
        raise Http404
    error = ""
    weight = _int(request.POST.get("weight"))
    shift_text = request.POST.get("shift", "").strip()
    shift = {}
    if weight is None:
        error = "Weight must be a whole number from 0 to 100"
    elif shift_text:
        try:
            shift = json.loads(shift_text)
        except json.JSONDecodeError as exc:
            error = f"Shift must be JSON like {{\"mon\": [[\"09:00\", \"17:00\"]]}} ({exc.msg} at character {exc.pos})"
    if not error:
        try:
            entry = sales_roster_save(rooftop=rooftop, user=person, weight=weight, active=request.POST.get("active") == "on",
                                      shift=shift)
        except LeadError as exc:
            error = str(exc)
    if _is_htmx(request):
        entry = person.sales_roster.filter(rooftop=rooftop).first()
        response = render(request, "leads/_roster_row.html", {
            "rooftop": rooftop, "person": person, "entry": entry, "error": error, "saved": not error,
            "posted_shift": shift_text if error else None})
        response.status_code = UNPROCESSABLE if error else 200
        return response
    if error:
        return HttpResponse(error, status=UNPROCESSABLE, content_type="text/plain")
    messages.success(request, f"Saved {person.staff_profile.display_name}'s routing settings.")
    return redirect("routing-settings")


# --------------------------------------------------------------------------- manager: first-response templates


def _template_cards(rooftop: Rooftop) -> list[dict]:
    saved = selectors.response_templates_for(rooftop=rooftop)
    defaults = {
        LeadResponseTemplate.Channel.EMAIL: (response_templates.DEFAULT_EMAIL_SUBJECT, response_templates.DEFAULT_EMAIL_BODY),
        LeadResponseTemplate.Channel.SMS: ("", response_templates.DEFAULT_SMS_BODY),
    }
    cards = []
    for source in sorted(AUTO_RESPONSE_SOURCES):
        for channel, channel_label in LeadResponseTemplate.Channel.choices:
            row = saved.get((source, channel))
            subject, body = (row.subject, row.body) if row else defaults[channel]
            cards.append({"source": source, "source_label": Lead.Source(source).label, "channel": channel,
                          "channel_label": channel_label, "row": row, "subject": subject, "body": body,
                          "active": row.active if row else True})
    return cards


@login_required
@require_GET
def templates_view(request):
    access = staff_access(request.user)
    rooftops = _manager_rooftops(access)
    return render(request, "leads/response_templates.html", {
        "rooftops": [(rooftop, _template_cards(rooftop)) for rooftop in rooftops],
        "placeholders": response_templates.PLACEHOLDERS,
    })


@login_required
@require_POST
def template_save_view(request, rooftop_id: int, source: str, channel: str):
    access = staff_access(request.user)
    rooftop = _manager_rooftop(access, rooftop_id)
    if source not in AUTO_RESPONSE_SOURCES or channel not in LeadResponseTemplate.Channel.values:
        raise Http404
    error = ""
    try:
        response_template_save(rooftop=rooftop, source=source, channel=channel, subject=request.POST.get("subject", ""),
                               body=request.POST.get("body", ""), active=request.POST.get("active") == "on",
                               by=request.user)
    except LeadError as exc:
        error = str(exc)
    if _is_htmx(request):
        response = render(request, "leads/_template_status.html", {"error": error, "saved": not error})
        response.status_code = UNPROCESSABLE if error else 200
        return response
    if error:
        return HttpResponse(error, status=UNPROCESSABLE, content_type="text/plain")
    messages.success(request, "Template saved.")
    return redirect("response-templates")


def _sample_lead(rooftop: Rooftop) -> Lead:
    """An unsaved lead to preview a template with: a real vehicle and salesperson of the store when it has them."""
    from customers.models import Customer

    vehicle = InventoryVehicle.objects.for_rooftops([rooftop.pk]).filter(status=InventoryVehicle.Status.IN_STOCK) \
        .order_by("id").first()
    person = StaffProfile.objects.filter(user__staff_roles__rooftop=rooftop,
                                         user__staff_roles__role=Role.SALESPERSON).order_by("display_name").first()
    lead = Lead(rooftop=rooftop, customer=Customer(first_name="Pat", dealer_group_id=rooftop.dealer_group_id),
                source=Lead.Source.WEB_FORM, vehicle=vehicle, vehicle_description="" if vehicle else "2025 sample SUV")
    lead.assigned_to_id = person.user_id if person else None
    return lead


@login_required
@require_POST
def template_preview_view(request):
    access = staff_access(request.user)
    rooftop = _manager_rooftop(access, _int(request.POST.get("rooftop"), 0) or 0)
    channel = request.POST.get("channel", "sms")
    subject, body = request.POST.get("subject", ""), request.POST.get("body", "")
    errors = response_templates.template_errors(body, channel=channel)
    if channel == "email":
        errors += [f"Subject: {e}" for e in response_templates.template_errors(subject, channel=channel, field="subject")]
    previews = []
    if not errors:
        lead = _sample_lead(rooftop)
        source = request.POST.get("source", "")
        if source in Lead.Source.values:
            lead.source = source
        now = timezone.now()
        open_context = response_context(lead=lead, now=now)
        for label, context in (
            ("During business hours", open_context.__class__(**{**vars(open_context), "store_open": True, "next_open_at": None,
                                                                 "reply_due_at": None})),
            ("Outside business hours", _closed_context(open_context, rooftop, now)),
        ):
            previews.append({"label": label, "subject": response_templates.render(subject, context) if subject else "",
                             "body": response_templates.render(body, context)})
    response = render(request, "leads/_template_preview.html", {"errors": errors, "previews": previews,
                                                                 "channel": channel})
    response.status_code = UNPROCESSABLE if errors else 200
    return response


def _closed_context(context, rooftop: Rooftop, now):
    """The same context as it would read tonight after closing, to show the after-hours sentence."""
    from leads import routing
    from leads.services.roster import rooftop_business_hours

    hours = rooftop_business_hours(rooftop)
    # The next opening after the store's next closing: what a customer writing tonight would be told.
    probe = now
    for _ in range(7 * 24 * 4):
        if not routing.is_open(hours, rooftop.time_zone, probe):
            break
        probe += timedelta(minutes=15)
    window = routing.response_window(probe, routing.RoutingRule(mode="pool", response_minutes=context.response_minutes),
                                     hours, rooftop.time_zone)
    return context.__class__(**{**vars(context), "store_open": False, "next_open_at": window.opens_at, "now": probe,
                                "reply_due_at": window.deadline_at})


# --------------------------------------------------------------------------- manager: availability and speed


@login_required
@require_GET
def availability_board_view(request):
    access = staff_access(request.user)
    _manager_rooftops(access)
    return render(request, "leads/availability_board.html", {
        "rows": selectors.availability_board(access=access),
        "pool": selectors.pool_clocks(access=access),
        "availability_choices": Availability.choices,
        "now": timezone.now(),
    })


@login_required
@require_POST
def availability_set_view(request, rooftop_id: int, user_id: int):
    access = staff_access(request.user)
    _manager_rooftop(access, rooftop_id)
    if not StaffRole.objects.filter(user_id=user_id, rooftop_id=rooftop_id, role=Role.SALESPERSON).exists():
        raise Http404
    profile = StaffProfile.objects.filter(user_id=user_id).first()
    if profile is None:
        raise Http404
    availability = request.POST.get("availability", "")
    if availability not in AVAILABILITIES:
        return HttpResponse(f"Choose one of: {', '.join(label for _v, label in Availability.choices)}",
                            status=UNPROCESSABLE, content_type="text/plain")
    staff_set_availability(profile=profile, availability=availability)
    if _is_htmx(request):
        row = next(r for r in selectors.availability_board(access=access)
                   if r.user.pk == user_id and r.rooftop.pk == rooftop_id)
        return render(request, "leads/_board_row.html", {"row": row, "availability_choices": Availability.choices,
                                                          "now": timezone.now(), "saved": True})
    messages.success(request, f"{profile.display_name} is now {profile.get_availability_display().lower()}.")
    return redirect("availability-board")


PERIODS = {"7": 7, "30": 30, "90": 90}


@login_required
@require_GET
def speed_to_lead_view(request):
    access = staff_access(request.user)
    rooftops = _manager_rooftops(access)
    days = PERIODS.get(request.GET.get("days", "30"), 30)
    chosen = _int(request.GET.get("rooftop"))
    rooftop_ids = [chosen] if chosen in {r.pk for r in rooftops} else [r.pk for r in rooftops]
    until = timezone.now()
    since = until - timedelta(days=days)
    tables = [
        (title, selectors.speed_to_lead_percentiles(rooftop_ids=rooftop_ids, since=since, until=until, by=by))
        for title, by in (("By store", "rooftop"), ("By source", "source"), ("By salesperson", "person"))
    ]
    return render(request, "leads/speed_to_lead.html", {
        "tables": tables, "steps": selectors.SPEED_STEPS, "days": days, "periods": PERIODS, "rooftops": rooftops,
        "chosen": chosen if chosen in {r.pk for r in rooftops} else None,
        "reroutes": selectors.reroute_counts(rooftop_ids=rooftop_ids, since=since, until=until),
    })
