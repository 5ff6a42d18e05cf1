"""A user of rooftop A gets 404 for every object of rooftop B: every page and API route, and the websocket.

The routes are read from the URL configuration, so a new route with an object id in its path fails here
until its id is mapped below and it answers 404 to the other store's staff.
"""

import json
from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from alerts.models import Alert, ScoringFit
from customers.models import Appointment, DuplicateCandidate, ErasureRecord, OwnedVehicle
from customers.services import customer_merge
from dms.models import DmsImport, DmsImportError
from factories import InventoryVehicleFactory, LeadFactory, make_customer
from leads.models import AdfReview, InventoryFeedRun
from marketing.models import Campaign
from rooftops.models import WebhookDelivery
from rooftops.services import api_token_create
from rooftops.webhooks import webhook_endpoint_create, webhooks_emit
from service.models import RepairOrder

pytestmark = pytest.mark.django_db

# Routes whose ids are not another store's data: a user's own token; public doors authenticated by a key.
# The assistant API is one too: another store's key with a conversation id is 404 (tests/assistant/test_assistant_api.py);
# so is the website chat's HTTP fallback (tests/assistant/test_chat_http.py).
NOT_TENANT_ROUTES = {"token-revoke", "adf-intake", "tracking-collect", "api-assistant-messages", "assistant-chat-open",
                     "assistant-chat-say",
                     # A marketing message's own links: no login, a signed token (tests/marketing/test_public_links.py).
                     "marketing-click", "marketing-open", "marketing-unsubscribe", "marketing-preferences"}
NOT_TENANT_PREFIXES = ("admin:", "demo-site")


@dataclass
class OtherStore:
    rooftop_id: int
    customer_id: int
    lead_id: int
    appointment_id: int
    candidate_id: int
    merge_id: int
    review_id: int
    alert_id: int
    fit_id: int  # a fit of the scoring weights run at the other store
    user_id: int  # a salesperson of the other store (roster, availability)
    vehicle_id: int  # an inventory vehicle of the other store
    repair_order_id: int
    owned_vehicle_id: int  # a financed vehicle of the other store's customer (the account number's reveal)
    record_id: int  # an erasure of the other store's customer
    feed_run_id: int  # a load of the other store's inventory feed (with refused rows to download)
    import_id: int  # a DMS import of the other store (with a refused row to download)
    source: str = "web_form"  # lead routing: a lead source and a message channel, with the rooftop id
    channel: str = "sms"
    rooftop_slug: str = ""  # the other store's webhook pages
    webhook_id: int = 0  # a webhook endpoint of the other store
    delivery_id: int = 0  # one of its deliveries
    campaign_id: int = 0  # a marketing campaign of the other store


@pytest.fixture
def other_store(world, settings) -> OtherStore:
    settings.WEBHOOK_ALLOW_LOOPBACK = True  # the other store's webhook endpoint is on 127.0.0.1
    b = world.other_rooftop
    customer = make_customer(b, first_name="Bea", last_name="Elsewhere")
    vehicle = InventoryVehicleFactory(rooftop=b)
    lead = LeadFactory(rooftop=b, customer=customer, vehicle=vehicle)
    appointment = Appointment.unscoped.create(rooftop=b, customer=customer, lead=lead, department="sales",
                                              kind="test_drive", scheduled_at=lead.created_at)
    first, second = make_customer(b, first_name="Dee"), make_customer(b, first_name="Dee")
    candidate = DuplicateCandidate.unscoped.create(dealer_group=b.dealer_group, customer_a=first, customer_b=second,
                                                   reasons=["same name"])
    twin_a, twin_b = make_customer(b, first_name="Twin"), make_customer(b, first_name="Twin")
    merge = customer_merge(survivor=twin_a, merged=twin_b, user=None)
    review = AdfReview.unscoped.create(rooftop=b, raw="<adf/>", reason="no prospect", received_via="http")
    alert = Alert.unscoped.create(rooftop=b, customer=customer, kind="repeat_vdp_views", reasons=["Viewed it 4 times"])
    fit = ScoringFit.unscoped.create(rooftop=b)
    ro = RepairOrder.unscoped.create(rooftop=b, customer=customer, ro_number="B-1001")
    owned = OwnedVehicle.objects.create(customer=customer, make="Honda", model="CR-V", lender="Ally Financial",
                                        finance_account_number="5550001234")
    erasure = ErasureRecord.unscoped.create(dealer_group=b.dealer_group, customer_id=customer.id, source="staff",
                                            reason="request")
    feed_run = InventoryFeedRun.unscoped.create(rooftop=b, source="upload", status="done", failed=1,
                                                row_errors=[{"line": 2, "vin": "", "stock_number": "B1", "reason": "No VIN."}])
    dms_import = DmsImport.unscoped.create(rooftop=b, kind="sales", status="done", file_name="deals.csv", failed=1)
    DmsImportError.objects.create(dms_import=dms_import, line=2, key="D-1", reason="No deal number.")
    webhook, _ = webhook_endpoint_create(rooftop=b, url="http://127.0.0.1:9/hooks", events=["lead.created"], user=None)
    webhooks_emit(b, "lead.created", {"lead": {"id": lead.id}}, object_key=f"lead:{lead.id}")
    delivery = WebhookDelivery.unscoped.get(endpoint=webhook)
    campaign = Campaign.unscoped.create(dealer_group=b.dealer_group, rooftop=b, name="Their campaign")
    return OtherStore(b.id, customer.id, lead.id, appointment.id, candidate.id, merge.id, review.id, alert.id,
                      fit.id, world.outsider.id, vehicle.id, ro.id, owned.id, erasure.id, feed_run.id, dms_import.id,
                      rooftop_slug=b.slug, webhook_id=webhook.id, delivery_id=delivery.id,
                      campaign_id=campaign.id)


