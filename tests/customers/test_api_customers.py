"""The customers API: create (matched as intake matches), update, merge suggestions."""

import pytest

from customers.models import Customer, CustomerEmail, DuplicateCandidate
from factories import add_contact, make_customer
from rooftops.models import AccessRecord
from rooftops.services import api_token_create

pytestmark = pytest.mark.django_db


def _post(client, body, **headers):
    return client.post("/api/customers/", body, content_type="application/json", **headers)


def test_create_makes_a_customer_known_at_my_rooftop(world, client):
    client.force_login(world.bdc)
    response = _post(client, {"first_name": "Avery", "last_name": "Quinn", "emails": ["avery@example.com"],
                              "phones": ["(617) 555-0142"], "city": "Boston"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["matched"] is False and body["phones"] == ["+16175550142"] and body["city"] == "Boston"
    assert client.get(f"/api/customers/{body['id']}/").status_code == 200
    assert AccessRecord.unscoped.filter(kind="customer_api", object_ids=[body["id"]]).exists()


def test_an_existing_email_or_phone_answers_that_customer_instead_of_a_duplicate(world, client):
    known = make_customer(world.rooftop, first_name="Jordan")
    add_contact(known, email="jordan@example.com", phone="+16175550123")
    client.force_login(world.bdc)
    by_email = _post(client, {"first_name": "Jordy", "emails": ["JORDAN@example.com"]})
    assert by_email.status_code == 200 and by_email.json()["matched"] is True and by_email.json()["id"] == known.id
    by_phone = _post(client, {"phones": ["617-555-0123"], "emails": ["new@example.com"]})
    assert by_phone.status_code == 200 and by_phone.json()["id"] == known.id
    assert Customer.unscoped.count() == 1
    assert set(CustomerEmail.objects.filter(customer=known).values_list("email", flat=True)) == {
        "jordan@example.com", "new@example.com"}


def test_a_match_at_another_store_of_the_group_is_the_same_customer(world, client):
    theirs = make_customer(world.other_rooftop, first_name="Bea")
    add_contact(theirs, email="bea@example.com")
    client.force_login(world.bdc)
    response = _post(client, {"emails": ["bea@example.com"]})
    assert response.status_code == 200 and response.json()["id"] == theirs.id  # now known here too, as intake does


@pytest.mark.parametrize("body, field", [
    ({}, "non_field_errors"), ({"emails": ["nope"]}, "emails"), ({"phones": ["12"]}, "phones"),
    ({"first_name": "A", "country": "usa"}, "country"), ({"first_name": "A", "time_zone": "Mars/Olympus"}, "time_zone"),
    ({"first_name": "A", "rooftop": 999999}, "rooftop"), ({"first_name": "x" * 101}, "first_name"),
])
def test_create_refuses_bad_fields_with_400(world, client, body, field):
    client.force_login(world.bdc)
    response = _post(client, body)
    assert response.status_code == 400 and field in response.json(), response.json()
    assert not Customer.unscoped.exists()


def test_a_retried_create_makes_one_customer(world, client):
    client.force_login(world.bdc)
    body = {"first_name": "Noor"}  # no email or phone: nothing to match, so only the key stops a second one
    first = _post(client, body, HTTP_IDEMPOTENCY_KEY="c-1")
    again = _post(client, body, HTTP_IDEMPOTENCY_KEY="c-1")
    assert (first.status_code, again.status_code) == (201, 201) and again.json()["id"] == first.json()["id"]
    assert Customer.unscoped.filter(first_name="Noor").count() == 1


def test_update_corrects_the_record_and_another_store_gets_404(world, client):
    customer = make_customer(world.rooftop)
    client.force_login(world.salesperson)
    response = client.patch(f"/api/customers/{customer.id}/", {"last_name": "Smythe", "preferred_contact": "text",
                                                              "time_zone": "America/Denver"},
                            content_type="application/json")
    assert response.status_code == 200, response.json()
    customer.refresh_from_db()
    assert (customer.last_name, customer.preferred_contact, customer.time_zone) == ("Smythe", "text", "America/Denver")
    assert client.patch(f"/api/customers/{customer.id}/", {"preferred_contact": "pigeon"},
                        content_type="application/json").status_code == 400
    client.force_login(world.outsider)
    assert client.patch(f"/api/customers/{customer.id}/", {"last_name": "X"},
                        content_type="application/json").status_code == 404
    customer.refresh_from_db()
    assert customer.last_name == "Smythe"


def test_merge_suggestions(world, client):
    first = make_customer(world.rooftop, first_name="Dee")
    second = make_customer(world.rooftop, first_name="Dee")
    add_contact(second, email="dee@example.com", phone="+16175550177")
    candidate = DuplicateCandidate.unscoped.create(dealer_group=world.rooftop.dealer_group, customer_a=first,
                                                   customer_b=second, reasons=["same name"])
    hidden = make_customer(world.other_rooftop, first_name="Dee")  # not visible here: not offered
    DuplicateCandidate.unscoped.create(dealer_group=world.rooftop.dealer_group, customer_a=first, customer_b=hidden,
                                       reasons=["same name"])
    client.force_login(world.bdc)
    rows = client.get(f"/api/customers/{first.id}/duplicates/").json()
    assert rows == [{"id": candidate.id, "reasons": ["same name"], "found_at": rows[0]["found_at"],
                     "other": {"id": second.id, "name": "Dee Shopper", "emails": ["dee@example.com"],
                               "phones": ["+16175550177"]}}]
    record = AccessRecord.unscoped.get(kind="customer_api", path=f"/api/customers/{first.id}/duplicates/")
    assert record.object_ids == [first.id, second.id]
    client.force_login(world.outsider)
    assert client.get(f"/api/customers/{first.id}/duplicates/").status_code == 404


def test_acting_on_a_merge_suggestion_merge_undo_and_dismiss(world, client):
    first = make_customer(world.rooftop, first_name="Dee")
    second = make_customer(world.rooftop, first_name="Dee")
    add_contact(second, email="dee@example.com")
    candidate = DuplicateCandidate.unscoped.create(dealer_group=world.rooftop.dealer_group, customer_a=first,
                                                   customer_b=second, reasons=["same name"])
    client.force_login(world.outsider)
    assert client.post(f"/api/duplicates/{candidate.id}/merge/", {"keep": first.id},
                       content_type="application/json").status_code == 404
    client.force_login(world.bdc)
    wrong = client.post(f"/api/duplicates/{candidate.id}/merge/", {"keep": 999999}, content_type="application/json")
    assert wrong.status_code == 400 and "keep" in wrong.json()
    merged = client.post(f"/api/duplicates/{candidate.id}/merge/", {"keep": first.id}, content_type="application/json")
    assert merged.status_code == 200, merged.json()
    body = merged.json()
    assert (body["survivor_id"], body["merged_id"]) == (first.id, second.id)
    second.refresh_from_db()
    assert second.merged_into_id == first.id
    assert list(first.emails.values_list("email", flat=True)) == ["dee@example.com"]
    assert client.post(f"/api/merges/{body['merge_id']}/undo/").status_code == 204
    second.refresh_from_db()
    assert second.merged_into_id is None and first.emails.count() == 0
    again = client.post(f"/api/merges/{body['merge_id']}/undo/")
    assert again.status_code == 422 and "already undone" in again.json()["detail"]
    other = DuplicateCandidate.unscoped.create(dealer_group=world.rooftop.dealer_group, customer_a=first,
                                               customer_b=make_customer(world.rooftop, first_name="Dee"), reasons=["x"])
    assert client.post(f"/api/duplicates/{other.id}/dismiss/").status_code == 204
    other.refresh_from_db()
    assert other.status == DuplicateCandidate.Status.DISMISSED
    # The undone merge's suggestion is open again; the dismissed one is not offered.
    assert [row["id"] for row in client.get(f"/api/customers/{first.id}/duplicates/").json()] == [candidate.id]


def test_a_read_only_token_cannot_create_or_change_customers(world, client):
    customer = make_customer(world.rooftop)
    _, key = api_token_create(user=world.bdc, name="crm sync", scope="read")
    auth = {"HTTP_AUTHORIZATION": f"Token {key}"}
    assert _post(client, {"first_name": "X"}, **auth).status_code == 403
    assert client.patch(f"/api/customers/{customer.id}/", {"first_name": "X"}, content_type="application/json",
                        **auth).status_code == 403
    assert Customer.unscoped.count() == 1 and Customer.unscoped.get().first_name == "Pat"


def test_a_match_keeps_what_staff_set(world, client):
    known = make_customer(world.rooftop, first_name="Jo", preferred_contact="email")
    add_contact(known, email="jo@example.com")
    client.force_login(world.bdc)
    response = _post(client, {"emails": ["jo@example.com"], "first_name": "Joanna", "preferred_contact": "text",
                              "time_zone": "America/Chicago"})
    assert response.status_code == 200
    known.refresh_from_db()
    assert (known.first_name, known.preferred_contact, known.time_zone) == ("Jo", "email", "America/Chicago")
