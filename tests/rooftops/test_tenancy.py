import pytest
from django.http import Http404

from factories import InventoryVehicleFactory, LeadFactory, make_customer
from leads.models import Lead
from customers.models import Customer
from rooftops.selectors import staff_access
from rooftops.tenancy import UnscopedQueryError, get_scoped_or_404

pytestmark = pytest.mark.django_db


def test_an_unscoped_query_on_tenant_data_fails_closed(world):
    make_customer(world.rooftop)
    with pytest.raises(UnscopedQueryError):
        list(Customer.objects.all())
    with pytest.raises(UnscopedQueryError):
        Lead.objects.filter(status="new").count()
    with pytest.raises(UnscopedQueryError):
        Lead.objects.exists()


def test_staff_see_only_their_rooftops_rows(world):
    mine = make_customer(world.rooftop)
    theirs = make_customer(world.other_rooftop)
    access = staff_access(world.salesperson)
    assert list(Customer.objects.for_access(access)) == [mine]
    assert list(Customer.objects.for_access(staff_access(world.outsider))) == [theirs]


def test_an_object_of_another_rooftop_is_the_same_404_as_a_missing_one(world):
    vehicle = InventoryVehicleFactory(rooftop=world.other_rooftop)
    lead = LeadFactory(rooftop=world.other_rooftop, customer=make_customer(world.other_rooftop), vehicle=vehicle)
    access = staff_access(world.salesperson)
    with pytest.raises(Http404):
        get_scoped_or_404(Lead.objects, access, pk=lead.pk)
    with pytest.raises(Http404):
        get_scoped_or_404(Lead.objects, access, pk=10**9)
    assert get_scoped_or_404(Lead.objects, staff_access(world.outsider), pk=lead.pk) == lead


def test_a_customer_known_at_both_stores_is_shared_by_the_group(world):
    shared = make_customer(world.rooftop)
    from customers.models import CustomerRooftop

    CustomerRooftop.objects.create(customer=shared, rooftop=world.other_rooftop)
    assert shared in Customer.objects.for_access(staff_access(world.outsider))
    assert Customer.objects.for_access(staff_access(world.outsider)).count() == 1


def test_a_manager_sees_the_whole_group_only_when_granted(world):
    access = staff_access(world.manager)
    assert access.rooftop_ids == {world.rooftop.id}
    profile = world.manager.staff_profile
    profile.sees_whole_group = True
    profile.save()
    world.manager.refresh_from_db()
    del world.manager._staff_access
    assert staff_access(world.manager).rooftop_ids == {world.rooftop.id, world.other_rooftop.id}


def test_a_group_wide_grant_does_nothing_for_someone_who_is_not_a_manager(world):
    profile = world.salesperson.staff_profile
    profile.sees_whole_group = True
    profile.save()
    assert staff_access(world.salesperson).rooftop_ids == {world.rooftop.id}
