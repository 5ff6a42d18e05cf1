"""The marketing measures against a world counted by hand: messages sent, clicked, unsubscribed, and appointments
after a marketing message, each on the store's own local days."""

from datetime import date, timedelta

import pytest

from customers.models import OutboundMessage
from kpis.selectors import dashboard_build, measure_value
from marketing.models import Campaign, CampaignRecipient

pytestmark = pytest.mark.django_db

MARCH = (date(2026, 3, 1), date(2026, 3, 31))
_n = iter(range(1, 10_000))


def message(build, customer, *, sent_at, kind="marketing", status="sent", rooftop=None, channel="email"):
    return OutboundMessage.unscoped.create(
        customer=customer, rooftop=rooftop or build.rooftop, channel=channel, kind=kind, purpose="marketing",
        to_address=f"c{customer.id}@example.test", body="Hi", status=status,
        idempotency_key=f"kpi-marketing-{next(_n)}", sent_at=sent_at if status == "sent" else None)


def recipient(build, campaign, customer, **fields):
    return CampaignRecipient.objects.create(campaign=campaign, customer=customer, rooftop=build.rooftop,
                                            channel="email", send_key=f"{customer.id}:{next(_n)}",
                                            status="queued", **fields)


def test_marketing_messages_sent_clicked_unsubscribed_and_appointments_after(build, world):
    campaign = Campaign.unscoped.create(dealer_group=build.rooftop.dealer_group, rooftop=build.rooftop, name="Spring",
                                       status="sent")
    a, b, c, d = (build.customer() for _ in range(4))
    # Sent in March: 2 campaign messages (one at 23:30 on March 31 local, April 1 in UTC) and 1 price-drop alert;
    # not counted: February, 00:30 on April 1 local, a queued one, a staff message, the other store's.
    message(build, a, sent_at=build.at(date(2026, 3, 2)))
    message(build, b, sent_at=build.at(date(2026, 3, 31), 23, 30), channel="sms")
    message(build, c, sent_at=build.at(date(2026, 3, 15)), kind="price_drop")
    message(build, d, sent_at=build.at(date(2026, 2, 27)))
    message(build, d, sent_at=build.at(date(2026, 4, 1), 0, 30))
    message(build, d, sent_at=None, status="queued")
    message(build, d, sent_at=build.at(date(2026, 3, 3)), kind="staff")
    message(build, d, sent_at=build.at(date(2026, 3, 3)), rooftop=world.other_rooftop)
    # Clicks and unsubscribes by when they happened.
    recipient(build, campaign, a, clicked_at=build.at(date(2026, 3, 3)), unsubscribed_at=build.at(date(2026, 3, 4)))
    recipient(build, campaign, b, clicked_at=build.at(date(2026, 3, 20)))
    recipient(build, campaign, c, clicked_at=build.at(date(2026, 2, 20)), unsubscribed_at=build.at(date(2026, 4, 2)))
    # Appointments made in March: a (12 days after their message: counts), c (16 days after: counts), d (its
    # marketing message here was 31 days before: no; its staff message and the other store's do not count).
    build.appointment(customer=a, at=build.at(date(2026, 3, 20)), created_at=build.at(date(2026, 3, 14)))
    build.appointment(customer=c, at=build.at(date(2026, 4, 5)), created_at=build.at(date(2026, 4, 1)) - timedelta(
        hours=30))
    build.appointment(customer=d, at=build.at(date(2026, 4, 10)), created_at=build.at(date(2026, 3, 30)))
    # b's appointment came before b's message.
    build.appointment(customer=b, at=build.at(date(2026, 3, 12)), created_at=build.at(date(2026, 3, 10)))

    scope = build.scope(start=MARCH[0], end=MARCH[1])
    got = {key: measure_value(scope=scope, key=key).current for key in (
        "marketing_sent", "marketing_clicked", "marketing_unsubscribed", "marketing_appointments")}
    assert got == {"marketing_sent": 3, "marketing_clicked": 2, "marketing_unsubscribed": 1,
                   "marketing_appointments": 2}
    # The previous period (Jan 29 - Feb 28): d's February message and c's February click.
    previous = {key: measure_value(scope=scope, key=key).previous for key in got}
    assert previous == {"marketing_sent": 1, "marketing_clicked": 1, "marketing_unsubscribed": 0,
                        "marketing_appointments": 0}
    # The other store's own message counts at that store only.
    other = build.scope(world.other_rooftop, start=MARCH[0], end=MARCH[1])
    assert measure_value(scope=other, key="marketing_sent").current == 1
    # On the page, in a Marketing section of their own.
    section = next(s for s in dashboard_build(scope=scope).sections if s.section.key == "marketing")
    assert [m.key for m, _ in section.cards] == ["marketing_sent", "marketing_clicked", "marketing_unsubscribed",
                                                 "marketing_appointments"]
