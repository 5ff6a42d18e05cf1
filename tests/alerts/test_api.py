"""GET /api/alerts/?after= (the replay) and the one-click actions, scoped to the signed-in staff member."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Alert, AlertAction
from customers.models import TimelineEntry
from factories import make_staff
from rooftops.models import Role
from shopper_events import send, vdp
from alerts.services import visitor_score_events

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client):
    def as_user(user):
        client.force_login(user)
        return client
    return as_user


def test_the_replay_returns_my_alerts_after_an_id_in_id_order(world, shopper, alert, api):
    response = api(world.bdc).get("/api/alerts/?after=0")
    assert response.status_code == 200
    body = response.json()
    assert [a["id"] for a in body["results"]] == [alert.id]
    assert body["last_id"] == alert.id and body["has_more"] is False
    first = body["results"][0]
    assert first["kind"] == "repeat_vdp_views" and first["priority_label"] == "High"
    assert first["customer"] == {"id": shopper.customer.id, "name": "Jordan Rivera"}
    assert first["vehicle"]["stock_number"] == shopper.vehicle.stock_number
    assert api(world.bdc).get(f"/api/alerts/?after={alert.id}").json() == {"results": [], "last_id": alert.id, "has_more": False}


def test_the_replay_pages_with_limit_and_includes_follow_ups(world, shopper, alert, api):
    from factories import InventoryVehicleFactory

    camry = InventoryVehicleFactory(rooftop=world.rooftop, model="Camry")
    send(world.rooftop, [vdp(camry, anonymous_id=shopper.anonymous_id) for _ in range(4)])
    [follow_up_id] = visitor_score_events(visitor_id=shopper.visitor.id).alert_ids
    page = api(world.bdc).get("/api/alerts/?after=0&limit=1").json()
    assert ([a["id"] for a in page["results"]], page["has_more"]) == ([alert.id], True)
    page = api(world.bdc).get(f"/api/alerts/?after={page['last_id']}&limit=1").json()
    assert [(a["id"], a["parent_id"]) for a in page["results"]] == [(follow_up_id, alert.id)]


@pytest.mark.parametrize("who, sees", [
    ("bdc", True), ("salesperson", True), ("manager", True),
    ("teammate", False), ("advisor", False), ("outsider", False),
])
def test_the_replay_is_scoped_to_whom_the_alert_is_addressed(world, alert, api, who, sees):
    ids = [a["id"] for a in api(getattr(world, who)).get("/api/alerts/").json()["results"]]
    assert ids == ([alert.id] if sees else [])


def test_the_replay_refuses_bad_input_and_anonymous_callers(world, client, api):
    assert client.get("/api/alerts/").status_code in (401, 403)
    response = api(world.bdc).get("/api/alerts/?after=yesterday")
    assert response.status_code == 400 and "after" in response.json()
    assert api(world.bdc).get("/api/alerts/?limit=100000").status_code == 400


def test_claim_then_a_colleague_gets_409_and_a_manager_may_take_over(world, alert, api):
    assert api(world.bdc).post(f"/api/alerts/{alert.id}/claim/").json()["state"] == "claimed"
    other_bdc = make_staff(world.rooftop, Role.BDC_AGENT, display_name="Ola Other")
    response = api(other_bdc).post(f"/api/alerts/{alert.id}/claim/")
    assert response.status_code == 409 and response.json()["detail"] == "Bea BDC already claimed this alert."
    assert api(world.manager).post(f"/api/alerts/{alert.id}/claim/").json()["claimed_by_id"] == world.manager.id
    assert list(AlertAction.objects.filter(alert=alert).values_list("action", flat=True)) == ["claim", "claim"]


def test_a_call_is_logged_on_the_customer_timeline_and_marks_the_alert_acted(world, shopper, alert, api):
    response = api(world.bdc).post(f"/api/alerts/{alert.id}/act/", {"channel": "call", "note": "Left a voicemail"},
                                   content_type="application/json")
    assert response.status_code == 200 and response.json()["state"] == "acted"
    entry = TimelineEntry.unscoped.get(customer=shopper.customer, kind="call")
    assert (entry.actor, entry.department, entry.direction, entry.body) == (world.bdc, "bdc", "out", "Left a voicemail")
    assert entry.summary.startswith("Call by Bea BDC after an alert: Viewed the 2024 Toyota RAV4 XLE")
    assert entry.detail == {"alert_id": alert.id, "alert_kind": "repeat_vdp_views"}
    shopper.lead.refresh_from_db()
    assert shopper.lead.first_attempt_at is not None


def test_snooze_needs_a_time_in_the_next_seven_days(world, alert, api):
    post = api(world.bdc).post
    assert post(f"/api/alerts/{alert.id}/snooze/", {}, content_type="application/json").status_code == 400
    too_late = (timezone.now() + timedelta(days=8)).isoformat()
    response = post(f"/api/alerts/{alert.id}/snooze/", {"until": too_late}, content_type="application/json")
    assert response.status_code == 400 and "7 days" in response.json()["detail"]
    body = post(f"/api/alerts/{alert.id}/snooze/", {"minutes": 30}, content_type="application/json").json()
    assert body["snoozed_until"] is not None


def test_dismiss_needs_a_reason_and_other_needs_words(world, alert, api):
    post = api(world.bdc).post
    response = post(f"/api/alerts/{alert.id}/dismiss/", {}, content_type="application/json")
    assert response.status_code == 400 and "reason" in response.json()
    response = post(f"/api/alerts/{alert.id}/dismiss/", {"reason": "other"}, content_type="application/json")
    assert response.status_code == 400 and "few words" in response.json()["detail"]
    body = post(f"/api/alerts/{alert.id}/dismiss/", {"reason": "bought_elsewhere", "note": "Bought a CR-V"},
                content_type="application/json").json()
    assert (body["state"], body["dismissed_reason"]) == ("dismissed", "Bought elsewhere: Bought a CR-V")
    response = post(f"/api/alerts/{alert.id}/dismiss/", {"reason": "duplicate"}, content_type="application/json")
    assert response.status_code == 409


@pytest.mark.parametrize("action, body", [
    ("claim", {}), ("act", {"channel": "call"}), ("snooze", {"minutes": 10}), ("dismiss", {"reason": "duplicate"}),
])
def test_another_rooftops_user_gets_404_and_anonymous_is_refused(world, alert, api, client, action, body):
    url = f"/api/alerts/{alert.id}/{action}/"
    assert client.post(url, body, content_type="application/json").status_code in (401, 403)
    assert api(world.outsider).post(url, body, content_type="application/json").status_code == 404
    assert api(world.teammate).post(url, body, content_type="application/json").status_code == 404
    assert api(world.bdc).post("/api/alerts/999999/claim/").status_code == 404
    alert.refresh_from_db()
    assert alert.state == Alert.State.NEW


def test_the_schema_documents_the_replay_the_actions_and_the_websocket(world, api):
    schema = api(world.bdc).get("/api/schema/").content.decode()
    for path in ("/api/alerts/:", "/api/alerts/{alert_id}/claim/:", "/api/alerts/{alert_id}/dismiss/:"):
        assert path in schema
    assert "/ws/alerts/" in schema and "resume" in schema and "Websocket frame" in schema
