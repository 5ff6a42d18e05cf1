"""Re-encrypt every encrypted column of every model under the first FIELD_ENCRYPTION_KEYS key.

    python manage.py rotate_field_keys [--batch-size 500]

Rotation: prepend a new key to FIELD_ENCRYPTION_KEYS and restart, run this, then drop the old key and restart
(README "Privacy"). Idempotent: a value the first key already opens is left alone, so a second run (or a run
after an interrupted one) writes nothing it did not have to. Values no key opens are reported by row id,
never by value, and left as they are; the command then exits non-zero.
"""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction
from django.db.models.functions import Cast

from crm import crypto
from crm.encrypted_fields import EncryptedField, encrypted_fields_of

SHOW_IDS = 100


def _rows(model) -> models.QuerySet:
    # A maintenance job over whole tables: the loudly named bypass where the model is rooftop-scoped.
    manager = getattr(model, "objects", None)
    if manager is not None and hasattr(manager, "across_rooftops"):
        return manager.across_rooftops()
    return model._base_manager.all()


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field under the first FIELD_ENCRYPTION_KEYS key (after prepending a new key)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options):
        keys = crypto.configured_keys()
        unreadable_total = 0
        for model in apps.get_models():
            fields = encrypted_fields_of(model)
            if fields:
                unreadable_total += self._rotate_model(model, fields, keys=keys, batch_size=batch_size)
        if unreadable_total:
            raise CommandError(f"{unreadable_total} value(s) could not be decrypted with the current keys (row ids "
                               "above); they were left as they are. Restore the key that wrote them and run again.")
        self.stdout.write("done: every encrypted value opens with the first key")

    def _rotate_model(self, model, fields: list[EncryptedField], *, keys: tuple[str, ...], batch_size: int) -> int:
        label = model._meta.label
        # The raw tokens, not the decrypted values: a cast to text carries no field converters.
        raw = {f"_token_{f.attname}": Cast(f.attname, output_field=models.TextField()) for f in fields}
        any_value = models.Q()
        for f in fields:
            any_value |= models.Q(**{f"{f.attname}__isnull": False})
        checked = rotated = 0
        unreadable: dict[str, list] = {f.name: [] for f in fields}
        last_pk = None
        while True:
            with transaction.atomic():
                rows = _rows(model).filter(any_value)
                if last_pk is not None:
                    rows = rows.filter(pk__gt=last_pk)
                batch = list(rows.select_for_update().order_by("pk").annotate(**raw)
                             .values_list("pk", *raw)[:batch_size])
                if not batch:
                    break
                changed: dict[str, list] = {f.attname: [] for f in fields}
                for pk, *tokens in batch:
                    for field, token in zip(fields, tokens):
                        if token is None or crypto.is_current(token, keys=keys):
                            continue
                        try:
                            new = crypto.rotate(token, keys=keys)
                        except crypto.InvalidToken:
                            unreadable[field.name].append(pk)
                            continue
                        changed[field.attname].append(model(pk=pk, **{field.attname: crypto.Ciphertext(new)}))
                for attname, objs in changed.items():
                    if objs:
                        model._base_manager.bulk_update(objs, [attname], batch_size=batch_size)
                        rotated += len(objs)
                checked += len(batch)
                last_pk = batch[-1][0]
            self.stdout.write(f"{label}: {checked} rows checked, {rotated} values re-encrypted")
        count = sum(len(ids) for ids in unreadable.values())
        self.stdout.write(f"{label}: {checked} rows, {rotated} values re-encrypted, {count} unreadable")
        for name, ids in unreadable.items():
            if ids:
                more = f" and {len(ids) - SHOW_IDS} more" if len(ids) > SHOW_IDS else ""
                self.stderr.write(f"{label}.{name}: {len(ids)} unreadable, ids {', '.join(map(str, ids[:SHOW_IDS]))}{more}")
        return count
