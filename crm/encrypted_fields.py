"""Model fields whose column holds a Fernet token (crm/crypto.py), never the value.

The value is encrypted on its way to the database (`get_prep_value`) and decrypted when a row is loaded
(`from_db_value`); NULL stays NULL, so "is it on file?" is still a query (`__isnull`). Any other lookup is
refused: ciphertext is different every time the same value is written, so equality, ranges, ordering and
sums over it would silently answer wrongly. Compute over such values in Python on the rows you loaded.

A token no configured key opens loads as `Unreadable` (its str says so) and logs one warning per field per
process, without the value: a page showing it must still render.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django import forms
from django.core.exceptions import FieldError
from django.db import models

from crm import crypto
from crm.crypto import Unreadable

log = logging.getLogger(__name__)
_warned: set[str] = set()


def readable(value: Any) -> Any:
    """The value, or None when it is Unreadable: for arithmetic that must treat it as "not on file"."""
    return None if isinstance(value, Unreadable) else value


class EncryptedField(models.TextField):
    """Base: subclasses say how a value becomes text (`encode`) and back (`decode`)."""

    description = "A value encrypted at rest (Fernet token)"

    def encode(self, value: Any) -> str:
        return str(value)

    def decode(self, text: str) -> Any:
        return text

    def get_internal_type(self) -> str:
        return "TextField"

    # -- to and from the database ---------------------------------------------------------------
    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        try:
            return self.decode(crypto.decrypt(value))
        except (crypto.InvalidToken, ValueError):
            label = f"{self.model._meta.label}.{self.name}" if hasattr(self, "model") else self.name
            if label not in _warned:
                _warned.add(label)
                log.warning("%s holds a value no FIELD_ENCRYPTION_KEYS key opens (shown as unreadable); "
                            "was a key dropped before rotate_field_keys ran?", label)
            return Unreadable(value)

    def get_prep_value(self, value):
        if value is None:
            return None
        if isinstance(value, Unreadable):
            return value.token  # written back as it was: a restored key may still open it
        if isinstance(value, crypto.Ciphertext):
            return str(value)  # already a token (rotate_field_keys)
        value = self.to_python(value)
        return None if value is None else crypto.encrypt(self.encode(value))

    def to_python(self, value):
        return value

    # -- not searchable ---------------------------------------------------------------------------
    def get_lookup(self, lookup_name):
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        raise FieldError(f"{getattr(self, 'name', 'an encrypted field')} is encrypted at rest: only __isnull "
                         f"lookups work on it (ciphertext is not searchable; filter in Python on loaded rows)")

    def get_transform(self, lookup_name):
        raise FieldError(f"{getattr(self, 'name', 'an encrypted field')} is encrypted at rest: "
                         f"'{lookup_name}' cannot be applied to ciphertext")


class EncryptedTextField(EncryptedField):
    description = "Text encrypted at rest"

    def to_python(self, value):
        if value is None or isinstance(value, (str, Unreadable)):
            return value
        return str(value)

    def formfield(self, **kwargs):
        return forms.CharField(required=not self.blank, **kwargs)


class EncryptedDateField(EncryptedField):
    description = "A date encrypted at rest"

    def encode(self, value: datetime.date) -> str:
        return value.isoformat()

    def decode(self, text: str) -> datetime.date:
        return datetime.date.fromisoformat(text)

    def to_python(self, value):
        if value is None or isinstance(value, Unreadable):
            return value
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        return datetime.date.fromisoformat(str(value))

    def formfield(self, **kwargs):
        return forms.DateField(required=not self.blank, **kwargs)


class EncryptedIntegerField(EncryptedField):
    """An integer (money in cents) encrypted at rest."""

    description = "An integer encrypted at rest"

    def encode(self, value: int) -> str:
        return str(int(value))

    def decode(self, text: str) -> int:
        return int(text)

    def to_python(self, value):
        if value is None or isinstance(value, Unreadable):
            return value
        return int(value)

    def formfield(self, **kwargs):
        return forms.IntegerField(required=not self.blank, **kwargs)


def encrypted_fields_of(model) -> list[EncryptedField]:
    """The model's own concrete encrypted columns (for rotation)."""
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedField)]
