"""One search box: names with typos, phones in any format, email, VIN, stock number; ranked and scoped."""

from __future__ import annotations

import pytest

from customers.models import CustomerRooftop, OwnedVehicle
from customers.search import name_words, search_terms
from customers.selectors import customer_search
from factories import InventoryVehicleFactory, LeadFactory, add_contact, make_customer
from rooftops.selectors import staff_access


@pytest.mark.parametrize("query, expected", [
    ("(617) 555-0142", {"phone_e164": "+16175550142", "phone_digits": "6175550142"}),
    ("617.555.0142", {"phone_e164": "+16175550142"}),
    ("+1 617 555 0142", {"phone_e164": "+16175550142"}),
    ("0142", {"phone_digits": "0142", "phone_e164": ""}),
    ("Jo@Example.com", {"email": "jo@example.com", "name": ""}),
    ("2t3p1rfv0rc012345", {"vin": "2T3P1RFV0RC012345", "name": ""}),
    ("RC012345", {"vin_fragment": "RC012345", "stock": "RC012345"}),
    ("T1042", {"stock": "T1042"}),
    ("  José   Núñez ", {"name": "jose nunez", "stock": ""}),
    ("", {"name": ""}),
])
def test_a_query_is_read_every_way_it_could_be_meant(query, expected):
    terms = search_terms(query)
    for name, value in expected.items():
        assert getattr(terms, name) == value, name


pytestmark_db = pytest.mark.django_db


@pytest.fixture
def people(world):
    def person(first, last, email="", phone="", rooftop=None):
        customer = make_customer(rooftop or world.rooftop, first_name=first, last_name=last)
        add_contact(customer, email=email, phone=phone)
        return customer

    return {
        "jonathan": person("Jonathan", "Smithers", "jon.smithers@example.com", "+16175550142"),
        "joanna": person("Joanna", "Smith", "joanna@example.com", "+16175550199"),
        "maria": person("Maria", "Gonzalez", "maria.g@example.com", "+17815550111"),
        "other_store": person("Jonathan", "Smithers", "other@example.com", "+13035550142", rooftop=world.other_rooftop),
        "person": person,
    }


def search(world, query, user=None):
    return customer_search(access=staff_access(user or world.salesperson), query=query)


@pytest.mark.django_db
def test_a_misspelled_name_finds_the_customer(world, people):
    hits = search(world, "Jonathon Smithres").hits
    assert hits and hits[0].customer == people["jonathan"]
    assert hits[0].matched == "name"


@pytest.mark.django_db
def test_the_closer_name_ranks_first(world, people):
    names = [h.customer for h in search(world, "joanna smith").hits]
    assert names[0] == people["joanna"]


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["(617) 555-0142", "617-555-0142", "6175550142", "+1 617 555 0142", "555-0142"])
def test_a_phone_in_any_format(world, people, typed):
    hits = search(world, typed).hits
    assert hits[0].customer == people["jonathan"]
    assert hits[0].phone == "(617) 555-0142"


@pytest.mark.django_db
def test_email_whole_or_partial(world, people):
    assert search(world, "MARIA.G@example.com").hits[0].customer == people["maria"]
    assert search(world, "maria.g@").hits[0].customer == people["maria"]


@pytest.mark.django_db
def test_an_owned_vin_whole_or_its_last_digits(world, people):
    OwnedVehicle.objects.create(customer=people["maria"], vin="1HGCV1F34NA012345", year=2022, make="Honda", model="Accord")
    assert search(world, "1hgcv1f34na012345").hits[0].customer == people["maria"]
    assert search(world, "NA012345").hits[0].customer == people["maria"]


@pytest.mark.django_db
def test_a_stock_number_or_inventory_vin_finds_who_asked_about_it(world, people):
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop, stock_number="T1042")
    LeadFactory(rooftop=world.rooftop, customer=people["joanna"], vehicle=vehicle)
    assert [h.customer for h in search(world, "t1042").hits] == [people["joanna"]]
    assert search(world, vehicle.vin).hits[0].customer == people["joanna"]


@pytest.mark.django_db
def test_exact_contact_matches_rank_above_similar_names(world, people):
    hits = search(world, "jon.smithers@example.com").hits
    assert hits[0].customer == people["jonathan"] and hits[0].score == 1.0


@pytest.mark.django_db
def test_only_customers_of_the_users_rooftops(world, people):
    mine = [h.customer for h in search(world, "Jonathan Smithers").hits]
    assert people["other_store"] not in mine
    theirs = [h.customer for h in search(world, "Jonathan Smithers", user=world.outsider).hits]
    assert theirs == [people["other_store"]]
    assert search(world, "+1 303 555 0142").hits == []


