"""The erasure doors: a manager confirms with a reason and the typed name, a real worker carries it out while the
page polls; everyone else gets 404; the task message carries the record id only."""

import time

import pytest
from celery import signals

from customers.models import Customer, ErasureRecord
from factories import RooftopFactory, add_contact, make_customer, make_staff
from rooftops.models import Role


@pytest.fixture
def zeb(world):
    customer = make_customer(world.rooftop, first_name="Zebulon", last_name="Quuxworth")
    add_contact(customer, email="zeb.quux@example.test", phone="+16175550199")
    return customer


def _denied_everywhere(client, customer, record, *, manager_elsewhere=False):
    for url in (f"/customers/{customer.pk}/erase/", f"/customers/erasures/{record.pk}/",
                f"/customers/erasures/{record.pk}/progress/"):
        assert client.get(url).status_code == 404, url
    listing = client.get("/customers/erasures/")
    if manager_elsewhere:  # their own stores' list, without this record
        assert listing.status_code == 200 and f"/customers/erasures/{record.pk}/" not in listing.content.decode()
    else:
        assert listing.status_code == 404
    assert client.post(f"/customers/{customer.pk}/erase/", {"reason": "x", "confirm_name": customer.full_name}
                       ).status_code == 404


def test_only_the_customers_managers_reach_erasure(client, world, zeb):
    record = ErasureRecord.unscoped.create(dealer_group=zeb.dealer_group, customer_id=zeb.pk, source="staff",
                                           reason="r")
    for user in (world.salesperson, world.bdc, world.advisor, world.outsider):
        client.force_login(user)
        assert "Erase personal data" not in client.get(f"/customers/{zeb.pk}/" if user != world.outsider
                                                       else "/customers/").content.decode()
        _denied_everywhere(client, zeb, record)
    # A manager of another group, and a manager of the group's other store (who does not know this customer).
    client.force_login(make_staff(RooftopFactory(), Role.MANAGER))
    _denied_everywhere(client, zeb, record, manager_elsewhere=True)
    client.force_login(make_staff(world.other_rooftop, Role.MANAGER))
    _denied_everywhere(client, zeb, record, manager_elsewhere=True)
    assert ErasureRecord.unscoped.count() == 1
    client.logout()
    response = client.get(f"/customers/{zeb.pk}/erase/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_wrong_name_is_refused_with_a_message(client, world, zeb):
    client.force_login(world.manager)
    page = client.get(f"/customers/{zeb.pk}/erase/").content.decode()
    assert "cannot be undone" in page and "do-not-contact list" in page
    response = client.post(f"/customers/{zeb.pk}/erase/", {"reason": "CCPA 7", "confirm_name": "Zebulon Q"})
    assert response.status_code == 422
    assert "That is not the customer&#x27;s name" in response.content.decode()
    response = client.post(f"/customers/{zeb.pk}/erase/", {"reason": " ", "confirm_name": "zebulon  quuxworth"})
    assert response.status_code == 422 and "Say why" in response.content.decode()
    assert not ErasureRecord.unscoped.exists()


def test_the_erasures_list_is_paginated_and_has_an_empty_state(client, world, zeb):
    client.force_login(world.manager)
    assert "No customer's personal data has been erased yet." in client.get("/customers/erasures/").content.decode()
    for n in range(27):
        ErasureRecord.unscoped.create(dealer_group=zeb.dealer_group, customer_id=zeb.pk, source="staff",
                                      reason=f"request {n}")
    first = client.get("/customers/erasures/").content.decode()
    assert "Page 1 of 2" in first and "request 26" in first and "request 0" not in first
    assert "request 0" in client.get("/customers/erasures/?page=2").content.decode()
    assert 'href="/customers/erasures/"' in client.get("/").content.decode() or \
        'href="/customers/erasures/"' in client.get("/customers/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_manager_erases_a_customer_and_watches_it_finish(client, world, celery_worker):
    from crm.celery import app as celery_app

    celery_app.set_current()
    zeb = make_customer(world.rooftop, first_name="Zebulon", last_name="Quuxworth")
    add_contact(zeb, email="zeb.quux@example.test")
    published = []

    def capture(sender=None, body=None, headers=None, **kwargs):
        if sender == "customers.tasks.erase_customer":
            published.append((body, headers))

    signals.before_task_publish.connect(capture, weak=False)
    try:
        client.force_login(world.manager)
        assert f'href="/customers/{zeb.pk}/erase/"' in client.get(f"/customers/{zeb.pk}/").content.decode()
        response = client.post(f"/customers/{zeb.pk}/erase/",
                               {"reason": "CCPA request 2026-114", "confirm_name": " zebulon quuxworth "})
        record = ErasureRecord.unscoped.get()
        assert response.status_code == 302 and response["Location"] == f"/customers/erasures/{record.pk}/"
        assert (record.source, record.requested_by_id, record.requested_by_username) == (
            "staff", world.manager.pk, world.manager.username)
        page = client.get(response["Location"]).content.decode()
        assert "CCPA request 2026-114" in page
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            record.refresh_from_db()
            if not record.active:
                break
            partial = client.get(f"/customers/erasures/{record.pk}/progress/").content.decode()
            assert 'hx-trigger="every 2s"' in partial  # still polling while it runs
            time.sleep(0.2)
        assert record.status == "done", record.error
        done = client.get(f"/customers/erasures/{record.pk}/progress/").content.decode()
        assert "hx-trigger" not in done and "Done" in done and "suppression_entries" in done
        assert Customer.unscoped.get(pk=zeb.pk).first_name == "Erased customer"
        assert "Erase personal data" not in client.get(f"/customers/{zeb.pk}/").content.decode()
        assert f"/customers/erasures/{record.pk}/" in client.get("/customers/erasures/").content.decode()
    finally:
        signals.before_task_publish.disconnect(capture)
    # The broker saw the record id and nothing else: no name, no address.
    assert len(published) == 1
    (args, kwargs, _), headers = published[0]
    assert (list(args), kwargs) == ([record.pk], {})
    assert "Zebulon" not in repr(published) and "zeb.quux" not in repr(published)
