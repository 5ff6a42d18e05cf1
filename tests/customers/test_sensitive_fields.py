"""Sensitive fields encrypted at rest (FTC Safeguards Rule): what PostgreSQL holds, what the page shows, the
recorded reveal, key rotation and values no key opens."""

from __future__ import annotations

import base64
import datetime
import importlib
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError
from django.core.management import CommandError, call_command
from django.db import connection

from customers.models import Customer, OwnedVehicle
from factories import make_customer
from rooftops.models import AccessRecord
from service.models import RepairOrder

pytestmark = pytest.mark.django_db

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()
DOB = datetime.date(1987, 4, 12)
LICENCE = "S530-4411-5678"
ACCOUNT = "9876543210"
LENDER = "Harbor Community Credit Union"
PAYOFF = 1_234_500
PLAIN = ["1987-04-12", "04/12/1987", LICENCE, "S53044115678", ACCOUNT, LENDER, str(PAYOFF)]


@pytest.fixture
def keys(settings):
    settings.FIELD_ENCRYPTION_KEYS = (KEY_A,)
    return settings


@pytest.fixture
def holder(world, keys):
    customer = make_customer(world.rooftop, first_name="Dana", last_name="Private", date_of_birth=DOB,
                             drivers_licence_number=LICENCE, drivers_licence_state="MA")
    vehicle = OwnedVehicle.objects.create(customer=customer, year=2021, make="Toyota", model="RAV4",
                                          trade_value_cents=2_000_000, payoff_cents=PAYOFF, lender=LENDER,
                                          finance_account_number=ACCOUNT)
    return SimpleNamespace(customer=customer, vehicle=vehicle)


def raw_row(holder) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.date_of_birth, c.drivers_licence_number, v.payoff_cents, v.lender, "
                       "v.finance_account_number FROM customers_customer c JOIN customers_ownedvehicle v "
                       "ON v.customer_id = c.id WHERE c.id = %s", [holder.customer.pk])
        return cursor.fetchone()


def test_a_raw_sql_read_shows_no_plain_text_nor_its_base64(holder):
    row = raw_row(holder)
    assert all(isinstance(cell, str) and cell.startswith("gAAAA") for cell in row)
    joined = " ".join(row)
    for plain in PLAIN:
        assert plain not in joined
        assert base64.b64encode(plain.encode()).decode().rstrip("=") not in joined
        assert base64.urlsafe_b64encode(plain.encode()).decode().rstrip("=") not in joined


def test_values_round_trip_through_the_orm_and_null_stays_null(holder, world):
    customer = Customer.unscoped.get(pk=holder.customer.pk)
    vehicle = OwnedVehicle.objects.get(pk=holder.vehicle.pk)
    assert (customer.date_of_birth, customer.drivers_licence_number) == (DOB, LICENCE)
    assert (vehicle.payoff_cents, vehicle.lender, vehicle.finance_account_number) == (PAYOFF, LENDER, ACCOUNT)
    assert vehicle.equity_cents == 2_000_000 - PAYOFF
    empty = make_customer(world.rooftop)
    assert Customer.unscoped.get(pk=empty.pk).date_of_birth is None
    assert list(Customer.unscoped.filter(date_of_birth__isnull=False).values_list("pk", flat=True)) == [customer.pk]


def test_a_lookup_on_ciphertext_is_refused_with_a_clear_error(holder):
    with pytest.raises(FieldError, match="encrypted at rest"):
        list(Customer.unscoped.filter(drivers_licence_number=LICENCE))
    with pytest.raises(FieldError, match="encrypted at rest"):
        list(OwnedVehicle.objects.filter(payoff_cents__gt=0))


def test_rotation_re_encrypts_under_the_new_key_so_the_old_key_can_be_dropped(holder, keys, capsys):
    before = raw_row(holder)
    keys.FIELD_ENCRYPTION_KEYS = (KEY_B, KEY_A)
    call_command("rotate_field_keys", batch_size=1)
    out = capsys.readouterr().out
    assert "customers.Customer: 1 rows, 2 values re-encrypted, 0 unreadable" in out
    assert "customers.OwnedVehicle: 1 rows, 3 values re-encrypted, 0 unreadable" in out
    after = raw_row(holder)
    assert all(a != b for a, b in zip(after, before))
    keys.FIELD_ENCRYPTION_KEYS = (KEY_B,)
    customer = Customer.unscoped.get(pk=holder.customer.pk)
    vehicle = OwnedVehicle.objects.get(pk=holder.vehicle.pk)
    assert (customer.date_of_birth, customer.drivers_licence_number) == (DOB, LICENCE)
    assert (vehicle.payoff_cents, vehicle.lender, vehicle.finance_account_number) == (PAYOFF, LENDER, ACCOUNT)
    # Idempotent: a second run finds everything current and writes nothing.
    call_command("rotate_field_keys")
    assert "0 values re-encrypted" in capsys.readouterr().out
    assert raw_row(holder) == after


