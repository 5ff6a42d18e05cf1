"""The manager's website-tracking page: the snippet to paste and the live debugger."""

from datetime import datetime, timezone

import pytest
from django.test import override_settings

from factories import make_staff
from rooftops.models import Role
from tracking.messages import normalize
from tracking.rejections import rejection_record, rejections_clear
from tracking.services import events_record

pytestmark = pytest.mark.django_db


@override_settings(SITE_URL="https://crm.harbor.example/")
def test_a_manager_sees_the_snippet_with_the_stores_write_key_and_this_servers_url(client, world):
    client.force_login(world.manager)
    page = client.get("/tracking/setup/").content.decode()
    assert 'src="https://crm.harbor.example/static/crm/track.js"' in page.replace("&quot;", '"')
    assert f'data-write-key="{world.rooftop.tracking_write_key}"' in page.replace("&quot;", '"')
    assert world.other_rooftop.tracking_write_key not in page
    assert "/demo-site/" in page


def test_the_debugger_shows_events_newest_first_and_refused_requests_with_reasons(client, world):
    now = datetime.now(timezone.utc)
    rejections_clear(rooftop_id=world.rooftop.id)
    for n, name in enumerate(["asc_pageview", "asc_item_pageview", "trade_in_calculator_completed"]):
        message = normalize({"type": "track", "event": name, "anonymousId": "anon-dbg", "messageId": f"d{n}"},
                            received_at=now)
        events_record(rooftop=world.rooftop, messages=[message], received_at=now)
    rejection_record(rooftop_id=world.rooftop.id, status=400, code="invalid_message",
                     reason="message 0: anonymousId or userId is required; nothing was stored", path="/v1/batch",
                     size=120, body_preview='{"batch": [{"type": "track"}]}', received_at=now)
    client.force_login(world.manager)
    partial = client.get(f"/tracking/setup/{world.rooftop.id}/debugger/").content.decode()
    order = [partial.index(name) for name in ["trade_in_calculator_completed", "asc_item_pageview", "asc_pageview<"]]
    assert order == sorted(order)
    assert "anonymousId or userId is required" in partial
    page = client.get("/tracking/setup/").content.decode()
    # Polls every 2 s; the pause button stops it (static/crm/app.js: no eval'd trigger filter under the CSP).
    assert 'hx-trigger="every 2s"' in page
    assert 'id="debugger-pause"' in page and 'data-pause-polling="debugger"' in page


def test_a_manager_of_two_stores_switches_between_them(client, world):
    from rooftops.models import StaffRole

    StaffRole.objects.create(user=world.manager, rooftop=world.other_rooftop, role=Role.MANAGER)
    client.force_login(world.manager)
    page = client.get("/tracking/setup/", {"rooftop": world.other_rooftop.id}).content.decode()
    assert world.other_rooftop.tracking_write_key in page


def test_only_managers_see_it(client, world):
    for user in (world.salesperson, world.bdc, world.advisor):
        client.force_login(user)
        assert client.get("/tracking/setup/").status_code == 404


def test_the_other_rooftops_manager_gets_404_for_this_stores_debugger(client, world):
    other_manager = make_staff(world.other_rooftop, Role.MANAGER)
    client.force_login(other_manager)
    assert client.get(f"/tracking/setup/{world.rooftop.id}/debugger/").status_code == 404
    assert client.get("/tracking/setup/", {"rooftop": world.rooftop.id}).status_code == 404
    client.force_login(world.outsider)
    assert client.get(f"/tracking/setup/{world.rooftop.id}/debugger/").status_code == 404


def test_anonymous_is_sent_to_log_in(client, world):
    for url in ("/tracking/setup/", f"/tracking/setup/{world.rooftop.id}/debugger/"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login/" in response["Location"]


def test_the_nav_shows_website_tracking_to_managers(client, world):
    client.force_login(world.manager)
    assert 'href="/tracking/setup/"' in client.get("/profile/").content.decode()