@pytest.mark.django_db
def test_merged_away_records_are_not_found(world, people):
    people["joanna"].merged_into = people["jonathan"]
    people["joanna"].save()
    assert people["joanna"] not in [h.customer for h in search(world, "joanna smith").hits]


@pytest.mark.django_db
def test_results_are_paginated(world, people):
    for i in range(45):
        people["person"](f"Pat{i:02d}", "Paginated")
    first = search(world, "paginated")
    assert len(first.hits) == 20 and first.total == 45 and first.has_next
    third = customer_search(access=staff_access(world.salesperson), query="paginated", page=3)
    assert len(third.hits) == 5 and not third.has_next


@pytest.mark.django_db
def test_the_search_page_and_its_live_partial(client, world, people):
    client.force_login(world.salesperson)
    page = client.get("/customers/", {"q": "Jonathon"})
    assert page.status_code == 200 and b"Jonathan" in page.content and b"<html" in page.content
    partial = client.get("/customers/", {"q": "Jonathon"}, HTTP_HX_REQUEST="true")
    assert b"<html" not in partial.content and b"Smithers" in partial.content
    empty = client.get("/customers/", {"q": "zzzzqqq"})
    assert b"No customer at your stores matches" in empty.content
    api = client.get("/api/customers/search/", {"q": "617 555 0142"}).json()
    assert api["results"][0]["id"] == people["jonathan"].pk
    client.logout()
    assert client.get("/customers/", {"q": "x"}).status_code == 302
    assert client.get("/api/customers/search/", {"q": "x"}).status_code in (401, 403)


@pytest.mark.django_db
def test_a_customer_known_at_both_stores_is_found_from_either(world, people):
    CustomerRooftop.objects.create(customer=people["maria"], rooftop=world.other_rooftop)
    assert search(world, "maria gonzalez", user=world.outsider).hits[0].customer == people["maria"]


@pytest.mark.django_db
def test_a_common_name_ranks_before_scoping_yet_keeps_every_visible_customer(world, people, monkeypatch,
                                                                             django_assert_max_num_queries):
    import customers.selectors as selectors

    monkeypatch.setattr(selectors, "SEARCH_MAX_RESULTS", 3)
    person = people["person"]
    # The best-ranked namesakes are at the other store: the scope, checked in rank order, must skip past them.
    for n in range(4):
        person("Al", "Johnson", f"al{n}@example.com", f"+1303555010{n}", rooftop=world.other_rooftop)
    mine = [person(first, "Johnson", f"{first.lower()}@example.com", f"+1617555020{n}")
            for n, first in enumerate(("Bob", "Carla", "Dmitri", "Evangeline"))]
    access = staff_access(world.salesperson)
    with django_assert_max_num_queries(2):  # the readings, then the page's customers with phone and email
        results = customer_search(access=access, query="johnson")
    assert [h.customer for h in results.hits] == mine[:3]  # same score: by name
    assert results.total == 3
    assert results.hits[0].phone == "(617) 555-0200" and results.hits[0].email == "bob@example.com"


@pytest.mark.parametrize("name, words", [
    ("mary adams", ["mary", "adams"]),
    ("ann-marie o'neil jr.", ["ann", "marie", "o", "neil", "jr"]),
    ("  ", []),
])
def test_a_name_splits_into_words_as_the_exact_word_index_splits_it(name, words):
    assert name_words(name) == words


@pytest.mark.django_db
def test_a_common_name_lists_its_exact_namesakes_from_the_words_index(world, people, monkeypatch,
                                                                       django_assert_max_num_queries):
    """More exact namesakes than the list holds: only they are listed, read through the words index alone.

    Not the trigram word reading's cross-word artefact either: "mary" is all in "gARY MARtin" as trigrams, and it
    used to be listed first (same score, and "gary" sorts before "mary").
    """
    import customers.selectors as selectors

    monkeypatch.setattr(selectors, "SEARCH_MAX_RESULTS", 3)
    person = people["person"]
    person("Gary", "Martin")
    marys = [person("Mary", last) for last in ("Adams", "Baker", "Cole", "Dunn")]
    access = staff_access(world.salesperson)
    with django_assert_max_num_queries(2):  # the exact words, then the page's customers
        results = customer_search(access=access, query="mary")
    assert [h.customer for h in results.hits] == marys[:3]
    assert results.capped and results.total == 3


@pytest.mark.django_db
def test_a_name_with_few_exact_namesakes_still_finds_similar_names(world, people, monkeypatch):
    import customers.selectors as selectors

    monkeypatch.setattr(selectors, "SEARCH_MAX_RESULTS", 5)
    person = people["person"]
    marys = [person("Mary", "Adams"), person("Mary", "Baker")]
    mari = person("Mari", "Ford")
    results = search(world, "mary")
    assert [h.customer for h in results.hits][:2] == marys and mari in [h.customer for h in results.hits]
    assert not results.capped
