"""crm/crypto.py and the encrypted model fields without a database: keys, round trips, refusals."""

import base64
import datetime

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError
from django.test import override_settings

from crm import crypto
from crm.crypto import Unreadable, field_encryption_keys
from crm.encrypted_fields import EncryptedDateField, EncryptedIntegerField, EncryptedTextField

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


def test_it_refuses_to_start_without_keys_when_debug_is_off():
    with pytest.raises(RuntimeError, match="FIELD_ENCRYPTION_KEYS must be set when DEBUG is off"):
        field_encryption_keys("", debug=False, secret_key="production-secret")
    with pytest.raises(RuntimeError, match="FIELD_ENCRYPTION_KEYS must be set"):
        field_encryption_keys(" , ", debug=False, secret_key="production-secret")


def test_with_debug_on_and_nothing_set_it_derives_a_stable_dev_key_from_the_secret_key():
    first = field_encryption_keys("", debug=True, secret_key="dev-secret")
    assert first == field_encryption_keys("", debug=True, secret_key="dev-secret")
    assert first != field_encryption_keys("", debug=True, secret_key="other-secret")
    Fernet(first[0])  # a usable key


def test_keys_are_read_in_order_and_a_bad_key_is_named_by_position_not_echoed():
    assert field_encryption_keys(f" {KEY_B}, {KEY_A} ", debug=False, secret_key="s") == (KEY_B, KEY_A)
    with pytest.raises(RuntimeError) as refused:
        field_encryption_keys(f"{KEY_A},not-a-key-at-all", debug=False, secret_key="s")
    assert "key 2" in str(refused.value) and "not-a-key-at-all" not in str(refused.value)


def test_the_first_key_encrypts_and_every_key_decrypts():
    token = crypto.encrypt("D1234567", keys=[KEY_A])
    assert crypto.decrypt(token, keys=[KEY_B, KEY_A]) == "D1234567"
    assert not crypto.is_current(token, keys=[KEY_B, KEY_A])
    rotated = crypto.rotate(token, keys=[KEY_B, KEY_A])
    assert crypto.is_current(rotated, keys=[KEY_B]) and crypto.decrypt(rotated, keys=[KEY_B]) == "D1234567"
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(token, keys=[KEY_B])


@override_settings(FIELD_ENCRYPTION_KEYS=(KEY_A,))
@pytest.mark.parametrize("field, value", [
    (EncryptedTextField(null=True), "D123-4567-8901"),
    (EncryptedDateField(null=True), datetime.date(1987, 4, 12)),
    (EncryptedIntegerField(null=True), 1_234_567),
])
def test_a_field_stores_a_token_without_the_plain_text_and_reads_the_value_back(field, value):
    stored = field.get_prep_value(value)
    plain = str(value) if not isinstance(value, datetime.date) else value.isoformat()
    assert plain not in stored and base64.b64encode(plain.encode()).decode() not in stored
    assert field.from_db_value(stored, None, None) == value
    assert field.get_prep_value(None) is None and field.from_db_value(None, None, None) is None
    assert field.get_prep_value(value) != stored  # a fresh IV each time: equal values do not look equal


def test_a_value_no_key_opens_reads_as_unreadable_and_is_written_back_unchanged(caplog):
    field = EncryptedTextField(null=True)
    field.name = "licence"
    with override_settings(FIELD_ENCRYPTION_KEYS=(KEY_A,)):
        stored = field.get_prep_value("S530-1234-5678")
    with override_settings(FIELD_ENCRYPTION_KEYS=(KEY_B,)):
        value = field.from_db_value(stored, None, None)
        field.from_db_value(stored, None, None)
        assert isinstance(value, Unreadable) and str(value) == "unreadable with the current keys"
        assert field.get_prep_value(value) == stored
    warnings = [r for r in caplog.records if "no FIELD_ENCRYPTION_KEYS key opens" in r.getMessage()]
    assert len(warnings) == 1 and "S530" not in caplog.text


def test_lookups_other_than_isnull_are_refused_with_a_clear_error():
    field = EncryptedTextField(null=True)
    field.name = "drivers_licence_number"
    assert field.get_lookup("isnull") is not None
    with pytest.raises(FieldError, match="encrypted at rest: only __isnull"):
        field.get_lookup("exact")
    with pytest.raises(FieldError, match="encrypted at rest"):
        field.get_transform("lower")