def _routes(patterns=None, namespace=""):
    for p in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(p, URLResolver):
            yield from _routes(p.url_patterns, f"{namespace}{p.namespace}:" if p.namespace else namespace)
        elif isinstance(p, URLPattern) and p.name and p.pattern.converters:
            yield f"{namespace}{p.name}", sorted(p.pattern.converters)


def _tenant_routes():
    return [
        (name, kwargs) for name, kwargs in _routes()
        if name not in NOT_TENANT_ROUTES and not name.startswith(NOT_TENANT_PREFIXES)
    ]


def _answers(client, url, **headers) -> set[int]:
    return {client.get(url, **headers).status_code, client.post(url, {}, **headers).status_code}


def test_every_route_with_an_object_id_is_known_here():
    known = set(OtherStore.__dataclass_fields__)
    unknown = {(name, kw) for name, kwargs in _tenant_routes() for kw in kwargs if kw not in known}
    assert not unknown, f"map these ids to another store's object in OtherStore: {sorted(unknown)}"


def test_staff_of_one_store_get_404_for_every_object_of_another_store(world, other_store, client):
    routes = _tenant_routes()
    assert len(routes) >= 20
    _, key = api_token_create(user=world.manager, name="isolation test")
    client.force_login(world.manager)  # the strongest role at store A
    leaks = []
    for name, kwargs in routes:
        url = reverse(name, kwargs={kw: getattr(other_store, kw) for kw in kwargs})
        answers = _answers(client, url)
        if name.startswith("api-"):
            client.logout()
            answers |= _answers(client, url, HTTP_AUTHORIZATION=f"Token {key}")
            client.force_login(world.manager)
        # 405 is fine for the method a route does not take; anything else must be the 404 of "missing".
        if 404 not in answers or answers - {404, 405}:
            leaks.append((name, url, sorted(answers)))
    assert not leaks, leaks


def test_a_mix_of_my_customer_and_another_stores_lead_is_404(world, other_store, client):
    mine = make_customer(world.rooftop)
    client.force_login(world.manager)
    for name in ("customer-lead-sold", "customer-lead-lost"):
        url = reverse(name, kwargs={"customer_id": mine.id, "lead_id": other_store.lead_id})
        assert client.post(url, {"reason": "Price"}).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_alert_websocket_never_carries_another_stores_alerts(world, other_store, live_server_url):
    import asyncio

    import websockets

    _, key = api_token_create(user=world.manager, name="ws isolation")
    ws_url = live_server_url.replace("http", "ws") + f"/ws/alerts/?token={key}"

    async def replay():
        async with websockets.connect(ws_url) as socket:
            await socket.send(json.dumps({"type": "resume", "after": 0}))
            frames = []
            try:
                while True:
                    frames.append(json.loads(await asyncio.wait_for(socket.recv(), timeout=1.5)))
            except TimeoutError:
                return frames

    frames = asyncio.run(replay())
    carried = {f.get("alert", {}).get("id") or f.get("id") for f in frames}
    assert other_store.alert_id not in carried
    mine = Alert.unscoped.create(rooftop=world.rooftop, kind="repeat_vdp_views", reasons=["Viewed it 4 times"],
                                 for_team="bdc")
    frames = asyncio.run(replay())
    assert mine.id in {f.get("alert", {}).get("id") or f.get("id") for f in frames}, frames


def test_the_same_routes_open_for_the_stores_own_staff(world, client):
    """The control: the 404s above come from the scope, not from a route that never answers."""
    customer = make_customer(world.rooftop)
    lead = LeadFactory(rooftop=world.rooftop, customer=customer, vehicle=InventoryVehicleFactory(rooftop=world.rooftop))
    alert = Alert.unscoped.create(rooftop=world.rooftop, customer=customer, kind="repeat_vdp_views",
                                  reasons=["Viewed it 4 times"])
    fit = ScoringFit.unscoped.create(rooftop=world.rooftop)
    erasure = ErasureRecord.unscoped.create(dealer_group=world.rooftop.dealer_group, customer_id=customer.id,
                                            source="staff", reason="request")
    client.force_login(world.manager)
    for url in (reverse("customer-erasure", kwargs={"record_id": erasure.id}),
                reverse("customer-erase", kwargs={"customer_id": customer.id}),reverse("customer-detail", kwargs={"customer_id": customer.id}),
                reverse("api-customer-detail", kwargs={"customer_id": customer.id}),
                reverse("lead-adf-export", kwargs={"lead_id": lead.id}),
                reverse("alert-row", kwargs={"alert_id": alert.id}),
                reverse("scoring-fit-progress", kwargs={"fit_id": fit.id})):
        assert client.get(url, HTTP_HX_REQUEST="true").status_code == 200, url


def test_the_access_log_of_another_store_is_404_for_its_page_and_its_export(world, other_store, client):
    """Its store is a query parameter, not a path id, so the route walk above does not reach it."""
    client.force_login(world.manager)
    for params in ({"rooftop": other_store.rooftop_id}, {"rooftop": other_store.rooftop_id, "format": "csv"}):
        assert client.get(reverse("access-log"), params).status_code == 404
    assert client.get(reverse("access-log")).status_code == 200  # the control: their own store's log
