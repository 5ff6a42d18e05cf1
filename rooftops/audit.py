"""The one writer of the access log: every read or export of customer data calls `access_record`.

One INSERT per call (a read spanning several stores writes one row per store in that same statement), no
query before it: the caller passes what it already loaded. It runs in the request's own database work, so
a page whose record cannot be written fails rather than shows data nobody can later account for.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.http import HttpRequest

from crm.ratelimit import client_address
from rooftops.models import AccessRecord
from rooftops.tenancy import StaffAccess

Kind = AccessRecord.Kind
MAX_OBJECT_IDS = 500  # a list page holds far fewer; an export is identified by its query and row count


def access_record(request: HttpRequest, *, kind: str, rooftop_ids: Iterable[int], rows: int,
                  object_ids: Iterable[int] = ()) -> None:
    """Record that request.user read `rows` rows of customer data of these stores."""
    user = request.user
    ids = [int(i) for i in object_ids][:MAX_OBJECT_IDS]
    common = {
        "user_id": user.pk, "username": user.get_username()[:150], "client_address": client_address(request),
        "kind": kind, "path": request.path[:300], "query": request.META.get("QUERY_STRING", "")[:2000],
        "object_ids": ids, "rows": max(0, rows),
    }
    AccessRecord.unscoped.bulk_create([AccessRecord(rooftop_id=r, **common) for r in sorted(set(rooftop_ids))])


def customer_rooftop_ids(access: StaffAccess, customer) -> list[int]:
    """Where a read of this customer is recorded: the user's only store, else the first of theirs that knows them."""
    if len(access.rooftop_ids) == 1:
        # customer_for_access already proved this store knows them: no query needed.
        return list(access.rooftop_ids)
    from customers.services import rooftop_for_action

    rooftop = rooftop_for_action(customer=customer, rooftop_ids=sorted(access.rooftop_ids))
    return [rooftop.pk] if rooftop else sorted(access.rooftop_ids)
