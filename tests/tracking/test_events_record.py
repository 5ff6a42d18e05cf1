from datetime import datetime, timedelta, timezone

import pytest

from factories import RooftopFactory
from tracking.messages import normalize
from tracking.models import TrackedEvent, Visitor
from tracking.services import events_record

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)


def _vdp(message_id: str, anonymous_id: str = "anon-1") -> dict:
    return {"type": "track", "event": "asc_item_pageview", "anonymousId": anonymous_id, "messageId": message_id,
            "timestamp": "2026-11-24T14:59:58Z", "properties": {"item_id": "2t3p1rfv0rc000001"}}


def test_events_are_stored_once_per_message_id_across_retries():
    rooftop = RooftopFactory()
    messages = [normalize(_vdp(f"m{i}"), received_at=NOW) for i in range(3)]
    first = events_record(rooftop=rooftop, messages=messages, received_at=NOW)
    again = events_record(rooftop=rooftop, messages=messages, received_at=NOW + timedelta(seconds=5))
    assert (first.stored, first.duplicates) == (3, 0)
    assert (again.stored, again.duplicates) == (0, 3)
    assert TrackedEvent.objects.for_rooftops([rooftop.id]).count() == 3
    event = TrackedEvent.objects.for_rooftops([rooftop.id]).first()
    assert event.vin == "2T3P1RFV0RC000001"
    assert Visitor.objects.for_rooftops([rooftop.id]).get().anonymous_id == "anon-1"


def test_the_same_message_id_at_two_rooftops_is_two_events():
    a, b = RooftopFactory(), RooftopFactory()
    message = normalize(_vdp("same"), received_at=NOW)
    events_record(rooftop=a, messages=[message], received_at=NOW)
    events_record(rooftop=b, messages=[message], received_at=NOW)
    assert TrackedEvent.objects.across_rooftops().filter(message_id="same", rooftop_id__in=[a.id, b.id]).count() == 2
