"""Small hand-countable worlds for the dashboard tests: a builder that writes leads, appointments, alerts,
calls and repair orders at exact local times, then rebuilds the rollups the way Celery would."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from alerts.models import Alert
from customers.models import Appointment, TimelineEntry
from factories import make_customer
from kpis.scope import Scope, ScopeRooftop
from kpis.services import rollups_rebuild
from leads.models import Lead
from service.models import RepairOrder

# Long past, so nothing in these worlds is "in the future" whatever day the tests run.
REBUILT_AT = datetime(2026, 6, 1, 12, 0, tzinfo=ZoneInfo("UTC"))


def local(rooftop, day: date, hh: int = 10, mm: int = 0, ss: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm, ss), tzinfo=ZoneInfo(rooftop.time_zone))


@dataclass
class Builder:
    rooftop: object
    _ro: int = 0
    customers: list = field(default_factory=list)

    def at(self, day: date, hh: int = 10, mm: int = 0, ss: int = 0, rooftop=None) -> datetime:
        """A moment on a local day of the rooftop (its own time zone)."""
        return local(rooftop or self.rooftop, day, hh, mm, ss)

    def scope(self, *rooftops, start: date, end: date, **filters) -> Scope:
        return scope_of(*(rooftops or [self.rooftop]), start=start, end=end, **filters)

    def customer(self, rooftop=None):
        customer = make_customer(rooftop or self.rooftop, first_name=f"Cust{len(self.customers)}")
        self.customers.append(customer)
        return customer

    def lead(self, *, at: datetime, rooftop=None, source="web_form", owner=None, answered_after: timedelta | None = None,
             status="working", customer=None, sold_at=None) -> Lead:
        rooftop = rooftop or self.rooftop
        return Lead.unscoped.create(
            rooftop=rooftop, customer=customer or self.customer(rooftop), source=source, assigned_to=owner,
            created_at=at, first_attempt_at=at + answered_after if answered_after is not None else None,
            status=status, sold_at=sold_at or (at + timedelta(days=3) if status == "sold" else None),
        )

    def appointment(self, *, lead=None, at: datetime, status="scheduled", person=None, created_at=None, customer=None,
                    rooftop=None, department="sales") -> Appointment:
        return Appointment.unscoped.create(
            rooftop=rooftop or (lead.rooftop if lead else self.rooftop), customer=customer or lead.customer,
            lead=lead, department=department, kind="test_drive", scheduled_at=at, status=status,
            assigned_to=person, created_at=created_at or at - timedelta(days=1),
        )

    def alert(self, *, customer, at: datetime, kind="vdp_repeat", claimed_after=None, acted_after=None,
              claimed_by=None, for_user=None, parent=None, lead=None, rooftop=None) -> Alert:
        return Alert.unscoped.create(
            rooftop=rooftop or self.rooftop, customer=customer, kind=kind, created_at=at, lead=lead,
            claimed_at=at + claimed_after if claimed_after is not None else None, claimed_by=claimed_by,
            acted_at=at + acted_after if acted_after is not None else None, for_user=for_user, parent=parent,
        )

    def activity(self, *, actor, kind: str, at: datetime, lead=None, customer=None, rooftop=None) -> TimelineEntry:
        return TimelineEntry.unscoped.create(
            customer=customer or lead.customer, rooftop=rooftop or self.rooftop, department="sales", kind=kind,
            occurred_at=at, summary=kind, direction="out", actor=actor, lead=lead,
        )

    def repair_order(self, *, customer, opened: datetime, closed: datetime | None) -> RepairOrder:
        self._ro += 1
        return RepairOrder.unscoped.create(
            rooftop=self.rooftop, customer=customer, ro_number=f"T{self._ro}", opened_at=opened, closed_at=closed,
            status="closed" if closed else "open",
        )

    def rebuild(self, start=date(2025, 1, 1), end=date(2026, 5, 31), rooftops=None) -> None:
        for rooftop in rooftops or [self.rooftop]:
            rollups_rebuild(rooftop=rooftop, start=start, end=end, now=REBUILT_AT)


def scope_of(*rooftops, start: date, end: date, **filters) -> Scope:
    return Scope(
        rooftops=tuple(ScopeRooftop(id=r.id, name=r.name, time_zone=r.time_zone) for r in rooftops),
        start=start, end=end, **filters,
    )


@pytest.fixture
def build(world) -> Builder:
    return Builder(rooftop=world.rooftop)
