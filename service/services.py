"""Writes of the service-to-sales side: turning equity-mining opportunities into leads."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction

from leads.models import Lead
from leads.services.new_leads import lead_create
from rooftops.tenancy import StaffAccess
from service.models import VehicleOpportunity
from service.selectors import MINING_ROLES

MINING_BATCH_LIMIT = 200  # one bulk action; a longer list is worked page by page


@dataclass(frozen=True)
class MiningOutcome:
    made: list[Lead]
    already: int  # customers who had an open equity-mining lead at that store: not given a second


def equity_leads_create(*, access: StaffAccess, opportunity_ids: list[int], user: User) -> MiningOutcome:
    """One equity-mining lead per chosen customer and store, routed by the store's rules like any new lead; a
    customer with an open one keeps it. The lead carries the reasons, so whoever gets it knows why."""
    allowed = [r for r in access.rooftop_ids if access.has_role(r, *MINING_ROLES)]
    chosen = list(VehicleOpportunity.objects.for_rooftops(allowed).filter(id__in=opportunity_ids[:MINING_BATCH_LIMIT])
                  .select_related("rooftop", "customer", "vehicle").order_by("-score", "id"))
    made: list[Lead] = []
    already = 0
    seen: set[tuple[int, int]] = set()
    for opportunity in chosen:
        key = (opportunity.rooftop_id, opportunity.customer_id)
        if key in seen:
            continue
        seen.add(key)
        with transaction.atomic():
            if Lead.unscoped.filter(rooftop_id=key[0], customer_id=key[1], source=Lead.Source.EQUITY_MINING,
                                    status__in=Lead.OPEN_STATUSES).exists():
                already += 1
                continue
            reasons = "; ".join(r["reason"] for r in opportunity.reasons)
            result = lead_create(
                rooftop=opportunity.rooftop, source=Lead.Source.EQUITY_MINING, customer=opportunity.customer,
                vehicle_description=f"Trade of the {opportunity.vehicle}"[:200],
                comments=f"Equity mining: {reasons}.", created_by=user,
            )
            made.append(result.lead)
    return MiningOutcome(made=made, already=already)
