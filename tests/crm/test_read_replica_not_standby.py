"""DATABASE_REPLICA_URL pointing at a server that is not a standby is refused: it would diverge from the primary."""

import pytest
from django.conf import settings

from crm.db_router import REPLICA, replica_read_scope
from customers.models import Customer


@pytest.fixture(scope="module")
def primary_as_replica(django_db_setup, django_db_blocker):
    """DATABASE_REPLICA_URL pointing at a primary by mistake (or at a promoted replica): the test server itself."""
    import copy

    from django.db import connections

    from crm import db_router

    primary = connections["default"].settings_dict
    entry = db_router.replica_database(primary, copy.deepcopy(primary))
    entry["TEST"] = {**entry.get("TEST", {}), "MIRROR": "default"}  # not flushed on its own: it is `default`
    settings.DATABASES[REPLICA] = entry
    db_router.breaker.reset()
    yield
    with django_db_blocker.unblock():
        connections[REPLICA].close()
        connections[REPLICA].close_pool()
    del connections[REPLICA]
    del settings.DATABASES[REPLICA]
    db_router.breaker.reset()


@pytest.mark.django_db(transaction=True, databases=["default", REPLICA])
def test_a_replica_url_that_is_not_a_standby_is_not_read(primary_as_replica):
    from crm import db_router

    with replica_read_scope() as scope:
        assert scope.live and Customer.unscoped.all().db == "default"
    assert db_router.breaker.is_open()  # and it is not asked again on every request
