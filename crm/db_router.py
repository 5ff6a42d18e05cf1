"""Which reads may come from the streaming replica (`DATABASE_REPLICA_URL`), and everything that must not.

A read goes to the replica only inside an explicit replica-read scope, opened by `replica_reads` on the GET views
that may show a moment-old picture: dashboards, customer search, exports and API lists. Even there the primary
serves writes; every read after the request wrote (the append-only access log excepted: nothing reads it back in
the request); reads inside a transaction; reads of who may see what (auth, sessions, staff roles, rooftops, API
tokens, second factors: a role taken away a moment ago must never be honoured by a lagging copy); reads of a
browser that wrote a moment ago (`ReadYourWritesMiddleware`); and every read while the replica does not answer
(the scope falls back to the primary and a breaker spares the next requests the connect timeout).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, Error, connections, router
from django.utils.deprecation import MiddlewareMixin

from crm.handoff import Breaker

logger = logging.getLogger(__name__)

REPLICA = "replica"
# Apps whose rows a page may show a moment late. An allowlist, so a new app reads the primary until it is added;
# `rooftops` (staff roles, stores, tokens, the access log), auth, sessions and the second factor are not in it.
REPLICA_APPS = frozenset({"customers", "leads", "service", "alerts", "tracking", "kpis", "marketing", "dms",
                          "assistant"})
# Written by replica-read views (who read what), never read back in the same request: such a write does not send
# the rest of the request to the primary.
APPEND_ONLY = frozenset({"rooftops.AccessRecord"})
READ_YOUR_WRITES_COOKIE = "crm_primary_reads"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")

breaker = Breaker("read replica", lambda: settings.REPLICA_BREAKER_SECONDS,
                  failure="it did not answer; pages read the primary")


@dataclass
class ReadScope:
    """Where one request's replica-eligible reads go, and how fresh they are."""

    alias: str  # REPLICA, or DEFAULT_DB_ALIAS when there is none, it is down, or this browser just wrote
    as_of: datetime | None = None  # the replica's last replayed commit (None: nothing replayed since it started)
    wrote: bool = False  # this request wrote: its later reads go to the primary

    @property
    def live(self) -> bool:
        return self.alias != REPLICA

    def header(self) -> str:
        """`X-Data-As-Of`: `live`, or the replica's last replayed commit in ISO 8601 (UTC)."""
        if self.live:
            return "live"
        return self.as_of.isoformat() if self.as_of else "replica"


_scope: ContextVar[ReadScope | None] = ContextVar("replica_read_scope", default=None)


