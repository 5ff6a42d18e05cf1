"""A demo dealer website per rooftop, served by the CRM at /demo-site/<rooftop slug>/.

Public (no login), like a real dealer's site: it lists the rooftop's inventory, embeds track.js with the
rooftop's write key, and its forms create customers and leads through tracking.services.web_lead_create.
Browsing it is how a person sees events arrive in the manager's live debugger.
"""

from __future__ import annotations

from django.db.models import Count, Q
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from crm.pagination import paginate
from leads.models import InventoryVehicle
from rooftops.models import Rooftop
from tracking.services import web_lead_create
from tracking.site_forms import FORMS, PriceAlertForm, ServiceForm, ShopperForm, sms_consent_text

PAGE_SIZE = 12
ON_THE_LOT = (InventoryVehicle.Status.IN_STOCK, InventoryVehicle.Status.IN_TRANSIT)
SORTS = {"price": ("price_cents", "id"), "-price": ("-price_cents", "id"), "-year": ("-year", "price_cents", "id"),
         "mileage": ("mileage", "id")}
VDP_FORMS = ("test_drive", "contact", "price_alert", "trade", "credit")


def _rooftop(slug: str) -> Rooftop:
    return get_object_or_404(Rooftop, slug=slug)


def _inventory(rooftop: Rooftop):
    # The public inventory of one store: what its own website shows anyone.
    return InventoryVehicle.objects.for_rooftops([rooftop.id]).filter(status__in=ON_THE_LOT)


def _site_context(request, rooftop: Rooftop, page_type: str) -> dict:
    return {
        "rooftop": rooftop,
        "page_type": page_type,
        # ?tracking=declined: the page tells track.js the shopper declined (as a consent banner would).
        "tracking_declined": request.GET.get("tracking") == "declined",
    }


def _dollars(raw: str | None) -> int | None:
    try:
        value = int(str(raw).replace(",", "").replace("$", "").strip())
    except (TypeError, ValueError):
        return None
    return value if 0 <= value <= 10_000_000 else None


