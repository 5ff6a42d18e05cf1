"""Without DATABASE_REPLICA_URL the replica-read views are exactly what they were: no "as of", no header."""

import pytest

from crm.db_router import REPLICA, replica_read_scope
from customers.models import Customer
from factories import make_customer


@pytest.mark.django_db
def test_without_a_replica_nothing_changes(client, world, settings):
    assert REPLICA not in settings.DATABASES
    make_customer(world.rooftop, first_name="Nora", last_name="Noreplica")
    client.force_login(world.salesperson)
    page = client.get("/customers/", {"q": "Noreplica"})
    assert "Noreplica" in page.text
    assert "X-Data-As-Of" not in page and "data-as-of" not in page.text
    with replica_read_scope() as scope:
        assert scope.live and Customer.unscoped.all().db == "default"