def replica_database(primary: dict, replica: dict) -> dict:
    """The replica's DATABASES entry: its own server and login, the primary's connection options (pool sizes,
    timeouts, persistent connections)."""
    return {**replica, "CONN_MAX_AGE": primary.get("CONN_MAX_AGE", 0),
            # A replica is restarted or rebuilt on its own: a connection to the old one (pooled or persistent) is
            # checked before use (one round trip) instead of failing the request that draws it.
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": {**primary.get("OPTIONS", {}), **replica.get("OPTIONS", {})}}


def read_connection(model):
    """The connection for a raw SQL read of `model`'s rows: where the ORM would read them (raw SQL is not routed)."""
    return connections[router.db_for_read(model)]


def current_scope() -> ReadScope | None:
    return _scope.get()


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def _wrote_recently(request) -> bool:
    try:
        return float(request.COOKIES.get(READ_YOUR_WRITES_COOKIE, "0")) > time.time()
    except ValueError:
        return False


def _open(request) -> ReadScope:
    live = ReadScope(alias=DEFAULT_DB_ALIAS)
    if not replica_configured() or breaker.is_open():
        return live
    if request is not None and _wrote_recently(request):
        return live
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return live
    # One round trip that is both the health check and the "as of" of the page.
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT pg_is_in_recovery(), pg_last_xact_replay_timestamp()")
            in_recovery, replayed_at = cursor.fetchone()
    except Error as exc:
        logger.warning("read replica unavailable, reading the primary: %s",
                       f"{type(exc).__name__}: {exc}".splitlines()[0][:200])
        try:
            connections[REPLICA].close()  # a broken connection must not go back to the pool as a good one
        except Error:
            pass
        breaker.trip()
        return live
    if not in_recovery:
        # Promoted, or pointed at a primary by mistake: no longer a copy of ours, so it may diverge from it.
        logger.warning("DATABASE_REPLICA_URL is not a standby (pg_is_in_recovery() is false); reading the primary")
        breaker.trip()
        return live
    return ReadScope(alias=REPLICA, as_of=replayed_at)


@contextmanager
def replica_read_scope(request=None) -> Iterator[ReadScope]:
    """Replica-eligible reads inside this block may come from the replica (see the module docstring)."""
    outer = _scope.get()
    if outer is not None:
        yield outer
        return
    scope = _open(request)
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def replica_reads(view: Callable) -> Callable:
    """On a GET view (or, with `method_decorator`, an API view's `get`): its reads may come from the replica.

    Apply it inside `login_required`, so the session and the user are read before the scope opens. The response
    carries `X-Data-As-Of`; templates show the same with `_data_as_of.html`.
    """

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD") or not replica_configured():
            return view(request, *args, **kwargs)  # without a replica nothing changes, not even the page
        with replica_read_scope(request) as scope:
            # On the Django request (a DRF request reads through to it): templates and the middleware see it.
            getattr(request, "_request", request).read_scope = scope
            response = view(request, *args, **kwargs)
        response["X-Data-As-Of"] = scope.header()
        return response

    return wrapped


T = TypeVar("T")


def replica_reads_streamed(rows: Iterable[T]) -> Iterator[T]:
    """The rows of a streamed response, read in the scope of the view that made it (they are produced after the
    view returned). The scope is entered around each step, so a download cut short leaves no scope behind."""
    scope = _scope.get()  # now, in the view: the generator below runs only once the response is sent

    def steps() -> Iterator[T]:
        iterator = iter(rows)
        while True:
            token = _scope.set(scope)
            try:
                row = next(iterator)
            except StopIteration:
                return
            finally:
                _scope.reset(token)
            yield row

    return steps()


class ReplicaRouter:
    """Reads inside a replica-read scope go to the replica when nothing above forbids it; the rest, the primary."""

    def db_for_read(self, model, **hints) -> str:
        scope = _scope.get()
        if (scope is None or scope.live or scope.wrote or model._meta.app_label not in REPLICA_APPS
                or connections[DEFAULT_DB_ALIAS].in_atomic_block):
            # Named, not None: Django would otherwise follow an instance read from the replica back to it.
            return DEFAULT_DB_ALIAS
        return REPLICA

    def db_for_write(self, model, **hints) -> str:
        scope = _scope.get()
        if scope is not None and model._meta.label not in APPEND_ONLY:
            scope.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        # The replica holds the same rows as the primary: a row read from one may point at a row of the other.
        if {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA}:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == DEFAULT_DB_ALIAS  # the replica gets the schema by streaming, like every other change


class ReadYourWritesMiddleware(MiddlewareMixin):
    """After a signed-in person's successful write, their browser's reads stay on the primary for a while
    (`REPLICA_READ_YOUR_WRITES_SECONDS`): the list they are sent back to shows what they just did."""

    def process_response(self, request, response):
        if not replica_configured() or response.status_code >= 400:
            return response
        scope = getattr(request, "read_scope", None)
        wrote = request.method not in SAFE_METHODS or (scope is not None and scope.wrote)
        user = getattr(request, "user", None)
        if wrote and user is not None and user.is_authenticated:
            seconds = settings.REPLICA_READ_YOUR_WRITES_SECONDS
            response.set_cookie(READ_YOUR_WRITES_COOKIE, f"{time.time() + seconds:.0f}", max_age=seconds,
                                httponly=True, samesite="Lax", secure=settings.SESSION_COOKIE_SECURE)
        return response
