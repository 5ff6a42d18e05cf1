"""The one writer of the access log: every read or export of customer data calls `access_record`.

One INSERT per call (a read spanning several stores writes one row per store in that same statement), no
query before it: the caller passes what it already loaded. It runs in the request's own database work, so
a page whose record cannot be written fails rather than shows data nobody can later account for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest

from crm.ratelimit import client_address
from rooftops.models import AccessRecord
from rooftops.tenancy import StaffAccess

Kind = AccessRecord.Kind
MAX_OBJECT_IDS = 500  # a list page holds far fewer; an export is identified by its query and row count


@dataclass(frozen=True)
class Reader:
    """Who read, from where, through which door: an HTTP request or a websocket connection."""

    user_id: int | None
    username: str
    client_address: str
    path: str
    query: str

    @classmethod
    def of_request(cls, request: HttpRequest) -> Reader:
        user = request.user
        return cls(user.pk, user.get_username()[:150], client_address(request), request.path[:300],
                   request.META.get("QUERY_STRING", "")[:2000])

    @classmethod
    def of_scope(cls, scope: dict) -> Reader:
        """A websocket's ASGI scope, the address read the way `client_address` reads a request's."""
        user = scope["user"]
        address = (scope.get("client") or ("unknown",))[0] or "unknown"
        if settings.BEHIND_PROXY:
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            hops = [h.strip() for h in headers.get("x-forwarded-for", "").split(",") if h.strip()]
            address = hops[-1] if hops else address
        # The query string is left out: a websocket's may hold an API token.
        return cls(user.pk, user.get_username()[:150], str(address)[:64], scope.get("path", "")[:300], "")


def access_record(request: HttpRequest, *, kind: str, rooftop_ids: Iterable[int], rows: int,
                  object_ids: Iterable[int] = ()) -> None:
    """Record that request.user read `rows` rows of customer data of these stores."""
    access_record_by(Reader.of_request(request), kind=kind, rooftop_ids=rooftop_ids, rows=rows, object_ids=object_ids)


def access_record_by(reader: Reader, *, kind: str, rooftop_ids: Iterable[int], rows: int,
                     object_ids: Iterable[int] = ()) -> None:
    ids = [int(i) for i in object_ids][:MAX_OBJECT_IDS]
    common = {
        "user_id": reader.user_id, "username": reader.username, "client_address": reader.client_address,
        "kind": kind, "path": reader.path, "query": reader.query, "object_ids": ids, "rows": max(0, rows),
    }
    records = [AccessRecord(rooftop_id=r, **common) for r in sorted(set(rooftop_ids))]
    if len(records) == 1:
        # The common case (one store), on every customer page: a lone INSERT, where bulk_create would wrap it in
        # BEGIN and COMMIT, two more round trips for the same guarantee.
        records[0].save(force_insert=True)
    else:
        AccessRecord.unscoped.bulk_create(records)


def access_record_rows(request: HttpRequest, *, kind: str, rows: Iterable) -> None:
    """A list of rows that each belong to one store and show one customer (leads, alerts, RO or appointments):
    one record at each store shown, naming the customers; nothing when the list was empty."""
    rows = list(rows)
    if rows:
        access_record(request, kind=kind, rooftop_ids={r.rooftop_id for r in rows}, rows=len(rows),
                      object_ids=list(dict.fromkeys(r.customer_id for r in rows if r.customer_id)))


def customer_rooftop_ids(access: StaffAccess, customer) -> list[int]:
    """Where a read of this customer is recorded: the user's only store, else the first of theirs that knows them."""
    if len(access.rooftop_ids) == 1:
        # customer_for_access already proved this store knows them: no query needed.
        return list(access.rooftop_ids)
    from customers.services import rooftop_for_action

    rooftop = rooftop_for_action(customer=customer, rooftop_ids=sorted(access.rooftop_ids))
    return [rooftop.pk] if rooftop else sorted(access.rooftop_ids)
