"""Builders for marketing tests: customers with the lifecycle and behaviour the audience triggers read."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

from django.db import connection

from customers.models import ConsentRecord, OwnedVehicle, VehicleSale
from factories import InventoryVehicleFactory, add_contact, make_customer
from marketing.models import PriceDropSubscription
from service.models import RepairOrder, VehicleOpportunity
from tracking.models import Visitor

_n = itertools.count(1)


def customer(rooftop, first_name="Pat", email="", phone="", **fields):
    person = make_customer(rooftop, first_name=first_name, **fields)
    add_contact(person, email=email, phone=phone)
    return person


def owned(person, rooftop, *, kinds=(), reasons=(), year=2019, make="Toyota", model="RAV4", vin="",
          mileage=None, equity_cents=None, today=date(2026, 12, 1)):
    vehicle = OwnedVehicle.objects.create(customer=person, vin=vin or f"OWNED{next(_n):012d}", year=year, make=make,
                                          model=model)
    VehicleOpportunity.objects.create(
        rooftop=rooftop, customer=person, vehicle=vehicle, trigger_kinds=list(kinds), mileage=mileage,
        reasons=[{"kind": k, "reason": r} for k, r in zip(kinds, reasons)], equity_cents=equity_cents,
        scanned_on=today)
    return vehicle


def repair_order(person, rooftop, *, opened_at: datetime, mileage_in=None, vehicle=None):
    return RepairOrder.objects.create(rooftop=rooftop, customer=person, vehicle=vehicle, ro_number=f"RO{next(_n)}",
                                      opened_at=opened_at, mileage_in=mileage_in)


def vdp_view(person, vehicle, *, at: datetime, identified=True):
    """A detail-page view of `vehicle` by the customer's browser (the event names them when `identified`)."""
    visitor = Visitor.objects.create(rooftop_id=vehicle.rooftop_id, anonymous_id=f"anon-{next(_n)}",
                                     customer=person)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tracking_event (received_at, rooftop_id, visitor_id, customer_id, message_id, type, event,"
            " occurred_at, vin) VALUES (%s, %s, %s, %s, %s, 'track', 'asc_item_pageview', %s, %s)",
            [at, vehicle.rooftop_id, visitor.pk, person.pk if identified else None, f"msg-{next(_n)}", at,
             vehicle.vin])
    return visitor


def listed(rooftop, **fields):
    return InventoryVehicleFactory(rooftop=rooftop, **fields)


def subscribe(person, vehicle, **fields):
    return PriceDropSubscription.objects.create(rooftop_id=vehicle.rooftop_id, customer=person, vehicle=vehicle,
                                                **fields)


def sale(person, rooftop, *, vin, sold_on: date, deal=None):
    return VehicleSale.objects.create(rooftop=rooftop, customer=person, deal_number=deal or f"D{next(_n)}",
                                      sold_on=sold_on, vin=vin)


def consent(person, *, channel="sms", purpose="marketing", granted=True, at: datetime):
    return ConsentRecord.objects.create(customer=person, dealer_group=person.dealer_group, channel=channel,
                                        purpose=purpose, granted=granted, source="web form", recorded_at=at)


def ago(now: datetime, **delta) -> datetime:
    return now - timedelta(**delta)
