"""Inserting thousands of new rows at once (a DMS import's chunk) with COPY instead of INSERT ... VALUES.

`bulk_create` builds one placeholder per value and psycopg adapts each of them: for a chunk of a thousand deals
with their customers, vehicles and timeline lines that was half the import's time. `copy_insert` takes the
ids from the table's own sequence first (one query), so the objects come back with their primary keys exactly as
from `bulk_create`, then streams the rows with COPY. Values go through each field's `pre_save` and
`get_db_prep_save`, as `bulk_create`'s do: defaults, `auto_now`, encryption at rest and JSON are the same.
Model `save()` methods and signals are not called (neither does `bulk_create`).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import DEFAULT_DB_ALIAS, connections, models

# Field types whose database value is the attribute as it is (exact types: an encrypted text field is a TextField
# subclass and must be encrypted). Everything else goes through pre_save and get_db_prep_save.
PLAIN = (models.CharField, models.TextField, models.IntegerField, models.BigIntegerField, models.SmallIntegerField,
         models.PositiveIntegerField, models.PositiveSmallIntegerField, models.PositiveBigIntegerField,
         models.BooleanField, models.DateField, models.ForeignKey, models.BigAutoField, models.AutoField)


def copy_insert(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    if not objs:
        return
    meta = model._meta
    pk = meta.pk
    fields = [f for f in meta.concrete_fields if not f.generated]
    for obj in objs:
        # A foreign key assigned as an object saved after the assignment (a customer made earlier in this chunk).
        obj._prepare_related_fields_for_save(operation_name="copy_insert")
    connection = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: the proxy costs a lookup per value
    plain = [type(f) in PLAIN for f in fields]
    with connection.cursor() as cursor:
        missing = [obj for obj in objs if obj.pk is None]
        if missing:
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [meta.db_table, pk.column, len(missing)])
            for obj, (new_id,) in zip(missing, cursor.fetchall()):
                setattr(obj, pk.attname, new_id)
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        with cursor.cursor.copy(f"COPY {connection.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([getattr(obj, f.attname) if is_plain else f.get_db_prep_save(f.pre_save(obj, True), connection)
                                for f, is_plain in zip(fields, plain)])
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