def srp(request, slug: str):
    """Search results: filters by make, model, condition and price; 12 a page."""
    rooftop = _rooftop(slug)
    vehicles = _inventory(rooftop)
    makes = sorted(set(vehicles.values_list("make", flat=True)))
    make = request.GET.get("make", "")
    model = request.GET.get("model", "")
    condition = request.GET.get("condition", "")
    price_min, price_max = _dollars(request.GET.get("price_min")), _dollars(request.GET.get("price_max"))
    search = request.GET.get("q", "").strip()[:60]
    models = sorted(set(vehicles.filter(make=make).values_list("model", flat=True))) if make in makes else []
    if make in makes:
        vehicles = vehicles.filter(make=make)
        if model in models:
            vehicles = vehicles.filter(model=model)
    if condition in InventoryVehicle.Condition.values:
        vehicles = vehicles.filter(condition=condition)
    if price_min is not None:
        vehicles = vehicles.filter(price_cents__gte=price_min * 100)
    if price_max is not None:
        vehicles = vehicles.filter(price_cents__lte=price_max * 100)
    if search:
        for word in search.split()[:4]:
            vehicles = vehicles.filter(Q(make__icontains=word) | Q(model__icontains=word) | Q(trim__icontains=word)
                                       | Q(body_style__icontains=word))
    sort = request.GET.get("sort", "price") if request.GET.get("sort") in SORTS else "price"
    page = paginate(vehicles.order_by(*SORTS[sort]), per_page=PAGE_SIZE, raw_page=request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    filters = {"make": make if make in makes else "", "model": model if model in models else "",
               "condition": condition if condition in InventoryVehicle.Condition.values else "",
               "price_min": price_min, "price_max": price_max, "q": search, "sort": sort}
    new_makes = list(_inventory(rooftop).filter(condition=InventoryVehicle.Condition.NEW)
                     .values_list("make", flat=True).annotate(n=Count("id")).order_by("-n")[:1])
    return render(request, "tracking/site/srp.html", {
        **_site_context(request, rooftop, "srp"), "page": page, "makes": makes, "models": models,
        "franchise_make": new_makes[0] if new_makes else "",
        "conditions": InventoryVehicle.Condition.choices, "filters": filters, "query": query.urlencode(),
    })


def _vdp_forms(rooftop: Rooftop, vehicle: InventoryVehicle, bound: ShopperForm | None = None) -> dict:
    forms = {}
    for form_type in VDP_FORMS:
        if bound is not None and bound.form_type == form_type:
            forms[form_type] = bound
        else:
            initial = {"vehicle_id": vehicle.id}
            if form_type == "price_alert":
                initial["target_price"] = int(vehicle.price_cents / 100 * 0.95) // 100 * 100
            forms[form_type] = FORMS[form_type](rooftop=rooftop, initial=initial)
    return forms


def vdp(request, slug: str, stock: str, bound: ShopperForm | None = None):
    """A vehicle's page: price, photos, payment and trade-in calculators, price-drop alert, forms."""
    rooftop = _rooftop(slug)
    vehicle = get_object_or_404(_inventory(rooftop), stock_number=stock)
    price_drop = vehicle.price_history.first()
    return render(request, "tracking/site/vdp.html", {
        **_site_context(request, rooftop, "vdp"), "vehicle": vehicle, "price": vehicle.price_cents // 100,
        "down_payment": vehicle.price_cents // 100 // 10 // 100 * 100,
        "was_price": price_drop.old_price_cents // 100 if price_drop and price_drop.old_price_cents > vehicle.price_cents
        else None,
        "forms": _vdp_forms(rooftop, vehicle, bound), "open_form": bound.form_type if bound else "",
        "similar": _inventory(rooftop).filter(make=vehicle.make, model=vehicle.model).exclude(id=vehicle.id)
        .order_by("price_cents")[:3],
    }, status=400 if bound is not None else 200)


def service(request, slug: str, bound: ShopperForm | None = None):
    rooftop = _rooftop(slug)
    return render(request, "tracking/site/service.html", {
        **_site_context(request, rooftop, "service"), "form": bound or ServiceForm(rooftop=rooftop),
    }, status=400 if bound is not None else 200)


def contact(request, slug: str, bound: ShopperForm | None = None):
    rooftop = _rooftop(slug)
    return render(request, "tracking/site/contact.html", {
        **_site_context(request, rooftop, "contact"), "form": bound or FORMS["contact"](rooftop=rooftop),
    }, status=400 if bound is not None else 200)


def form_submit(request, slug: str, form_type: str):
    """Every form posts here; errors re-render the page it came from, success goes to a thank-you page."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    rooftop = _rooftop(slug)
    form_class = FORMS.get(form_type)
    if form_class is None:
        raise Http404
    form = form_class(request.POST, rooftop=rooftop)
    vehicle = None
    vehicle_id = request.POST.get("vehicle_id", "")
    if vehicle_id.isdigit():
        vehicle = _inventory(rooftop).filter(id=int(vehicle_id)).first()
    if not form.is_valid():
        if vehicle is not None and form_type in VDP_FORMS:
            return vdp(request, slug, vehicle.stock_number, bound=form)
        if form_type == "service":
            return service(request, slug, bound=form)
        return contact(request, slug, bound=form)
    web_lead_create(rooftop=rooftop, form=form.to_input(), anonymous_id=request.COOKIES.get("crm_aid", ""))
    thanks = reverse("demo-site-thanks", args=[rooftop.slug])
    params = f"?form={form_type}"
    if vehicle is not None:
        params += f"&stock={vehicle.stock_number}"
    return redirect(thanks + params)


def thanks(request, slug: str):
    rooftop = _rooftop(slug)
    form_type = request.GET.get("form", "")
    vehicle = _inventory(rooftop).filter(stock_number=request.GET.get("stock", "")[:20]).first()
    return render(request, "tracking/site/thanks.html", {
        **_site_context(request, rooftop, "thank_you"), "form_type": form_type, "vehicle": vehicle,
        "is_price_alert": form_type == PriceAlertForm.form_type, "consent_text": sms_consent_text(rooftop),
    })
