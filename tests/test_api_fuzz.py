"""A bounded OpenAPI fuzzing run (schemathesis) against /api/schema/, as each staff role with an API token:
no 5xx, every response as the schema says, and never a byte of another rooftop's data."""

import pytest
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings as hypothesis_settings

import schemathesis
from factories import InventoryVehicleFactory, LeadFactory, add_contact, make_customer
from rooftops.services import api_token_create

pytestmark = pytest.mark.django_db

APP = get_wsgi_application()
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", APP)
OTHER_STORE_MARKER = "Zebulonoutsider"  # a name only the other rooftop's customer carries


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Each of the 3 x operations tests builds its own staff; Argon2 for each would be most of the run."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def same_connection():
    """As Django's test client does: the WSGI calls keep the test's connection (and its transaction)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def staff_tokens(world, same_connection):
    """Data at both stores; the other store's customer is only ever visible by its marker name."""
    mine = make_customer(world.rooftop, first_name="Casey", last_name="Mine")
    add_contact(mine, email="casey@example.com", phone="+16175550111")
    LeadFactory(rooftop=world.rooftop, customer=mine, assigned_to=world.salesperson,
                vehicle=InventoryVehicleFactory(rooftop=world.rooftop))
    theirs = make_customer(world.other_rooftop, first_name=OTHER_STORE_MARKER, last_name=OTHER_STORE_MARKER)
    add_contact(theirs, email="zebulonoutsider@example.com", phone="+13035550199")
    LeadFactory(rooftop=world.other_rooftop, customer=theirs, assigned_to=world.outsider,
                vehicle=InventoryVehicleFactory(rooftop=world.other_rooftop))
    return {role: api_token_create(user=user, name="fuzz")[1]
            for role, user in (("salesperson", world.salesperson), ("bdc", world.bdc), ("manager", world.manager))}


@pytest.mark.parametrize("role", ["salesperson", "bdc", "manager"])
@schema.parametrize()
@hypothesis_settings(max_examples=4, deadline=None, database=None, derandomize=True,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                            HealthCheck.filter_too_much])
def test_the_staff_api_never_fails_or_leaks_another_rooftop_for_any_input(case, role, staff_tokens):
    response = case.call(headers={"Authorization": f"Token {staff_tokens[role]}"})
    assert response.status_code < 500, (case.method, case.formatted_path, response.status_code, response.text[:300])
    assert OTHER_STORE_MARKER.lower() not in response.text.lower(), (case.method, case.formatted_path)
    case.validate_response(response, checks=[schemathesis.checks.not_a_server_error,
                                             schemathesis.checks.status_code_conformance,
                                             schemathesis.checks.content_type_conformance,
                                             schemathesis.checks.response_schema_conformance])