def test_rotation_reports_values_no_key_opens_by_row_id_never_by_value(holder, keys, capsys):
    keys.FIELD_ENCRYPTION_KEYS = (KEY_B,)
    with pytest.raises(CommandError, match="5 value"):
        call_command("rotate_field_keys")
    captured = capsys.readouterr()
    assert f"customers.Customer.drivers_licence_number: 1 unreadable, ids {holder.customer.pk}" in captured.err
    assert f"customers.OwnedVehicle.payoff_cents: 1 unreadable, ids {holder.vehicle.pk}" in captured.err
    for plain in PLAIN:
        assert plain not in captured.out + captured.err


def test_a_value_no_key_opens_still_renders_the_page_as_unreadable(client, world, holder, keys):
    keys.FIELD_ENCRYPTION_KEYS = (KEY_B,)
    client.force_login(world.salesperson)
    response = client.get(f"/customers/{holder.customer.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "unreadable with the current keys" in html
    assert "Equity unknown" in html  # the payoff it cannot read counts as unknown, not as zero
    # The service lane's equity flag reads payoffs too.
    RepairOrder.objects.create(rooftop=world.rooftop, customer=holder.customer, vehicle=holder.vehicle,
                               ro_number="77001", advisor=world.advisor, status="open")
    client.force_login(world.advisor)
    lane = client.get("/service/lane/")
    assert lane.status_code == 200 and "Private" in lane.content.decode()


def test_the_customer_page_shows_the_values_masked_and_no_plain_text(client, world, holder):
    client.force_login(world.salesperson)
    html = client.get(f"/customers/{holder.customer.pk}/").content.decode()
    assert "\u2022\u2022/\u2022\u2022/1987" in html
    assert "\u2022\u2022\u2022\u20225678" in html and "\u2022\u2022\u2022\u20223210" in html
    for plain in [p for p in PLAIN if p not in (LENDER, str(PAYOFF))]:
        assert plain not in html
    assert "Reveal" in html and LENDER in html  # the lender's name is shown; the account is not


def test_reveal_answers_the_value_and_writes_one_access_record(client, world, holder):
    client.force_login(world.salesperson)
    response = client.post(f"/customers/{holder.customer.pk}/reveal/licence/")
    assert response.status_code == 200 and LICENCE in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    records = list(AccessRecord.unscoped.filter(kind=AccessRecord.Kind.SENSITIVE_REVEAL))
    assert len(records) == 1
    record = records[0]
    assert (record.user_id, record.rooftop_id, record.object_ids, record.rows) == (
        world.salesperson.pk, world.rooftop.pk, [holder.customer.pk], 1)
    assert record.path.endswith("/reveal/licence/")
    dob = client.post(f"/customers/{holder.customer.pk}/reveal/date-of-birth/")
    assert "04/12/1987" in dob.content.decode()
    account = client.post(f"/customers/{holder.customer.pk}/vehicles/{holder.vehicle.pk}/reveal/account/")
    assert ACCOUNT in account.content.decode()
    assert AccessRecord.unscoped.filter(kind=AccessRecord.Kind.SENSITIVE_REVEAL).count() == 3


def test_reveal_is_a_404_for_another_rooftop_and_refused_to_anonymous_and_get(client, world, holder):
    url = f"/customers/{holder.customer.pk}/reveal/licence/"
    anonymous = client.post(url)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    client.force_login(world.outsider)
    assert client.post(url).status_code == 404
    assert client.post(f"/customers/{holder.customer.pk}/vehicles/{holder.vehicle.pk}/reveal/account/").status_code == 404
    client.force_login(world.salesperson)
    assert client.get(url).status_code == 405
    assert client.post(f"/customers/{holder.customer.pk}/reveal/first_name/").status_code == 404
    assert client.post(f"/customers/{holder.customer.pk}/vehicles/999999999/reveal/account/").status_code == 404
    assert not AccessRecord.unscoped.filter(kind=AccessRecord.Kind.SENSITIVE_REVEAL).exists()


def test_staff_edit_the_date_of_birth_and_licence_and_bad_input_is_explained(client, world, keys):
    customer = make_customer(world.rooftop)
    client.force_login(world.bdc)
    url = f"/customers/{customer.pk}/identity/"
    saved = client.post(url, {"date_of_birth": "1990-02-03", "drivers_licence_number": "B12 345-678",
                              "drivers_licence_state": "ma"})
    assert saved.status_code == 200
    html = saved.content.decode()
    assert "\u2022\u2022/\u2022\u2022/1990" in html and "B12 345-678" not in html
    customer = Customer.unscoped.get(pk=customer.pk)
    assert (customer.date_of_birth, customer.drivers_licence_number, customer.drivers_licence_state) == (
        datetime.date(1990, 2, 3), "B12 345-678", "MA")
    # Blank keeps what is on file.
    assert client.post(url, {"drivers_licence_number": "C9"}).status_code == 200
    customer = Customer.unscoped.get(pk=customer.pk)
    assert (customer.date_of_birth, customer.drivers_licence_number) == (datetime.date(1990, 2, 3), "C9")
    tomorrow = datetime.date.today() + datetime.timedelta(days=2)
    for data, message in [
        ({"date_of_birth": tomorrow.isoformat()}, "cannot be in the future"),
        ({"date_of_birth": "1899-12-31"}, "cannot be before 1900"),
        ({"drivers_licence_number": "D123!456"}, "1 to 32 letters, digits, dashes or spaces"),
        ({"drivers_licence_number": "X" * 33}, "1 to 32 letters"),
        ({"drivers_licence_state": "M1"}, "two letters"),
    ]:
        refused = client.post(url, data)
        assert refused.status_code == 422 and message in refused.content.decode(), data
    assert Customer.unscoped.get(pk=customer.pk).drivers_licence_number == "C9"
    assert client.post(url, {"remove": "on"}).status_code == 200
    customer = Customer.unscoped.get(pk=customer.pk)
    assert (customer.date_of_birth, customer.drivers_licence_number) == (None, None)
    client.force_login(world.outsider)
    assert client.post(url, {"drivers_licence_number": "Z1"}).status_code == 404


def test_the_customer_api_shows_the_values_masked_only(client, world, holder):
    client.force_login(world.salesperson)
    data = client.get(f"/api/customers/{holder.customer.pk}/").json()
    assert data["date_of_birth_masked"] == "\u2022\u2022/\u2022\u2022/1987"
    assert data["drivers_licence_masked"] == "\u2022\u2022\u2022\u20225678"
    assert data["drivers_licence_state"] == "MA"
    body = str(data)
    for plain in PLAIN:
        assert plain not in body


def test_the_migration_encrypts_plain_payoffs_and_its_reverse_restores_them(holder):
    migration = importlib.import_module("customers.migrations.0006_encrypted_fields")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE customers_ownedvehicle SET payoff_cents = '987600' WHERE id = %s", [holder.vehicle.pk])
    editor = SimpleNamespace(connection=connection)
    migration.payoff_encrypt(None, editor)
    token = raw_row(holder)[2]
    assert "987600" not in token and OwnedVehicle.objects.get(pk=holder.vehicle.pk).payoff_cents == 987_600
    migration.payoff_encrypt(None, editor)  # already a token: left alone
    assert raw_row(holder)[2] == token
    migration.payoff_decrypt(None, editor)
    assert raw_row(holder)[2] == "987600"


def test_a_merge_fills_an_empty_date_of_birth_and_licence_and_undo_clears_them_again(world, holder):
    from customers.models import MergeRecord
    from customers.services import customer_merge, merge_undo

    survivor = make_customer(world.rooftop, first_name="Dana", last_name="Private")
    record = customer_merge(survivor=survivor, merged=holder.customer, user=world.manager)
    survivor = Customer.unscoped.get(pk=survivor.pk)
    assert (survivor.date_of_birth, survivor.drivers_licence_number) == (DOB, LICENCE)
    snapshot = str(MergeRecord.unscoped.get(pk=record.pk).snapshot)
    assert LICENCE not in snapshot and "1987" not in snapshot
    merge_undo(record=record, user=world.manager)
    survivor = Customer.unscoped.get(pk=survivor.pk)
    assert (survivor.date_of_birth, survivor.drivers_licence_number) == (None, None)
